#!/usr/bin/env python3
"""egov's import graph, read from the source with `ast` (no import is executed).

    python scripts/imports.py            # cycles between modules and between sub-packages
    python scripts/imports.py --edges    # also every package-level edge
    python scripts/imports.py --json     # the same as one JSON document
    python scripts/imports.py --root DIR # another checkout (e.g. an older commit's worktree)

Every `import` counts, also those inside functions (a function-local import hides a
cycle from Python, not from the architecture). A unit test (tests/unit/test_layout.py)
holds the rules: no cycle between sub-packages, and `egov.core` imports nothing else of egov.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = "egov"


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for f in sorted((root / PKG).rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> egov modules it imports (names resolved to the modules that exist)."""
    mods = modules(root)
    g: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(m, is_pkg, node)
                # `from pkg import module` depends on that module; `from pkg import name` on pkg
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and t.split(".")[0] == PKG:
                    g[m].add(t)
    return g


def package_of(mod: str) -> str:
    """egov.core.model -> egov.core; egov.cli -> egov.cli (top-level modules stand alone)."""
    parts = mod.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else mod


def package_graph(g: dict[str, set[str]]) -> dict[str, set[str]]:
    pg: dict[str, set[str]] = {}
    for m, deps in g.items():
        a = package_of(m)
        pg.setdefault(a, set())
        for d in deps:
            b = package_of(d)
            if b != a and b != PKG:
                pg[a].add(b)
    return pg


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def report(root: Path = ROOT) -> dict:
    g = graph(root)
    pg = package_graph(g)
    core = f"{PKG}.core"
    return {
        "modules": len(g),
        "module_cycles": cycles(g),
        "package_cycles": cycles(pg),
        "package_edges": {k: sorted(v) for k, v in sorted(pg.items())},
        "core_imports": sorted({d for m, ds in g.items() if package_of(m) == core for d in ds
                                if package_of(d) != core}),
    }


def main(argv: list[str]) -> int:
    root = Path(argv[argv.index("--root") + 1]) if "--root" in argv else ROOT
    r = report(root)
    if "--json" in argv:
        print(json.dumps(r, indent=1))
        return 0
    print(f"{r['modules']} modules under {PKG}/")
    print(f"module-level cycles: {len(r['module_cycles'])}")
    for c in r["module_cycles"]:
        print("  " + " <-> ".join(c))
    print(f"package-level cycles: {len(r['package_cycles'])}")
    for c in r["package_cycles"]:
        print("  " + " <-> ".join(c))
    print(f"{PKG}.core imports outside the core: {', '.join(r['core_imports']) or 'none'}")
    if "--edges" in argv:
        for a, bs in r["package_edges"].items():
            print(f"  {a} -> {', '.join(bs) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
