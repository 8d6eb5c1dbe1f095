"""Pieces of the build that need no lab: inventory, seed identifiers, release bundles, secrets."""

import json
import random
import tarfile

import pytest
import yaml

from egov import secrets
from egov.apps import DeployFailed, build_release
from egov.inventory import build as build_inventory
from egov.loader import load_estate
from egov.seed import entities, id_check, persons, uscc_check, valid_citizen_id, valid_uscc

from ..conftest import CONGHUA, PANYU, ROOT


def test_check_digits_match_published_examples():
    assert valid_citizen_id("11010519491231002X") and not valid_citizen_id("110105194912310021")
    assert valid_uscc("91350100M000100Y43") and valid_uscc("914403001922038216")
    assert not valid_uscc("914403001922038217")


def test_seed_is_deterministic_and_valid():
    towns = [{"id": "shawan", "name": "沙湾镇", "villages": ["三善村"]}, {"id": "dashi", "name": "大石街", "villages": []}]
    a = list(persons(towns, 2000, random.Random("x")))
    assert a == list(persons(towns, 2000, random.Random("x")))
    assert len({p[0] for p in a}) == 2000 and all(valid_citizen_id(p[0]) for p in a)
    assert all(p[0][:6] == "440113" for p in a) and {p[6] for p in a} == {"shawan", "dashi"}
    e = list(entities(towns, 500, random.Random("y")))
    assert all(valid_uscc(x[0]) for x in e) and len({x[1] for x in e}) == 500
    assert id_check("11010519491231002") == "X" and uscc_check("91350100M000100Y4") == "3"


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


def test_secrets_file_is_private_and_stable(tmp_path):
    e = load_estate(PANYU)
    p = secrets.ensure(tmp_path, e)
    assert (p.stat().st_mode & 0o777) == 0o600 and (p.parent.stat().st_mode & 0o777) == 0o700
    first = p.read_text()
    assert secrets.ensure(tmp_path, e).read_text() == first  # kept, not regenerated
    data = yaml.safe_load(first)
    assert data.pop("net_username") == "netops"  # a login name, not a secret
    assert len(set(data.values())) == len(data) and all(len(v) >= 32 for v in data.values())


def test_inventory_of_another_estate_has_its_own_clusters(tmp_path):
    e = load_estate(CONGHUA)
    inv = build_inventory(e, secrets_file=secrets.ensure(tmp_path, e), admin_cidrs=(), target="lab")
    assert set(inv["all"]["children"]["pg_primary"]["hosts"]) == {"chdc-db1"}
    assert "atw-witness1" in inv["all"]["children"]["site_aotou_witness"]["hosts"]


def test_release_bundle_is_reproducible_and_self_contained(tmp_path):
    wh = tmp_path / "wh"
    wh.mkdir()
    for n in ("pip-1-py3-none-any.whl", "gunicorn-1-py3-none-any.whl"):
        (wh / n).write_bytes(b"wheel " + n.encode())
    r1 = build_release("hotline-12345", "1.0.0", tmp_path / "a", wheelhouse=wh)
    r2 = build_release("hotline-12345", "1.0.0", tmp_path / "b", wheelhouse=wh)
    assert r1.digest == r2.digest and r1.path.read_bytes() == r2.path.read_bytes()
    names = tarfile.open(r1.path).getnames()
    assert "hotline-12345-1.0.0/ENTRYPOINT" in names and "hotline-12345-1.0.0/wheels/pip-1-py3-none-any.whl" in names
    assert any(n.endswith("migrations/hotline-12345/001_tickets.sql") for n in names)
    assert build_release("hotline-12345", "1.0.1", tmp_path / "a", wheelhouse=wh).digest != r1.digest


def test_release_needs_the_wheelhouse_and_a_known_app(tmp_path):
    with pytest.raises(DeployFailed, match="no wheels"):
        build_release("hotline-12345", "1", tmp_path, wheelhouse=tmp_path / "none")
    with pytest.raises(DeployFailed, match="no application 'census'"):
        build_release("census", "1", tmp_path, wheelhouse=tmp_path)


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
