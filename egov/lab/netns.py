"""Thin, idempotent helpers over iproute2 for the lab's namespaces and links."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import subprocess
from pathlib import Path

from egov.core.errors import EgovError

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000


class LabError(EgovError):
    pass


def run(
    argv: list[str], *, check: bool = True, input: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout)
    if check and r.returncode != 0:
        msg = (r.stderr or r.stdout).strip().splitlines()
        raise LabError(f"`{' '.join(argv)}` failed: {msg[-1] if msg else f'exit {r.returncode}'}")
    return r


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    return run(argv, check=check)


def ip_json(*args: str, ns: str | None = None) -> list:
    r = ip("-j", *args, ns=ns, check=False)
    if r.returncode != 0 or not r.stdout.strip():
        return []
    return json.loads(r.stdout)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def netns_list(prefix: str = "") -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def add_netns(name: str) -> bool:
    """Create a network namespace with lo up; False if it already existed."""
    if netns_exists(name):
        return False
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", ns=name)
    return True


def del_netns(name: str) -> bool:
    if not netns_exists(name):
        return False
    ip("netns", "del", name)
    return True


def sysctl(ns: str, key: str, value: str) -> None:
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])


def link(ns: str, name: str) -> dict | None:
    got = ip_json("link", "show", "dev", name, ns=ns)
    return got[0] if got else None


def addrs(ns: str, dev: str) -> set[str]:
    out = set()
    for i in ip_json("addr", "show", "dev", dev, ns=ns):
        for a in i.get("addr_info", []):
            if a.get("family") == "inet":
                out.add(f"{a['local']}/{a['prefixlen']}")
    return out


def ensure_addr(ns: str, dev: str, cidr: str) -> bool:
    if cidr in addrs(ns, dev):
        return False
    ip("addr", "add", cidr, "dev", dev, ns=ns)
    return True


def ifname(prefix: str, ident: str) -> str:
    """A Linux interface name (<= 15 chars) for an id: readable when it fits, hashed when not."""
    name = f"{prefix}{ident}"
    if len(name) <= 15:
        return name
    return prefix + hashlib.sha1(ident.encode()).hexdigest()[: 15 - len(prefix)]


def enter(name: str) -> None:
    """Move this process (call before starting threads) into network namespace `name`."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"cannot enter network namespace {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def current_netns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def netns_inode(name: str) -> int:
    return os.stat(NETNS_DIR / name).st_ino
