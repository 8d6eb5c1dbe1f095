"""The lab's four-level network: real routers (FRR) and emulated village switches, reached over
SSH on their estate management addresses, started with the rest of the lab.

    egov-ctl  (management, out of band)
      lo: every device's mgmt_ip/32
      sshd: one ListenAddress per router; `Match LocalAddress` lands the session in that
            router's vtysh (netmiko cisco_ios works against it); key login
      fake-switches: one process, one SSH service per village switch (Cisco 2960), password login

    egov-n-<router>   one namespace per router with zebra + staticd + ospfd (FRR), started
                      EMPTY: `egov net push` gives them addresses and OSPF. Links are veths:
        city `down1` <-> core `uplink`;  core `down<i>` <-> town i `uplink`;
        core `dc<k>` <-> site k's router (`egov-r-<site>`, interface `core`), whose static
        routes send the network's pools (transit, mgmt, town LANs) to the core;
        town `service` <-> `egov-c-<town>` (the town's service-centre client, .100 of its LAN);
        town `mgmt` <-> `mgmt-p` (the villages' management LAN; its peer keeps carrier).

Everything lives under `<lab dir>/net/` (mode 0700): the sshd config and keys, the switches' spec
and credentials (0600), their saved configs (`switches/`, written on `write memory`, loaded when
the process restarts), pid files and logs. FRR runs from `/run/egov-net/frr/<router>/` (owned by
the `frr` user, which cannot be assumed to reach the state dir); `lab down --keep-disks` copies the
routers' saved configs to `<lab dir>/net/frr/` and the next `lab up` starts from them.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from egov.core import ports, topology
from egov.core.model import DeviceRole, Estate, SubnetPurpose
from egov.lab import netns
from egov.lab.host import _reap
from egov.lab.host import alive as _alive
from egov.lab.netns import LabError

FRR_DIR = Path("/usr/lib/frr")
FRR_DAEMONS = ("zebra", "staticd", "ospfd")
VTYSH = "/usr/bin/vtysh"
FRR_RUN = Path("/run/egov-net/frr")  # one lab per machine, like its namespace names
NET_POOLS = tuple(topology.NETWORK_POOL_PURPOSES.values())  # validate holds network subnets to these
SWITCH_MODEL = "cisco_2960_24TT_L"
EMULATED = ("huawei_vrp", "hp_comware")  # platforms egov.lab.devices emulates


@dataclass(frozen=True)
class RouterPlan:
    id: str
    netns: str
    mgmt_ip: str
    platform: str = "frr"

    @property
    def vtysh_login(self) -> bool:
        """An estate that declares FRR routers: the router's sshd lands in its vtysh."""
        return self.platform == "frr"


