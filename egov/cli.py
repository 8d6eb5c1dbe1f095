"""The `egov` command line: verbs named after what the operator wants done.

Every command that acts on the estate loads it through `load_estate`, so a
broken estate stops here with every problem listed (exit 2). Operational
errors print one line and exit non-zero; `--json` prints machine output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from . import journal as journal_mod
from .clikit import Ctx, emit_json, err, json_emitted, out
from .errors import EgovError, EstateInvalid
from .lab.cli import lab_app
from .drcli import dr_app, drill_app
from .stages import apps_app
from .net.cli import net_app
from .cloud.cli import cloud_app
from .loader import default_estate_dir
from .summary import render, summarize

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="egov: build and run a district e-government estate from one source of truth.")
journal_app = typer.Typer(no_args_is_help=True, help="The hash-chained record of every change egov made.")
app.add_typer(journal_app, name="journal")
app.add_typer(lab_app, name="lab")
app.add_typer(apps_app, name="apps")
app.add_typer(dr_app, name="dr")
app.add_typer(drill_app, name="drill")
app.add_typer(net_app, name="net")
app.add_typer(cloud_app, name="cloud")

# piped output (files, CI logs, grep) gets wide lines instead of 80-column folding
@app.callback()
def _root(ctx: typer.Context,
          estate: Optional[Path] = typer.Option(None, "--estate", "-e", envvar="EGOV_ESTATE",
                                                help="Estate directory (default: estate/panyu)."),
          state_dir: Optional[Path] = typer.Option(None, "--state-dir", envvar="EGOV_STATE_DIR",
                                                   help="Where the journal and state live.")):
    ctx.obj = Ctx(estate or default_estate_dir(), journal_mod.state_dir(state_dir))


@app.command()
def validate(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Check the estate against every rule; list all problems (exit 2 if any)."""
    c: Ctx = ctx.obj
    try:
        e = c.estate()
    except EstateInvalid as bad:
        if as_json:
            emit_json({"valid": False, "estate": bad.source, "problems": [p.as_dict() for p in bad.problems]})
        raise
    devices = sum(1 for _ in e.devices())
    hosts = sum(1 for _ in e.hosts())
    if as_json:
        emit_json({"valid": True, "estate": e.meta.name, "digest": e.digest, "sites": len(e.sites),
                    "hosts": hosts, "devices": devices})
    else:
        out.print(f"[green]valid[/]: {e.meta.display_name} ({e.meta.name}): {len(e.sites)} sites, {hosts} hosts, "
                  f"{devices} network devices, {len(e.databases)} databases, {len(e.applications)} applications")


