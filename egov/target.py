"""How egov reaches the estate's hosts: the lab, or real hosts through the operator's ssh setup.

A target answers three questions for every tool that talks to hosts (ansible-runner,
fabric, testinfra, psycopg): which ssh_config to use, where the hosts' addresses are
reachable from (`enter()`), and how to address a host. The rest of egov does not know
which target it runs against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import EgovError
from .model import Estate


class TargetError(EgovError):
    pass


@dataclass
class Target:
    name: str  # "lab" or "ssh"
    ssh_config: Path
    admin_cidrs: tuple[str, ...]  # where egov itself connects from (for pg_hba and firewalls)
    _enter: object = None

    def enter(self) -> None:
        if self._enter is not None:
            self._enter()

    def ssh_args(self) -> list[str]:
        return ["-F", str(self.ssh_config)]

    def mux_config(self, state_dir: Path) -> Path:
        """The target's ssh_config plus multiplexing: one SSH connection per host, reused."""
        cp = Path(state_dir) / "ssh-mux"
        cp.mkdir(parents=True, exist_ok=True)
        os.chmod(cp, 0o700)
        cfg = cp / "ssh_config"
        text = (f"Host *\n  ControlMaster auto\n  ControlPath {cp}/%C\n  ControlPersist 120\n"
                f"Include {Path(self.ssh_config).resolve()}\n")
        if not cfg.exists() or cfg.read_text() != text:
            cfg.write_text(text)
        return cfg

    @property
    def is_lab(self) -> bool:
        return self.name == "lab"


def lab_target(estate: Estate, state_dir: Path) -> Target:
    from .lab import Lab, enter_controller

    lab = Lab(estate, state_dir)
    if not lab.is_up():
        raise TargetError("the lab is not up: run `egov lab up` (or `egov up`) first")
    return Target("lab", lab.ssh_config, ("169.254.0.0/16",), enter_controller)


def ssh_target(ssh_config: Path, admin_cidrs: str) -> Target:
    if not Path(ssh_config).is_file():
        raise TargetError(f"ssh config {ssh_config} not found (needed to reach real hosts)")
    return Target("ssh", Path(ssh_config), tuple(c for c in admin_cidrs.split(",") if c))


def resolve(estate: Estate, state_dir: Path) -> Target:
    """The lab unless EGOV_SSH_CONFIG names an ssh_config for the estate's real hosts."""
    cfg = os.environ.get("EGOV_SSH_CONFIG")
    if cfg:
        return ssh_target(Path(cfg), os.environ.get("EGOV_ADMIN_CIDRS", ""))
    return lab_target(estate, state_dir)
