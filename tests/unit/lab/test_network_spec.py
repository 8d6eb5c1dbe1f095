"""The lab runs each device on the platform the estate declares: the emulator's spec (no lab
needed) has every Panyu device with the dialect its model runs, and each router's interfaces,
as its platform names them, wired to a Linux interface the lab really creates in its namespace."""

from __future__ import annotations

from egov.core.loader import load_estate
from egov.lab.network import LabNetwork
from tests.conftest import PANYU


def _net(tmp_path):
    e = load_estate(PANYU)
    return e, LabNetwork(e, tmp_path, "egov-ctl", "egov-", {s.id: f"egov-r-{s.id}" for s in e.sites})


def test_every_device_is_emulated_on_its_declared_platform(tmp_path):
    e, net = _net(tmp_path)
    spec = net.devices_spec()
    by = {d["name"]: d for d in spec["devices"]}
    assert len(by) == sum(1 for _ in e.devices()) == 293
    want = {"NE40E-X8": "vrpv8", "CE12808": "vrpv8", "AR6280": "vrp5", "S5735-L24T4S": "vrp5",
            "MSR3660": "comware7", "S5130S-28S": "comware7"}
    assert all(by[d.id]["dialect"] == want[d.model] and by[d.id]["address"] == str(d.mgmt_ip)
               for _, d in e.devices())
    routers = {n for n, d in by.items() if "frr" in d}
    assert routers == {r.id for r in net.routers} and len(routers) == 21
    assert net._sshd_groups() == []  # no router lands in vtysh: the lab substitutes nothing


def test_each_router_interface_is_a_link_the_lab_wires(tmp_path):
    _, net = _net(tmp_path)
    ends = {}
    for v in net.veths:
        ends.setdefault(v.a_ns, set()).add(v.a_if)
        ends.setdefault(v.b_ns, set()).add(v.b_if)
    for r in net.routers:
        ifs = net.interfaces(r.id)
        assert ifs.pop("LoopBack0") == "lo"
        assert set(ifs.values()) <= ends[r.netns], (r.id, set(ifs.values()) - ends[r.netns])
    core = net.interfaces("panyu-core")
    assert core["GigabitEthernet0/0/1"] == "uplink" and core["GigabitEthernet2/0/1"] == "dc1"
    assert net.interfaces("nancun-agg")["GigabitEthernet1/0/1"] == "uplink"  # Comware port names
    assert {"service", "mgmt"} <= set(net.interfaces("shiqiao-agg").values())
