"""The `egov` command line: verbs named after what the operator wants done.

Every command that acts on the estate loads it through `load_estate`, so a
broken estate stops here with every problem listed (exit 2). Operational
errors print one line and exit non-zero; `--json` prints machine output.

This module is the root: `validate`, `show`, `journal`, and the registration of
every sub-package's own `cli.py` (lab, network as `net`, hosts' `build`/`verify`/
`inventory`, apps, datacenters' `dr`/`drill`, cloud) and of `up` (egov/up.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from egov import up as up_mod
from egov.apps.cli import apps_app
from egov.clikit import Ctx, emit_json, err, json_emitted, out
from egov.cloud.cli import cloud_app
from egov.core import journal as journal_mod
from egov.core import paths
from egov.core.errors import EgovError, EstateInvalid
from egov.core.loader import default_estate_dir
from egov.core.summary import render, summarize
from egov.datacenters.cli import backup_app, dr_app, drill_app, restore
from egov.hosts import cli as hosts_cli
from egov.lab.cli import lab_app
from egov.network.cli import net_app

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="egov: build and run a district e-government estate from one source of truth.")
journal_app = typer.Typer(no_args_is_help=True, help="The hash-chained record of every change egov made.")
app.add_typer(journal_app, name="journal")
app.add_typer(lab_app, name="lab")
app.add_typer(apps_app, name="apps")
app.add_typer(dr_app, name="dr")
app.add_typer(drill_app, name="drill")
app.add_typer(backup_app, name="backup")
app.add_typer(net_app, name="net")
app.add_typer(cloud_app, name="cloud")


@app.callback()
def _root(ctx: typer.Context,
          estate: Optional[Path] = typer.Option(None, "--estate", "-e", envvar="EGOV_ESTATE",
                                                help="Estate directory (default: estate/panyu)."),
          state_dir: Optional[Path] = typer.Option(None, "--state-dir", envvar="EGOV_STATE_DIR",
                                                   help="Where the journal and state live.")):
    ctx.obj = Ctx(estate or default_estate_dir(), paths.state_dir(state_dir))


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


app.command("up")(up_mod.up_command)
app.command()(hosts_cli.build)
app.command()(hosts_cli.inventory)
app.command()(hosts_cli.verify)
app.command()(restore)


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
        t.add_row(
            str(r.get("seq")),
            str(r.get("ts", ""))[:23],
            str(r.get("user")),
            str(r.get("command")),
            str(r.get("estate") or "-"),
            r.get("result", "?") if r.get("result") == "ok" else f"[red]{r.get('result')}[/]",
            f"{len(ch)}" + (f": {ch[0]}" + (" …" if len(ch) > 1 else "") if ch else ""),
        )
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
