"""The inventory generated from the estate: groups, clusters, no secrets, connection budget."""

import json

import yaml

from egov.core import secrets
from egov.core.loader import load_estate
from egov.hosts.inventory import generate as build_inventory
from tests.conftest import CONGHUA, PANYU, ROOT


def test_inventory_groups_and_no_secrets(tmp_path):
    e = load_estate(PANYU)
    sf = secrets.ensure(tmp_path, e)
    inv = build_inventory(e, secrets_file=sf, admin_cidrs=("169.254.0.0/16",), target="lab")
    children = inv["all"]["children"]
    assert set(children["db"]["hosts"]) == {"dfs-db1", "lr-db1"}
    assert set(children["pg_primary"]["hosts"]) == {"dfs-db1"} and set(children["pg_standby"]["hosts"]) == {"lr-db1"}
    assert set(children["site_legacy_room"]["hosts"]) == {"lr-lb1", "lr-app1", "lr-app2", "lr-db1"}
    hv = inv["all"]["hosts"]
    assert hv["lr-db1"]["pg_primary_address"] == "10.20.3.31" and hv["lr-db1"]["pg_peer_names"] == ["dfs_db1"]
    assert hv["dfs-lb1"]["lb_vip"] == "10.20.1.10/24"
    assert {b["id"] for b in hv["lr-lb1"]["lb_apps"][0]["backends"]} == {"lr-app1", "lr-app2"}
    text = json.dumps(inv)
    for value in yaml.safe_load(sf.read_text()).values():
        assert value not in text


def test_inventory_of_another_estate_has_its_own_clusters(tmp_path):
    e = load_estate(CONGHUA)
    inv = build_inventory(e, secrets_file=secrets.ensure(tmp_path, e), admin_cidrs=(), target="lab")
    assert set(inv["all"]["children"]["pg_primary"]["hosts"]) == {"chdc-db1"}
    assert "atw-witness1" in inv["all"]["children"]["site_aotou_witness"]["hosts"]


def test_the_primary_admits_every_app_connection_at_once(tmp_path):
    """Each app thread keeps one connection per database it uses; after a burst of load they
    are all open. max_connections is sized from the estate, not a fixed 200."""
    import jinja2

    e = load_estate(PANYU)
    inv = build_inventory(e, secrets_file=secrets.ensure(tmp_path, e), admin_cidrs=(), target="lab")
    sessions = inv["all"]["vars"]["pg_app_sessions"]
    # approval: own + 3 base dbs; hotline, supervision: own + 1; service hall: own + 2; each on 4 hosts
    assert sessions == (4 + 2 + 3 + 2) * 4
    tpl = (ROOT / "playbooks/roles/postgresql/templates/postgresql.conf.j2").read_text()
    line = next(ln for ln in tpl.splitlines() if ln.startswith("max_connections"))
    rendered = jinja2.Template(line).render(pg_app_sessions=sessions)
    assert rendered == f"max_connections = {sessions * 2 * 4 + 50}"


def test_inventory_backup_repository_off_site_and_archiving_db_hosts(tmp_path):
    e = load_estate(PANYU)
    sf = secrets.ensure(tmp_path, e)
    inv = build_inventory(e, secrets_file=sf, admin_cidrs=("169.254.0.0/16",), target="lab")
    assert set(inv["all"]["children"]["pgbackrest_repo"]["hosts"]) == {"lr-app2"}
    hv, pgbr = inv["all"]["hosts"], inv["all"]["vars"]["pgbr"]
    assert hv["dfs-db1"]["pgbr_stanza"] == hv["lr-db1"]["pgbr_stanza"] == "dfs_db1"
    assert "pgbr_stanza" not in hv["lr-app2"]
    assert pgbr["repo_address"] == "10.21.2.22" and pgbr["db_addresses"] == ["10.20.3.31", "10.21.3.31"]
    assert pgbr["stanzas"] == [{"name": "dfs_db1", "port": 5432, "members": [
        {"id": "dfs-db1", "address": "10.20.3.31"}, {"id": "lr-db1", "address": "10.21.3.31"}]}]
    assert pgbr["schedule"] == {"full": "0 1 * * 0", "diff": "0 1 * * 1-6"} and pgbr["retention_full"] == 2
    text = json.dumps(inv)
    data = yaml.safe_load(sf.read_text())
    assert data["pgbackrest_cipher_pass"] not in text and data["pgbackrest_ssh_key"] not in text


def test_inventory_without_backups_declares_none(tmp_path):
    e = load_estate(PANYU).model_copy(update={"backup": None})
    inv = build_inventory(e, secrets_file=secrets.ensure(tmp_path, e), admin_cidrs=(), target="lab")
    assert inv["all"]["vars"]["pgbr"] is None and "pgbackrest_repo" not in inv["all"]["children"]
    assert "pgbr_stanza" not in inv["all"]["hosts"]["dfs-db1"]
