"""The whole cloud path on the embedded OpenStack: `egov up --cloud embedded` (servers and the
database volumes through cinder), idempotence, drift, volumes and quotas for real, and bad input
refused before anything changes."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
import yaml

from egov.clikit import Ctx
from egov.cloud.cli import estate_graph
from egov.cloud.embedded import Embedded
from tests.conftest import PANYU
from tests.lab.conftest import EgovRunner, needs_root, ssh

pytestmark = [pytest.mark.lab, needs_root]


@pytest.fixture(scope="module")
def cloud_lab(egov_lab, lab_state):
    run, lab = egov_lab
    run("lab", "down")  # the lab made its own hosts so far; now the cloud makes them
    r = run("up", "--cloud", "embedded", timeout=1500)
    emb = Embedded(lab_state)
    yield run, lab, emb, r.stdout
    # leave a lab-made estate behind for later modules / zz_down
    run("lab", "down")
    run("lab", "up")


def _resources(lab_state) -> int:
    """How many resources the estate's graph has (servers, volumes, attachments ...)."""
    return len(estate_graph(Ctx(PANYU, lab_state)).resources)


def _volumes(emb):
    conn = emb.connection()
    return {v.name: v for v in conn.block_storage.volumes(all_projects=True, details=True)
            if (v.metadata or {}).get("egov") == "panyu"}


