"""A device's configuration as a text tree: what a command adds is exactly a line of the tree,
and `display current-configuration` prints the tree, so what the device accepted is what it
shows (nothing accepted and dropped, nothing shown that was not typed or booted).

Each line is identified by its rule's key (`description`, `ip address`, `ospf timer hello`, or
the whole line): setting a key again replaces the line in place; VLAN lists merge.
"""

from __future__ import annotations

from egov.lab.devices.grammar import Match, format_vlans, parse_vlans


class Node:
    __slots__ = ("text", "ident", "section", "children")

    def __init__(self, text: str = "", ident: str = "", section: bool = False):
        self.text = text
        self.ident = ident
        self.section = section
        self.children: list[Node] = []

    def copy(self) -> Node:
        n = Node(self.text, self.ident, self.section)
        n.children = [c.copy() for c in self.children]
        return n

    def child(self, ident: str) -> Node | None:
        return next((c for c in self.children if c.ident == ident), None)

    def walk(self, path: list[str]) -> Node | None:
        node = self
        for ident in path:
            node = node.child(ident)
            if node is None:
                return None
        return node

    # ------------------------------------------------------------------ changes

    def set(self, m: Match) -> Node:
        """Add or replace the line `m`; returns its node (the section entered, for a section)."""
        r = m.rule
        have = self.child(m.ident)
        if r.merge:
            head = " ".join(m.words[:r.ident])
            ids = parse_vlans(m.words[-1]) or set()
            if have is not None:
                ids |= parse_vlans(have.text[len(head):]) or set()
                have.text = f"{head} {format_vlans(ids)}"
                return have
            node = Node(f"{head} {format_vlans(ids)}", m.ident)
        elif have is not None:
            if not r.enters or len(m.words) > r.ident:
                have.text = m.text
            return have
        else:
            node = Node(m.text, m.ident, section=bool(r.enters))
        self.children.append(node)
        return node

    def remove(self, m: Match) -> int:
        """`undo` of `m` (which may stop after the key); the number of lines removed."""
        r = m.rule
        if r.merge and len(m.words) > r.ident:
            have = self.child(m.ident)
            if have is None:
                return 0
            head = " ".join(m.words[:r.ident])
            left = (parse_vlans(have.text[len(head):]) or set()) - (parse_vlans(m.words[-1]) or set())
            if left:
                have.text = f"{head} {format_vlans(left)}"
            else:
                self.children.remove(have)
            return 1
        words = m.words
        gone = [c for c in self.children if c.ident == m.ident and c.text.split()[:len(words)] == list(words)]
        for c in gone:
            self.children.remove(c)
        return len(gone)

    # ------------------------------------------------------------------ text

    def lines(self, depth: int = 0) -> list[str]:
        out = []
        for c in self.children:
            out.append(" " * depth + c.text)
            out += c.lines(depth + 1)
        return out

    def render(self, *, indent_globals: bool, header: list[str]) -> str:
        """The whole configuration as the device prints it: `#` after every section and between
        groups of global lines, `return` last. Comware indents global lines by one space."""
        out = list(header) + ["#"]
        kids = self.children
        for i, c in enumerate(kids):
            if c.section or c.children:
                out.append(c.text)
                out += c.lines(1)
                out.append("#")
                continue
            out.append((" " if indent_globals else "") + c.text)
            nxt = kids[i + 1] if i + 1 < len(kids) else None
            if nxt is None or nxt.section or nxt.children or nxt.text.split()[0] != c.text.split()[0]:
                out.append("#")
        out.append("return")
        return "\n".join(out) + "\n"

    def render_section(self, path: list[str]) -> str:
        """`display this`: the section the session is in."""
        node = self.walk(path)
        if node is None or not path:
            return ""
        return "\n".join(["#", node.text, *node.lines(1), "#", "return"]) + "\n"
