"""Application hosts: each app from an installed release, as the app user, healthy."""

import json

import expect

testinfra_hosts = expect.hosts("app")


def apps(host):
    return expect.hostvars(expect.host_id(host)).get("egov_apps", [])


def test_releases_installed_and_current(host):
    for a in apps(host):
        cur = host.file(f"/opt/egov-apps/{a['id']}/current")
        assert cur.is_symlink, f"{a['id']}: no current release"
        assert host.file(f"/opt/egov-apps/{a['id']}/current/.installed").exists


def test_secrets_readable_by_the_app_user_only(host):
    for a in apps(host):
        f = host.file(f"/etc/egov-apps/{a['id']}.env")
        assert f.mode == 0o640 and f.user == "root" and f.group == "egovapp"


def test_running_as_the_app_user_and_healthy(host):
    for a in apps(host):
        assert host.socket(f"tcp://0.0.0.0:{a['port']}").is_listening, f"{a['id']} not listening on {a['port']}"
        pid = host.file(f"/run/egov-apps/{a['id']}.pid").content_string.strip()
        assert host.process.get(pid=int(pid)).user == "egovapp"
        r = host.run(f"curl -s -m 5 http://127.0.0.1:{a['port']}{a['health_path']}")
        body = json.loads(r.stdout)
        assert body["status"] == "ok", f"{a['id']}: {body}"
