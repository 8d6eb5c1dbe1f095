"""Where things are in the estate's YAML files: a path inside a file and the line it starts on.

`SourceMap` keeps each parsed file's node tree and finds the line of a path only when a
problem is reported (the loader and the rules both use it; it imports neither).
"""

from __future__ import annotations

import yaml

from egov.core.errors import Problem


def format_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class SourceMap:
    """Finds the line of a path inside a parsed YAML file (looked up only for problems)."""

    def __init__(self) -> None:
        self._roots: dict[str, yaml.Node] = {}

    def add(self, file: str, node: yaml.Node) -> None:
        self._roots[file] = node

    def line(self, file: str, loc: tuple) -> int | None:
        node = self._roots.get(file)
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == part or (isinstance(part, int) and k.value == str(part)):
                        line, node = k.start_mark.line + 1, v
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def problem(self, file: str, loc: tuple, message: str) -> Problem:
        return Problem(file, format_path(loc), message, self.line(file, loc))
