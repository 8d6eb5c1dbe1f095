"""pytest plugin for `egov verify`: one JSON line per check (host, check, outcome, detail)."""

from __future__ import annotations

import json
import os
import re


def _host(item_id: str) -> str:
    """The host of a testinfra test id (`test_x[ssh://dfs-db1]`)."""
    m = re.search(r"\[ssh://([^\]?]+)", item_id)
    return m.group(1) if m else "-"


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    path = os.environ.get("EGOV_VERIFY_REPORT")
    if not path or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # with xdist, the controller writes the line when the worker reports back
    name = report.nodeid.split("::")[-1].split("[")[0]
    module = report.nodeid.split("::")[0].rsplit("/", 1)[-1].removeprefix("test_").removesuffix(".py")
    detail = ""
    if report.outcome != "passed":
        text = str(report.longrepr) if report.longrepr else ""
        lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()[-1:]
        detail = " ".join(ln[1:].strip() for ln in lines[:3])[:300]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"host": _host(report.nodeid), "check": f"{module}: {name.removeprefix('test_')}",
                            "outcome": report.outcome, "detail": detail, "nodeid": report.nodeid,
                            "seconds": round(report.duration, 3)}, ensure_ascii=False) + "\n")
