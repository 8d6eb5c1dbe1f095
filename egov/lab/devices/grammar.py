"""What each emulated dialect accepts, as data: one rule per configuration command, per view.

A rule is written as the device's help would show it: literal keywords, `<param>` slots and
`[optional tail]`s, e.g. `ip route-static <ip> <mask> <ip> [description <text>]`. Keywords may be
typed abbreviated (`sys`, `dis cur`) as long as the prefix is unique; what is stored (and shown
by `display current-configuration`) is the expanded, canonical line. Anything outside these rules
is refused the way the device refuses it: the caret under the first word it could not take and
the dialect's own message (Unrecognized / Incomplete / Wrong parameter / Too many parameters /
Ambiguous).

The rules cover what egov's production templates (network/templates/{huawei_vrp,hp_comware})
write, nothing more: a template line outside them is refused in the lab, as a device would refuse
a line it does not know.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------- parameter slots


def _ip(w: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(w))
    except ValueError:
        return None


def _mask(w: str) -> str | None:
    try:
        n = ipaddress.IPv4Network(f"0.0.0.0/{w}")
    except ValueError:
        return None
    return str(n.netmask) if "." in w else None


def _masklen(w: str) -> str | None:
    return w if w.isdigit() and 0 <= int(w) <= 32 else None


def _mask_to_dotted(w: str) -> str | None:
    """VRP takes a mask or a length and shows the dotted mask."""
    if w.isdigit():
        return str(ipaddress.IPv4Network(f"0.0.0.0/{w}").netmask) if 0 <= int(w) <= 32 else None
    return _mask(w)


def _mask_to_len(w: str) -> str | None:
    """Comware takes a mask or a length and shows the length."""
    if w.isdigit():
        return _masklen(w)
    m = _mask(w)
    return str(ipaddress.IPv4Network(f"0.0.0.0/{m}").prefixlen) if m else None


def _area(w: str) -> str | None:
    if w.isdigit() and int(w) < 2**32:
        return str(ipaddress.IPv4Address(int(w)))
    return _ip(w)


def _int(lo: int, hi: int):
    def check(w: str) -> str | None:
        return str(int(w)) if w.isdigit() and lo <= int(w) <= hi else None

    return check


def _name(w: str) -> str | None:
    return w if 1 <= len(w) <= 246 else None


SLOTS = {
    "ip": _ip,
    "mask": _mask_to_dotted,
    "masklen": _mask_to_len,
    "wildcard": _ip,
    "area": _area,
    "name": _name,
    "vlan": _int(1, 4094),
    "process": _int(1, 65535),
    "hello": _int(1, 65535),
    "dead": _int(1, 235926000),
    # OSPF SPF timers (VRP: intelligent-timer max/start/hold in ms; Comware: max s, min/incr ms)
    "spf_max": _int(1, 120000),
    "spf_start": _int(1, 60000),
    "spf_hold": _int(1, 60000),
    "spf_cmax": _int(1, 60),
    "spf_cmin": _int(10, 60000),
    "spf_cinc": _int(10, 60000),
    "minutes": _int(1, 65535),
    "seconds": _int(60, 65535),
}
# slots that take the rest of the line
REST = {"text", "quoted", "delimited", "vlans"}


def _rest(kind: str, raw: str) -> str | None:
    raw = raw.strip()
    if kind == "text":
        return raw if 1 <= len(raw) <= 242 else None
    if kind == "quoted":
        return raw if len(raw) >= 2 and raw[0] == raw[-1] == '"' and '"' not in raw[1:-1] else None
    if kind == "delimited":
        return raw if len(raw) >= 2 and raw[0] == raw[-1] and not raw[0].isalnum() and raw[0] not in raw[1:-1] else None
    if kind == "vlans":
        ids = parse_vlans(raw)
        return format_vlans(ids) if ids else None
    raise KeyError(kind)


def parse_vlans(raw: str) -> set[int] | None:
    """`10 100 to 120 200` -> {10, 100, ..., 120, 200}; None if malformed."""
    words, out, i = raw.split(), set(), 0
    while i < len(words):
        w = words[i]
        if not w.isdigit() or not 1 <= int(w) <= 4094:
            return None
        if i + 2 < len(words) + 1 and i + 1 < len(words) and words[i + 1] == "to":
            if i + 2 >= len(words) or not words[i + 2].isdigit() or not int(w) <= int(words[i + 2]) <= 4094:
                return None
            out |= set(range(int(w), int(words[i + 2]) + 1))
            i += 3
        else:
            out.add(int(w))
            i += 1
    return out or None


def format_vlans(ids: set[int]) -> str:
    """As the devices print a VLAN list: ascending, runs of three or more as `a to b`."""
    s, out, i = sorted(ids), [], 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{s[i]} to {s[j]}")
        else:
            out += [str(x) for x in s[i:j + 1]]
        i = j + 1
    return " ".join(out)


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    view: str
    tokens: tuple[str, ...]  # literal words, `<slot>` or `a|b` alternatives
    enters: str | None = None  # the view this command opens (a section)
    key: int = 0  # leading tokens that identify the setting (0: the whole line)
    undo: int | None = None  # tokens `undo` takes at most (None: any prefix of at least `key`)
    merge: bool = False  # a VLAN list that accumulates (`vlan batch`, `port trunk ...`)

    @property
    def ident(self) -> int:
        return self.key or len(self.tokens)


def _expand(spec: str) -> list[tuple[str, ...]]:
    """`a <b> [c <d>]` -> [(a, <b>), (a, <b>, c, <d>)]."""
    m = re.search(r"\[([^\[\]]*)\]", spec)
    if not m:
        return [tuple(spec.split())]
    head, tail = spec[:m.start()], spec[m.end():]
    return _expand(head + tail) + _expand(head + m.group(1) + tail)


def rules(table: list[tuple]) -> list[Rule]:
    out = []
    for view, spec, *opts in table:
        kw = opts[0] if opts else {}
        out += [Rule(view, toks, **kw) for toks in _expand(spec)]
    return out


@dataclass
class Grammar:
    dialect: str
    rules: list[Rule]
    interfaces: str  # regex of the interface names this dialect has
    messages: dict[str, str]
    views: dict[str, str] = field(default_factory=dict)  # view -> prompt suffix format

    def in_view(self, view: str) -> list[Rule]:
        return [r for r in self.rules if r.view == view]


@dataclass(frozen=True)
class Match:
    rule: Rule
    words: tuple[str, ...]  # canonical words (keywords expanded, parameters normalised)

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def ident(self) -> str:
        return " ".join(self.words[:self.rule.ident])


@dataclass(frozen=True)
class Problem:
    kind: str  # unrecognized | incomplete | wrong | too_many | ambiguous
    column: int  # where the caret goes (0-based, in the typed line)
    depth: int = 0


def _literal(tok: str, word: str) -> str | None | bool:
    """The keyword `word` abbreviates, None if it does not, False if ambiguous."""
    alts = tok.split("|")
    hits = [a for a in alts if a.startswith(word.lower())]
    if word.lower() in alts:
        return word.lower()
    if len(hits) == 1:
        return hits[0]
    return False if hits else None


def match_rule(g: Grammar, rule: Rule, line: str, *, prefix_ok: bool = False) -> Match | Problem:
    spans = [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]
    out: list[str] = []
    for i, tok in enumerate(rule.tokens):
        if i >= len(spans):
            if prefix_ok and i >= rule.ident:
                return Match(rule, tuple(out))
            return Problem("incomplete", len(line.rstrip()) + 1, i)
        col, word = spans[i]
        if tok.startswith("<"):
            slot = tok[1:-1]
            if slot in REST:
                v = _rest(slot, line[col:])
                if v is None:
                    return Problem("wrong", col, i)
                return Match(rule, tuple(out + [v]))
            v = re.fullmatch(g.interfaces, word) and word if slot == "if" else SLOTS[slot](word)
            if not v:
                return Problem("wrong", col, i)
            out.append(v)
        else:
            kw = _literal(tok, word)
            if kw is False:
                return Problem("ambiguous", col, i)
            if kw is None:
                return Problem("unrecognized", col, i)
            out.append(kw)
    if len(spans) > len(rule.tokens):
        return Problem("too_many", spans[len(rule.tokens)][0], len(rule.tokens))
    return Match(rule, tuple(out))


def match(g: Grammar, view: str, line: str, *, undo: bool = False) -> Match | Problem:
    """The one rule of `view` that `line` is, or the problem the device reports."""
    found: list[Match] = []
    best = Problem("unrecognized", len(line) - len(line.lstrip()), -1)
    for r in g.in_view(view):
        res = match_rule(g, r, line, prefix_ok=undo)
        if isinstance(res, Match):
            if undo and r.undo is not None and len(res.words) > r.undo:
                res = Problem("too_many", _column(line, r.undo), r.undo)
            else:
                found.append(res)
                continue
        if res.depth > best.depth or (res.depth == best.depth and res.kind != "unrecognized"
                                        and best.kind == "unrecognized"):
            best = res
    if found:
        # the longest reading wins (an optional tail given)
        found.sort(key=lambda m: -len(m.words))
        amb = _ambiguous(g.in_view(view), found[0], line)
        return amb if amb is not None else found[0]
    return best


def _ambiguous(view_rules: list[Rule], m: Match, line: str) -> Problem | None:
    """A keyword typed short that abbreviates two of the view's keywords at that place."""
    spans = [(x.start(), x.group().lower()) for x in re.finditer(r"\S+", line)]
    for i, tok in enumerate(m.rule.tokens[:len(spans)]):
        if tok.startswith("<"):
            break
        col, typed = spans[i]
        if typed in tok.split("|"):
            continue
        kws = {a for r in view_rules if r.tokens[:i] == m.rule.tokens[:i] and len(r.tokens) > i
               and not r.tokens[i].startswith("<") for a in r.tokens[i].split("|") if a.startswith(typed)}
        if len(kws) > 1:
            return Problem("ambiguous", col, i)
    return None


