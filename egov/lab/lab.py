"""The embedded lab: every host of the estate's sites as a real Linux host on this machine.

Topology (all in network namespaces; nothing has a link to the machine's own network):

    egov-ctl            the controller: where egov runs when it talks to the lab.
      |  169.254.K.1/30   No forwarding, so it is never a path between sites.
    egov-r-<site>       one router per site: a bridge per subnet (holding the
      |  bridges          subnet's gateway address), forwarding on.
    egov-h-<host>       one namespace per host, eth0 on its subnet's bridge.

    egov-r-A === egov-r-B   the inter-site link (one veth pair per pair of sites,
                            169.254.(128+P).1-2/30); `cut` takes it down, `heal` restores.

State lives in `<state dir>/lab/` (mode 0700): `lab.json` (what was built, which links
are cut), `ssh/` (the lab's key pair, known_hosts, ssh_config) and `hosts/<id>/` (each
host's disk: overlay upper layers, /tmp, console log).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from egov.core import paths
from egov.core.model import Estate
from egov.lab import host as hostmod
from egov.lab import netns
from egov.lab.host import HostSpec, Nic
from egov.lab.netns import LabError

PREFIX = "egov-"
CTL = "egov-ctl"
OWNER = Path("/run/egov-lab.json")

Progress = Callable[..., None]


def _quiet(*_a, **_k) -> None:
    pass


@dataclass(frozen=True)
class Bridge:
    name: str
    subnet: str  # CIDR
    gateway: str  # CIDR on the bridge


@dataclass(frozen=True)
class SitePlan:
    id: str
    index: int
    router: str  # netns
    ctl_if: str  # veth end in egov-ctl
    ctl_addr: str
    router_addr: str
    bridges: tuple[Bridge, ...]


@dataclass(frozen=True)
class WanLink:
    a: str
    b: str
    a_if: str
    b_if: str
    a_addr: str
    b_addr: str


def preflight() -> None:
    """Refuse, before touching anything, on a machine where the lab cannot run."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root: it creates network namespaces, mounts and links (run it with sudo)")
    for kind in ("net", "mnt", "pid", "uts"):
        if not Path(f"/proc/self/ns/{kind}").exists():
            raise LabError(f"this kernel has no {kind} namespaces: the lab cannot run here")
    for tool in ("ip", "unshare", "ssh", "ssh-keygen", "sysctl"):
        if shutil.which(tool) is None:
            raise LabError(f"`{tool}` is not installed: run scripts/install-deps")
    if not Path("/usr/sbin/sshd").exists():
        raise LabError("/usr/sbin/sshd is not installed (openssh-server): run scripts/install-deps")
    r = subprocess.run(["unshare", "--net", "--mount", "--pid", "--uts", "--fork", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise LabError(f"cannot create namespaces here: {r.stderr.strip() or 'unshare failed'}")


class Lab:
    """The estate's lab. Commands get it from `Lab.of(...)` (one per estate and state dir in a
    process; `egov.target` hands it to everything that reaches the estate)."""

    _made: dict[tuple[str, str], "Lab"] = {}

    @classmethod
    def of(cls, estate: Estate, state_dir: Path) -> "Lab":
        key = (estate.source, str(Path(state_dir).resolve()))
        if key not in cls._made:
            cls._made[key] = cls(estate, state_dir)
        return cls._made[key]

    def __init__(self, estate: Estate, state_dir: Path):
        self.estate = estate
        self.state_dir = Path(state_dir)
        self.dir = paths.at(self.state_dir).lab
        self.ssh_dir = self.dir / "ssh"
        self.key = self.ssh_dir / "id_ed25519"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.ssh_config = self.ssh_dir / "config"
        self.statefile = self.dir / "lab.json"
        self.sites, self.wan, self.hosts, self.host_site = self._plan()
        from egov.lab.network import LabNetwork

        self.network = LabNetwork(estate, self.dir, CTL, PREFIX, {s.id: s.router for s in self.sites})

    # ------------------------------------------------------------------ the plan
    def _plan(self):
        sites: list[SitePlan] = []
        for k, s in enumerate(self.estate.sites, start=1):
            bridges = tuple(
                Bridge(netns.ifname("br-", sn.id), str(sn.cidr),
                       f"{sn.gateway or next(sn.cidr.hosts())}/{sn.cidr.prefixlen}")
                for sn in s.subnets)
            sites.append(SitePlan(s.id, k, f"{PREFIX}r-{s.id}", netns.ifname("r-", s.id),
                                  f"169.254.{k}.1/30", f"169.254.{k}.2/30", bridges))
        wan: list[WanLink] = []
        p = 0
        for i, a in enumerate(sites):
            for b in sites[i + 1:]:
                wan.append(WanLink(a.id, b.id, netns.ifname("w-", b.id), netns.ifname("w-", a.id),
                                   f"169.254.{128 + p}.1/30", f"169.254.{128 + p}.2/30"))
                p += 1
        hosts: dict[str, HostSpec] = {}
        host_site: dict[str, str] = {}
        mask = self._mask()
        etc_hosts = "".join(f"{h.address}\t{h.id}\n" for _, h in self.estate.hosts())
        for s in self.estate.sites:
            plan = next(x for x in sites if x.id == s.id)
            by_id = {sn.id: sn for sn in s.subnets}
            for h in s.hosts:
                sn = by_id[h.subnet]
                br = next(b for b in plan.bridges if b.subnet == str(sn.cidr))
                hosts[h.id] = HostSpec(
                    id=h.id, netns=f"{PREFIX}h-{h.id}", disk=self.dir / "hosts" / h.id,
                    nics=(Nic("eth0", f"{h.address}/{sn.cidr.prefixlen}", plan.router, br.name,
                              netns.ifname("h-", h.id)),),
                    gateway=br.gateway.split("/")[0], authorized_keys="", mask=mask, etc_hosts=etc_hosts)
                host_site[h.id] = s.id
        return sites, wan, hosts, host_site

    def _mask(self) -> tuple[str, ...]:
        """egov's state dir, if it sits under a directory hosts see through their overlays."""
        real = self.state_dir.resolve()
        top = real.parts[1] if len(real.parts) > 1 else ""
        return (str(real),) if top in hostmod.OVERLAY_DIRS else ()

    def signature(self) -> dict:
        """What `up` builds; a lab built from a different topology must be taken down first."""
        return {
            "sites": [[s.id, s.router, [list(b.__dict__.values()) for b in s.bridges]] for s in self.sites],
            "hosts": {h.id: [h.netns, h.nics[0].address] for h in self.hosts.values()},
        }

    def namespaces(self) -> list[str]:
        return ([CTL] + [s.router for s in self.sites] + [h.netns for h in self.hosts.values()]
                + self.network.namespaces())

    # ------------------------------------------------------------------ state
    def _load_state(self) -> dict | None:
        try:
            return json.loads(self.statefile.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as e:
            raise LabError(f"{self.statefile}: corrupt lab state ({e.msg}); run `egov lab down`") from None

    def _save_state(self, state: dict) -> None:
        tmp = self.statefile.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False))
        os.replace(tmp, self.statefile)

    def _owner_check(self) -> None:
        try:
            owner = json.loads(OWNER.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return
        if owner.get("lab_dir") != str(self.dir.resolve()) and netns.netns_exists(CTL):
            state = str(Path(owner.get("lab_dir", "?")).parent)
            raise LabError(f"the egov lab on this machine belongs to another state dir ({state}): "
                           f"use `egov --state-dir {state} lab ...`")

    def is_up(self) -> bool:
        return self.statefile.exists() and netns.netns_exists(CTL)

    def cut_links(self) -> set[tuple[str, str]]:
        st = self._load_state() or {}
        return {tuple(sorted(x)) for x in st.get("cut", [])}

    # ------------------------------------------------------------------ up
    def up(self, progress: Progress = _quiet, *, hosts: bool = True) -> list[str]:
        """Make the lab (idempotent). With `hosts=False` the sites' hosts are left to a cloud
        (the embedded OpenStack's compute driver makes them); `adopt` then takes them in."""
        preflight()
        self.network.preflight()
        self._owner_check()
        state = self._load_state()
        sig = self.signature()
        if state and state.get("signature") != sig:
            raise LabError(f"the lab in {self.dir} was built from a different estate layout "
                           f"({state.get('estate')}); run `egov lab down` first")
        changes: list[str] = []
        if state is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.dir, 0o700)
            state = {"estate": self.estate.meta.name, "signature": sig, "cut": [], "created": time.time()}
            self._save_state(state)  # written first: a killed `up` leaves a lab `down` can find
            changes.append(f"lab state {self.dir}")
        OWNER.write_text(json.dumps({"lab_dir": str(self.dir.resolve()), "pid": os.getpid()}))
        changes += self._keys()
        progress("phase", name="network", total=len(self.sites) + len(self.wan))
        changes += self._controller()
        for s in self.sites:
            changes += self._site(s)
            progress("advance")
        cut = self.cut_links()
        for w in self.wan:
            changes += self._wan(w, cut=(w.a, w.b) in cut)
            progress("advance")
        changes += self.network.up(self.net_credentials(), progress)
        if not hosts:
            return changes + self.adopt(progress)
        pub = self.key.with_suffix(".pub").read_text()
        specs = [self._spec(h, pub) for h in self.hosts.values()]
        progress("phase", name="hosts", total=len(specs))
        keys = {}
        for spec in specs:
            keys[spec.id] = hostmod.prepare(spec)
            changes += hostmod.plug(spec)
            if hostmod.boot(spec):
                changes.append(f"booted {spec.id}")
        for spec in specs:
            hostmod.wait_ready(spec)
            progress("advance", host=spec.id)
        changes += self._ssh_files(keys)
        progress("phase", name="ssh check", total=len(specs))
        self.check_ssh(list(self.hosts), progress)
        return changes

    def adopt(self, progress: Progress = _quiet) -> list[str]:
        """Take in the hosts something else made (a cloud's servers): pin their host keys, check SSH."""
        present = {hid: spec for hid, spec in self.hosts.items() if hostmod.running(spec)}
        keys = {}
        for hid, spec in present.items():
            pub = spec.disk / "upper/etc/ssh/ssh_host_ed25519_key.pub"
            keys[hid] = " ".join(pub.read_text().split()[:2])
        changes = self._ssh_files(keys)
        if present:
            progress("phase", name="ssh check", total=len(present))
            self.check_ssh(list(present), progress)
        return changes

    def realise_map(self) -> dict:
        """What a compute driver needs to make this lab's hosts: bridges by subnet (= network name)."""
        bridges = {}
        for s in self.estate.sites:
            plan = self._site_plan(s.id)
            for sn in s.subnets:
                br = next(b for b in plan.bridges if b.subnet == str(sn.cidr))
                bridges[sn.id] = {"ns": plan.router, "bridge": br.name}
        any_host = next(iter(self.hosts.values()), None)
        return {"prefix": PREFIX, "lab_dir": str(self.dir), "bridges": bridges, "mask": list(self._mask()),
                "etc_hosts": any_host.etc_hosts if any_host else ""}

    def net_credentials(self) -> tuple[str, str]:
        """The network devices' login (generated into the estate's secrets file, 0600)."""
        from egov.core import secrets

        s = secrets.load(self.state_dir, self.estate)
        return s["net_username"], s["net_password"]

    def _spec(self, h: HostSpec, pub: str) -> HostSpec:
        return dataclasses.replace(h, authorized_keys=pub)

    def _keys(self) -> list[str]:
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.ssh_dir, 0o700)
        if self.key.exists():
            return []
        netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"egov-lab@{self.estate.meta.name}",
                   "-f", str(self.key)])
        os.chmod(self.key, 0o600)
        return [f"lab ssh key {self.key}"]

    def _controller(self) -> list[str]:
        changes = []
        if netns.add_netns(CTL):
            changes.append(f"netns {CTL}")
            netns.sysctl(CTL, "net.ipv4.ip_forward", "0")
        return changes

    def _site(self, s: SitePlan) -> list[str]:
        changes = []
        if netns.add_netns(s.router):
            changes.append(f"netns {s.router}")
        netns.sysctl(s.router, "net.ipv4.ip_forward", "1")
        for b in s.bridges:
            if netns.link(s.router, b.name) is None:
                netns.ip("link", "add", b.name, "type", "bridge", ns=s.router)
                changes.append(f"{s.id}: bridge {b.name} ({b.subnet})")
            if netns.ensure_addr(s.router, b.name, b.gateway):
                changes.append(f"{s.id}: gateway {b.gateway}")
            netns.ip("link", "set", b.name, "up", ns=s.router)
        if netns.link(CTL, s.ctl_if) is None:
            if netns.link(s.router, "ctl") is not None:
                netns.ip("link", "del", "ctl", ns=s.router)
            netns.ip("link", "add", s.ctl_if, "netns", CTL, "type", "veth", "peer", "name", "ctl", "netns", s.router)
            changes.append(f"{s.id}: management link to {CTL}")
        netns.ensure_addr(CTL, s.ctl_if, s.ctl_addr)
        netns.ensure_addr(s.router, "ctl", s.router_addr)
        netns.ip("link", "set", s.ctl_if, "up", ns=CTL)
        netns.ip("link", "set", "ctl", "up", ns=s.router)
        via = s.router_addr.split("/")[0]
        have = {r.get("dst") for r in netns.ip_json("route", "show", ns=CTL)}
        for b in s.bridges:
            if b.subnet not in have:
                netns.ip("route", "replace", b.subnet, "via", via, ns=CTL)
        return changes

    def _site_plan(self, site_id: str) -> SitePlan:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise LabError(f"no site {site_id!r} in the estate (sites: {', '.join(s.id for s in self.sites)})")

    def _wan(self, w: WanLink, *, cut: bool) -> list[str]:
        a, b = self._site_plan(w.a), self._site_plan(w.b)
        changes = []
        if netns.link(a.router, w.a_if) is None:
            if netns.link(b.router, w.b_if) is not None:
                netns.ip("link", "del", w.b_if, ns=b.router)
            netns.ip("link", "add", w.a_if, "netns", a.router, "type", "veth", "peer", "name", w.b_if,
                     "netns", b.router)
            changes.append(f"inter-site link {w.a} <-> {w.b}")
        netns.ensure_addr(a.router, w.a_if, w.a_addr)
        netns.ensure_addr(b.router, w.b_if, w.b_addr)
        if cut:
            return changes
        changes += self._wan_up(w, a, b)
        return changes

    def _wan_up(self, w: WanLink, a: SitePlan, b: SitePlan) -> list[str]:
        changes = []
        for ns, dev in ((a.router, w.a_if), (b.router, w.b_if)):
            if "UP" not in (netns.link(ns, dev) or {}).get("flags", []):
                netns.ip("link", "set", dev, "up", ns=ns)
                changes.append(f"{ns}: {dev} up")
        for here, there, via, dev in ((a, b, w.b_addr, w.a_if), (b, a, w.a_addr, w.b_if)):
            have = {r.get("dst") for r in netns.ip_json("route", "show", ns=here.router)}
            for br in there.bridges:
                if br.subnet not in have:
                    netns.ip("route", "replace", br.subnet, "via", via.split("/")[0], "dev", dev, ns=here.router)
        return changes

    def _ssh_files(self, keys: dict[str, str]) -> list[str]:
        lines = []
        for hid, key in keys.items():
            addr = self.hosts[hid].nics[0].address.split("/")[0]
            lines.append(f"{hid},{addr} {key}\n")
        text = "".join(lines)
        changed = []
        if not self.known_hosts.exists() or self.known_hosts.read_text() != text:
            self.known_hosts.write_text(text)
            changed.append(f"known_hosts ({len(lines)} hosts)")
        cfg = [
            "# egov lab: use from inside the controller namespace (egov lab ssh / egov lab exec)",
            "Host *",
            "  User root",
            f"  IdentityFile {self.key}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {self.known_hosts}",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "  ConnectTimeout 5",
            "  LogLevel ERROR",
        ]
        for hid, spec in self.hosts.items():
            cfg += [f"Host {hid}", f"  HostName {spec.nics[0].address.split('/')[0]}"]
        text = "\n".join(cfg) + "\n"
        if not self.ssh_config.exists() or self.ssh_config.read_text() != text:
            self.ssh_config.write_text(text)
            os.chmod(self.ssh_config, 0o600)
        os.chmod(self.known_hosts, 0o600)
        return changed

    # ------------------------------------------------------------------ ssh
    def ssh_argv(self, host_id: str, *command: str) -> list[str]:
        """argv that runs `command` on a lab host over SSH, from inside the controller namespace."""
        return ["ip", "netns", "exec", CTL, "ssh", "-F", str(self.ssh_config), host_id, *command]

    def ssh(
        self, host_id: str, command: str, *, timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess:
        if host_id not in self.hosts:
            raise LabError(f"no host {host_id!r} in the estate")
        r = subprocess.run(self.ssh_argv(host_id, command), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise LabError(f"{host_id}: `{command}` failed (exit {r.returncode}): "
                           f"{(r.stderr or r.stdout).strip().splitlines()[-1:] or ''}")
        return r

    def check_ssh(self, host_ids: list[str], progress: Progress = _quiet) -> None:
        def one(hid):
            r = self.ssh(hid, "hostname", check=False, timeout=20)
            progress("advance", host=hid)
            return hid, r

        with ThreadPoolExecutor(max_workers=min(16, max(1, len(host_ids)))) as pool:
            for hid, r in pool.map(one, host_ids):
                if r.returncode != 0 or r.stdout.strip() != hid:
                    raise LabError(f"{hid}: SSH login check failed: {(r.stderr or r.stdout).strip() or 'wrong host'}")

    # ------------------------------------------------------------------ down
    def down(self, *, keep_disks: bool = False, first: Callable[[], list[str]] | None = None) -> list[str]:
        """Remove everything the lab made. `first` stops what runs on the lab's hosts before they go
        (the embedded cloud's control plane: `egov lab down` passes it, see egov/up.py); the lab
        itself knows nothing of what runs on it."""
        preflight()
        self._owner_check()  # never sweep away a lab another state dir owns
        changes = first() if first is not None else []
        for spec in self.hosts.values():
            if hostmod.crash(spec):
                changes.append(f"stopped {spec.id}")
        # and hosts this state dir booted that the estate no longer names
        hosts_dir = self.dir / "hosts"
        if hosts_dir.is_dir():
            for d in hosts_dir.iterdir():
                if d.name not in self.hosts:
                    stray = HostSpec(d.name, f"{PREFIX}h-{d.name}", d, (), None, "")
                    if hostmod.crash(stray):
                        changes.append(f"stopped {d.name}")
        changes += self.network.stop(keep_configs=keep_disks)
        owned = set(self.namespaces())
        st = self._load_state() or {}
        if st or netns.netns_exists(CTL):
            owned |= set(netns.netns_list(PREFIX))
        for name in sorted(owned, key=lambda n: (n == CTL, n)):
            if netns.del_netns(name):
                changes.append(f"removed netns {name}")
        if self.dir.exists():
            if keep_disks:
                self.statefile.unlink(missing_ok=True)
            else:
                shutil.rmtree(self.dir)
                changes.append(f"removed {self.dir}")
        try:
            if json.loads(OWNER.read_text()).get("lab_dir") == str(self.dir.resolve()):
                OWNER.unlink()
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        return changes

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        st = self._load_state()
        cut = {tuple(sorted(x)) for x in (st or {}).get("cut", [])}
        hosts = []
        for hid, spec in self.hosts.items():
            info = hostmod.running(spec)
            hosts.append({
                "id": hid, "site": self.host_site[hid], "address": spec.nics[0].address.split("/")[0],
                "netns": spec.netns, "state": "running" if info else ("stopped" if st else "absent"),
                "pid": info["init_pid"] if info else None,
                "uptime_s": round(hostmod.uptime(info), 1) if info else None,
            })
        links = [
            {"a": w.a, "b": w.b, "state": ("cut" if tuple(sorted((w.a, w.b))) in cut else "up") if st else "absent"}
            for w in self.wan
        ]
        return {"up": bool(st) and netns.netns_exists(CTL), "lab_dir": str(self.dir), "estate": self.estate.meta.name,
                "controller": CTL, "hosts": hosts, "links": links,
                "network": self.network.status() if st else None}

    # ------------------------------------------------------------------ crash / start
    def targets(self, name: str) -> list[HostSpec]:
        if name in self.hosts:
            return [self.hosts[name]]
        members = [self.hosts[h] for h, s in self.host_site.items() if s == name]
        if any(s.id == name for s in self.sites):
            return members
        raise LabError(f"no host or site {name!r} in the estate")

    def _require_up(self) -> None:
        preflight()
        if not self.is_up():
            raise LabError("the lab is not up: run `egov lab up` first")

    def crash(self, name: str) -> list[str]:
        self._require_up()
        return [f"crashed {s.id}" for s in self.targets(name) if hostmod.crash(s)]

    def start(self, name: str) -> list[str]:
        self._require_up()
        pub = self.key.with_suffix(".pub").read_text()
        changes = []
        specs = [self._spec(s, pub) for s in self.targets(name)]
        for spec in specs:
            changes += hostmod.plug(spec)
            if hostmod.boot(spec):
                changes.append(f"started {spec.id}")
        for spec in specs:
            hostmod.wait_ready(spec)
        return changes

    def fence(self, host_id: str, marker: str, reason: str) -> list[str]:
        """Out-of-band fencing: power the host off, then put `marker` on its own disk (its boot
        scripts refuse to start what the marker names). Works whether or not the host answers."""
        if host_id not in self.hosts:
            raise LabError(f"no host {host_id!r} in the estate")
        spec = self.hosts[host_id]
        changes = [f"powered off {host_id}"] if hostmod.crash(spec) else []
        path = spec.disk / "upper" / marker.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reason + "\n")
        changes.append(f"fenced {host_id}: {marker}")
        return changes

    # ------------------------------------------------------------------ cut / heal
    def _link(self, a: str, b: str) -> WanLink:
        self._site_plan(a), self._site_plan(b)
        for w in self.wan:
            if {w.a, w.b} == {a, b}:
                return w
        raise LabError(f"no inter-site link between {a} and {b}")

    def cut(self, a: str, b: str) -> list[str]:
        self._require_up()
        w = self._link(a, b)
        sa, sb = self._site_plan(w.a), self._site_plan(w.b)
        st = self._load_state()
        key = sorted((w.a, w.b))
        for ns, dev in ((sa.router, w.a_if), (sb.router, w.b_if)):
            netns.ip("link", "set", dev, "down", ns=ns)
        if key in st["cut"]:
            return []
        st["cut"].append(key)
        self._save_state(st)
        return [f"cut {w.a} <-> {w.b}"]

    def heal(self, a: str, b: str) -> list[str]:
        self._require_up()
        w = self._link(a, b)
        st = self._load_state()
        key = sorted((w.a, w.b))
        changes = self._wan_up(w, self._site_plan(w.a), self._site_plan(w.b))
        if key in st["cut"]:
            st["cut"].remove(key)
            self._save_state(st)
            changes.append(f"healed {w.a} <-> {w.b}")
        return changes


def enter_controller() -> None:
    """Put this process in the lab's controller namespace, where estate addresses are reachable."""
    if not netns.netns_exists(CTL):
        raise LabError("the lab is not up: run `egov lab up` first")
    if netns.current_netns_inode() != netns.netns_inode(CTL):
        netns.enter(CTL)
