"""Errors egov reports to operators: one line each, naming what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass


class EgovError(Exception):
    """An operational error: printed as one line, exit code `exit_code`."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the estate: file, path inside it, line (if known), message."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class EstateInvalid(EgovError):
    """The estate breaks one or more rules; nothing may act on it."""

    exit_code = 2

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        n = len(problems)
        super().__init__(f"estate {source} is invalid: {n} problem{'s' if n != 1 else ''}")
