"""`egov cloud ...`: the embedded OpenStack (up/down/status) and the estate's layout on any cloud
(plan/apply/destroy)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from egov.clikit import Ctx, emit_json, err, out
from egov.cloud import sdk
from egov.cloud.embedded import CLOUD_NAME, Embedded
from egov.cloud.graph import Graph, derive, policy_violations

cloud_app = typer.Typer(no_args_is_help=True,
                        help="The cloud centre as code: OpenStack projects, networks, security groups, servers.")

CLOUD_OPT = typer.Option(None, "--cloud", help="clouds.yaml cloud for every site (default: cloud.yaml's `clouds`, "
                                               f"else {CLOUD_NAME}).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")
NOVOL_OPT = typer.Option(False, "--without-volumes", help="Leave out the volumes (clouds with no block storage).")


# ----------------------------------------------------------------------------- the graph per cloud
def estate_graph(c: Ctx, *, without_volumes: bool = False) -> Graph:
    from egov.lab.lab import Lab

    e = c.estate()
    if e.cloud.public_key_file:
        path = (Path(e.source) / Path(e.cloud.public_key_file).expanduser())
        try:
            key = path.read_text()
        except OSError as x:
            raise sdk.CloudApiError(f"cloud.yaml: public_key_file {path}: {x.strerror}") from None
    else:
        lab = Lab.of(e, c.state_dir)
        lab._keys()  # the lab's operator key (0600, generated once)
        key = lab.key.with_suffix(".pub").read_text()
    g = derive(e, key)
    if without_volumes:
        g.resources = [r for r in g.resources if r.kind not in ("volume", "volume_attachment")]
    bad = policy_violations(g)
    if bad:
        raise sdk.CloudApiError(f"security policy: {sdk.one_line(bad)}")
    return g


def per_cloud(c: Ctx, g: Graph, override: str | None) -> dict[str, Graph]:
    """Split the graph by the cloud each site lives in (global resources go to every cloud)."""
    e = c.estate()
    site_cloud = {s.id: override or e.cloud.clouds.get(s.id, CLOUD_NAME) for s in e.sites}
    out_: dict[str, Graph] = {}
    for name in dict.fromkeys(site_cloud.values()):
        out_[name] = Graph(g.estate, [r for r in g.resources if r.site is None or site_cloud[r.site] == name])
    return out_


def _observe_all(c: Ctx, graphs: dict[str, Graph]) -> dict[str, tuple[sdk.Cloud, dict]]:
    seen = {}
    for name, g in graphs.items():
        with err.status(f"cloud {name}: reading what exists", spinner="dots"):
            cl = sdk.Cloud(name, sdk.connect(name, c.state_dir), g)
            seen[name] = (cl, cl.observe())
    return seen


def _plan_table(name: str, actions: list[sdk.Action], show_ok: bool) -> Table:
    counts = sdk.summary(actions)
    t = Table(title=f"cloud {name}: " + ", ".join(f"{n} {op}" for op, n in sorted(counts.items())),
              title_justify="left")
    for col in ("action", "resource", "project", "changes"):
        t.add_column(col, overflow="fold")
    colour = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "missing": "red"}
    for a in actions:
        if a.op == "ok" and not show_ok:
            continue
        r = a.want
        t.add_row(f"[{colour.get(a.op, 'white')}]{a.op}[/]", a.key, (r.project if r else a.have.project) or "",
                  "; ".join(a.changes))
    return t


def plan_stage(c: Ctx, *, cloud: str | None, prune: bool, without_volumes: bool):
    g = estate_graph(c, without_volumes=without_volumes)
    graphs = per_cloud(c, g, cloud)
    seen = _observe_all(c, graphs)
    plans = {name: (cl, sdk.plan(graphs[name], obs, prune=prune)) for name, (cl, obs) in seen.items()}
    return plans


def apply_stage(c: Ctx, *, cloud: str | None = None, prune: bool = False, without_volumes: bool = False,
                allow_replace: bool = False, quiet: bool = False) -> list[str]:
    t0 = time.monotonic()
    plans = plan_stage(c, cloud=cloud, prune=prune, without_volumes=without_volumes)
    for cl, actions in plans.values():  # every cloud checked before any cloud changes
        sdk.check(cl, actions, allow_replace=allow_replace)
    made: list[str] = []
    with c.change("cloud apply" + (" --prune" if prune else "") + (f" --cloud {cloud}" if cloud else "")) as rec:
        for name, (cl, actions) in plans.items():
            todo = [a for a in actions if a.op not in ("ok", "missing")]
            if not todo:
                continue
            with Progress(TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err, transient=True) as bar:
                task = bar.add_task(f"cloud {name}", total=len(sdk.order(todo)))

                def progress(op, key, _task=task):
                    bar.update(_task, description=f"{op} {key}"[:44])
                    if op != "wait":
                        bar.advance(_task)
                changes: list[str] = []
                try:
                    sdk.execute(cl, todo, progress=progress, done=changes)
                finally:  # journalled even when a later change fails
                    rec.details.setdefault("clouds", []).append(name)
                    rec.changes += [f"{name}: {x}" for x in changes]
                made += changes
                if name == CLOUD_NAME and any(a.want and a.want.kind == "server" for a in todo
                                              if a.op in ("create", "replace")):
                    # new servers of the embedded cloud are lab hosts with new host keys: pin them
                    from egov.lab.lab import Lab

                    lab = Lab.of(c.estate(), c.state_dir)
                    if lab.is_up():
                        rec.changes += lab.adopt()
        rec.details["seconds"] = round(time.monotonic() - t0, 1)
    if not quiet or made:
        out.print(f"cloud apply: {len(made) or 'nothing to change'}"
                  f"{' change' + ('s' if len(made) != 1 else '') if made else ''} ({time.monotonic() - t0:.1f}s)")
        for line in made[:15]:
            out.print(f"  {line}", highlight=False)
        if len(made) > 15:
            out.print(f"  … (+{len(made) - 15}, see `egov journal show`)")
    return made


# ----------------------------------------------------------------------------- commands
@cloud_app.command()
def plan(ctx: typer.Context, cloud: Optional[str] = CLOUD_OPT,
         prune: bool = typer.Option(False, "--prune", help="Also plan deleting what the estate no longer has."),
         without_volumes: bool = NOVOL_OPT, show_ok: bool = typer.Option(False, "--all", help="List unchanged too."),
         as_json: bool = JSON_OPT):
    """What `apply` would change on each cloud, checked against quotas, images and flavors."""
    c: Ctx = ctx.obj
    t0 = time.monotonic()
    plans = plan_stage(c, cloud=cloud, prune=prune, without_volumes=without_volumes)
    report = {}
    for name, (cl, actions) in plans.items():
        problems = cl.preflight(actions)
        report[name] = {"summary": sdk.summary(actions), "problems": problems,
                        "actions": [{"op": a.op, "resource": a.key, "changes": a.changes,
                                     "project": (a.want.project if a.want else a.have.project)} for a in actions]}
        if not as_json:
            out.print(_plan_table(name, actions, show_ok))
            for p in problems:
                err.print(f"[red]blocked[/]: {p}", highlight=False)
    if as_json:
        emit_json({"clouds": report, "seconds": round(time.monotonic() - t0, 2)})
    if any(r["problems"] for r in report.values()):
        raise typer.Exit(1)


@cloud_app.command()
def apply(
    ctx: typer.Context,
    cloud: Optional[str] = CLOUD_OPT,
    prune: bool = typer.Option(False, "--prune", help="Delete what carries the estate's tag but it no longer has."),
    allow_replace: bool = typer.Option(
        False, "--allow-replace", help="Allow changes that delete and re-create (a server's flavor)."
    ),
    without_volumes: bool = NOVOL_OPT,
):
    """Make each cloud match the estate: create what is missing, update drift (idempotent)."""
    apply_stage(ctx.obj, cloud=cloud, prune=prune, without_volumes=without_volumes, allow_replace=allow_replace)


@cloud_app.command()
def destroy(ctx: typer.Context, cloud: Optional[str] = CLOUD_OPT,
            yes: bool = typer.Option(False, "--yes", help="Really delete every resource the estate made.")):
    """Delete everything carrying the estate's tag (servers, ports, groups, networks, projects, keypair)."""
    c: Ctx = ctx.obj
    if not yes:
        raise sdk.CloudApiError("cloud destroy deletes every server of the estate: re-run with --yes")
    g = estate_graph(c)
    graphs = per_cloud(c, g, cloud)
    with c.change("cloud destroy" + (f" --cloud {cloud}" if cloud else "")) as rec:
        for name, (cl, obs) in _observe_all(c, graphs).items():
            actions = sdk.plan(Graph(g.estate, []), obs, prune=True)  # nothing wanted: every tagged thing goes
            done: list[str] = []
            with err.status(f"cloud {name}: deleting {len(actions)}", spinner="dots") as st:
                try:
                    sdk.execute(cl, actions, progress=lambda op, key: st.update(f"cloud {name}: {op} {key}"),
                                done=done)
                finally:
                    rec.changes += [f"{name}: {x}" for x in done]
    out.print(f"cloud destroy: {len(rec.changes)} deleted" if rec.changes else "cloud destroy: nothing to delete")


