"""What every egov command shares: consoles, the context object, JSON output, journalling."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from egov.core import journal, paths
from egov.core.loader import load_estate

# exit codes: 0 ok, 1 operational error, 2 invalid estate, 3 journal tampered, 4 DR refused,
# 64 usage error (a bad flag, option value or path: nothing was done; EX_USAGE of sysexits.h)
USAGE_EXIT = 64

# piped output (files, CI logs, grep) gets wide lines instead of 80-column folding
out = Console(width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 200)))
err = Console(stderr=True, soft_wrap=True)


class Ctx:
    """Carried by typer's context: where the estate and egov's state are."""

    def __init__(self, estate: Path, state: Path):
        self.estate_dir = estate
        self.state_dir = state
        self._estate = None

    def estate(self):
        if self._estate is None:
            self._estate = load_estate(self.estate_dir)
        return self._estate

    @contextmanager
    def change(self, command: str):
        """Journal a changing command (success or failure) against the current estate."""
        with journal.change(self.state_dir, command=command, estate=self.estate()) as rec:
            yield rec


_emitted = False


def emit_json(data) -> None:
    """Write the command's one JSON document on stdout."""
    global _emitted
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
    _emitted = True


def json_emitted() -> bool:
    return _emitted


def crash_log(exc: BaseException, state_dir: Path | None) -> Path:
    """Write `exc`'s traceback to `<state>/logs/crash-<time>-<pid>.log` (else the temp dir); its path.

    The log holds what the traceback holds (no secrets are passed to egov on argv or in messages)."""
    name = f"crash-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}.log"
    text = f"egov {' '.join(sys.argv[1:])}\n" + "".join(traceback.format_exception(exc))
    dirs = ([paths.at(state_dir).logs] if state_dir is not None else []) + [Path(tempfile.gettempdir())]
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            p = d / name
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return p
        except OSError:
            continue
    return Path("/dev/null")  # nowhere writable: the one line still names the error
