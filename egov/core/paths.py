"""Where egov keeps things: the state dir's layout, and the content that ships with egov.

This module is the only place either is spelled out.

The state dir is `--state-dir`, `$EGOV_STATE_DIR`, or `~/.local/state/egov`
(`$XDG_STATE_HOME/egov`). Its layout:

    journal.jsonl, journal.head       the hash-chained journal (egov.core.journal)
    secrets/<estate>.yml              generated secrets, mode 0600 (egov.core.secrets)
    dr/<estate>.json                  runtime state: current primaries, endpoint, fenced (egov.core.state)
    drills/<id>/                      drill reports (report.json, report.html)
    lab/                              the lab: lab.json, ssh/ (key, known_hosts, config), hosts/<id>/
    net/backups/<estate>/, net/runs/  network config backups (kept), one folder per push/backup run
    cloud/embedded/                   the embedded OpenStack's data, secrets and clouds.yaml
    ansible/                          ansible-runner's private data dir (artifacts of every run)
    releases/                         application release bundles built here
    ssh-mux/                          multiplexed SSH control sockets (0700)
    logs/                             tracebacks of unexpected errors (crash-<time>-<pid>.log)
    mirror/                           the lab's package mirror: apt/ (its own apt state and .deb cache),
                                      www/ (what the mirror host serves: debian/, pypi/), manifest.json
    secrets/mirror-gnupg/             the lab mirror's signing key (0700; only its public key leaves)

Shipped content lives in the repository's top-level folders (`playbooks/`, `network/`,
`apps_deploy/`, `datacenters/`, `estate/`); an installed wheel carries the same folders as
package data under `egov/_shipped/`. `shipped(name)` finds either.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # egov/
CHECKOUT = PACKAGE.parent  # the repository, when egov runs from a checkout
SHIPPED = ("playbooks", "network", "apps_deploy", "datacenters", "estate")


def state_dir(explicit: str | Path | None = None) -> Path:
    """--state-dir, $EGOV_STATE_DIR, or ~/.local/state/egov."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("EGOV_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "egov"


class StateDir:
    """The layout of one state dir (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def journal(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def journal_head(self) -> Path:
        return self.root / "journal.head"

    def secrets(self, estate: str) -> Path:
        return self.root / "secrets" / f"{estate}.yml"

    def dr_state(self, estate: str) -> Path:
        return self.root / "dr" / f"{estate}.json"

    @property
    def drills(self) -> Path:
        return self.root / "drills"

    def drill(self, drill_id: str) -> Path:
        return self.drills / drill_id

    @property
    def lab(self) -> Path:
        return self.root / "lab"

    def net_backups(self, estate: str) -> Path:
        return self.root / "net" / "backups" / estate

    @property
    def net_runs(self) -> Path:
        return self.root / "net" / "runs"

    @property
    def embedded_cloud(self) -> Path:
        return self.root / "cloud" / "embedded"

    @property
    def ansible(self) -> Path:
        return self.root / "ansible"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def ssh_mux(self) -> Path:
        return self.root / "ssh-mux"

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def mirror_www(self) -> Path:
        """What the lab's mirror host serves (debian/, pypi/)."""
        return self.root / "mirror" / "www"

    @property
    def mirror_public_key(self) -> Path:
        """The lab mirror's public signing key (ASCII-armored, for apt's Signed-By)."""
        return self.root / "mirror" / "www" / "debian" / "egov-mirror.asc"

    @property
    def mirror_gnupg(self) -> Path:
        return self.root / "secrets" / "mirror-gnupg"


def at(state: str | Path | StateDir) -> StateDir:
    return state if isinstance(state, StateDir) else StateDir(state)


def shipped(name: str) -> Path:
    """A top-level content folder: from the installed wheel's package data, else the checkout."""
    if name not in SHIPPED:
        raise ValueError(f"not shipped content: {name!r}")
    for candidate in (PACKAGE / "_shipped" / name, CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"egov's {name}/ folder is missing (neither {PACKAGE / '_shipped' / name} nor "
                            f"{CHECKOUT / name}): reinstall egov")


def playbooks() -> Path:
    return shipped("playbooks")


def network_templates() -> Path:
    return shipped("network") / "templates"


def apps_source() -> Path:
    return shipped("apps_deploy")


def drill_scenarios() -> Path:
    return shipped("datacenters") / "drills"


def default_estate() -> Path:
    """$EGOV_ESTATE, else the reference estate (Panyu) shipped with egov."""
    env = os.environ.get("EGOV_ESTATE")
    if env:
        return Path(env)
    try:
        return shipped("estate") / "panyu"
    except FileNotFoundError:
        return CHECKOUT / "estate" / "panyu"


def wheelhouse() -> Path:
    """The wheels application releases carry (hosts download nothing): $EGOV_WHEELHOUSE, else the
    checkout's .wheelhouse (filled by scripts/install-deps)."""
    env = os.environ.get("EGOV_WHEELHOUSE")
    return Path(env) if env else CHECKOUT / ".wheelhouse"
