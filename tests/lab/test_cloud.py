"""The whole cloud path on the embedded OpenStack: `egov up --cloud embedded`, idempotence, drift,
and bad input refused before anything changes."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

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


def test_second_cloud_up_and_apply_change_nothing(cloud_lab):
    run, *_ = cloud_lab
    assert "cloud up: nothing to change" in run("cloud", "up").stdout
    assert "cloud apply: nothing to change" in run("cloud", "apply", "--without-volumes").stdout
    plan = json.loads(run("cloud", "plan", "--without-volumes", "--json").stdout)
    assert plan["clouds"]["egov-embedded"]["summary"] == {"ok": 58}


def test_drift_is_planned_and_repaired(cloud_lab):
    run, lab, emb, _ = cloud_lab
    conn = emb.connection()
    sg = next(conn.network.security_groups(name="legacy-room-app"))
    rule = next(x for x in conn.network.security_group_rules(security_group_id=sg.id)
                if x.direction == "ingress" and x.port_range_min == 8101)
    conn.network.delete_security_group_rule(rule)
    plan = json.loads(run("cloud", "plan", "--without-volumes", "--json").stdout)["clouds"]["egov-embedded"]
    assert plan["summary"] == {"ok": 57, "update": 1}
    assert [a["changes"] for a in plan["actions"] if a["op"] == "update"] == [["rules +1 -0"]]
    assert "update security_group/legacy-room-app" in run("cloud", "apply", "--without-volumes").stdout
    assert json.loads(run("cloud", "plan", "--without-volumes", "--json").stdout)[
        "clouds"]["egov-embedded"]["summary"] == {"ok": 58}


def test_missing_image_and_volumes_without_cinder_are_refused_before_any_change(cloud_lab, tmp_path):
    run, lab, emb, _ = cloud_lab
    estate = tmp_path / "estate"
    shutil.copytree(PANYU, estate)
    cfg = yaml.safe_load((estate / "cloud.yaml").read_text())
    cfg["image"] = "no-such-image"
    (estate / "cloud.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    other = EgovRunner(run.state, estate)
    before = {n: s.updated_at for n, s in _servers(emb).items()}
    r = other("cloud", "apply", "--without-volumes", check=False)
    assert r.returncode != 0 and "image 'no-such-image' is missing" in r.stderr and len(r.stderr.splitlines()) == 1
    r = run("cloud", "apply", check=False)  # the estate's volumes, on a cloud without cinder
    assert r.returncode != 0 and "no block-storage (cinder) service" in r.stderr
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
        r = run("cloud", "apply", "--without-volumes", check=False)
        assert r.returncode != 0
        assert "project legacy-room-zwfw needs 1 more instances but its quota is 2 with 2 in use" in r.stderr
        assert "lr-app2" not in _servers(emb)
    finally:
        conn.compute.update_quota_set(proj.id, instances=10)
    assert "create server/lr-app2" in run("cloud", "apply", "--without-volumes").stdout
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
        r = run("cloud", "apply", "--without-volumes", check=False)
    finally:
        realise.write_text(good)
    assert r.returncode != 0
    assert "server lr-app1 failed to build" in r.stderr and "next `egov cloud apply` replaces it" in r.stderr
    assert _servers(emb)["lr-app1"].status == "ERROR"
    failed = json.loads(run("journal", "show", "--json", "--last", "1").stdout)[-1]
    assert failed["result"] == "failed" and "egov-embedded: create server/lr-app1" in failed["changes"]
    plan = json.loads(run("cloud", "plan", "--without-volumes", "--json").stdout)["clouds"]["egov-embedded"]
    assert [a["resource"] for a in plan["actions"] if a["op"] == "replace"] == ["server/lr-app1"]
    assert "replace server/lr-app1" in run("cloud", "apply", "--without-volumes").stdout
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