def _column(line: str, i: int) -> int:
    spans = [m.start() for m in re.finditer(r"\S+", line)]
    return spans[i] if i < len(spans) else len(line)


# ---------------------------------------------------------------------------- the dialects

_VRP_MSG = {
    "unrecognized": "Error: Unrecognized command found at '^' position.",
    "incomplete": "Error: Incomplete command found at '^' position.",
    "wrong": "Error: Wrong parameter found at '^' position.",
    "too_many": "Error: Too many parameters found at '^' position.",
    "ambiguous": "Error:Ambiguous command found at '^' position.",
}
_COMWARE_MSG = {
    "unrecognized": "% Unrecognized command found at '^' position.",
    "incomplete": "% Incomplete command found at '^' position.",
    "wrong": "% Wrong parameter found at '^' position.",
    "too_many": "% Too many parameters found at '^' position.",
    "ambiguous": "% Ambiguous command found at '^' position.",
}

_VRP = rules([
    ("system", "sysname <name>", dict(key=1, undo=1)),
    ("system", "vlan batch <vlans>", dict(key=2, merge=True)),
    ("system", "vlan <vlan>", dict(enters="vlan")),
    ("system", "ntp-service unicast-server <ip>"),
    ("system", "interface <if>", dict(enters="interface")),
    ("system", "ospf <process> [router-id <ip>]", dict(enters="ospf", key=2)),
    ("system", "ip route-static <ip> <mask> <ip> [description <text>]", dict(key=5, undo=5)),
    ("system", "stelnet server enable"),
    ("system", "ssh authentication-type default password", dict(key=3)),
    ("system", "header login information <quoted>", dict(key=2, undo=2)),
    ("vlan", "description <text>", dict(key=1, undo=1)),
    ("interface", "description <text>", dict(key=1, undo=1)),
    ("interface", "ip address <ip> <mask>", dict(key=2)),
    ("interface", "ospf network-type p2p|broadcast", dict(key=2, undo=2)),
    ("interface", "ospf timer hello <hello>", dict(key=3, undo=3)),
    ("interface", "ospf timer dead <dead>", dict(key=3, undo=3)),
    ("interface", "port link-type access|trunk|hybrid", dict(key=2, undo=2)),
    ("interface", "port trunk allow-pass vlan <vlans>", dict(key=4, merge=True)),
    ("interface", "port default vlan <vlan>", dict(key=3, undo=3)),
    ("interface", "stp edged-port enable", dict(key=2, undo=2)),
    ("interface", "shutdown"),
    ("ospf", "import-route static", dict(key=2)),
    ("ospf", "spf-schedule-interval intelligent-timer <spf_max> <spf_start> <spf_hold>", dict(key=1, undo=1)),
    ("ospf", "silent-interface <if>"),
    ("ospf", "area <area>", dict(enters="area")),
    ("area", "network <ip> <wildcard>"),
])

