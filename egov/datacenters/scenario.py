"""Drill scenarios as data, in the Chaos Toolkit experiment model.

A scenario file (YAML, `datacenters/drills/*.yaml` or any path given to `egov drill run`) holds:
- `steady-state-hypothesis`: probes with tolerances that must hold before the fault (else the
  drill is refused) and are read again at the end (recorded in the report);
- `method`: the faults and actions in order, and probes whose value is kept (`as:`);
- `checks`: probes with tolerances read after the method, each one line of the report;
- `rollbacks`: actions that always run, whether the method finished or not.

Every step names an entry of a small library of probes and actions (`egov.datacenters.drill`
`LIBRARY`: power-cut, cut-link, failover, failback, restore, count-writes ...); its arguments sit
beside the name and are validated against that entry, so a drill runner adds a drill as a file
only. A malformed file is one line, `file:line: what` (exit 2). This module knows the format,
not the lab: the library is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ValidationError

from egov.core.errors import EgovError
from egov.core.sources import SourceMap, format_path

# keys a step may carry besides its library entry's own arguments
STEP_KEYS = {"action", "probe", "name", "as", "tolerance", "mark", "control"}
# the estate's targets a tolerance's bound may name (resolved by the runner)
TARGETS = ("targets.first_write_rto", "targets.rto", "targets.switchover_interruption", "targets.restore_rto")
TOP_KEYS = {"name", "description", "fault", "proves", "steady-state-hypothesis", "method", "checks", "rollbacks",
            "controls", "rto-for-level"}


class ScenarioInvalid(EgovError):
    """A drill file that cannot be run: one line, `file:line: what`."""

    exit_code = 2


@dataclass(frozen=True)
class Entry:
    """One library entry: an action (does something) or a probe (returns a value; `unit` "s" makes
    a check on it a timed one)."""

    kind: str  # "action" | "probe"
    fn: Callable[..., Any]
    args: type[BaseModel]
    unit: str | None = None
    doc: str = ""


@dataclass
class Step:
    entry: str
    kind: str
    args: BaseModel
    name: str | None = None
    store_as: str | None = None
    tolerance: Any = None
    has_tolerance: bool = False
    mark: str | None = None
    control: str | None = None
    line: int | None = None


@dataclass
class Scenario:
    name: str
    description: str
    file: str
    fault: str = ""
    proves: list[str] = field(default_factory=list)
    steady_state_title: str = ""
    steady_state: list[Step] = field(default_factory=list)
    method: list[Step] = field(default_factory=list)
    checks: list[Step] = field(default_factory=list)
    rollbacks: list[Step] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    rto_for_level: str | None = None


def load(path: Path, library: dict[str, Entry]) -> Scenario:
    """Read and validate one scenario file; the first problem raises `ScenarioInvalid`."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioInvalid(f"{file}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ScenarioInvalid(f"{file}: not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise ScenarioInvalid(f"{file}:{mark.line + 1 if mark else 1}: malformed YAML: {what}") from None
    except yaml.YAMLError as e:
        raise ScenarioInvalid(f"{file}: malformed YAML: {e}") from None
    src = SourceMap()
    if node is not None:
        src.add(file, node)

    def bad(loc: tuple, what: str) -> ScenarioInvalid:
        line = src.line(file, loc) or 1
        where = format_path(loc)
        return ScenarioInvalid(f"{file}:{line}: {where + ': ' if where else ''}{what}")

    if not isinstance(doc, dict):
        raise bad((), "a drill file is a YAML mapping (name, description, method, checks ...)")
    for k in doc:
        if k not in TOP_KEYS:
            raise bad((k,), f"unknown key (a drill has: {', '.join(sorted(TOP_KEYS))})")
    for k in ("name", "description"):
        if not isinstance(doc.get(k), str) or not doc[k].strip():
            raise bad((k,) if k in doc else (), f"{k!r} is required (text)")
    if not isinstance(doc.get("method"), list) or not doc["method"]:
        raise bad(("method",) if "method" in doc else (), "'method' is required: a list of steps (the faults and "
                  "actions in order)")
    controls = doc.get("controls") or []
    if not isinstance(controls, list) or not all(isinstance(x, str) for x in controls):
        raise bad(("controls",), "a list of control names (e.g. [async])")

    def steps(section: str, items, *, kinds: set[str], need_tolerance: bool, loc0: tuple) -> list[Step]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise bad(loc0, "a list of steps")
        out = []
        for i, raw in enumerate(items):
            loc = loc0 + (i,)
            if not isinstance(raw, dict):
                raise bad(loc, "a step is a mapping naming an action or a probe")
            names = [k for k in ("action", "probe") if k in raw]
            if len(names) != 1:
                raise bad(loc, "a step names exactly one of 'action' or 'probe'")
            kind = names[0]
            if kind not in kinds:
                raise bad(loc + (kind,), f"{section} hold{'s' if section != 'checks' else ''} "
                          f"{' or '.join(sorted(kinds))}s only")
            entry = raw[kind]
            lib = library.get(entry) if isinstance(entry, str) else None
            if lib is None or lib.kind != kind:
                have = sorted(n for n, e in library.items() if e.kind == kind)
                raise bad(loc + (kind,), f"no {kind} {entry!r} in the library (have: {', '.join(have)})")
            if need_tolerance and "tolerance" not in raw:
                raise bad(loc, f"a {section} probe needs a 'tolerance' (a value, [low, high], or {{max|min: ...}})")
            if "tolerance" in raw:
                tol_problem = check_tolerance(raw["tolerance"])
                if tol_problem:
                    raise bad(loc + ("tolerance",), tol_problem)
            for k in ("name", "as", "mark", "control"):
                if k in raw and not isinstance(raw[k], str):
                    raise bad(loc + (k,), "text expected")
            if raw.get("control") is not None and raw["control"] not in controls:
                raise bad(loc + ("control",), f"control {raw['control']!r} is not declared in 'controls'")
            args = {k: v for k, v in raw.items() if k not in STEP_KEYS}
            try:
                model = lib.args.model_validate(args)
            except ValidationError as e:
                errs = e.errors()  # a misspelt argument first: its "missing" twin says less
                err = next((x for x in errs if x["type"] == "extra_forbidden"), errs[0])
                where = tuple(err["loc"])
                msg = err["msg"] if err["type"] != "extra_forbidden" else (
                    f"{entry} takes no argument {where[0]!r}"
                    + (f" (it takes: {', '.join(lib.args.model_fields)})" if lib.args.model_fields else ""))
                raise bad(loc + where, msg) from None
            out.append(Step(entry=entry, kind=kind, args=model, name=raw.get("name"), store_as=raw.get("as"),
                            tolerance=raw.get("tolerance"), has_tolerance="tolerance" in raw, mark=raw.get("mark"),
                            control=raw.get("control"), line=src.line(file, loc)))
        return out

    hyp = doc.get("steady-state-hypothesis") or {}
    if not isinstance(hyp, dict):
        raise bad(("steady-state-hypothesis",), "a mapping with 'title' and 'probes'")
    for k in hyp:
        if k not in ("title", "probes"):
            raise bad(("steady-state-hypothesis", k), "unknown key (the hypothesis has: title, probes)")
    sc = Scenario(
        name=doc["name"], description=doc["description"], file=file, fault=str(doc.get("fault") or ""),
        proves=[str(x) for x in doc.get("proves") or []], steady_state_title=str(hyp.get("title") or ""),
        steady_state=steps("the steady-state hypothesis", hyp.get("probes"), kinds={"probe"}, need_tolerance=True,
                           loc0=("steady-state-hypothesis", "probes")),
        method=steps("method", doc["method"], kinds={"action", "probe"}, need_tolerance=False, loc0=("method",)),
        checks=steps("checks", doc.get("checks"), kinds={"probe"}, need_tolerance=True, loc0=("checks",)),
        rollbacks=steps("rollbacks", doc.get("rollbacks"), kinds={"action"}, need_tolerance=False,
                        loc0=("rollbacks",)),
        controls=controls, rto_for_level=doc.get("rto-for-level"),
    )
    stored = {s.store_as for s in sc.method + sc.checks if s.store_as}
    if sc.rto_for_level is not None and sc.rto_for_level not in stored:
        raise bad(("rto-for-level",), f"{sc.rto_for_level!r} is no measurement of this drill (an 'as:' of a probe)")
    for i, s in enumerate(sc.checks):
        if not s.name:
            raise bad(("checks", i), "a check needs a 'name' (its line in the report)")
    return sc


# ----------------------------------------------------------------------------- tolerances
def check_tolerance(tol) -> str | None:
    """None if `tol` is a tolerance this runner understands, else what is wrong with it."""
    if isinstance(tol, (bool, int, float, str)):
        return None
    if isinstance(tol, list):
        if len(tol) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in tol):
            return None
        return "a range tolerance is [low, high] (two numbers)"
    if isinstance(tol, dict):
        if not tol or set(tol) - {"max", "min"}:
            return "a bound tolerance is {max: X} and/or {min: X}"
        for v in tol.values():
            if isinstance(v, str) and v not in TARGETS:
                return f"no target {v!r} (have: {', '.join(TARGETS)})"
            if not (isinstance(v, (int, float, str)) and not isinstance(v, bool)) and not (
                    isinstance(v, dict) and set(v) == {"from", "to"}):
                return "a bound is a number, a target (targets.rto ...) or {from: MARK, to: MARK}"
        return None
    return "a tolerance is a value, [low, high] or {max|min: ...}"


def within(value, tol, resolve: Callable[[Any], float | None]) -> tuple[bool, str]:
    """Whether `value` is within tolerance `tol` (bounds resolved through `resolve`), and the
    tolerance as the report shows it."""
    if isinstance(tol, bool):
        return value is tol, str(tol).lower()
    if not isinstance(tol, (list, dict)):
        return value == tol and not isinstance(value, bool), str(tol)
    if isinstance(tol, list):
        lo, hi = tol
        return value is not None and lo <= value <= hi, f"{lo:g}..{hi:g}"
    ok, shown = value is not None, []
    for k, op in (("min", ">="), ("max", "<=")):
        if k in tol:
            limit = resolve(tol[k])
            shown.append(f"{op} {round(limit, 1):g}" if limit is not None else f"{op} ?")
            ok = ok and limit is not None and (value >= limit if k == "min" else value <= limit)
    return ok, ", ".join(shown)
