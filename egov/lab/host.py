"""Realise one lab host: a network namespace, a private copy-on-write root and sshd as PID 1.

This is the one piece anything can call to make a host appear (the lab's
`up`, an OpenStack compute driver): describe it as a `HostSpec`, then

    pubkey = prepare(spec)   # disk, host key, sshd config, authorized_keys
    plug(spec)               # netns, veth into a bridge, address, default route
    boot(spec)               # PID 1 = sshd in fresh mount/UTS/PID namespaces
    wait_ready(spec)

`crash(spec)` kills every process of the host at once (a power cut; the disk
stays); `boot(spec)` brings it back; `destroy(spec)` removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from egov.lab import netns
from egov.lab.netns import LabError

HOSTINIT = Path(__file__).with_name("hostinit.sh")
OVERLAY_DIRS = ("etc", "usr", "var", "root", "home", "opt", "srv")
# The capabilities a host keeps (its PID 1's bounding set; everything else is dropped, including any
# capability a future kernel adds). A host has no user namespace, so its root is the machine's root:
# what is not namespaced must go. Kept: file ownership and permissions, identities (sshd, runuser),
# its own network namespace (NET_ADMIN: the service address, NET_RAW: arping; ip_forward), chroot
# (sshd's privilege separation). Dropped, among others: SYS_TIME (the machine's clock), SYS_MODULE,
# SYS_RAWIO, MKNOD (no device cgroup here: a block device node would reach the machine's disks),
# DAC_READ_SEARCH (open_by_handle_at escapes the mount namespace), SYS_ADMIN (mount: a fresh procfs
# or a remount would make /proc/sys writable again), SYS_BOOT (kexec), SYS_PTRACE, SYS_NICE,
# SYS_RESOURCE, IPC_LOCK, SYSLOG, AUDIT_CONTROL, MAC_*, BPF, PERFMON, WAKE_ALARM, LINUX_IMMUTABLE.
HOST_CAPS = ("chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
             "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_owner", "sys_chroot",
             "audit_write", "setfcap", "lease")
SSHD_CONF = """\
# written by egov lab: key-only root login with this host's own key
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
MaxStartups 100:30:200
"""


@dataclass(frozen=True)
class Nic:
    """One interface: `name` inside the host, plugged into `bridge` living in `bridge_ns`."""

    name: str
    address: str  # CIDR, e.g. 10.20.3.31/24
    bridge_ns: str
    bridge: str
    peer: str  # the veth end's name in bridge_ns (<= 15 chars)


@dataclass(frozen=True)
class HostSpec:
    id: str
    netns: str
    disk: Path
    nics: tuple[Nic, ...]
    gateway: str | None
    authorized_keys: str
    mask: tuple[str, ...] = ()
    etc_hosts: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)


# ----------------------------------------------------------------------------- disk
def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write `text` unless the file already holds it; created with `mode` (never wider first)."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return True


def prepare(spec: HostSpec) -> str:
    """Lay out the host's disk (idempotent); returns its public host key line."""
    upper = spec.disk / "upper"
    for d in ("upper", "work", "tmp"):
        (spec.disk / d).mkdir(parents=True, exist_ok=True)
    os.chmod(spec.disk, 0o700)
    key = upper / "etc/ssh/ssh_host_ed25519_key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{spec.id}", "-f", str(key)])
    write_if_changed(upper / "etc/ssh/sshd_config.d/00-egov-lab.conf", SSHD_CONF)
    # a fresh server's root has the distribution's skeleton dotfiles, not the machine's own
    # (which may run slow shell initialisation on every SSH command)
    for dot in (".bashrc", ".profile"):
        skel, mine = Path("/etc/skel") / dot, upper / "root" / dot
        if skel.exists() and not mine.exists():
            mine.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(skel, mine)
    ssh_dir = upper / "root/.ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    write_if_changed(ssh_dir / "authorized_keys", spec.authorized_keys, 0o600)
    write_if_changed(upper / "etc/hostname", spec.id + "\n")
    write_if_changed(upper / "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{spec.id}\n{spec.etc_hosts}")
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def wipe(spec: HostSpec) -> None:
    if spec.disk.exists():
        shutil.rmtree(spec.disk)


