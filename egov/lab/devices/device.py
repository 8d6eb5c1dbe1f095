"""One emulated Huawei VRP / H3C Comware device and the CLI sessions on it, without any network:
a `Session` takes typed lines and returns what the device prints. The SSH side (server.py)
only carries bytes.

Dialects:
* vrp5 (AR routers, S-series switches): changes take effect as typed; `save` asks [Y/N].
* vrpv8 (CE12800, NE40E): system view edits a candidate per session; prompts `[~HOST]` (no
  uncommitted change) and `[*HOST]`; `commit`, `commit trial [<s>]` (reverts by itself unless
  confirmed by `commit`), `abort`, `abort trial`, `rollback configuration last <n>|to commit-id
  <id>` (user view); leaving system view with uncommitted changes asks Y/N/C.
* comware7 (S5130S, MSR, S12500): changes take effect as typed; `configuration commit delay
  <min>` reverts by itself unless `configuration commit` confirms it; `save force`; `configuration
  replace file <file>`.

Timed reverts run on `schedule(delay, fn)` (the reactor's callLater in the server; a fake
clock in tests); `time_scale` multiplies every device duration (tests shorten minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from egov.lab.devices import grammar
from egov.lab.devices.grammar import Match, Problem
from egov.lab.devices.tree import Node

VERSIONS = {
    "vrp5": "!Software Version V200R021C10SPC600",
    "vrpv8": "!Software Version V800R021C10SPC100",
    "comware7": " version 7.1.070, Release 6728P22",
}

_VRP_LOGIN = ("Info: The max number of VTY users is 10, and the number\n"
              "      of current VTY users on line is 1.\n")
_COMWARE_LOGIN = ("*" * 78 + "\n"
                  "* Copyright (c) 2004-2024 New H3C Technologies Co., Ltd. All rights reserved.*\n"
                  "* Without the owner's prior written consent,                                 *\n"
                  "* no decompiling or reverse-engineering shall be allowed.                    *\n"
                  + "*" * 78 + "\n")

Schedule = Callable[[float, Callable[[], None]], object]  # returns a handle with .cancel()


def _no_schedule(delay, fn):
    raise RuntimeError("this device has no clock")


@dataclass
class Commit:
    id: int
    before: Node  # the configuration the commit replaced (what a rollback restores)
    label: str = ""
    kind: str = "commit"  # commit | trial | rollback | revert


class Device:
    def __init__(self, name: str, dialect: str, *, schedule: Schedule = _no_schedule, time_scale: float = 1.0,
                 on_save: Callable[[str], None] | None = None):
        if dialect not in grammar.GRAMMARS:
            raise ValueError(f"unknown dialect {dialect!r} (known: {', '.join(grammar.GRAMMARS)})")
        self.name = name
        self.dialect = dialect
        self.grammar = grammar.GRAMMARS[dialect]
        self.schedule = schedule
        self.time_scale = time_scale
        self.on_save = on_save
        self.running = Node()
        self.files: dict[str, str] = {}  # flash:/ files (saved configurations)
        self.commits: list[Commit] = []
        self.trial = None  # (handle, configuration to revert to) of a pending trial / delay
        self.events: list[str] = []  # what the device did by itself (reverts), for tests and logs
        # the router's layer 3 in the lab (server.py: FRR in its namespace): `display ospf peer`
        # asks it; None on a device that routes nothing here
        self.ospf_peers: Callable[[bool], str] | None = None

    @property
    def vrp(self) -> bool:
        return self.dialect.startswith("vrp")

    @property
    def hostname(self) -> str:
        node = self.running.child("sysname")
        return node.text.split(None, 1)[1] if node else self.name

    def display(self, tree: Node | None = None) -> str:
        return (tree or self.running).render(indent_globals=not self.vrp, header=[VERSIONS[self.dialect]])

    def login_banner(self) -> str:
        return _VRP_LOGIN if self.vrp else _COMWARE_LOGIN

    # ------------------------------------------------------------------ boot / save

    def load(self, text: str) -> list[str]:
        """Boot from a saved configuration; returns the lines refused (a damaged file)."""
        s = Session(self, system=True, direct=True)
        bad = []
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("!") or line.strip() == "return" or \
                    line.lstrip().startswith("version "):
                continue
            if line.strip() == "#":
                s.path = []
                continue
            res = s.configure(line)
            if isinstance(res, Problem):
                bad.append(line)
        return bad

    def save(self, file: str = "flash:/vrpcfg.zip") -> None:
        text = self.display()
        self.files[file] = text
        self.files["startup"] = text
        if self.on_save is not None:
            self.on_save(text)

    # ------------------------------------------------------------------ commits and reverts

    def commit(self, new: Node, *, label: str = "", kind: str = "commit") -> Commit:
        c = Commit(1000000001 + len(self.commits), self.running, label, kind)
        self.commits.append(c)
        self.running = new
        return c

    def arm_revert(self, seconds: float, back_to: Node, what: str) -> None:
        self.cancel_revert()

        def revert():
            self.trial = None
            self.commit(back_to.copy(), kind="revert")
            self.events.append(f"{what} expired: configuration reverted")

        self.trial = (self.schedule(seconds * self.time_scale, revert), back_to)

    def cancel_revert(self) -> Node | None:
        if self.trial is None:
            return None
        handle, back_to = self.trial
        self.trial = None
        try:
            handle.cancel()
        except Exception:  # noqa: BLE001 - already fired
            pass
        return back_to


@dataclass
class Reply:
    text: str = ""
    ask: Callable[[str], Reply] | None = None  # the next line answers a question
    close: bool = False


@dataclass
class Session:
    device: Device
    system: bool = False  # in system view (else user view)
    direct: bool = False  # edit the running config directly even on vrpv8 (boot)
    path: list[tuple[str, str]] = field(default_factory=list)  # (view, section ident) from the top
    candidate: Node | None = None

    # ------------------------------------------------------------------ prompt

    @property
    def staged(self) -> bool:
        return self.device.dialect == "vrpv8" and not self.direct

    @property
    def tree(self) -> Node:
        if self.staged and self.system:
            if self.candidate is None:
                self.candidate = self.device.running.copy()
            return self.candidate
        return self.device.running

    def dirty(self) -> bool:
        return self.candidate is not None and self.candidate.lines() != self.device.running.lines()

    def view(self) -> str:
        return self.path[-1][0] if self.path else "system"

    def prompt(self) -> str:
        host = self.device.hostname
        if not self.system:
            return f"<{host}>"
        label = ""
        for view, ident in self.path:
            w = ident.split()
            label += {"interface": f"-{w[-1]}", "vlan": f"-vlan{w[-1]}", "ospf": f"-ospf-{w[1] if len(w) > 1 else ''}",
                      "area": f"-area-{w[-1]}"}.get(view, "")
        mark = ("*" if self.dirty() else "~") if self.staged else ""
        return f"[{mark}{host}{label}]"

    # ------------------------------------------------------------------ errors

    def _error(self, line: str, p: Problem) -> Reply:
        g = self.device.grammar
        msg = g.messages[p.kind]
        caret = " " * (len(self.prompt()) + p.column) + "^"
        return Reply(f"{caret}\n{'' if self.device.vrp else ' '}{msg}\n")

    # ------------------------------------------------------------------ lines

    def handle(self, line: str) -> Reply:
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("!"):
            return Reply()
        w = s.split()
        op = self._operational(w, s)
        if op is not None:
            return op
        if not self.system:
            return self._error(line, grammar.Problem("unrecognized", len(line) - len(line.lstrip())))
        return self._config(line)

    def _is(self, w: list[str], *words: str) -> bool:
        """Does the typed `w` abbreviate exactly the keywords `words`?"""
        return len(w) == len(words) and all(k.startswith(x.lower()) and x for x, k in zip(w, words))

    def _operational(self, w: list[str], s: str) -> Reply | None:
        d = self.device
        if self._is(w, "display", "current-configuration"):
            return Reply(d.display())
        if self._is(w, "display", "this") and self.system:
            return Reply(self.tree.render_section([i for _, i in self.path]))
        if d.dialect == "vrpv8" and self._is(w, "display", "configuration", "candidate") and self.system:
            return Reply(d.display(self.tree))
        if d.dialect == "vrpv8" and self._is(w, "display", "configuration", "commit", "list"):
            rows = [f"{i + 1:<6}{c.id:<14}{c.kind:<10}{c.label or '-'}" for i, c in enumerate(reversed(d.commits))]
            return Reply("\n".join(["No.   CommitId      Type      Label", *rows]) + "\n")
        if self._is(w, "display", "ospf", "peer") or self._is(w, "display", "ospf", "peer", "brief"):
            return Reply(d.ospf_peers(len(w) == 4) if d.ospf_peers else "")
        if not self.system:
            return self._user_view(w, s)
        if self._is(w, "return"):
            return self._leave(to_user=True)
        if self._is(w, "quit"):
            if self.path:
                self.path.pop()
                return Reply()
            return self._leave(to_user=True)
        if d.vrp and self._is(w, "save"):
            return self._save_dialog()
        if not d.vrp and self._is(w, "save", "force"):
            d.save("flash:/startup.cfg")
            return Reply("Validating file. Please wait...\n"
                         "Saved the current configuration to mainboard device successfully.\n")
        if d.dialect == "vrpv8":
            return self._vrpv8_system(w, s)
        if d.dialect == "comware7":
            return self._comware_system(w, s)
        return None

    def _user_view(self, w: list[str], s: str) -> Reply | None:
        d = self.device
        if self._is(w, "system-view"):
            self.system, self.path, self.candidate = True, [], None
            return Reply({"vrp5": "Enter system view, return user view with Ctrl+Z.\n",
                          "vrpv8": "Enter system view, return user view with return command.\n",
                          "comware7": "System View: return to User View with Ctrl+Z.\n"}[d.dialect])
        if d.vrp and self._is(w, "screen-length", "0", "temporary"):
            return Reply("Info: The configuration takes effect on the current user terminal interface only.\n")
        if not d.vrp and self._is(w, "screen-length", "disable"):
            return Reply()
        if self._is(w, "quit"):
            return Reply(close=True)
        if d.vrp and self._is(w, "save"):
            return self._save_dialog()
        if not d.vrp and self._is(w, "save", "force"):
            d.save("flash:/startup.cfg")
            return Reply("Validating file. Please wait...\n"
                         "Saved the current configuration to mainboard device successfully.\n")
        if d.dialect == "vrpv8" and len(w) >= 3 and self._is(w[:2], "rollback", "configuration"):
            return self._rollback(w[2:])
        return None

    # ------------------------------------------------------------------ dialogs

    def _save_dialog(self) -> Reply:
        d = self.device

        def answer(line: str) -> Reply:
            a = line.strip().lower()
            if a in ("y", "yes"):
                d.save()
                return Reply("Now saving the current configuration to the slot 1.\n"
                             "Info: Save the configuration successfully.\n")
            if a in ("n", "no"):
                return Reply()
            return Reply("Warning: The current configuration will be written to the device. Continue? [Y/N]:",
                         ask=answer)

        return Reply("Warning: The current configuration will be written to the device. Continue? [Y/N]:", ask=answer)

    def _leave(self, *, to_user: bool) -> Reply:
        if self.staged and self.dirty():
            def answer(line: str) -> Reply:
                a = line.strip().lower()
                if a in ("y", "yes"):
                    self.device.commit(self.candidate)
                    self._to_user()
                    return Reply()
                if a in ("n", "no"):
                    self._to_user()
                    return Reply()
                if a in ("c", "cancel"):
                    return Reply()
                return self._leave(to_user=to_user)

            return Reply("Warning: Uncommitted configurations found. Are you sure to commit them before exiting? "
                         "[Y(yes)/N(no)/C(cancel)]:", ask=answer)
        self._to_user()
        return Reply()

    def _to_user(self) -> None:
        self.system, self.path, self.candidate = False, [], None

    # ------------------------------------------------------------------ VRPv8 and Comware 7 commits

    def _vrpv8_system(self, w: list[str], s: str) -> Reply | None:
        d = self.device
        if w and "commit".startswith(w[0].lower()) and len(w[0]) >= 3:
            rest = w[1:]
            if not rest:
                d.cancel_revert()
                if self.dirty():
                    d.commit(self.candidate.copy())
                self.candidate = d.running.copy()
                return Reply()
            if rest[0] == "trial" and len(rest) <= 2:
                secs = rest[1] if len(rest) == 2 else "600"
                if not secs.isdigit() or not 60 <= int(secs) <= 65535:
                    return self._error(s, Problem("wrong", s.index(rest[1]) if len(rest) == 2 else len(s)))
                before = d.running.copy()
                d.commit(self.candidate.copy(), kind="trial")
                d.arm_revert(int(secs), before, "trial commit")
                self.candidate = d.running.copy()
                return Reply(f"Info: The trial commit will be rolled back in {secs} seconds unless confirmed "
                             "with commit.\n")
            if rest[0] == "label" and len(rest) == 2 or rest[0] == "comment" and len(rest) >= 2:
                d.cancel_revert()
                d.commit(self.candidate.copy(), label=" ".join(rest[1:]).strip('"'))
                self.candidate = d.running.copy()
                return Reply()
            return None
        if self._is(w, "abort"):
            self.candidate = d.running.copy()
            self.path = []
            return Reply()
        if self._is(w, "abort", "trial"):
            back = d.cancel_revert()
            if back is None:
                return Reply("Error: No trial commit is in progress.\n")
            d.commit(back, kind="rollback")
            self.candidate = d.running.copy()
            return Reply("Info: The trial configuration was rolled back.\n")
        return None

    def _rollback(self, args: list[str]) -> Reply:
        d = self.device
        target = None
        if len(args) == 2 and "last".startswith(args[0]) and args[1].isdigit():
            n = int(args[1])
            if 1 <= n <= len(d.commits):
                target = d.commits[-n].before
        elif len(args) == 3 and args[0] == "to" and "commit-id".startswith(args[1]) and args[2].isdigit():
            c = next((c for c in d.commits if c.id == int(args[2])), None)
            target = c.before if c else None
        else:
            return Reply("Error: Unrecognized command found at '^' position.\n")
        if target is None:
            return Reply("Error: The specified commit point does not exist.\n")
        d.cancel_revert()
        d.commit(target.copy(), kind="rollback")
        return Reply("Info: Succeeded in rolling back the configuration.\n")

    def _comware_system(self, w: list[str], s: str) -> Reply | None:
        d = self.device
        if len(w) == 4 and self._is(w[:3], "configuration", "commit", "delay"):
            if not w[3].isdigit() or not 1 <= int(w[3]) <= 65535:
                return self._error(s, Problem("wrong", s.rindex(w[3])))
            d.arm_revert(int(w[3]) * 60, d.running.copy(), "configuration commit delay")
            return Reply(f"The system will roll back to the current configuration in {w[3]} minutes "
                         "if you do not confirm with configuration commit.\n")
        if self._is(w, "configuration", "commit"):
            if d.cancel_revert() is None:
                return Reply(" % No configuration commit delay is in progress.\n")
            return Reply()
        if len(w) == 4 and self._is(w[:3], "configuration", "replace", "file"):
            text = d.files.get(w[3])
            if text is None:
                return Reply(f" % The file {w[3]} does not exist.\n")

            def answer(line: str) -> Reply:
                if line.strip().lower() not in ("y", "n"):
                    return Reply("Current configuration will be lost, save current configuration? [Y/N]:", ask=answer)
                if line.strip().lower() == "y":
                    d.save("flash:/startup.cfg")
                new = Device(d.name, d.dialect)
                new.load(text)
                d.running = new.running
                self.path = []
                return Reply("Now replacing the current configuration. Please wait...\n"
                             f"Succeeded in replacing current configuration with the file {w[3]}.\n")

            return Reply("Current configuration will be lost, save current configuration? [Y/N]:", ask=answer)
        return None

    # ------------------------------------------------------------------ configuration lines

    def _config(self, line: str) -> Reply:
        res = self.configure(line)
        if isinstance(res, Problem):
            return self._error(line, res)
        return Reply()

    def configure(self, line: str) -> Match | Problem:
        """Apply one configuration line in the current view or, as the devices do, the nearest
        enclosing view that has the command (so `interface X` typed in another interface's view
        moves there). Nothing is changed by a refused line."""
        g = self.device.grammar
        s = line.strip()
        undo = s.split()[0].lower() == "undo" if s else False
        body = line[line.lower().index("undo") + 4:] if undo else line
        first: Problem | None = None
        for depth in range(len(self.path), -1, -1):
            view = self.path[depth - 1][0] if depth else "system"
            res = grammar.match(g, view, body, undo=undo)
            if isinstance(res, Match):
                self._apply(depth, res, undo)
                return res
            if first is None or res.depth > first.depth:
                first = res
        if undo:
            first = Problem(first.kind, first.column + (len(line) - len(body)), first.depth)
        return first

    def _apply(self, depth: int, m: Match, undo: bool) -> None:
        self.path = self.path[:depth]
        parent = self.tree.walk([i for _, i in self.path])
        if parent is None:  # the section went away under the session (another session, a revert)
            self.path, parent = [], self.tree
        if undo:
            parent.remove(m)
            return
        node = parent.set(m)
        if m.rule.enters:
            self.path.append((m.rule.enters, node.ident))



# the estate's platform and model -> the dialect its software speaks
_VRPV8_MODELS = ("CE", "NE")


def dialect_for(platform: str, model: str | None) -> str:
    """`huawei_vrp` on a CE12800/NE40E runs VRPv8, on AR/S-series VRP5; `hp_comware` is Comware 7."""
    if platform == "hp_comware":
        return "comware7"
    if platform == "huawei_vrp":
        return "vrpv8" if (model or "").upper().startswith(_VRPV8_MODELS) else "vrp5"
    raise ValueError(f"no emulated dialect for platform {platform!r}")