@dataclass(frozen=True)
class Veth:
    a_ns: str
    a_if: str
    b_ns: str
    b_if: str
    b_addr: str | None = None  # address on the b end (lab-owned ends only)


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def _kill(pid: int | None, timeout: float = 5) -> bool:
    if pid is None or not _alive(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    end = time.monotonic() + timeout
    while time.monotonic() < end and _alive(pid):
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    return True


class LabNetwork:
    def __init__(self, estate: Estate, lab_dir: Path, ctl: str, prefix: str, site_routers: dict[str, str]):
        self.estate = estate
        self.dir = Path(lab_dir) / "net"
        self.ctl = ctl
        self.prefix = prefix
        self.site_routers = site_routers  # site id -> router netns
        self.key = self.dir / "id_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.creds = self.dir / "switch-credentials.json"
        self._intents = None
        self._intents = None
        self.routers, self.villages, self.veths, self.clients = self._plan()

    # ------------------------------------------------------------------ plan
    def _plan(self):
        from egov.core import topology

        net = self.estate.network
        routers = [RouterPlan(d.id, f"{self.prefix}n-{d.id}", str(d.mgmt_ip), str(d.platform))
                   for _, d in self.estate.devices() if d.role != DeviceRole.village_access]
        villages = [(t.id, v.id, str(v.mgmt_ip)) for t in net.towns for v in t.villages]
        self.platform = {d.id: str(d.platform) for _, d in self.estate.devices()}
        self.model = {d.id: d.model for _, d in self.estate.devices()}
        ns = {r.id: r.netns for r in routers}
        veths = [Veth(ns[net.city.id], "down1", ns[net.core.id], "uplink")]
        pool = topology._transit_pool(self.estate)
        for k, s in enumerate(self.estate.sites, start=1):
            _, there = topology.site_link(pool, k)
            veths.append(Veth(ns[net.core.id], f"dc{k}", self.site_routers[s.id], "core", str(there)))
        clients = {}
        for i, t in enumerate(net.towns, start=1):
            tns = ns[t.router.id]
            veths.append(Veth(ns[net.core.id], f"down{i}", tns, "uplink"))
            veths.append(Veth(tns, "mgmt", tns, "mgmt-p"))
            svc = next((s for s in t.subnets if s.purpose == SubnetPurpose.service), None)
            if svc is not None:
                cns = f"{self.prefix}c-{t.id}"
                addr = topology.service_client(svc)  # validate refuses a subnet without room for it
                gw = svc.gateway or next(svc.cidr.hosts())
                clients[t.id] = (cns, str(addr), str(gw))
                veths.append(Veth(tns, "service", cns, "eth0", str(addr)))
        return routers, villages, veths, clients

    def namespaces(self) -> list[str]:
        return [r.netns for r in self.routers] + [c[0] for c in self.clients.values()]

    def net_pools(self) -> list[str]:
        return [str(p.cidr) for p in self.estate.meta.pools if str(p.purpose) in NET_POOLS]

    # ------------------------------------------------------------------ up
    def preflight(self) -> None:
        for d in FRR_DAEMONS:
            if not (FRR_DIR / d).exists():
                raise LabError(f"FRR is not installed ({FRR_DIR / d} missing): run scripts/install-deps")
        try:
            pwd.getpwnam("frr")
        except KeyError:
            raise LabError(
                "the `frr` user does not exist (FRR package not installed): run scripts/install-deps"
            ) from None
        try:
            import fake_switches  # noqa: F401
        except ImportError:
            raise LabError("fake-switches is not installed in egov's environment: run scripts/install-deps") from None

    def up(self, credentials: tuple[str, str], progress=lambda *a, **k: None) -> list[str]:
        self.preflight()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        changes: list[str] = []
        progress("phase", name="network devices", total=len(self.routers) + 2)
        changes += self._mgmt_addresses()
        for r in self.routers:
            if netns.add_netns(r.netns):
                changes.append(f"netns {r.netns}")
            netns.sysctl(r.netns, "net.ipv4.ip_forward", "1")
            # OSPF joins AllSPFRouters once per interface on one socket; the default limit (20)
            # leaves a core with 19 towns + uplink + sites deaf on its last interfaces
            netns.sysctl(r.netns, "net.ipv4.igmp_max_memberships", "1024")
        for c in self.clients.values():
            if netns.add_netns(c[0]):
                changes.append(f"netns {c[0]}")
        for v in self.veths:
            changes += self._veth(v)
        changes += self._site_routes()
        for tid, (cns, addr, gw) in self.clients.items():
            have = {r.get("dst") for r in netns.ip_json("route", "show", ns=cns)}
            if "default" not in have:
                netns.ip("route", "replace", "default", "via", gw, ns=cns)
        for r in self.routers:
            changes += self._frr(r)
            progress("advance", host=r.id)
        changes += self._keys()
        changes += self._sshd()
        progress("advance", host="sshd")
        changes += self._switches(credentials)
        changes += self._devices(credentials)
        progress("advance", host="switches")
        self._known_hosts()
        return changes

    def _mgmt_addresses(self) -> list[str]:
        have = netns.addrs(self.ctl, "lo")
        want = [f"{r.mgmt_ip}/32" for r in self.routers] + [f"{v[2]}/32" for v in self.villages]
        missing = [a for a in want if a not in have]
        if missing:
            batch = "".join(f"addr add {a} dev lo\n" for a in missing)
            netns.run(["ip", "-n", self.ctl, "-batch", "-"], input=batch)
            return [f"{len(missing)} management addresses on {self.ctl}"]
        return []

    def _veth(self, v: Veth) -> list[str]:
        changes = []
        if netns.link(v.a_ns, v.a_if) is None or netns.link(v.b_ns, v.b_if) is None:
            for ns_, dev in ((v.a_ns, v.a_if), (v.b_ns, v.b_if)):
                if netns.link(ns_, dev) is not None:
                    netns.ip("link", "del", dev, ns=ns_)
            netns.ip("link", "add", v.a_if, "netns", v.a_ns, "type", "veth", "peer", "name", v.b_if, "netns", v.b_ns)
            changes.append(f"link {v.a_ns}:{v.a_if} <-> {v.b_ns}:{v.b_if}")
        if v.b_addr:
            netns.ensure_addr(v.b_ns, v.b_if, v.b_addr)
        for ns_, dev in ((v.a_ns, v.a_if), (v.b_ns, v.b_if)):
            if "UP" not in (netns.link(ns_, dev) or {}).get("flags", []):
                netns.ip("link", "set", dev, "up", ns=ns_)
        return changes

    def _site_routes(self) -> list[str]:
        from egov.core import topology

        pool = topology._transit_pool(self.estate)
        changes = []
        for k, s in enumerate(self.estate.sites, start=1):
            here, _ = topology.site_link(pool, k)
            rns = self.site_routers[s.id]
            have = {r.get("dst") for r in netns.ip_json("route", "show", ns=rns)}
            for p in self.net_pools():
                if p not in have:
                    netns.ip("route", "replace", p, "via", str(here.ip), "dev", "core", ns=rns)
                    changes.append(f"{rns}: route {p} via the district core")
        return changes

    def router_dir(self, rid: str) -> Path:
        """Where a router's daemons run: under /run, which the `frr` user can reach (the state
        dir, e.g. under /root, may not be)."""
        return FRR_RUN / rid

    def saved_dir(self, rid: str) -> Path:
        """A router's saved configs kept with the lab's disks (`lab down --keep-disks`)."""
        return self.dir / "frr" / rid

    def vtysh_argv(self, rid: str) -> list[str]:
        d = self.router_dir(rid)
        return [VTYSH, "--vty_socket", str(d), "--config_dir", str(d)]

    def _frr(self, r: RouterPlan) -> list[str]:
        d = self.router_dir(r.id)
        frr = pwd.getpwnam("frr")
        if not d.exists():
            d.mkdir(parents=True)
        for parent in (FRR_RUN.parent, FRR_RUN):
            os.chown(parent, 0, 0)
            os.chmod(parent, 0o711)
        os.chown(d, frr.pw_uid, frr.pw_gid)
        os.chmod(d, 0o750)
        vt = d / "vtysh.conf"
        if not vt.exists():
            vt.write_text(f"hostname {r.id}\n")
        changes = []
        saved = self.saved_dir(r.id)
        for daemon in FRR_DAEMONS:
            conf = d / f"{daemon}.conf"
            if not conf.exists():
                if (saved / conf.name).exists():  # kept by `lab down --keep-disks`
                    shutil.copyfile(saved / conf.name, conf)
                else:
                    conf.write_text(f"hostname {r.id}\n")  # factory state: a name only; `egov net push` does the rest
                os.chown(conf, frr.pw_uid, frr.pw_gid)
            if _pid(d / f"{daemon}.pid") is not None:
                continue
            if daemon == "zebra":
                (d / "zserv.api").unlink(missing_ok=True)  # a dead zebra's socket would fool the wait below
            argv = ["ip", "netns", "exec", r.netns, str(FRR_DIR / daemon), "-d", "-N", r.id, "-P", "0",
                    "--vty_socket", str(d), "-i", str(d / f"{daemon}.pid"), "-f", str(conf),
                    "-u", "frr", "-g", "frr", "--log", f"file:{d / (daemon + '.log')}", "--log-level", "warnings"]
            argv += ["-z", str(d / "zserv.api")]
            netns.run(argv, timeout=30)
            changes.append(f"{r.id}: started {daemon}")
            if daemon == "zebra":
                self._wait_socket(d / "zserv.api", r.id)
        return changes

    @staticmethod
    def _wait_socket(path: Path, rid: str, timeout: float = 10) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if path.exists():
                return
            time.sleep(0.02)
        raise LabError(f"{rid}: zebra did not open {path} within {timeout:.0f} s")

    def _keys(self) -> list[str]:
        changes = []
        for key in (self.key, self.dir / "ssh_host_ed25519_key"):
            if not key.exists():
                netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"egov-net@{self.estate.meta.name}",
                           "-f", str(key)])
                os.chmod(key, 0o600)
                changes.append(f"key {key.name}")
        ak = self.dir / "authorized_keys"
        ak.write_text(self.key.with_suffix(".pub").read_text())
        os.chmod(ak, 0o600)
        return changes

    SSHD_MAX_LISTEN = 16  # OpenSSH's MAX_LISTEN_SOCKS

    def _sshd_groups(self) -> list[list[RouterPlan]]:
        n = self.SSHD_MAX_LISTEN
        vt = [r for r in self.routers if r.vtysh_login]
        return [vt[i:i + n] for i in range(0, len(vt), n)]

    def _sshd_config(self, g: int, routers: list[RouterPlan]) -> str:
        lines = ["# written by egov lab: each router's management address lands in that router's vtysh"]
        lines += [f"ListenAddress {r.mgmt_ip}:22" for r in routers]
        lines += [
            f"HostKey {self.dir / 'ssh_host_ed25519_key'}",
            f"PidFile {self.dir / f'sshd-{g}.pid'}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "UsePAM no", "UseDNS no", "StrictModes no", "PrintMotd no", "PrintLastLog no",
            "MaxStartups 200:30:400", "MaxSessions 50", "LogLevel VERBOSE",
        ]
        for r in routers:
            lines += [f"Match LocalAddress {r.mgmt_ip}", f"  ForceCommand {' '.join(self.vtysh_argv(r.id))}"]
        return "\n".join(lines) + "\n"

    def _sshd(self) -> list[str]:
        changes = []
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for g, routers in enumerate(self._sshd_groups()):
            cfg = self.dir / f"sshd-{g}.conf"
            pidfile = self.dir / f"sshd-{g}.pid"
            text = self._sshd_config(g, routers)
            changed = not cfg.exists() or cfg.read_text() != text
            if changed:
                cfg.write_text(text)
                os.chmod(cfg, 0o600)
            pid = _pid(pidfile)
            if pid is not None and not changed:
                continue
            _kill(pid)
            netns.run(
                ["ip", "netns", "exec", self.ctl, "/usr/sbin/sshd", "-f", str(cfg), "-E", str(self.dir / "sshd.log")]
            )
            end = time.monotonic() + 10
            while _pid(pidfile) is None:
                if time.monotonic() > end:
                    raise LabError(f"the routers' sshd did not start: see {self.dir / 'sshd.log'}")
                time.sleep(0.02)
            changes.append(f"started the routers' management sshd ({len(routers)} routers)")
        return changes

    def _switches(self, credentials: tuple[str, str]) -> list[str]:
        user, password = credentials
        fd = os.open(self.creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"username": user, "password": password}, f)
        spec = {"credentials": str(self.creds), "saved": str(self.dir / "switches"),
                "switches": [{"name": vid, "address": ip, "model": SWITCH_MODEL} for _, vid, ip in self.villages
                             if self.platform[vid] == "cisco_ios"]}
        spec_path = self.dir / "switches.json"
        text = json.dumps(spec, indent=1)
        changed = not spec_path.exists() or spec_path.read_text() != text
        spec_path.write_text(text)
        pidfile = self.dir / "switches.pid"
        pid = _pid(pidfile)
        if pid is not None and not changed:
            return []
        _kill(pid)
        if not spec["switches"]:
            return []
        import sys

        log = open(self.dir / "switches.log", "ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ctl, sys.executable, "-m", "egov.lab.switches", str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        line = proc.stdout.readline().decode().strip() if proc.stdout else ""
        if not line.startswith("ready"):
            proc.kill()
            raise LabError(f"the village switches did not start: see {self.dir / 'switches.log'}")
        pidfile.write_text(f"{proc.pid}\n")
        return [f"started {len(spec['switches'])} emulated Cisco village switches"]

    def interfaces(self, rid: str) -> dict[str, str]:
        """A router's interfaces as its platform names them -> the lab's Linux interfaces (the
        names the lab's veths carry, FRR's port names)."""
        if self._intents is None:
            self._intents = topology.intents(self.estate)
        it, plat = self._intents[rid], self.platform[rid]
        out = {ports.port(plat, lk.kind, lk.index): ports.port("frr", lk.kind, lk.index) for lk in it.links}
        out.update({ports.port(plat, "lan", vlan=lan.vlan): lan.kind for lan in it.lans})
        out[ports.port(plat, "loopback")] = "lo"
        return out

    def devices_spec(self) -> dict:
        from egov.lab.devices.device import dialect_for

        devs = []
        for r in self.routers:
            if r.platform in EMULATED:
                devs.append({"name": r.id, "address": r.mgmt_ip, "port": 22,
                             "dialect": dialect_for(r.platform, self.model[r.id]),
                             "frr": {"dir": str(self.router_dir(r.id)), "interfaces": self.interfaces(r.id)}})
        for _, vid, ip in self.villages:
            if self.platform[vid] in EMULATED:
                devs.append({"name": vid, "address": ip, "port": 22,
                             "dialect": dialect_for(self.platform[vid], self.model[vid])})
        return {"credentials": str(self.creds), "saved": str(self.dir / "devices"),
                "status": str(self.dir / "devices-status.json"), "devices": devs}

    def _devices(self, credentials: tuple[str, str]) -> list[str]:
        """The estate's VRP/Comware devices, emulated (egov.lab.devices) in one process in the
        management namespace; each router's layer 3 carried out by its FRR."""
        spec = self.devices_spec()
        spec_path = self.dir / "devices.json"
        text = json.dumps(spec, indent=1)
        changed = not spec_path.exists() or spec_path.read_text() != text
        pidfile = self.dir / "devices.pid"
        pid = _pid(pidfile)
        if pid is not None and not changed:
            return []
        _kill(pid)
        if not spec["devices"]:
            return []
        spec_path.write_text(text)
        os.chmod(spec_path, 0o600)
        from egov.lab.devices import process

        with open(self.dir / "devices.log", "ab") as log:
            proc, _ = process.start("egov.lab.devices", spec_path, prefix=("ip", "netns", "exec", self.ctl),
                                    stderr=log)
        pidfile.write_text(f"{proc.pid}\n")
        n = len(spec["devices"])
        return [f"started {n} emulated VRP/Comware devices ({sum('frr' in d for d in spec['devices'])} routing)"]

    def _known_hosts(self) -> None:
        from fake_switches.transports.ssh_service import getRSAKeys

        host_pub = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        sw_pub = getRSAKeys()[0].split()[:2]
        entries = [(r.mgmt_ip, host_pub if r.vtysh_login else sw_pub) for r in self.routers]
        entries += [(ip, sw_pub) for _, _, ip in self.villages]
        self.known_hosts.write_text("".join(f"{ip} {' '.join(k)}\n" for ip, k in entries))
        os.chmod(self.known_hosts, 0o600)
        # and one file per device: paramiko re-reads its known_hosts on every connection, and its
        # load is quadratic in the number of entries (30 ms per session for 293 of them)
        d = self.dir / "known_hosts.d"
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o700)
        for ip, k in entries:
            f = d / ip
            f.write_text(f"{ip} {' '.join(k)}\n")
            os.chmod(f, 0o600)

    def known_hosts_for(self, address: str) -> Path:
        return self.dir / "known_hosts.d" / address

    # ------------------------------------------------------------------ down / status
    def stop(self, *, keep_configs: bool = False) -> list[str]:
        """Stop every process of the network; keep the routers' saved configs with the lab's
        disks if asked, then remove their runtime dirs."""
        changes = []
        if _kill(_pid(self.dir / "switches.pid")):
            changes.append("stopped the village switches")
        if _kill(_pid(self.dir / "devices.pid")):
            changes.append("stopped the emulated VRP/Comware devices")
        for pidfile in sorted(self.dir.glob("sshd-*.pid")):
            if _kill(_pid(pidfile)):
                changes.append("stopped the routers' sshd")
        if FRR_RUN.is_dir():
            for d in sorted(FRR_RUN.iterdir()):
                for daemon in FRR_DAEMONS:
                    if _kill(_pid(d / f"{daemon}.pid")):
                        changes.append(f"{d.name}: stopped {daemon}")
                if keep_configs:
                    saved = self.saved_dir(d.name)
                    saved.mkdir(parents=True, exist_ok=True)
                    for conf in d.glob("*.conf"):
                        shutil.copyfile(conf, saved / conf.name)
            shutil.rmtree(FRR_RUN.parent, ignore_errors=True)
        return changes

    def factory_reset(self) -> None:
        """Every device back to factory state at the next `lab up` (benchmarks start from it)."""
        self.stop()
        shutil.rmtree(self.dir / "frr", ignore_errors=True)
        shutil.rmtree(self.dir / "switches", ignore_errors=True)
        shutil.rmtree(self.dir / "devices", ignore_errors=True)

    def status(self) -> dict:
        routers = []
        for r in self.routers:
            d = self.router_dir(r.id)
            alive = [x for x in FRR_DAEMONS if _pid(d / f"{x}.pid") is not None]
            routers.append(
                {
                    "id": r.id,
                    "mgmt_ip": r.mgmt_ip,
                    "netns": r.netns,
                    "state": "running" if len(alive) == len(FRR_DAEMONS) else ("partial" if alive else "stopped"),
                }
            )
        try:
            realised = json.loads((self.dir / "devices-status.json").read_text())
        except (OSError, ValueError):
            realised = {}
        for r in routers:
            r["platform"] = self.platform[r["id"]]
            if r["id"] in realised:
                r["l3"] = realised[r["id"]]
        emulated = [v for _, v, _ in self.villages if self.platform[v] in EMULATED]
        return {"routers": routers, "switches": {"count": len(self.villages),
                                                  "emulated_vrp_comware": len(emulated),
                                                  "state": "running" if (_pid(self.dir / "switches.pid")
                                                                         or _pid(self.dir / "devices.pid"))
                                                  else "stopped"},
                "devices": "running" if _pid(self.dir / "devices.pid") else "stopped",
                "clients": {t: c[1] for t, c in self.clients.items()},
                "sshd": "running" if all(_pid(self.dir / f"sshd-{g}.pid") for g in range(len(self._sshd_groups())))
                else "stopped"}

    def crash_router(self, rid: str) -> list[str]:
        d = self.router_dir(rid)
        return [f"{rid}: killed {x}" for x in FRR_DAEMONS if _kill(_pid(d / f"{x}.pid"), timeout=0.5)]

    def client_argv(self, town: str, *argv: str) -> list[str]:
        if town not in self.clients:
            raise LabError(f"no service-centre client for town {town!r}")
        return ["ip", "netns", "exec", self.clients[town][0], *argv]


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
