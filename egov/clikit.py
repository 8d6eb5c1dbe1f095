"""What every egov command shares: consoles, the context object, JSON output, journalling."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from egov.core import journal
from egov.core.loader import load_estate

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
