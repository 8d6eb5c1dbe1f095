"""Host safety, proved from outside the hosts: a lab host's root is the machine's root (no user
namespace), so the capabilities and /proc files that reach the machine's kernel state are gone.

The machine side reads each host's PID 1 in /proc and enters its namespaces with nsenter (not
through egov). Every probe is harmless if it unexpectedly succeeds: settimeofday(NULL, NULL) checks
CAP_SYS_TIME and sets nothing; finit_module(-1) checks CAP_SYS_MODULE before it looks at the fd;
a machine-wide sysctl is written with the value it already has.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from egov.lab import host as hostmod
from tests.lab.conftest import needs_root, ssh

pytestmark = [pytest.mark.lab, needs_root]

# linux/capability.h (kernel ABI)
CAP = {"dac_read_search": 2, "linux_immutable": 9, "net_admin": 12, "net_raw": 13, "ipc_lock": 14,
       "sys_module": 16, "sys_rawio": 17, "sys_chroot": 18, "sys_ptrace": 19, "sys_pacct": 20, "sys_admin": 21,
       "sys_boot": 22, "sys_nice": 23, "sys_resource": 24, "sys_time": 25, "sys_tty_config": 26, "mknod": 27,
       "audit_control": 30, "mac_override": 32, "mac_admin": 33, "syslog": 34, "wake_alarm": 35,
       "block_suspend": 36, "perfmon": 38, "bpf": 39, "checkpoint_restore": 40, "setuid": 7, "setgid": 6}
DROPPED = ["sys_time", "sys_module", "sys_rawio", "sys_boot", "mknod", "sys_admin", "dac_read_search",
           "sys_ptrace", "sys_nice", "sys_resource", "sys_pacct", "sys_tty_config", "ipc_lock", "syslog",
           "audit_control", "mac_override", "mac_admin", "wake_alarm", "block_suspend", "bpf", "perfmon",
           "linux_immutable", "checkpoint_restore"]
KEPT = ["net_admin", "net_raw", "sys_chroot", "setuid", "setgid"]  # what sshd, arping, runuser need

# each probe prints "name errno-name" (or "name ok")
PROBE = r"""
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def show(name, r):
    print(name, "ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
show("settimeofday", libc.syscall(164, None, None))   # x86_64 SYS_settimeofday, sets nothing
show("finit_module", libc.syscall(313, -1, b"", 0))   # x86_64 SYS_finit_module, bad fd after the cap check
for key in ("vm/swappiness", "kernel/printk_ratelimit", "fs/protected_regular"):
    path = "/proc/sys/" + key
    value = open(path).read()
    try:
        with open(path, "w") as f:
            f.write(value)
        show(key, 0)
    except OSError as e:
        print(key, errno.errorcode[e.errno])
for key in ("net/ipv4/conf/default/arp_notify",):   # per network namespace: stays writable
    path = "/proc/sys/" + key
    value = open(path).read()
    with open(path, "w") as f:
        f.write(value)
    show(key, 0)
for path in ("/proc/sys/kernel", "/proc/sysrq-trigger", "/sys"):
    if not os.path.exists(path):
        print(path, "absent")   # e.g. a kernel without magic SysRq
    else:
        print(path, "ro" if os.statvfs(path).f_flag & os.ST_RDONLY else "rw")
"""


def capbnd(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no CapBnd for {pid}")


def names(mask: int) -> set[str]:
    return {n for n, bit in CAP.items() if mask >> bit & 1}


def host_pids(netns: str, pid1: int) -> list[int]:
    """The processes in the host's network and PID namespaces (not the machine-side `unshare` that
    started its PID 1, which sits in the network namespace only)."""
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=True).stdout
    mine = Path(f"/proc/{pid1}/ns/pid").stat().st_ino
    pids = []
    for p in map(int, out.split()):
        try:
            if Path(f"/proc/{p}/ns/pid").stat().st_ino == mine:
                pids.append(p)
        except FileNotFoundError:
            continue
    return pids


def init_pid(lab, hid: str) -> int:
    info = hostmod.running(lab.hosts[hid])
    assert info, f"{hid} is not running"
    return info["init_pid"]


def probe(argv: list[str]) -> dict[str, str]:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return dict(line.split(" ", 1) for line in r.stdout.splitlines())


def machine_has_modules() -> bool:
    return Path("/proc/modules").exists()


def test_every_host_process_lacks_the_machine_capabilities(egov_lab):
    run, lab = egov_lab
    for hid, spec in lab.hosts.items():
        pid1 = init_pid(lab, hid)
        bnd = names(capbnd(pid1))
        assert not bnd & set(DROPPED), f"{hid}: PID 1 still has {sorted(bnd & set(DROPPED))}"
        assert set(KEPT) <= bnd, f"{hid}: PID 1 lost {sorted(set(KEPT) - bnd)}"
        # and every process the host runs (sshd's sessions, whatever boot.d started) has no more
        pids = host_pids(spec.netns, pid1)
        assert pid1 in pids
        for pid in pids:
            try:
                mask = capbnd(pid)
            except FileNotFoundError:
                continue  # it exited meanwhile
            assert mask & ~capbnd(pid1) == 0, f"{hid}: process {pid} has more than its PID 1"


def _nsenter(pid: int, *argv: str, bounding: int | None = None) -> list[str]:
    cmd = ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "--"]
    if bounding is not None:  # exactly the host's bounding set, as any process the host starts has
        caps = ",".join(f"+{n}" for n in sorted(names(bounding)))
        cmd += ["setpriv", "--bounding-set", "-all," + caps, "--"]
    return cmd + list(argv)


@pytest.mark.parametrize("how", ["nsenter with the host's bounding set", "a real host process (ssh session)"])
def test_a_host_cannot_set_the_clock_load_a_module_or_write_machine_sysctls(egov_lab, how):
    run, lab = egov_lab
    hid = "dfs-db1"
    pid1 = init_pid(lab, hid)
    before = {k: Path(f"/proc/sys/{k}").read_text() for k in ("vm/swappiness", "kernel/printk_ratelimit")}
    if how.startswith("nsenter"):
        got = probe(_nsenter(pid1, "python3", "-c", PROBE, bounding=capbnd(pid1)))
    else:
        r = ssh(lab, hid, f"python3 -c {shlex.quote(PROBE)}")
        assert r.returncode == 0, r.stderr
        got = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert got["settimeofday"] == "EPERM"
    # this machine's kernel has no module support at all (ENOSYS); elsewhere the capability check refuses
    assert got["finit_module"] == ("EPERM" if machine_has_modules() else "ENOSYS")
    for key in ("vm/swappiness", "kernel/printk_ratelimit", "fs/protected_regular"):
        assert got[key] == "EROFS", f"{key}: {got[key]}"
    assert got["net/ipv4/conf/default/arp_notify"] == "ok"
    assert got["/proc/sys/kernel"] == got["/sys"] == "ro"
    assert got["/proc/sysrq-trigger"] == ("ro" if Path("/proc/sysrq-trigger").exists() else "absent")
    assert {k: Path(f"/proc/sys/{k}").read_text() for k in before} == before


def test_the_read_only_proc_sys_holds_even_for_full_machine_root_and_cannot_be_remounted(egov_lab):
    """The read-only mount is the host's mount namespace's: even the machine's root entering it with
    every capability gets EROFS; a host process cannot remount it or mount a fresh procfs."""
    run, lab = egov_lab
    hid = "lr-app1"
    pid1 = init_pid(lab, hid)
    got = probe(_nsenter(pid1, "python3", "-c", PROBE))
    assert got["vm/swappiness"] == "EROFS" and got["settimeofday"] == "ok"  # the machine's own caps
    r = ssh(lab, hid, "mount -o remount,rw /proc/sys; echo rc=$?; mkdir -p /mnt/p && mount -t proc proc /mnt/p;"
                      " echo rc=$?; mount --bind /proc/sys /mnt/p; echo rc=$?")
    assert r.stdout.split() == ["rc=32", "rc=32", "rc=32"], r.stdout + r.stderr
    assert "permission denied" in r.stderr.lower()