@app.command()
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Summarise the estate: sites, hosts, network tiers, databases, applications."""
    data = summarize(ctx.obj.estate())
    if as_json:
        emit_json(data)
    else:
        render(data, out)


@app.command()
def up(ctx: typer.Context,
       cloud: Optional[str] = typer.Option(None, "--cloud", help="`embedded`: the sites' servers are made by the "
                                           "embedded OpenStack (egov cloud up + cloud apply) instead of by the lab.")):
    """The main job, from nothing to a working estate: lab, network, playbooks, databases, apps, verify."""
    import time

    from .lab.cli import up as lab_up
    from .net.cli import push_stage, verify_stage as net_verify_stage
    from .stages import apps_deploy_stage, configure_stage, endpoints, verify_stage

    c: Ctx = ctx.obj
    t0 = time.monotonic()
    e = c.estate()
    out.print(f"[green]valid[/]: {e.meta.display_name} ({e.meta.name})")
    if cloud is None:
        lab_up(ctx)
    elif cloud == "embedded":
        from .cloud.cli import apply_stage, cloud_up_stage
        from .lab.cli import up_without_hosts

        up_without_hosts(ctx)  # takes in the servers that exist already
        cloud_up_stage(c)
        # the embedded cloud has no block storage: data stays on the servers' root disks;
        # the servers it makes are taken into the lab (host keys pinned, SSH checked) by apply
        apply_stage(c, without_volumes=True)
    else:
        raise EgovError(f"--cloud {cloud}: only `embedded` is built in (for another cloud run "
                        "`egov cloud apply --cloud NAME`, then `egov build` with EGOV_TARGET=ssh)")
    push_stage(c, quiet=True)
    configure_stage(c)
    apps_deploy_stage(c)
    verify_stage(c)
    net_verify_stage(c, wait=30, quiet=True)
    out.print(endpoints(c))
    out.print(f"[green]egov up done[/] in {time.monotonic() - t0:.0f}s")


@app.command()
def build(ctx: typer.Context, limit: Optional[str] = typer.Option(None, "--limit", help="Ansible host pattern.")):
    """Configure every host with the playbooks (baseline, PostgreSQL, base databases, app hosts, fronts)."""
    from .stages import configure_stage

    configure_stage(ctx.obj, limit=limit)


@app.command()
def inventory(ctx: typer.Context, fmt: str = typer.Option("ansible", "--format", help="ansible (YAML) or json.")):
    """Print the inventory generated from the estate (no secrets in it)."""
    import yaml

    from .build import make_inventory
    from .target import Target

    c: Ctx = ctx.obj
    e = c.estate()
    try:
        from .target import resolve

        t = resolve(e, c.state_dir)
    except EgovError:
        t = Target("lab", Path("/dev/null"), ("169.254.0.0/16",))
    inv = make_inventory(e, t, c.state_dir)
    if fmt == "json":
        emit_json(inv)
    elif fmt == "ansible":
        sys.stdout.write(yaml.safe_dump(inv, allow_unicode=True, sort_keys=False))
    else:
        raise typer.BadParameter("use ansible or json", param_hint="--format")


@app.command()
def verify(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Check every host with pytest-testinfra: services, replication, baseline, apps. Exit 1 on any failure."""
    from .stages import verify_stage

    verify_stage(ctx.obj, as_json=as_json)


@journal_app.command("show")
def journal_show(ctx: typer.Context, last: int = typer.Option(0, "--last", "-n", help="Only the last N records."),
                 as_json: bool = typer.Option(False, "--json")):
    """List the journal's records."""
    j = journal_mod.Journal(ctx.obj.state_dir)
    recs = list(j.records())
    if last:
        recs = recs[-last:]
    if as_json:
        emit_json(recs)
        return
    from rich.table import Table

    t = Table(title=f"journal {j.path}", title_justify="left")
    for col in ("seq", "when (UTC)", "user", "command", "estate", "result", "changes"):
        t.add_column(col, overflow="fold")
    for r in recs:
        ch = r.get("changes") or []
        t.add_row(str(r.get("seq")), str(r.get("ts", ""))[:23], str(r.get("user")), str(r.get("command")),
                  str(r.get("estate") or "-"), r.get("result", "?") if r.get("result") == "ok" else f"[red]{r.get('result')}[/]",
                  f"{len(ch)}" + (f": {ch[0]}" + (" …" if len(ch) > 1 else "") if ch else ""))
    out.print(t)


@journal_app.command("verify")
def journal_verify(ctx: typer.Context):
    """Check the hash chain; names the first edited, reordered or deleted record."""
    j = journal_mod.Journal(ctx.obj.state_dir)
    n = j.verify()
    out.print(f"[green]journal intact[/]: {n} records, chain verified ({j.path})")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; egov's own errors become one line on stderr and an exit code. With `--json`,
    stdout always carries one document, also on failure (the error in it)."""
    args = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in args
    try:
        app(args=args)
    except EstateInvalid as bad:
        for p in bad.problems:
            err.print(str(p), markup=False, highlight=False)
        err.print(f"egov: {bad}", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "valid": False, "estate": bad.source, "error": str(bad),
                       "problems": [p.as_dict() for p in bad.problems], "exit_code": bad.exit_code})
        sys.exit(bad.exit_code)
    except EgovError as e:
        err.print(f"egov: error: {e}", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "error": str(e), "exit_code": e.exit_code})
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
