"""`egov up` and `egov lab down`: the whole estate, from nothing to working and back.

`egov up` runs the stages in order; each is `stage(c: Ctx, **options)` from its own
sub-package and journals itself:

    lab          egov.lab.cli.up_stage            the lab's sites, hosts and network
                 (--cloud embedded: the lab's network only, then the embedded OpenStack
                 makes the hosts: egov.cloud.cli.cloud_up_stage + apply_stage)
    network      egov.network.cli.push_stage       the four-level network's configs
    build        egov.hosts.cli.build_stage        the playbooks on every host
    apps         egov.apps.cli.deploy_stage        the applications' releases
    verify       egov.hosts.cli.verify_stage       testinfra on every host
    net verify   egov.network.cli.verify_stage     OSPF, and every town reaches the apps

`egov lab down` lives here because it takes down what runs on the lab's hosts (the
embedded cloud's control plane) before the lab: the lab itself depends on nothing above it.
"""

from __future__ import annotations

import shutil
import time
from typing import Optional

import typer
from rich.table import Table

from egov.apps.cli import deploy_stage
from egov.clikit import Ctx, out
from egov.cloud.cli import apply_stage, cloud_up_stage
from egov.cloud.embedded import Embedded
from egov.core.errors import EgovError
from egov.hosts.cli import build_stage, verify_stage
from egov.lab.cli import lab_app, summarise
from egov.lab.cli import up_stage as lab_up_stage
from egov.lab.lab import Lab
from egov.network.cli import push_stage
from egov.network.cli import verify_stage as net_verify_stage


def up(c: Ctx, *, cloud: str | None = None) -> None:
    t0 = time.monotonic()
    e = c.estate()
    out.print(f"[green]valid[/]: {e.meta.display_name} ({e.meta.name})")
    if cloud is None:
        lab_up_stage(c)
    elif cloud == "embedded":
        lab_up_stage(c, hosts=False)  # takes in the servers that exist already
        cloud_up_stage(c)
        # the embedded cloud has no block storage: data stays on the servers' root disks;
        # the servers it makes are taken into the lab (host keys pinned, SSH checked) by apply
        apply_stage(c, without_volumes=True)
    else:
        raise EgovError(f"--cloud {cloud}: only `embedded` is built in (for another cloud run "
                        "`egov cloud apply --cloud NAME`, then `egov build` with EGOV_TARGET=real)")
    push_stage(c, quiet=True)
    build_stage(c)
    deploy_stage(c)
    verify_stage(c)
    net_verify_stage(c, wait=30, quiet=True)
    out.print(endpoints(c))
    out.print(f"[green]egov up done[/] in {time.monotonic() - t0:.0f}s")


def endpoints(c: Ctx) -> Table:
    e = c.estate()
    t = Table(title="endpoints", title_justify="left")
    for col in ("application", "name", "site", "front"):
        t.add_column(col)
    for a in e.applications:
        for s in e.sites:
            if s.service_address and a.runs_on.get(s.id):
                t.add_row(a.id, a.name, s.id + (" (primary)" if s.role.value == "primary" else ""),
                          f"https://{s.service_address}:{a.tls_port}/")
    return t


def down(c: Ctx, *, keep_disks: bool = False) -> list[str]:
    """Everything the lab made, and first what runs on its hosts: the embedded cloud's servers are
    lab hosts, so its control plane goes with them."""
    cloud = Embedded(c.state_dir)

    def cloud_first() -> list[str]:
        if not cloud.dir.exists():
            return []
        changes = cloud.down()
        if not keep_disks:
            shutil.rmtree(cloud.dir)
            changes.append(f"removed {cloud.dir}")
        return changes

    return Lab.of(c.estate(), c.state_dir).down(keep_disks=keep_disks, first=cloud_first)


def up_command(ctx: typer.Context,
               cloud: Optional[str] = typer.Option(None, "--cloud", help="`embedded`: the sites' servers are made by "
                                                   "the embedded OpenStack (egov cloud up + cloud apply) instead of by "
                                                   "the lab.")):
    """The main job, from nothing to a working estate: lab, network, playbooks, databases, apps, verify."""
    up(ctx.obj, cloud=cloud)


@lab_app.command("down")
def lab_down_command(ctx: typer.Context,
                     keep_disks: bool = typer.Option(False, "--keep-disks", help="Keep the hosts' disks.")):
    """Remove every namespace, mount and process the lab made (and its disks unless --keep-disks)."""
    c: Ctx = ctx.obj
    with c.change("lab down") as rec:
        rec.changes += down(c, keep_disks=keep_disks)
    summarise(rec.changes, "lab was not up; nothing to remove")