# ----------------------------------------------------------------------------- network
def plug(spec: HostSpec) -> list[str]:
    """Create the namespace and its interfaces (idempotent); returns what it changed."""
    changes = []
    info = running(spec)
    if info and not _in_named_netns(info["init_pid"], spec.netns):
        crash(spec)  # it runs in an orphaned namespace nobody can reach: power-cycle it
        changes.append(f"{spec.id}: crashed (its network namespace had been removed)")
    if netns.add_netns(spec.netns):
        # announce the interface's MAC when it comes up (gratuitous ARP), so a re-created host is
        # reachable at once instead of after its neighbours' stale ARP entries expire
        netns.sysctl(spec.netns, "net.ipv4.conf.default.arp_notify", "1")
        changes.append(f"netns {spec.netns}")
    for nic in spec.nics:
        if netns.link(spec.netns, nic.name) is None:
            _clear_stale_end(nic)
            netns.ip("link", "add", nic.peer, "netns", nic.bridge_ns, "type", "veth",
                     "peer", "name", nic.name, "netns", spec.netns)
            # the far side may still cache the old interface's MAC for this address
            netns.ip("neigh", "flush", "to", nic.address.split("/")[0], ns=nic.bridge_ns, check=False)
            changes.append(f"{spec.id}: {nic.name} <-> {nic.bridge_ns}/{nic.bridge}")
        peer = netns.link(nic.bridge_ns, nic.peer) or {}
        if peer.get("master") != nic.bridge:
            netns.ip("link", "set", nic.peer, "master", nic.bridge, ns=nic.bridge_ns)
        if "UP" not in peer.get("flags", []):
            netns.ip("link", "set", nic.peer, "up", ns=nic.bridge_ns)
        if netns.ensure_addr(spec.netns, nic.name, nic.address):
            changes.append(f"{spec.id}: {nic.name} {nic.address}")
        if "UP" not in (netns.link(spec.netns, nic.name) or {}).get("flags", []):
            netns.ip("link", "set", nic.name, "up", ns=spec.netns)
    if spec.gateway:
        routes = netns.ip_json("route", "show", "default", ns=spec.netns)
        if not any(r.get("gateway") == spec.gateway for r in routes):
            netns.ip("route", "replace", "default", "via", spec.gateway, ns=spec.netns)
            changes.append(f"{spec.id}: default via {spec.gateway}")
    return changes


def _clear_stale_end(nic: Nic, wait: float = 2.0) -> None:
    """A bridge-side veth end whose host side is gone belongs to a dying namespace: the kernel
    removes it asynchronously. Wait for that; remove it ourselves only if it lingers."""
    deadline = time.monotonic() + wait
    while netns.link(nic.bridge_ns, nic.peer) is not None:
        if time.monotonic() > deadline:
            netns.ip("link", "del", nic.peer, ns=nic.bridge_ns, check=False)
            if netns.link(nic.bridge_ns, nic.peer) is not None:
                raise LabError(f"{nic.bridge_ns}: stale interface {nic.peer} cannot be removed")
            return
        time.sleep(0.02)


