"""MLPS (等保 2.0) level 3 host controls, on every host."""

import expect

testinfra_hosts = expect.hosts()


def test_ssh_key_only_no_root_password(host):
    cfg = host.run("sshd -T 2>/dev/null").stdout
    for want in ("passwordauthentication no", "permitrootlogin without-password", "kbdinteractiveauthentication no",
                 "permitemptypasswords no", "maxauthtries 3", "loglevel VERBOSE", "banner /etc/issue.net"):
        assert want in cfg, want
    assert host.user("root").password in ("*", "!*", "!"), "root must have no usable password"


def test_password_complexity_ageing_and_lockout(host):
    pwq = host.file("/etc/security/pwquality.conf").content_string
    assert "minlen = 12" in pwq and "minclass = 3" in pwq
    assert "deny = 5" in host.file("/etc/security/faillock.conf").content_string
    auth = host.file("/etc/pam.d/common-auth").content_string
    assert "pam_faillock.so preauth" in auth and "pam_faillock.so authfail" in auth and "nullok" not in auth
    defs = host.file("/etc/login.defs").content_string
    assert "PASS_MAX_DAYS\t90" in defs and "UMASK\t027" in defs


def test_command_audit_log_and_banner(host):
    assert host.file("/etc/profile.d/egov-audit.sh").contains("PROMPT_COMMAND")
    assert host.file("/var/log/egov-audit").mode == 0o750
    banner = expect.hostvars(expect.host_id(host))["egov_login_banner"]
    assert banner in host.file("/etc/issue.net").content_string


def test_time_sync_configured(host):
    conf = host.file("/etc/chrony/chrony.conf").content_string
    for server in expect.hostvars(expect.host_id(host))["egov_ntp_servers"]:
        assert f"server {server} iburst" in conf


def test_network_hardening_sysctls(host):
    assert host.sysctl("net.ipv4.conf.all.accept_redirects") == 0
    assert host.sysctl("net.ipv4.conf.all.send_redirects") == 0
    assert host.sysctl("net.ipv4.tcp_syncookies") == 1


def test_no_needless_listening_services(host):
    hv = expect.hostvars(expect.host_id(host))
    allowed = {22}
    role = hv["egov_role"]
    if role == "db":
        allowed.add(hv["pg_port"])
    if role == "app":
        allowed |= {a["port"] for a in hv.get("egov_apps", [])}
    if role == "lb":
        allowed |= {p for a in hv.get("lb_apps", []) for p in (a["port"], a["tls_port"])}
    listening = {int(s.rsplit(":", 1)[1]) for s in host.socket.get_listening_sockets()
                 if s.startswith(("tcp://", "udp://"))}
    assert listening <= allowed, f"unexpected listeners: {sorted(listening - allowed)}"