def _wait_volume(conn, vid, status, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = conn.block_storage.get_volume(vid)
        if v.status == status:
            return v
        assert v.status not in ("error", "error_attaching", "error_detaching"), v.status
        time.sleep(0.5)
    raise AssertionError(f"volume {vid} not {status} after {timeout}s: {v.status}")


def _servers(emb):
    conn = emb.connection()
    return {s.name: s for s in conn.compute.servers(all_projects=True, details=True)
            if (s.metadata or {}).get("egov") == "panyu"}


def test_up_builds_every_server_through_openstack_as_a_lab_host(cloud_lab):
    run, lab, emb, out = cloud_lab
    assert "egov up done" in out and "verify: " in out
    servers = _servers(emb)
    assert sorted(servers) == sorted(lab.hosts) and all(s.status == "ACTIVE" for s in servers.values())
    conn = emb.connection()
    projects = {p.id: p.name for p in conn.identity.projects(tags="egov:panyu")}
    assert projects[servers["dfs-db1"].project_id] == "dafushan-sjzx"
    assert projects[servers["lr-app1"].project_id] == "legacy-room-zwfw"
    status = json.loads(run("lab", "status", "--json").stdout)
    assert all(h["state"] == "running" for h in status["hosts"])
    r = ssh(lab, "dfs-db1", "hostname; ip -4 -o addr show eth0; cat /root/.ssh/authorized_keys")
    assert r.returncode == 0 and r.stdout.startswith("dfs-db1\n") and " 10.20.3.31/24 " in r.stdout
    assert lab.key.with_suffix(".pub").read_text().split()[1] in r.stdout  # the keypair was injected
    port = next(conn.network.ports(name="dfs-db1-eth0"))
    assert port.binding_vif_type == "ovs" and port.status == "ACTIVE"
    sg = next(conn.network.security_groups(name="dafushan-db"))
    sources = {x.remote_ip_prefix for x in conn.network.security_group_rules(security_group_id=sg.id)
               if x.direction == "ingress" and x.port_range_min == 5432}
    assert sources == {"10.20.2.0/24", "10.21.2.0/24", "10.20.3.0/24", "10.21.3.0/24"}
    journal = run("journal", "show", "--json").stdout
    assert '"cloud apply' in journal and '"cloud up"' in journal


def test_database_data_directory_lives_on_its_cinder_volume(cloud_lab):
    run, lab, emb, _ = cloud_lab
    vols, servers = _volumes(emb), _servers(emb)
    assert sorted(vols) == ["dfs-db1-data", "lr-db1-data"]
    for name, v in vols.items():
        host = name.removesuffix("-data")
        assert v.status == "in-use" and v.size == 100
        assert [a["server_id"] for a in v.attachments] == [servers[host].id]
        dev = v.attachments[0]["device"]  # nova's name for it (the fake driver's bus: /dev/sdb)
        r = ssh(lab, host, f"test -b {dev} && findmnt -n -o SOURCE,FSTYPE,TARGET /var/lib/postgresql/15 && "
                           "findmnt -n -o TARGET -T /var/lib/postgresql/15/egov/PG_VERSION && "
                           "df -B1G --output=size /var/lib/postgresql/15 | tail -1")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.split("\n")
        assert lines[0].split() == [dev, "ext4", "/var/lib/postgresql/15"], r.stdout
        assert lines[1] == "/var/lib/postgresql/15", r.stdout  # the cluster's files are on the volume
        assert 95 <= int(lines[2]) <= 100, r.stdout
        # the volume is a sparse file on this machine: 100 GiB declared, a few MiB used
        img = emb.dir / "state" / "volumes" / f"volume-{v.id}.img"
        assert img.stat().st_size == 100 * 1024 ** 3 and img.stat().st_blocks * 512 < 2 * 1024 ** 3


def test_second_cloud_up_and_apply_change_nothing_and_the_plan_is_clean(cloud_lab, lab_state):
    run, *_ = cloud_lab
    n = _resources(lab_state)
    assert "cloud up: nothing to change" in run("cloud", "up").stdout
    assert "cloud apply: nothing to change" in run("cloud", "apply").stdout
    r = run("cloud", "plan")  # exits 0: nothing blocked, nothing to do
    assert "create" not in r.stdout and "update" not in r.stdout
    plan = json.loads(run("cloud", "plan", "--json").stdout)
    assert plan["clouds"]["egov-embedded"]["summary"] == {"ok": n}


def test_a_volume_is_created_attached_detached_and_deleted_for_real(cloud_lab):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    srv = _servers(emb)["lr-app1"]
    before = set((emb.dir / "state" / "volumes").glob("*.img"))
    vol = conn.block_storage.create_volume(name="egov-test-scratch", size=1, project_id=srv.project_id,
                                           metadata={"egov_mount": "/srv/scratch"})
    try:
        vol = _wait_volume(conn, vol.id, "available")
        (img,) = set((emb.dir / "state" / "volumes").glob("*.img")) - before
        assert img.name == f"volume-{vol.id}.img" and img.stat().st_size == 1024 ** 3
        conn.compute.create_volume_attachment(srv, volume_id=vol.id)
        _wait_volume(conn, vol.id, "in-use")
        r = ssh(lab, "lr-app1", "findmnt -n -o FSTYPE,TARGET /srv/scratch && echo kept > /srv/scratch/f && sync")
        assert r.returncode == 0 and r.stdout.split() == ["ext4", "/srv/scratch"], (r.stdout, r.stderr)
        conn.compute.delete_volume_attachment(srv, vol.id)
        _wait_volume(conn, vol.id, "available")
        r = ssh(lab, "lr-app1", "findmnt /srv/scratch; ls /srv/scratch")
        assert r.stdout.strip() == ""  # gone from the host
        # what the host wrote is on the volume's file: re-attached, it is there again
        conn.compute.create_volume_attachment(srv, volume_id=vol.id)
        _wait_volume(conn, vol.id, "in-use")
        assert ssh(lab, "lr-app1", "cat /srv/scratch/f").stdout == "kept\n"
        conn.compute.delete_volume_attachment(srv, vol.id)
        _wait_volume(conn, vol.id, "available")
    finally:
        conn.block_storage.delete_volume(vol.id, ignore_missing=True)
        conn.block_storage.wait_for_delete(vol, wait=60)
    assert set((emb.dir / "state" / "volumes").glob("*.img")) == before


def test_volume_and_gigabyte_quotas_are_checked_before_anything_changes(cloud_lab, lab_state):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    vol = _volumes(emb)["lr-db1-data"]
    conn.compute.delete_volume_attachment(_servers(emb)["lr-db1"], vol.id)
    _wait_volume(conn, vol.id, "available")
    conn.block_storage.delete_volume(vol.id)
    conn.block_storage.wait_for_delete(vol, wait=60)
    proj = conn.identity.find_project(vol.project_id)
    conn.block_storage.update_quota_set(proj.id, gigabytes=50)
    try:
        r = run("cloud", "apply", check=False)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert f"project {proj.name} needs 100 more gigabytes but its quota is 50 with 0 in use" in r.stderr
        assert "lr-db1-data" not in _volumes(emb)
        conn.block_storage.update_quota_set(proj.id, gigabytes=1000, volumes=0)
        r = run("cloud", "apply", check=False)
        assert r.returncode != 0 and f"project {proj.name} needs 1 more volumes but its quota is 0" in r.stderr
    finally:
        conn.block_storage.update_quota_set(proj.id, gigabytes=1000, volumes=10)
    out = run("cloud", "apply").stdout
    assert "create volume/lr-db1-data" in out and "create volume_attachment/lr-db1-data@lr-db1" in out
    assert _volumes(emb)["lr-db1-data"].status == "in-use"
    assert json.loads(run("cloud", "plan", "--json").stdout)["clouds"]["egov-embedded"]["summary"] == {
        "ok": _resources(lab_state)}


def test_drift_is_planned_and_repaired(cloud_lab, lab_state):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    sg = next(conn.network.security_groups(name="legacy-room-app"))
    rule = next(x for x in conn.network.security_group_rules(security_group_id=sg.id)
                if x.direction == "ingress" and x.port_range_min == 8101)
    conn.network.delete_security_group_rule(rule)
    n = _resources(lab_state)
    plan = json.loads(run("cloud", "plan", "--json", check=False).stdout)["clouds"]["egov-embedded"]
    assert plan["summary"] == {"ok": n - 1, "update": 1}
    assert [a["changes"] for a in plan["actions"] if a["op"] == "update"] == [["rules +1 -0"]]
    assert "update security_group/legacy-room-app" in run("cloud", "apply").stdout
    assert json.loads(run("cloud", "plan", "--json").stdout)["clouds"]["egov-embedded"]["summary"] == {"ok": n}


def test_missing_image_is_refused_before_any_change(cloud_lab, tmp_path):
    run, lab, emb, _ = cloud_lab
    estate = tmp_path / "estate"
    shutil.copytree(PANYU, estate)
    cfg = yaml.safe_load((estate / "cloud.yaml").read_text())
    cfg["image"] = "no-such-image"
    (estate / "cloud.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    other = EgovRunner(run.state, estate)
    before = {n: s.updated_at for n, s in _servers(emb).items()}
    r = other("cloud", "apply", check=False)
    assert r.returncode != 0 and "image 'no-such-image' is missing" in r.stderr and len(r.stderr.splitlines()) == 1
    assert {n: s.updated_at for n, s in _servers(emb).items()} == before


def test_quota_exceeded_is_refused_first_and_the_next_apply_completes(cloud_lab):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    proj = conn.identity.find_project("legacy-room-zwfw")
    srv = _servers(emb)["lr-app2"]
    conn.compute.delete_server(srv)
    conn.compute.wait_for_delete(srv, wait=120)
    conn.compute.update_quota_set(proj.id, instances=2)
    try:
        r = run("cloud", "apply", check=False)
        assert r.returncode != 0
        assert "project legacy-room-zwfw needs 1 more instances but its quota is 2 with 2 in use" in r.stderr
        assert "lr-app2" not in _servers(emb)
    finally:
        conn.compute.update_quota_set(proj.id, instances=10)
    assert "create server/lr-app2" in run("cloud", "apply").stdout
    assert _servers(emb)["lr-app2"].status == "ACTIVE"


def test_wrong_credentials_are_one_line(cloud_lab, tmp_path):
    run, lab, emb, _ = cloud_lab
    clouds = yaml.safe_load(emb.clouds_yaml().read_text())
    clouds["clouds"]["wrong"] = {**clouds["clouds"]["egov-embedded"]}
    clouds["clouds"]["wrong"]["auth"] = {**clouds["clouds"]["wrong"]["auth"], "password": "not-it"}
    f = tmp_path / "clouds.yaml"
    f.write_text(yaml.safe_dump(clouds))
    r = run("cloud", "plan", "--cloud", "wrong", check=False, env={"OS_CLIENT_CONFIG_FILE": str(f)})
    assert r.returncode != 0
    assert r.stderr.strip() == ("egov: error: cloud 'wrong': authentication failed for user 'admin' at "
                                "http://127.0.0.1:5000/v3 (check the credentials in clouds.yaml)")


def test_a_server_that_fails_to_build_is_named_and_the_next_apply_replaces_it(cloud_lab):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    srv = _servers(emb)["lr-app1"]
    conn.compute.delete_server(srv)
    conn.compute.wait_for_delete(srv, wait=120)
    realise = emb.dir / "realise.json"
    good = realise.read_text()
    broken = json.loads(good)
    del broken["bridges"]["lr-app"]  # the compute driver cannot plug lr-app1: its build fails
    realise.write_text(json.dumps(broken))
    try:
        r = run("cloud", "apply", check=False)
    finally:
        realise.write_text(good)
    assert r.returncode != 0
    assert "server lr-app1 failed to build" in r.stderr and "next `egov cloud apply` replaces it" in r.stderr
    assert _servers(emb)["lr-app1"].status == "ERROR"
    failed = json.loads(run("journal", "show", "--json", "--last", "1").stdout)[-1]
    assert failed["result"] == "failed" and "egov-embedded: create server/lr-app1" in failed["changes"]
    plan = json.loads(run("cloud", "plan", "--json", check=False).stdout)["clouds"]["egov-embedded"]
    assert [a["resource"] for a in plan["actions"] if a["op"] == "replace"] == ["server/lr-app1"]
    assert "replace server/lr-app1" in run("cloud", "apply").stdout
    assert _servers(emb)["lr-app1"].status == "ACTIVE"
    assert ssh(lab, "lr-app1", "hostname").stdout.strip() == "lr-app1"


def test_destroy_removes_everything_the_estate_made(cloud_lab):
    run, lab, emb, _ = cloud_lab
    r = run("cloud", "destroy", check=False)
    assert r.returncode != 0 and "--yes" in r.stderr
    out = run("cloud", "destroy", "--yes", timeout=600).stdout
    n = int(re.search(r"cloud destroy: (\d+) deleted", out).group(1))
    assert n >= 58 - 3  # everything but the image and the two flavors (shared with other tenants)
    conn = emb.connection()
    assert _servers(emb) == {}
    assert list(conn.identity.projects(tags="egov:panyu")) == []
    assert list(conn.network.networks(tags="egov:panyu")) == []
    assert list(conn.network.ports(tags="egov:panyu")) == []
    assert conn.compute.find_keypair("egov-panyu", ignore_missing=True) is None
    status = json.loads(run("lab", "status", "--json").stdout)
    assert all(h["state"] != "running" for h in status["hosts"])  # the servers were the lab's hosts
    assert "nothing to delete" in run("cloud", "destroy", "--yes").stdout