_COMWARE = rules([
    ("system", "sysname <name>", dict(key=1, undo=1)),
    ("system", "vlan <vlan>", dict(enters="vlan")),
    ("system", "ntp-service unicast-server <ip>"),
    ("system", "interface <if>", dict(enters="interface")),
    ("system", "ospf <process> [router-id <ip>]", dict(enters="ospf", key=2)),
    ("system", "ip route-static <ip> <masklen> <ip> [description <text>]", dict(key=5, undo=5)),
    ("system", "ssh server enable"),
    ("system", "header login <delimited>", dict(key=2, undo=2)),
    ("vlan", "name <text>", dict(key=1, undo=1)),
    ("vlan", "description <text>", dict(key=1, undo=1)),
    ("interface", "port link-mode bridge|route", dict(key=2, undo=2)),
    ("interface", "description <text>", dict(key=1, undo=1)),
    ("interface", "ip address <ip> <mask>", dict(key=2)),
    ("interface", "ospf network-type p2p|broadcast", dict(key=2, undo=2)),
    ("interface", "ospf timer hello <hello>", dict(key=3, undo=3)),
    ("interface", "ospf timer dead <dead>", dict(key=3, undo=3)),
    ("interface", "port link-type access|trunk|hybrid", dict(key=2, undo=2)),
    ("interface", "port trunk permit vlan <vlans>", dict(key=4, merge=True)),
    ("interface", "port access vlan <vlan>", dict(key=3, undo=3)),
    ("interface", "stp edged-port", dict(key=2)),
    ("interface", "shutdown"),
    ("ospf", "import-route static", dict(key=2)),
    ("ospf", "spf-schedule-interval <spf_cmax> [<spf_cmin> [<spf_cinc>]]", dict(key=1, undo=1)),
    ("ospf", "silent-interface <if>"),
    ("ospf", "area <area>", dict(enters="area")),
    ("area", "network <ip> <wildcard>"),
])

_VRP_IF = r"(LoopBack\d+|(X|25G|40G|100G)?GigabitEthernet\d+/\d+/\d+|Vlanif\d+|Eth-Trunk\d+)"
_COMWARE_IF = r"(LoopBack\d+|(Ten-|FortyGig|HundredGig)?GigabitEthernet\d+/\d+/\d+|Vlan-interface\d+)"

GRAMMARS = {
    "vrp5": Grammar("vrp5", _VRP, _VRP_IF, _VRP_MSG),
    "vrpv8": Grammar("vrpv8", _VRP, _VRP_IF, _VRP_MSG),
    "comware7": Grammar("comware7", _COMWARE, _COMWARE_IF, _COMWARE_MSG),
}
