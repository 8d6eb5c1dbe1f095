"""An in-memory network device for unit tests of the push engine (the lab tests use real ones).

It keeps its running config as sections of lines and applies commands like an IOS-style CLI
(a top-level line opens a section, `no X` removes what starts with X). Faults are
set per device: unreachable, wrong credentials, a command it rejects (after applying the lines
before it, as a real CLI does), lines it accepts but never shows, an empty `show run`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from egov.network import drivers, platforms


@dataclass
class FakeDevice:
    platform: str
    running: str
    unreachable: bool = False
    wrong_password: bool = False
    reject: str | None = None  # regex of a command the device refuses
    swallow: str | None = None  # regex of lines accepted but never shown
    empty_show: bool = False
    log: list = field(default_factory=list)


class FakeDriver:
    def __init__(self, dev: FakeDevice, conn: drivers.Conn):
        self.dev, self.conn = dev, conn

    def open(self):
        if self.dev.unreachable:
            raise drivers.Unreachable(self.conn.device, f"no answer from {self.conn.host}:22 within 10 s")
        if self.dev.wrong_password:
            raise drivers.AuthFailed(self.conn.device, "login refused (wrong credentials)")

    def running(self) -> str:
        self.dev.log.append(("running",))
        return "" if self.dev.empty_show else self.dev.running

    def cli(self, command):
        return ""

    pending = ""

    def apply(self, commands, trial=0):
        self.dev.log.append(("apply", list(commands)))
        p = platforms.get(self.dev.platform)
        accepted = []
        for c in commands:
            if self.dev.reject and re.search(self.dev.reject, c):
                self._merge(p, accepted)
                raise drivers.CommandRejected(self.conn.device, c, "% Invalid input detected")
            accepted.append(c)
        self._merge(p, accepted)
        return "ok"

    def _merge(self, p, lines):
        """A small IOS-style CLI: a top-level line opens or is a global line; indented lines
        belong to the open section; `no X` removes the lines that start with X."""
        cfg = _parse(self.dev.running)
        neg = p.negation + " "
        section = None
        for raw in lines:
            text = raw.strip()
            if text in ("exit", "quit") or not text:
                section = None
                continue
            if self.dev.swallow and re.search(self.dev.swallow, raw):
                continue
            if not raw.startswith(" "):
                section = None
                if text.startswith(neg):
                    target = text[len(neg):]
                    hits = [k for k in cfg if k == target or k.startswith(target + " ")]
                    for k in hits:
                        del cfg[k]
                    if not hits:  # a default-on feature turned off shows as its `no` form
                        cfg.setdefault(text, [])
                    continue
                cfg.pop(neg + text, None)
                cfg.setdefault(text, [])
                section = text
            else:
                kids = cfg.setdefault(section, []) if section else None
                if kids is None:
                    continue
                if text.startswith(neg):
                    target = text[len(neg):]
                    kids[:] = [k for k in kids if not (k == target or k.startswith(target + " "))]
                elif text not in kids:
                    kids.append(text)
        # a physical port with nothing configured is not worth showing (as if at factory state)
        ports = [re.compile(x) for x in p.persistent_sections]
        self.dev.running = "".join(k + "\n" + "".join(f" {c}\n" for c in kids) for k, kids in cfg.items()
                                   if kids or not any(x.match(k) for x in ports))

    def confirm(self):
        return ""

    def cancel(self):
        return ""

    def save(self):
        self.dev.log.append(("save",))

    def close(self):
        pass


def _parse(text: str) -> dict[str, list[str]]:
    cfg: dict[str, list[str]] = {}
    cur = None
    for ln in text.splitlines():
        if not ln.strip() or ln.strip() in ("!", "#"):
            continue
        if ln.startswith(" "):
            if cur is not None:
                cfg[cur].append(ln.strip())
        else:
            cur = ln.strip()
            cfg.setdefault(cur, [])
    return cfg


class FakeNetwork:
    def __init__(self, devices: dict[str, FakeDevice]):
        self.devices = devices
        self.lock = threading.Lock()
        self.connects: list[str] = []

    def connect(self, conn: drivers.Conn, session_log=None):
        with self.lock:
            self.connects.append(conn.device)
        d = FakeDriver(self.devices[conn.device], conn)
        d.open()
        return d