def _in_named_netns(pid: int, name: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == netns.netns_inode(name)
    except FileNotFoundError:
        return False


# ----------------------------------------------------------------------------- processes
def _runfile(spec: HostSpec) -> Path:
    return spec.disk / "run.json"


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def _child(pid: int) -> int | None:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(kids[0]) if kids else None


def running(spec: HostSpec) -> dict | None:
    """The host's run record if its PID 1 is alive, else None."""
    try:
        info = json.loads(_runfile(spec).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if _start_ticks(info["init_pid"]) != info["init_ticks"]:
        return None
    return info


def boot(spec: HostSpec) -> bool:
    """Start the host's PID 1 (sshd) unless it is already running; False if it was."""
    if running(spec):
        return False
    if not netns.netns_exists(spec.netns):
        raise LabError(f"host {spec.id}: network namespace {spec.netns} is missing (plug it first)")
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "EGOV_HOST_ID": spec.id, "EGOV_HOST_DIR": str(spec.disk), "EGOV_OVERLAY_DIRS": " ".join(OVERLAY_DIRS),
           "EGOV_MASK": " ".join(spec.mask), "LANG": "C.UTF-8",
           "EGOV_CAPS": "-all," + ",".join(f"+{c}" for c in HOST_CAPS)}
    console = open(spec.disk / "console.log", "ab")
    try:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", spec.netns, "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
             str(HOSTINIT)], env=env, stdin=subprocess.DEVNULL, stdout=console, stderr=console,
            start_new_session=True, close_fds=True)
    finally:
        console.close()
    deadline = time.monotonic() + 5
    init = None
    while time.monotonic() < deadline:
        init = _child(proc.pid)
        if init or proc.poll() is not None:
            break
        time.sleep(0.005)
    ticks = _start_ticks(init) if init else None
    if not init or ticks is None:
        proc.kill()
        raise LabError(f"host {spec.id} did not start: {_console_tail(spec)}")
    _runfile(spec).write_text(json.dumps({"unshare_pid": proc.pid, "init_pid": init, "init_ticks": ticks,
                                          "booted_at": time.time()}))
    return True


def _console_tail(spec: HostSpec) -> str:
    try:
        lines = (spec.disk / "console.log").read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no console output"
    return lines[-1] if lines else "no console output"


def _listening(pid: int, port: int = 22) -> bool:
    want = f":{port:04X} "
    for f in ("tcp", "tcp6"):
        try:
            for line in Path(f"/proc/{pid}/net/{f}").read_text().splitlines()[1:]:
                parts = line.split()
                if parts[1].endswith(want.strip()) and parts[3] == "0A":
                    return True
        except FileNotFoundError:
            return False
    return False


def wait_ready(spec: HostSpec, timeout: float = 10) -> None:
    """Wait until sshd listens on port 22 inside the host."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = running(spec)
        if info is None:
            raise LabError(f"host {spec.id} died while booting: {_console_tail(spec)}")
        if _listening(info["init_pid"]):
            return
        time.sleep(0.01)
    raise LabError(f"host {spec.id}: sshd not listening after {timeout:g}s: {_console_tail(spec)}")


def _gone(pid: int) -> bool:
    return _start_ticks(pid) is None


def crash(spec: HostSpec, timeout: float = 10) -> bool:
    """Kill every process of the host at once; returns when all are gone. False if it was not running."""
    info = running(spec)
    if info is None:
        return False
    try:
        os.kill(info["init_pid"], signal.SIGKILL)  # PID 1 of the namespace: the kernel kills the rest
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(info["init_pid"]) and _gone(info["unshare_pid"]):
            break
        time.sleep(0.005)
    else:
        raise LabError(f"host {spec.id}: processes still present {timeout:g}s after the crash")
    _reap(info["unshare_pid"])
    _runfile(spec).unlink(missing_ok=True)
    # a power cut also takes the NIC dark: peers see silence (timeouts), not connection resets
    for nic in spec.nics:
        if netns.netns_exists(spec.netns) and netns.link(spec.netns, nic.name) is not None:
            netns.ip("link", "set", nic.name, "down", ns=spec.netns)
    return True


def alive(pid: int | None) -> bool:
    """A process exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def destroy(spec: HostSpec, *, wipe_disk: bool) -> None:
    crash(spec)
    netns.del_netns(spec.netns)
    if wipe_disk:
        wipe(spec)


def uptime(info: dict) -> float:
    return time.time() - info["booted_at"]
