"""How egov reaches the estate: the lab, or the real estate through the operator's own setup.

One target per process, for hosts and devices alike; `resolve()` makes it once. Every
tool that talks to the estate (ansible-runner, fabric, testinfra, psycopg, netmiko) asks it
three things: which ssh_config reaches the hosts, where the estate's addresses are reachable
from (`enter()`), and how to log in to a device (`device_login`). Nothing else in egov
knows which target it runs against.

* **lab** (the default): the estate's hosts and devices built on this machine by
  `egov lab up`; their addresses are reachable from the lab's controller namespace.
  The `Lab` object is made here and nowhere else in the commands (`target.lab`).
* **real** (`EGOV_TARGET=real`; also implied by `EGOV_SSH_CONFIG` or `EGOV_NET_TARGET=real`):
  hosts through the ssh_config named by `EGOV_SSH_CONFIG` (with its own known_hosts and
  StrictHostKeyChecking), `EGOV_ADMIN_CIDRS` saying where egov connects from; devices at
  their management addresses with the secrets file's login, host keys from
  `EGOV_NET_KNOWN_HOSTS` (default ~/.ssh/known_hosts), optionally a key `EGOV_NET_KEY`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from egov.core import paths
from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.lab import Lab, enter_controller

LAB_ADMIN_CIDRS = ("169.254.0.0/16",)  # the lab's controller reaches each site from 169.254.K.1


class TargetError(EgovError):
    pass


@dataclass
class Target:
    name: str  # "lab" | "real"
    state_dir: Path
    lab: Lab | None = None
    host_ssh_config: Path | None = None
    admin_cidrs: tuple[str, ...] = ()
    net_key: Path | None = None
    net_known_hosts: Path | None = None

    @property
    def is_lab(self) -> bool:
        return self.name == "lab"

    # -- reaching the estate's addresses -----------------------------------------------------
    def enter(self) -> None:
        """Move the calling thread to where the estate's addresses are reachable (the lab's
        controller namespace; nothing on a real estate). A network namespace is per thread:
        call it before starting threads, or in each thread that connects."""
        if self.is_lab:
            enter_controller()

    def require_up(self) -> Target:
        if self.is_lab and not self.lab.is_up():
            raise TargetError("the lab is not up: run `egov lab up` (or `egov up`) first, "
                              "or set EGOV_TARGET=real for the real estate")
        return self

    # -- hosts -----------------------------------------------------------------------------------
    @property
    def ssh_config(self) -> Path:
        if self.is_lab:
            return self.lab.ssh_config
        if self.host_ssh_config is None:
            raise TargetError("EGOV_SSH_CONFIG is not set: on a real estate it names the ssh_config that reaches "
                              "the estate's hosts")
        if not self.host_ssh_config.is_file():
            raise TargetError(f"ssh config {self.host_ssh_config} not found (needed to reach real hosts)")
        return self.host_ssh_config

    def ssh_args(self) -> list[str]:
        return ["-F", str(self.ssh_config)]

    def mux_config(self, state_dir: Path | None = None) -> Path:
        """The target's ssh_config plus multiplexing: one SSH connection per host, reused."""
        cp = paths.at(state_dir or self.state_dir).ssh_mux
        cp.mkdir(parents=True, exist_ok=True)
        os.chmod(cp, 0o700)
        cfg = cp / "ssh_config"
        text = (f"Host *\n  ControlMaster auto\n  ControlPath {cp}/%C\n  ControlPersist 120\n"
                f"Include {Path(self.ssh_config).resolve()}\n")
        if not cfg.exists() or cfg.read_text() != text:
            cfg.write_text(text)
        return cfg

    def fencer(self, marker: str) -> Callable[..., list[str]] | None:
        """Out-of-band fencing where the target has it (the lab powers a host off and marks its
        disk); None on a real estate, where the operator fences (`--fenced-manually`)."""
        if not self.is_lab:
            return None
        lab = self.lab
        return lambda host, reason: lab.fence(host, marker, reason)

    # -- devices ---------------------------------------------------------------------------------
    def device_login(self, mgmt_ip: str, platform: str) -> tuple[Path | None, Path | None, bool]:
        """(key file, known_hosts file, key-only) for a device at `mgmt_ip`: the lab's routers take
        the lab key only; everything else logs in with the secrets file's user and password."""
        if self.is_lab:
            known = self.lab.network.known_hosts_for(mgmt_ip)
            if platform == "frr":
                return self.lab.network.key, known, True
            return None, known, False
        return self.net_key, self.net_known_hosts, False


_resolved: dict[tuple[str, str], Target] = {}


def kind() -> str:
    """lab | real, from the environment."""
    explicit = os.environ.get("EGOV_TARGET")
    if explicit:
        if explicit not in ("lab", "real"):
            raise TargetError(f"EGOV_TARGET={explicit}: use lab or real")
        return explicit
    if os.environ.get("EGOV_SSH_CONFIG") or os.environ.get("EGOV_NET_TARGET") == "real":
        return "real"
    return "lab"


def resolve(estate: Estate, state_dir: Path, *, require_up: bool = True) -> Target:
    """The process's one target (made on first use, then the same object)."""
    key = (estate.source, str(Path(state_dir).resolve()))
    t = _resolved.get(key)
    if t is None:
        if kind() == "lab":
            t = Target("lab", Path(state_dir), lab=Lab.of(estate, state_dir), admin_cidrs=LAB_ADMIN_CIDRS)
        else:
            env = os.environ.get
            t = Target("real", Path(state_dir),
                       host_ssh_config=Path(env("EGOV_SSH_CONFIG")) if env("EGOV_SSH_CONFIG") else None,
                       admin_cidrs=tuple(c for c in env("EGOV_ADMIN_CIDRS", "").split(",") if c),
                       net_key=Path(env("EGOV_NET_KEY")) if env("EGOV_NET_KEY") else None,
                       net_known_hosts=Path(env("EGOV_NET_KNOWN_HOSTS")) if env("EGOV_NET_KNOWN_HOSTS") else None)
        _resolved[key] = t
    return t.require_up() if require_up else t
