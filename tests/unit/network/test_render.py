"""Rendering: deterministic, golden files for every platform and role, Huawei/H3C output read
back by hier_config's own platforms, estate template overrides, clear errors."""

from __future__ import annotations

import os

import pytest
from hier_config import get_hconfig

from egov.core import paths, topology
from egov.core.loader import load_estate
from egov.network import platforms, render
from egov.network.plan import plan
from tests.conftest import PANYU, ROOT

GOLDEN = ROOT / "tests" / "data" / "net" / "golden"
SAMPLES = {"city_uplink": "city-uplink", "core": "panyu-core", "town_aggregation": "shiqiao-agg",
           "village_access": "shiqiao-v001"}
CASES = [(p, role) for p in ("huawei_vrp", "hp_comware", "frr", "cisco_ios") for role in SAMPLES
         if (paths.network_templates() / p / f"{role}.j2").exists()]


@pytest.fixture(scope="module")
def estate():
    return load_estate(PANYU)


def test_every_platform_has_its_roles():
    assert len(CASES) == 4 + 4 + 3 + 1  # production: all roles; lab: FRR routers, IOS access switches


@pytest.mark.parametrize("platform,role", CASES)
def test_golden(estate, platform, role):
    dev = SAMPLES[role]
    got = render.render_all(estate, lab=False, devices=[dev], platform=platform)[dev].text
    path = GOLDEN / platform / f"{role}.cfg"
    if os.environ.get("EGOV_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
    assert got == path.read_text(), f"{path} differs: re-run with EGOV_UPDATE_GOLDEN=1 if the change is intended"


def test_rendering_is_deterministic(estate):
    a = render.render_all(estate, lab=False)
    b = render.render_all(load_estate(PANYU), lab=False)
    assert {k: v.text for k, v in a.items()} == {k: v.text for k, v in b.items()}
    assert len(a) == 293


@pytest.mark.parametrize("platform", ["huawei_vrp", "hp_comware"])
@pytest.mark.parametrize("role", list(SAMPLES))
def test_production_configs_parse_as_their_platform(estate, platform, role):
    dev = SAMPLES[role]
    text = render.render_all(estate, lab=False, devices=[dev], platform=platform)[dev].text
    p = platforms.get(platform)
    h = get_hconfig(p.hier, p.clean_running(text))
    tops = [c.text for c in h.children]
    assert len(tops) == len(set(tops)), "duplicate top-level lines"
    assert f"sysname {dev}" in tops
    for c in h.children:
        if c.text.startswith("interface "):
            assert c.children, f"{c.text} has no configuration"
    # converged: planning the config against itself changes nothing; from factory, it is all added
    assert plan(dev, platform, role, text, text).commands == []
    fresh = plan(dev, platform, role, f"sysname {dev}\n", text)
    assert len([x for x in fresh.commands if x.strip() not in ("quit",)]) > 10
    # a stray VLAN on the device is removed with the platform's negation
    stray = plan(dev, platform, role, text + "vlan 999\n", text)
    assert "undo vlan 999" in stray.commands


def test_routers_ospf_covers_every_link_and_lan(estate):
    its = topology.intents(estate)
    core = its["panyu-core"]
    assert len(core.links) == 1 + len(estate.sites) + len(estate.network.towns)
    text = render.render_intent(its["shiqiao-agg"], "huawei_vrp").text
    h = get_hconfig(platforms.get("huawei_vrp").hier, text)
    ospf = next(c for c in h.children if c.text.startswith("ospf 1"))
    area = next(c for c in ospf.children if c.text == "area 0.0.0.0")
    nets = {c.text for c in area.children}
    assert nets == {"network 10.30.1.2 0.0.0.0", "network 10.31.1.0 0.0.0.3", "network 10.30.1.0 0.0.0.255",
                    "network 10.40.1.0 0.0.0.255"}


def test_transit_addresses_are_unique_and_in_the_pool(estate):
    its = topology.intents(estate)
    addrs = [lk.address for i in its.values() for lk in i.links]
    assert len({a.ip for a in addrs}) == len(addrs)
    assert all(a.ip in topology._transit_pool(estate) for a in addrs)
    # both ends of a link agree
    for did, i in its.items():
        for lk in i.links:
            if lk.peer in its:
                back = next(x for x in its[lk.peer].links if x.peer == did)
                assert back.peer_address == lk.address.ip and lk.peer_address == back.address.ip


def test_the_lab_renders_the_declared_platforms(estate):
    r = render.render_all(estate, lab=True, devices=["panyu-core", "shiqiao-v001", "shatou-v002"])
    assert {d: x.platform for d, x in r.items()} == {"panyu-core": "huawei_vrp", "shiqiao-v001": "huawei_vrp",
                                                    "shatou-v002": "hp_comware"}
    assert r == render.render_all(estate, lab=False, devices=["panyu-core", "shiqiao-v001", "shatou-v002"])
    assert "ip route-static 10.20.0.0 255.255.0.0 10.31.255.2" in r["panyu-core"].text


def test_estate_template_overrides_egov_s(panyu):
    (panyu.path / "templates" / "huawei_vrp").mkdir(parents=True)
    (panyu.path / "templates" / "huawei_vrp" / "village_access.j2").write_text("sysname {{ i.device.id }}-local\n")
    e = load_estate(panyu.path)
    assert (
        render.render_all(e, lab=True, devices=["shiqiao-v001"])["shiqiao-v001"].text == "sysname shiqiao-v001-local\n"
    )


def test_unknown_device_and_missing_template_are_one_clear_line(estate):
    with pytest.raises(render.RenderError, match="no device 'nope' in the estate's network.yaml"):
        render.render_all(estate, lab=True, devices=["nope"])
    with pytest.raises(render.RenderError, match=r"shiqiao-agg: no template cisco_ios/town_aggregation.j2"):
        render.render_all(estate, lab=True, devices=["shiqiao-agg"], platform="cisco_ios")


def test_template_error_names_device_and_template(panyu):
    (panyu.path / "templates" / "huawei_vrp").mkdir(parents=True)
    (panyu.path / "templates" / "huawei_vrp" / "core.j2").write_text("sysname {{ i.device.nosuch }}\n")
    e = load_estate(panyu.path)
    with pytest.raises(render.RenderError, match=r"panyu-core: template huawei_vrp/core.j2: .*nosuch"):
        render.render_all(e, lab=True, devices=["panyu-core"])


def test_comware_globals_are_read_back_at_column_zero():
    p = platforms.get("hp_comware")
    shown = ("#\n version 7.1.064, Release 0821P11\n#\n sysname h3c\n#\nvlan 10\n name mgmt\n#\n"
             " ip route-static 0.0.0.0 0 10.30.1.1\n#\nreturn\n")
    assert p.clean_running(shown) == "sysname h3c\nvlan 10\n name mgmt\nip route-static 0.0.0.0 0 10.30.1.1\n"
