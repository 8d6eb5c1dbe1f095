"""The journal: an append-only, hash-chained record of every change egov makes.

One JSON object per line in `<state dir>/journal.jsonl`. Each record carries
`seq`, `prev` (the previous record's hash) and `hash` (sha256 of the record's
canonical JSON without `hash`). `journal.head` holds the last seq and hash, so
truncating the tail is detected too. `verify()` names the first bad record.

Commands that change the estate wrap their work in `change(...)`:

    with journal.change(state_dir, command="lab up", estate=e) as rec:
        ...                      # do the work
        rec.changes.append("started dfs-db1")

and a record is appended whether the work succeeds or fails (result and error).
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from egov.core import paths
from egov.core.errors import EgovError

GENESIS = "0" * 64


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_hash(rec: dict) -> str:
    body = {k: v for k, v in rec.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


class JournalCorrupt(EgovError):
    exit_code = 3


class JournalUnwritable(EgovError):
    exit_code = 1


class Journal:
    def __init__(self, directory: str | Path):
        layout = paths.at(directory)
        self.dir = layout.root
        self.path = layout.journal
        self.head = layout.journal_head

    def _last(self) -> tuple[int, str]:
        if not self.head.exists():
            return 0, GENESIS
        try:
            seq, h = self.head.read_text().split()
            return int(seq), h
        except ValueError:
            raise JournalCorrupt(f"{self.head}: not a journal head (expected 'SEQ HASH')") from None

    def append(self, entry: dict) -> dict:
        """Append one record (fields of `entry` plus seq/ts/prev/hash); returns it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            seq, prev = self._last()
            rec = {"seq": seq + 1, "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                   **entry, "prev": prev}
            rec["hash"] = record_hash(rec)
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            tmp = self.head.with_suffix(".tmp")
            tmp.write_text(f"{rec['seq']} {rec['hash']}\n")
            os.replace(tmp, self.head)
        return rec

    def records(self) -> Iterator[dict]:
        for _, rec in self._lines():
            yield rec

    def verify(self) -> int:
        """Check the whole chain; returns the number of records, raises JournalCorrupt at the first bad one."""
        prev, expect_seq = GENESIS, 1
        for line, rec in self._lines():
            seq = rec.get("seq")
            if seq != expect_seq:
                raise JournalCorrupt(f"{self.path}:{line}: record {seq} is out of order or a record before it "
                                     f"was deleted (expected seq {expect_seq})")
            if rec.get("prev") != prev:
                raise JournalCorrupt(f"{self.path}:{line}: record {seq} does not follow record {seq - 1} "
                                     "(chain broken: a record was removed, reordered or edited)")
            if rec.get("hash") != record_hash(rec):
                raise JournalCorrupt(
                    f"{self.path}:{line}: record {seq} was edited (its hash does not match its content)"
                )
            prev, expect_seq = rec["hash"], seq + 1
        count = expect_seq - 1
        head_seq, head_hash = self._last()
        if (head_seq, head_hash) != (count, prev):
            raise JournalCorrupt(f"{self.path}: ends at record {count} but {self.head.name} says {head_seq}: "
                                 "records at the end were removed" if head_seq > count else
                                 f"{self.path}: the last record does not match {self.head.name}")
        return count

    def _lines(self) -> Iterator[tuple[int, dict]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise JournalCorrupt(f"{self.path}:{n}: not a JSON record ({e.msg})") from None
                if not isinstance(rec, dict):
                    raise JournalCorrupt(f"{self.path}:{n}: not a JSON object")
                yield n, rec


@dataclass
class Change:
    """What a running command collects for its journal record."""

    changes: list = field(default_factory=list)
    details: dict = field(default_factory=dict)


@contextmanager
def change(directory: str | Path, *, command: str, estate=None, argv: list[str] | None = None) -> Iterator[Change]:
    """Journal one changing command: a record is appended on success and on failure."""
    ch = Change()
    result, error = "ok", None
    try:
        yield ch
    except BaseException as e:
        result, error = "failed", f"{type(e).__name__}: {e}"
        raise
    finally:
        entry = {
            "user": _user(),
            "host": socket.gethostname(),
            "command": command,
            "argv": argv if argv is not None else sys.argv[1:],
            "estate": getattr(getattr(estate, "meta", None), "name", None),
            "estate_digest": getattr(estate, "digest", None),
            "result": result,
            "changes": ch.changes,
        }
        if ch.details:
            entry["details"] = ch.details
        if error:
            entry["error"] = error
        try:
            Journal(directory).append(entry)
        except OSError as e:
            why = f"cannot write the journal in {directory}: {e.strerror or e}"
            if error is None:
                raise JournalUnwritable(why + " (the change was made but is not recorded)") from None
            raise JournalUnwritable(f"{error.split(': ', 1)[-1]} (and {why})") from None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())
