"""The emulated routers' layer 3 (egov/lab/devices/l3.py): the Panyu production templates, booted
into an emulated VRP/Comware device, become the FRR configuration that carries them out; a wrong
wildcard leaves its interface out of OSPF; what is accepted but not carried out is listed; the
FRR diff is minimal and idempotent; `display ospf peer` is what egov's verify reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from egov.core import topology
from egov.core.loader import load_estate
from egov.lab.devices import l3
from egov.lab.devices.device import Device, dialect_for
from egov.network import platforms, render, verify

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def estate():
    return load_estate(ROOT / "estate" / "panyu")


def _ifmap(intent, platform: str) -> dict[str, str]:
    p, f = platforms.get(platform), platforms.get("frr")
    out = {p.port(lk.kind, lk.index): f.port(lk.kind, lk.index) for lk in intent.links}
    out.update({p.port("lan", vlan=lan.vlan): lan.kind for lan in intent.lans})
    out[p.port("loopback")] = "lo"
    return out


def _booted(estate, did: str, platform: str, text: str | None = None):
    it = topology.intents(estate)[did]
    text = text or render.render_intent(it, platform).text
    dev = Device(did, dialect_for(platform, it.device.model))
    assert dev.load(text) == []
    return it, dev, l3.realise(dev.running, _ifmap(it, platform))


# VRP `spf-schedule-interval intelligent-timer 500 1 50` (max start hold, ms); Comware
# `spf-schedule-interval 1 50 500` (max in s, min and increment in ms): FRR's delay, hold, max
@pytest.mark.parametrize("platform, spf", [("huawei_vrp", "1 50 500"), ("hp_comware", "50 500 1000")])
def test_a_town_router_becomes_its_frr_configuration(estate, platform, spf):
    it, _, r = _booted(estate, "shiqiao-agg", platform)
    assert r.contexts["interface uplink"] == [
        f"description uplink {it.links[0].peer}", f"ip address {it.links[0].address}",
        "ip ospf network point-to-point", "ip ospf hello-interval 1", "ip ospf dead-interval 3", "ip ospf area 0.0.0.0"]
    for lan in it.lans:  # the town's LANs: addressed, in OSPF, silent
        assert r.contexts[f"interface {lan.kind}"][-3:] == [f"ip address {lan.gateway}", "ip ospf passive",
                                                          "ip ospf area 0.0.0.0"]
    assert r.contexts["interface lo"] == [f"ip address {it.loopback}", "ip ospf area 0.0.0.0"]
    assert r.contexts["router ospf"] == [f"ospf router-id {it.loopback.ip}", f"timers throttle spf {spf}"]


def test_the_core_routes_statics_and_redistributes_them(estate):
    it, _, r = _booted(estate, "panyu-core", "huawei_vrp")
    assert "redistribute static" in r.contexts["router ospf"]
    assert sorted(r.contexts[""]) == sorted(f"ip route {x.prefix} {x.next_hop}" for x in it.routes) and it.routes
    site = [c for c in r.contexts if c.startswith("interface dc")]
    assert site and all("ip ospf passive" in r.contexts[c] for c in site)


def test_a_wrong_wildcard_leaves_its_interface_out_of_ospf(estate):
    it = topology.intents(estate)["shiqiao-agg"]
    text = render.render_intent(it, "huawei_vrp").text
    up = it.links[0].address.network
    good = f"network {up.network_address} {topology.wildcard(up)}"
    assert good in text
    _, _, r = _booted(estate, "shiqiao-agg", "huawei_vrp",
                      text.replace(good, f"network {up.network_address} 255.255.255.252"))  # a mask, not a wildcard
    assert not any(x.startswith("ip ospf area") for x in r.contexts["interface uplink"])
    assert "ip ospf area 0.0.0.0" in r.contexts["interface lo"]  # the other networks still match


@pytest.mark.parametrize("net, wc, addr, hit", [
    ("10.0.0.0", "0.0.0.3", "10.0.0.2", True),
    ("10.0.0.0", "0.0.0.3", "10.0.0.5", False),
    ("10.0.0.0", "0.0.0.0", "10.0.0.1", False),  # a host wildcard covers only that address
    ("10.0.0.1", "0.0.0.0", "10.0.0.1", True),
    ("10.0.0.0", "0.0.255.0", "10.0.7.0", True),  # non-contiguous wildcards are legal on VRP/Comware
    ("10.0.0.0", "0.0.255.0", "10.0.7.1", False),
    ("0.0.0.0", "255.255.255.255", "192.0.2.9", True),
])
def test_network_wildcards_match_as_the_devices_do(net, wc, addr, hit):
    assert l3.covers(net, wc, addr) is hit


def test_lines_accepted_but_not_carried_out_are_listed(estate):
    _, _, r = _booted(estate, "shiqiao-agg", "huawei_vrp")
    assert any(x.startswith("vlan batch") for x in r.unrealised)
    assert any("port link-type trunk" in x for x in r.unrealised)  # the LAN trunk is a bridge port here
    assert any(x.startswith("ntp-service unicast-server") for x in r.unrealised)
    assert not any("ip address" in x or "ospf" in x.split(":")[0] and "area" in x for x in r.unrealised)
    _, _, v = _booted(estate, "shiqiao-v001", str(load_estate(ROOT / "estate" / "panyu").network.towns[0]
                                                   .villages[0].platform))
    assert v.unrealised and not v.contexts.get("router ospf")


def _as_frr(r: l3.Realisation) -> str:
    """What FRR's show running-config prints for a realisation (its own layout)."""
    out = ["frr version 8.4.4", "frr defaults traditional", "hostname x", "!"]
    out += r.contexts.get("", [])
    for ctx, lines in r.contexts.items():
        if ctx:
            out += [ctx, *(" " + x for x in lines), "exit", "!"]
    return "\n".join(out + ["end"]) + "\n"


