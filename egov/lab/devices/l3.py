"""What an emulated router's configuration means at layer 3, carried out by FRR.

A VRP/Comware router's running configuration (the device's text tree) is read the way the
device reads it and turned into FRR configuration for the FRR daemons (zebra, staticd, ospfd)
in that router's lab namespace, so that OSPF adjacencies and routes follow from the Huawei/H3C
text itself:

* `interface X` -> the lab's Linux interface for X (the lab gives the map); `ip address A M`,
  `ospf network-type p2p`, `ospf timer hello|dead N`, `shutdown`, `description`;
* `ospf <p> router-id R` -> `router ospf` with `ospf router-id R`; `import-route static` ->
  `redistribute static`; `silent-interface X` -> `ip ospf passive` on X; VRP
  `spf-schedule-interval intelligent-timer max start hold` / Comware `spf-schedule-interval max
  min inc` -> `timers throttle spf`;
* `area A` / `network N W`: matched as the devices match it, against each interface's primary
  address with the wildcard (`(addr & ~W) == (N & ~W)`), and given to FRR as `ip ospf area A` on
  each interface it covers. A wrong wildcard covers the wrong interfaces, so the adjacency or the
  route it should have made is missing, as on the device;
* `ip route-static P M|LEN NH` -> `ip route P/LEN NH`.

Everything else the device accepted (VLANs, L2 port settings, NTP, SSH server, banners) is
kept by the device but not carried out in the lab: `unrealised()` lists it (`egov lab status`).

`commands(actual, wanted)` diffs FRR's own `show running-config` against the wanted lines, so
the realiser is idempotent and restart-safe (FRR restarted empty, emulator restarted, a revert).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from egov.lab.devices.tree import Node

# the device lines realised here, by their first words (anything else is listed as unrealised)
_IF_REALISED = ("ip address", "ospf network-type", "ospf timer hello", "ospf timer dead", "shutdown", "description",
                "port link-mode route")
_OSPF_REALISED = ("import-route static", "spf-schedule-interval", "silent-interface", "area")
_TOP_REALISED = ("sysname", "interface", "ospf", "ip route-static")

ROUTER_OSPF = "router ospf"
GLOBAL = ""


def _starts(text: str, prefixes: tuple[str, ...]) -> bool:
    w = text.split()
    return any(w[:len(p.split())] == p.split() for p in prefixes)


def _prefixlen(mask_or_len: str) -> int:
    if mask_or_len.isdigit():
        return int(mask_or_len)
    return ipaddress.IPv4Network(f"0.0.0.0/{mask_or_len}").prefixlen


def covers(network: str, wildcard: str, address: str) -> bool:
    """Does `network N W` cover an interface whose primary address is `address` (VRP/Comware)?"""
    w = int(ipaddress.IPv4Address(wildcard))
    n = int(ipaddress.IPv4Address(network))
    a = int(ipaddress.IPv4Address(address))
    return (a & ~w & 0xFFFFFFFF) == (n & ~w & 0xFFFFFFFF)


@dataclass
class Realisation:
    """FRR configuration lines per context (`interface <linux if>`, `router ospf`, "" = global)."""
    contexts: dict[str, list[str]] = field(default_factory=dict)
    unrealised: list[str] = field(default_factory=list)

    def add(self, ctx: str, line: str) -> None:
        lines = self.contexts.setdefault(ctx, [])
        if line not in lines:
            lines.append(line)


def realise(tree: Node, interfaces: dict[str, str]) -> Realisation:
    """The FRR configuration that carries out `tree` (a VRP or Comware running configuration);
    `interfaces` maps the device's interface names to the lab's Linux interface names."""
    out = Realisation()
    primary: dict[str, str] = {}  # device interface -> primary address
    for node in tree.children:
        w = node.text.split()
        if w[:1] == ["interface"] and len(w) == 2:
            dev_if = w[1]
            linux = interfaces.get(dev_if)
            for c in node.children:
                if not _starts(c.text, _IF_REALISED) or linux is None:
                    out.unrealised.append(f"{node.text}: {c.text}")
                    continue
                cw = c.text.split()
                ctx = f"interface {linux}"
                if cw[:2] == ["ip", "address"] and len(cw) >= 4:
                    addr = ipaddress.IPv4Interface(f"{cw[2]}/{_prefixlen(cw[3])}")
                    primary.setdefault(dev_if, cw[2])
                    out.add(ctx, f"ip address {addr}")
                elif cw[:2] == ["ospf", "network-type"]:
                    if cw[2:3] == ["p2p"]:
                        out.add(ctx, "ip ospf network point-to-point")
                elif cw[:3] == ["ospf", "timer", "hello"]:
                    out.add(ctx, f"ip ospf hello-interval {cw[3]}")
                elif cw[:3] == ["ospf", "timer", "dead"]:
                    out.add(ctx, f"ip ospf dead-interval {cw[3]}")
                elif cw == ["shutdown"]:
                    out.add(ctx, "shutdown")
                elif cw[:1] == ["description"]:
                    out.add(ctx, c.text)
            if linux is None and node.children:
                pass  # listed above, line by line
        elif w[:1] == ["ospf"]:
            _ospf(node, interfaces, primary, out)
        elif w[:2] == ["ip", "route-static"] and len(w) >= 5:
            net = ipaddress.IPv4Network(f"{w[2]}/{_prefixlen(w[3])}", strict=False)
            out.add(GLOBAL, f"ip route {net} {w[4]}")
        elif not _starts(node.text, _TOP_REALISED):
            out.unrealised.append(node.text)
            out.unrealised += [f"{node.text}: {c}" for c in node.lines(0)]
    return out


def _ospf(node: Node, interfaces: dict[str, str], primary: dict[str, str], out: Realisation) -> None:
    w = node.text.split()
    out.contexts.setdefault(ROUTER_OSPF, [])
    if "router-id" in w:
        out.add(ROUTER_OSPF, f"ospf router-id {w[w.index('router-id') + 1]}")
    for c in node.children:
        cw = c.text.split()
        if cw == ["import-route", "static"]:
            out.add(ROUTER_OSPF, "redistribute static")
        elif cw[:2] == ["spf-schedule-interval", "intelligent-timer"] and len(cw) == 5:  # VRP: max start hold
            out.add(ROUTER_OSPF, f"timers throttle spf {cw[3]} {cw[4]} {cw[2]}")
        elif cw[:1] == ["spf-schedule-interval"] and len(cw) == 4 and cw[1].isdigit():  # Comware: max min inc
            out.add(ROUTER_OSPF, f"timers throttle spf {cw[2]} {cw[3]} {int(cw[1]) * 1000}")
        elif cw[:1] == ["silent-interface"] and len(cw) == 2 and cw[1] in interfaces:
            out.add(f"interface {interfaces[cw[1]]}", "ip ospf passive")
        elif cw[:1] == ["area"] and len(cw) == 2:
            for n in c.children:
                nw = n.text.split()
                if nw[:1] != ["network"] or len(nw) != 3:
                    out.unrealised.append(f"{node.text}: {c.text}: {n.text}")
                    continue
                for dev_if, addr in primary.items():
                    if covers(nw[1], nw[2], addr) and dev_if in interfaces:
                        out.add(f"interface {interfaces[dev_if]}", f"ip ospf area {cw[1]}")
        else:
            out.unrealised.append(f"{node.text}: {c.text}")


# ---------------------------------------------------------------------------- FRR side

# lines FRR prints that egov does not manage
_FRR_SKIP = ("frr version", "frr defaults", "hostname", "log ", "service ", "no ipv6 forwarding", "ip forwarding",
             "end", "exit", "!", "line vty", "agentx")


def parse_running(text: str) -> dict[str, list[str]]:
    """FRR's `show running-config`: the lines per context egov manages (interfaces, `router
    ospf`, global `ip route`)."""
    out: dict[str, list[str]] = {}
    ctx: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        s = line.strip()
        if not s or s == "!":
            continue
        if not line.startswith(" "):
            if s in ("exit", "end"):
                ctx = None
                continue
            if s.startswith("interface ") or s == ROUTER_OSPF:
                ctx = s.split(" vrf ")[0]
                out.setdefault(ctx, [])
                continue
            ctx = None
            if s.startswith("ip route "):
                out.setdefault(GLOBAL, []).append(s)
            continue
        if ctx is not None and s != "exit":
            out[ctx].append(s)
    return out


def _negate(line: str) -> str:
    if line.startswith("description "):
        return "no description"
    return f"no {line}"


def commands(actual: dict[str, list[str]], wanted: Realisation) -> list[str]:
    """vtysh configuration lines that take FRR from `actual` to `wanted` (empty: nothing to do).
    Removals first within each context, so a changed address or area is replaced, not added."""
    out: list[str] = []
    want = wanted.contexts
    glob_have, glob_want = actual.get(GLOBAL, []), want.get(GLOBAL, [])
    out += [_negate(x) for x in glob_have if x not in glob_want]
    out += [x for x in glob_want if x not in glob_have]
    for ctx in sorted(set(actual) | set(want), key=lambda c: (c == ROUTER_OSPF, c)):
        if ctx == GLOBAL:
            continue
        have, lines = actual.get(ctx, []), want.get(ctx)
        if lines is None:
            if ctx == ROUTER_OSPF:
                out.append("no router ospf")
            elif have:
                out += [ctx, *(" " + _negate(x) for x in have if not x.startswith("ip ospf area")),
                        *(" no ip ospf area" for x in have if x.startswith("ip ospf area")), "exit"]
            continue
        body = [" " + _negate(x) for x in have if x not in lines and not x.startswith("ip ospf area")]
        if any(x.startswith("ip ospf area") for x in have if x not in lines):
            body.insert(0, " no ip ospf area")
        body += [" " + x for x in lines if x not in have]
        if body or (ctx == ROUTER_OSPF and ctx not in actual):
            out += [ctx, *body, "exit"]
    return out


class Frr:
    """One router's FRR daemons, reached with vtysh on their socket directory."""

    def __init__(self, run_dir: str | Path, vtysh: str = "/usr/bin/vtysh"):
        self.dir = str(run_dir)
        self.vtysh = vtysh

    def _run(self, *cmds: str, timeout: float = 20) -> str:
        argv = [self.vtysh, "--vty_socket", self.dir, "--config_dir", self.dir]
        for c in cmds:
            argv += ["-c", c]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"vtysh ({self.dir}) exited {r.returncode}: {(r.stderr or r.stdout).strip()[:300]}")
        return r.stdout

    def running(self) -> dict[str, list[str]]:
        return parse_running(self._run("show running-config"))

    def apply(self, wanted: Realisation) -> list[str]:
        cmds = commands(self.running(), wanted)
        if cmds:
            self._run("configure terminal", *cmds)
        return cmds

    def neighbors(self) -> list[dict]:
        """OSPF neighbours: [{router_id, address, state, interface (Linux), dead_s}]."""
        data = json.loads(self._run("show ip ospf neighbor json") or "{}")
        out = []
        for rid, entries in (data.get("neighbors") or {}).items():
            for nb in entries if isinstance(entries, list) else [entries]:
                out.append({"router_id": rid, "address": nb.get("ifaceAddress", nb.get("address", "")),
                            "state": str(nb.get("nbrState", nb.get("state", ""))).split("/")[0],
                            "interface": str(nb.get("ifaceName", "")).split(":")[0],
                            "dead_s": int(nb.get("routerDeadIntervalTimerDueMsec", 0)) // 1000})
        return out


def ospf_peer_text(dialect: str, router_id: str, peers: list[dict], interfaces: dict[str, str], *,
                   brief: bool) -> str:
    """`display ospf peer [brief]` as the device prints it, from FRR's neighbours (Linux interface
    names shown as the device's own)."""
    back = {v: k for k, v in interfaces.items()}
    if dialect == "comware7":
        rows = [f" {p['router_id']:<15} {p['address']:<15} {1:<3} {p['dead_s']:<10} {p['state'] + '/ -':<17} "
                f"{back.get(p['interface'], p['interface'])}" for p in peers]
        return "\n".join([f"         OSPF Process 1 with Router ID {router_id}",
                          "               Neighbor Brief Information", "", " Area: 0.0.0.0",
                          " Router ID       Address         Pri Dead-Time  State             Interface", *rows]) + "\n"
    sep = " " + "-" * 76
    if brief:
        rows = [f" 0.0.0.0          {back.get(p['interface'], p['interface']):<32} {p['router_id']:<16} {p['state']}"
                for p in peers]
        return "\n".join(["", f"OSPF Process 1 with Router ID {router_id}",
                          "                  Peer Statistic Information", sep,
                          " Area Id          Interface                        Neighbor id      State",
                          *rows, sep]) + "\n"
    rows = []
    for p in peers:
        rows += [f"  Router ID: {p['router_id']:<16} Address: {p['address']}",
                 f"    State: {p['state']}  Mode:Nbr is Master  Priority: 1",
                 f"    Dead timer due in {p['dead_s']}  sec"]
    return "\n".join(["", f"OSPF Process 1 with Router ID {router_id}", "Neighbors", "",
                      " Area 0.0.0.0 interface", *rows]) + "\n"
