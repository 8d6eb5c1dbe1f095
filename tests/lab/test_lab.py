"""The embedded lab on this machine: real namespaces, real sshd, real routing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from egov.core.journal import Journal
from egov.lab import CTL
from egov.lab.netns import netns_exists, netns_list
from tests.conftest import CONGHUA, PANYU
from tests.lab.conftest import EgovRunner, needs_root, reaches, ssh

pytestmark = [pytest.mark.lab, needs_root]


def addr(lab, host):
    return lab.hosts[host].nics[0].address.split("/")[0]


def test_every_host_answers_ssh_at_its_estate_address(egov_lab):
    run, lab = egov_lab
    data = json.loads(run("lab", "status", "--json").stdout)
    assert data["up"] and len(data["hosts"]) == 8
    assert all(h["state"] == "running" and h["uptime_s"] >= 0 for h in data["hosts"])
    for h in data["hosts"]:
        r = ssh(lab, h["id"], "hostname; ip -4 -o addr show eth0")
        assert r.returncode == 0, r.stderr
        name, *lines = r.stdout.splitlines()
        assert name == h["id"] and any(f" {h['address']}/" in line for line in lines)


def test_ssh_uses_recorded_host_keys_and_key_only_auth(egov_lab):
    run, lab = egov_lab
    kh = lab.known_hosts.read_text()
    assert all(f"{h},{addr(lab, h)} ssh-ed25519 " in kh for h in lab.hosts)
    for f in (lab.key, lab.known_hosts, lab.ssh_config):
        assert (f.stat().st_mode & 0o777) == 0o600, f
    # a wrong known_hosts is refused (no disabled host-key checking anywhere)
    bogus = lab.ssh_dir / "bogus_known_hosts"
    bogus.write_text(
        kh.replace("dfs-db1,", "dfs-xx,").split("\n")[0].replace(addr(lab, "dfs-lb1"), addr(lab, "dfs-db1")) + "\n"
    )
    r = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            CTL,
            "ssh",
            "-F",
            str(lab.ssh_config),
            "-o",
            f"UserKnownHostsFile={bogus}",
            "dfs-db1",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0 and "host key" in r.stderr.lower()
    # password authentication is off in sshd
    r = ssh(lab, "dfs-db1", "sshd -T 2>/dev/null | grep -E '^(passwordauthentication|permitrootlogin) '")
    assert "passwordauthentication no" in r.stdout and "permitrootlogin without-password" in r.stdout


def test_hosts_are_isolated_from_each_other_and_the_machine(egov_lab, lab_state):
    run, lab = egov_lab
    marker = f"/etc/egov-isolation-{os.getpid()}"
    assert ssh(lab, "dfs-app1", f"echo app1 > {marker} && echo v > /var/lib/egov-iso").returncode == 0
    assert ssh(lab, "dfs-app1", f"cat {marker}").stdout.strip() == "app1"
    assert ssh(lab, "dfs-app2", f"test -e {marker} || test -e /var/lib/egov-iso").returncode == 1
    assert not Path(marker).exists() and not Path("/var/lib/egov-iso").exists()
    # processes: each host sees only its own (its own PID namespace)
    ps = ssh(lab, "dfs-app2", "ps -e -o pid=,comm=").stdout.split("\n")
    assert any(ln.split() == ["1", "sshd"] for ln in ps) and not any("pytest" in ln for ln in ps)
    assert (
        ssh(
            lab, "dfs-app2", f"test -e /proc/{os.getpid()}/cmdline && grep -q pytest /proc/{os.getpid()}/cmdline"
        ).returncode
        != 0
    )
    # the lab's disks and keys are hidden from the hosts even though they sit under /var/lib
    assert ssh(lab, "dfs-app1", f"ls -A {lab_state}").stdout.strip() == ""
    # and nothing in the lab has a route out: no default route in the controller or the site routers
    for ns in [CTL] + [s.router for s in lab.sites]:
        r = subprocess.run(["ip", "-n", ns, "route", "show", "default"], capture_output=True, text=True)
        assert r.stdout.strip() == "", ns


def test_second_up_changes_nothing(egov_lab):
    run, lab = egov_lab
    r = run("lab", "up")
    assert "nothing changed" in r.stdout and "8/8 hosts running" in r.stdout


def test_crash_kills_everything_and_start_keeps_the_disk(egov_lab):
    run, lab = egov_lab
    assert (
        ssh(
            lab, "lr-app1", "echo kept > /root/survives-crash; (sleep 600 </dev/null >/dev/null 2>&1 &) ; sync"
        ).returncode
        == 0
    )
    netns_pids = lambda: [p for p in os.listdir("/proc") if p.isdigit() and _in_netns(p, lab.hosts["lr-app1"].netns)]
    assert netns_pids(), "host processes should be visible from the machine"
    r = run("lab", "crash", "lr-app1")
    assert "crashed lr-app1" in r.stdout
    assert netns_pids() == []
    st = {h["id"]: h["state"] for h in json.loads(run("lab", "status", "--json").stdout)["hosts"]}
    assert st["lr-app1"] == "stopped" and st["lr-app2"] == "running"
    run("lab", "start", "lr-app1")
    assert ssh(lab, "lr-app1", "cat /root/survives-crash").stdout.strip() == "kept"
    assert ssh(lab, "lr-app1", "pgrep -x sleep").returncode == 1  # the old processes are gone for good


def _in_netns(pid: str, name: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{name}").st_ino
    except (FileNotFoundError, PermissionError):
        return False


def test_crash_and_start_a_whole_site(egov_lab):
    run, lab = egov_lab
    run("lab", "crash", "legacy-room")
    st = {h["id"]: h["state"] for h in json.loads(run("lab", "status", "--json").stdout)["hosts"]}
    assert {h: s for h, s in st.items() if h.startswith("lr-")} == {h: "stopped" for h in st if h.startswith("lr-")}
    assert all(s == "running" for h, s in st.items() if h.startswith("dfs-"))
    run("lab", "start", "legacy-room")
    lab.check_ssh([h for h in lab.hosts if h.startswith("lr-")])


def test_cut_breaks_only_the_inter_site_link_and_heal_restores_it(egov_lab):
    run, lab = egov_lab
    pairs_same = [("dfs-app1", "dfs-db1"), ("lr-app1", "lr-db1"), ("dfs-lb1", "dfs-app2")]
    pairs_cross = [("dfs-db1", "lr-db1"), ("lr-app2", "dfs-lb1")]
    assert all(reaches(lab, a, addr(lab, b)) for a, b in pairs_same + pairs_cross)
    run("lab", "cut", "dafushan", "legacy-room")
    try:
        assert not any(reaches(lab, a, addr(lab, b)) for a, b in pairs_cross)
        assert all(reaches(lab, a, addr(lab, b)) for a, b in pairs_same)
        lab.check_ssh(list(lab.hosts))  # egov still reaches every host of both sites
        links = json.loads(run("lab", "status", "--json").stdout)["links"]
        assert links == [{"a": "dafushan", "b": "legacy-room", "state": "cut"}]
        assert "nothing changed" in run("lab", "up").stdout  # up does not silently heal a drill's cut
        assert not reaches(lab, "dfs-db1", addr(lab, "lr-db1"))
    finally:
        run("lab", "heal", "dafushan", "legacy-room")
    assert all(reaches(lab, a, addr(lab, b)) for a, b in pairs_same + pairs_cross)


def test_up_repairs_a_half_made_lab(egov_lab):
    run, lab = egov_lab
    # a namespace removed under a running host, a veth gone, a host down, a site router's route gone
    subprocess.run(["ip", "netns", "del", lab.hosts["dfs-app2"].netns], check=True)
    subprocess.run(["ip", "-n", lab.sites[1].router, "link", "del", lab.hosts["lr-db1"].nics[0].peer], check=True)
    subprocess.run(["ip", "-n", CTL, "route", "del", "10.21.1.0/24"], check=True)
    run("lab", "crash", "lr-lb1")
    r = run("lab", "up")
    assert "dfs-app2: crashed (its network namespace had been removed)" in r.stdout or "dfs-app2" in r.stdout
    assert "8/8 hosts running" in r.stdout
    lab.check_ssh(list(lab.hosts))
    assert reaches(lab, "dfs-app1", addr(lab, "lr-db1"))
    assert reaches(lab, "lr-app1", addr(lab, "dfs-app2"))


def test_bad_targets_are_one_clear_line(egov_lab):
    run, lab = egov_lab
    for args, msg in ((["crash", "dfs-db9"], "no host or site 'dfs-db9' in the estate"),
                      (["cut", "dafushan", "mars"], "no site 'mars' in the estate"),
                      (["start", "nowhere"], "no host or site 'nowhere'")):
        r = run("lab", *args, check=False)
        assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and msg in r.stderr, r.stderr


def test_up_refuses_a_lab_built_from_another_layout(egov_lab, lab_state):
    r = EgovRunner(lab_state, CONGHUA)("lab", "up", check=False)
    assert r.returncode == 1 and "different estate layout" in r.stderr
    assert netns_exists("egov-h-dfs-db1") and not netns_exists("egov-h-chdc-db1")


def test_another_state_dir_cannot_touch_this_lab(egov_lab, tmp_path):
    other = EgovRunner(tmp_path / "other-state")
    for args in (["lab", "down"], ["lab", "up"]):
        r = other(*args, check=False)
        assert r.returncode == 1 and "belongs to another state dir" in r.stderr, r.stderr
    assert netns_exists(CTL) and netns_exists("egov-h-dfs-db1")


def test_lab_commands_are_journalled(egov_lab, lab_state):
    run, lab = egov_lab
    recs = list(Journal(lab_state).records())
    cmds = [r["command"] for r in recs]
    assert "lab up" in cmds and "lab crash lr-app1" in cmds and "lab cut dafushan legacy-room" in cmds
    failed = [r for r in recs if r["result"] == "failed"]
    assert any("dfs-db9" in r["error"] for r in failed)
    assert all(r["estate_digest"].startswith("sha256:") for r in recs if r["estate"] == "panyu")
    assert Journal(lab_state).verify() == len(recs)


def test_not_root_is_refused_with_nothing_made():
    import tempfile

    state = Path(tempfile.mkdtemp(prefix="egov-nobody-", dir="/tmp"))
    os.chmod(state, 0o755)
    os.chown(state, 65534, 65534)
    before = netns_list("egov-")
    # nobody keeps only the right to read files (CI's clone may sit in a 0700 mktemp dir that nobody
    # could not even import egov from); every other privilege, and uid 0, is gone
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
              "--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search", "--"]
    estate = state / "estate"
    shutil.copytree(PANYU, estate)
    subprocess.run(["chown", "-R", "65534:65534", str(estate)], check=True)
    r = EgovRunner(state, estate)("lab", "up", check=False, user_cmd=nobody, env={"HOME": str(state)})
    assert r.returncode == 1, r.stderr
    assert (
        r.stderr.strip()
        == "egov: error: the lab needs root: it creates network namespaces, mounts and links (run it with sudo)"
    )
    assert netns_list("egov-") == before
    assert not (state / "lab").exists()
    (rec,) = Journal(state).records()  # the refused attempt is on record
    assert rec["result"] == "failed" and "needs root" in rec["error"]


def test_unwritable_journal_is_one_clear_line(tmp_path):
    state = tmp_path / "ro"
    state.mkdir()
    (state / "journal.jsonl").mkdir()  # cannot be opened as a file, even by root
    r = EgovRunner(state)("lab", "crash", "dfs-db1", check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("egov: error: ") and "cannot write the journal" in r.stderr