def test_the_frr_diff_is_minimal_and_idempotent(estate):
    _, _, r = _booted(estate, "panyu-core", "huawei_vrp")
    first = l3.commands({}, r)
    assert first[:len(r.contexts[""])] == r.contexts[""] and "router ospf" in first
    assert l3.commands(l3.parse_running(_as_frr(r)), r) == []  # converged: nothing to send
    have = l3.parse_running(_as_frr(r))
    have["interface uplink"] = [x.replace("hello-interval 1", "hello-interval 10") for x in have["interface uplink"]]
    have["interface stale"] = ["ip address 192.0.2.1/30", "ip ospf area 0.0.0.0"]
    have[""] = have[""] + ["ip route 198.51.100.0/24 192.0.2.2"]
    assert l3.commands(have, r) == [
        "no ip route 198.51.100.0/24 192.0.2.2",
        "interface stale", " no ip address 192.0.2.1/30", " no ip ospf area", "exit",
        "interface uplink", " no ip ospf hello-interval 10", " ip ospf hello-interval 1", "exit",
    ]


def test_a_router_with_no_ospf_any_more_loses_frr_ospf():
    have = l3.parse_running("router ospf\n ospf router-id 10.0.0.1\nexit\n!\ninterface lo\n ip address 10.0.0.1/32\n"
                            " ip ospf area 0\nexit\n")
    assert l3.commands(have, l3.Realisation()) == ["interface lo", " no ip address 10.0.0.1/32", " no ip ospf area",
                                                   "exit", "no router ospf"]


@pytest.mark.parametrize("dialect, platform", [("vrp5", "huawei_vrp"), ("vrpv8", "huawei_vrp"),
                                               ("comware7", "hp_comware")])
def test_display_ospf_peer_is_what_verify_reads(dialect, platform):
    peers = [{"router_id": "10.30.0.2", "address": "10.31.0.2", "state": "Full", "interface": "uplink", "dead_s": 3},
             {"router_id": "10.30.0.9", "address": "10.31.0.9", "state": "Init", "interface": "down1", "dead_s": 2}]
    ifs = {"GigabitEthernet0/0/1": "uplink", "GigabitEthernet1/0/1": "down1"}
    text = l3.ospf_peer_text(dialect, "10.30.0.1", peers, ifs, brief=platform == "huawei_vrp")
    assert verify.ospf_full_neighbors(platform, text) == {"10.30.0.2"}
    if platform == "huawei_vrp":
        assert "GigabitEthernet0/0/1" in text and "uplink" not in text


@pytest.mark.parametrize("dialect", ["vrp5", "vrpv8", "comware7"])
def test_display_ospf_peer_asks_the_router_in_both_views(dialect):
    from egov.lab.devices.device import Session

    d = Device("r1", dialect)
    asked = []
    s = Session(d)
    assert s.handle("display ospf peer brief").text == ""  # a device that routes nothing here: no peers
    d.ospf_peers = lambda brief: asked.append(brief) or "PEERS\n"
    assert s.handle("dis ospf peer brief").text == "PEERS\n"
    s.handle("system-view")
    assert s.handle("display ospf peer").text == "PEERS\n"
    assert asked == [True, False]