@cloud_app.command()
def up(ctx: typer.Context):
    """Start the embedded OpenStack control plane on this machine (idempotent)."""
    cloud_up_stage(ctx.obj)


def cloud_up_stage(c: Ctx, *, quiet: bool = False) -> list[str]:
    from egov.lab.lab import Lab

    t0 = time.monotonic()
    e = c.estate()
    lab = Lab.of(e, c.state_dir)
    emb = Embedded(c.state_dir, realise=lab.realise_map(), images=[e.cloud.image])
    with c.change("cloud up") as rec, err.status("embedded cloud", spinner="dots") as st:
        rec.changes += emb.up(lambda m: st.update(f"embedded cloud: {m}"))
        rec.details["seconds"] = round(time.monotonic() - t0, 1)
    if rec.changes or not quiet:
        out.print(f"cloud up: {len(rec.changes) or 'nothing to change'}"
                  f"{' changes' if rec.changes else ''}; keystone at http://127.0.0.1:5000/v3, cloud "
                  f"{CLOUD_NAME!r} in {emb.clouds_yaml()} ({time.monotonic() - t0:.0f}s)", highlight=False)
    return rec.changes


@cloud_app.command()
def down(ctx: typer.Context, purge: bool = typer.Option(False, "--purge", help="Also delete its databases.")):
    """Stop the embedded control plane (servers, being lab hosts, keep running)."""
    import shutil

    c: Ctx = ctx.obj
    emb = Embedded(c.state_dir)
    with c.change("cloud down" + (" --purge" if purge else "")) as rec:
        rec.changes += emb.down()
        if purge and emb.dir.exists():
            shutil.rmtree(emb.dir)
            rec.changes.append(f"removed {emb.dir}")
    out.print(f"cloud down: {'; '.join(rec.changes) if rec.changes else 'was not running'}", highlight=False)


@cloud_app.command()
def status(ctx: typer.Context, as_json: bool = JSON_OPT):
    """The embedded control plane's processes and endpoints."""
    data = Embedded(ctx.obj.state_dir).status()
    if as_json:
        emit_json(data)
        return
    t = Table(title=f"embedded cloud {'up' if data['up'] else 'down'} ({data['dir']})", title_justify="left")
    t.add_column("process")
    t.add_column("state")
    for name, alive in data["processes"].items():
        t.add_row(name, "running" if alive else "[red]stopped[/]")
    out.print(t)
