"""Load an estate directory: YAML files -> pydantic models -> rules -> `Estate`.

`load_estate(path)` is the only way commands get an estate, so a broken estate
never reaches a host or a device: it raises `EstateInvalid` with every problem
found, each naming the file, the path inside it and (where known) the line.
"""

from __future__ import annotations

import hashlib
import reprlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from egov.core import paths
from egov.core.errors import EstateInvalid, Problem
from egov.core.model import FILES, OPTIONAL_FILES, Estate
from egov.core.rules import check
from egov.core.sources import SourceMap, format_path

try:  # libyaml is ~10x faster; PyYAML wheels ship it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

def default_estate_dir() -> Path:
    """$EGOV_ESTATE, else the reference estate shipped with egov (estate/panyu)."""
    return paths.default_estate()


# YAML aliases may share a node many times over ("billion laughs"); past this many nodes beyond the
# file's own, the file is refused before anything walks or validates the expanded value
ALIAS_BUDGET = 100_000


def _expansion(node: yaml.Node) -> tuple[int, int, yaml.Node | None]:
    """(nodes in the file, nodes once every alias is expanded, the costliest shared node);
    linear in the file's own nodes (sizes are memoised), stops once past the budget.
    A recursive alias counts as over budget."""
    size: dict[int, int] = {}
    refs: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    nodes: dict[int, yaml.Node] = {}
    while stack:
        n, done = stack.pop()
        key = id(n)
        if done:
            on_path.discard(key)
            kids = _children(n)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            if size[key] > ALIAS_BUDGET * 10:
                break
            continue
        refs[key] = refs.get(key, 0) + 1
        if key in size:
            continue
        if key in on_path:  # an alias inside its own anchor
            return len(nodes), ALIAS_BUDGET * 100, n
        nodes[key] = n
        on_path.add(key)
        stack.append((n, True))
        stack.extend((k, False) for k in _children(n) if id(k) not in size)
    total = size.get(id(node), ALIAS_BUDGET * 10 + 1)
    shared = [k for k, c in refs.items() if c > 1 and k in size]
    worst = nodes[max(shared, key=lambda k: size[k] * refs[k])] if shared else None
    return len(nodes), total, worst


def _children(n: yaml.Node) -> list[yaml.Node]:
    if isinstance(n, yaml.MappingNode):
        return [x for kv in n.value for x in kv]
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    return []


def _duplicate_keys(file: str, node: yaml.Node, loc: tuple, out: list[Problem]) -> None:
    stack = [(node, loc)]
    seen_nodes: set[int] = set()  # a node shared through aliases is checked once
    while stack:
        n, where = stack.pop()
        if id(n) in seen_nodes:
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            seen: set = set()
            for k, v in n.value:
                if k.value in seen:
                    out.append(Problem(file, format_path(where + (k.value,)),
                                       "duplicate key (the later value would silently win)",
                                       k.start_mark.line + 1))
                seen.add(k.value)
                if isinstance(v, (yaml.MappingNode, yaml.SequenceNode)):
                    stack.append((v, where + (k.value,)))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                if isinstance(v, (yaml.MappingNode, yaml.SequenceNode)):
                    stack.append((v, where + (i,)))


def _parse(file: str, text: str, sources: SourceMap, problems: list[Problem]):
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                problems.append(Problem(file, "", "file is empty (an estate file is a YAML mapping)", 1))
                return None
            own, expanded, worst = _expansion(node)
            if expanded - own > ALIAS_BUDGET:
                line = (worst or node).start_mark.line + 1
                problems.append(Problem(file, "", f"YAML aliases expand this file past {ALIAS_BUDGET:,} extra nodes "
                                        "(recursive or nested aliases): refused", line))
                return None
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(x for x in (e.context, e.problem) if x)
        problems.append(Problem(file, "", f"malformed YAML: {what}", line))
        return None
    except yaml.YAMLError as e:
        problems.append(Problem(file, "", f"malformed YAML: {e}"))
        return None
    except RecursionError:
        problems.append(Problem(file, "", "nested too deeply to read"))
        return None
    sources.add(file, node)
    _duplicate_keys(file, node, (), problems)
    if not isinstance(data, dict):
        problems.append(Problem(file, "", f"expected a mapping at the top, found {type(data).__name__}", 1))
        return None
    return data


_SHORT = reprlib.Repr()  # Python 3.11: limits are attributes
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 2


def _shape_problems(file: str, err: ValidationError, sources: SourceMap) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        msg = e["msg"]
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            shown = _SHORT.repr(e["input"])  # bounded: never renders a whole (aliased) value
            if len(shown) > 60:
                shown = shown[:57] + "..."
            if shown not in msg:  # the validator's own message may already quote it
                msg += f" (got {shown})"
        if e["type"] == "extra_forbidden":
            msg = "unknown field (misspelt?)"
        out.append(sources.problem(file, loc, msg))
    return out


def read_estate(path: Path | str) -> tuple[Estate | None, SourceMap, list[Problem]]:
    """Parse and shape-check every file; returns the estate (None if any file is broken)."""
    root = Path(path)
    sources = SourceMap()
    problems: list[Problem] = []
    if root.is_file():
        raise EstateInvalid(str(root), [Problem(str(root), "", "is a file, not an estate directory "
                                                f"(a folder holding {', '.join(FILES)})")])
    if not root.is_dir():
        raise EstateInvalid(str(root), [Problem(str(root), "", "estate directory not found")])
    parsed: dict[str, object] = {}
    digest = hashlib.sha256()
    for file, model in (FILES | OPTIONAL_FILES).items():
        p = root / file
        if not p.is_file():
            if file in OPTIONAL_FILES:
                continue
            problems.append(Problem(file, "", f"missing: an estate needs {', '.join(FILES)}"))
            continue
        try:
            raw = p.read_bytes()
        except OSError as e:
            problems.append(Problem(file, "", f"cannot read: {e.strerror or e}"))
            continue
        digest.update(file.encode() + b"\0" + raw + b"\0")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            problems.append(Problem(file, "", f"not UTF-8 text (byte {e.start}; save the file as UTF-8)", line))
            continue
        data = _parse(file, text, sources, problems)
        if data is None:
            continue
        try:
            parsed[file] = model.model_validate(data)
        except ValidationError as err:
            problems.extend(_shape_problems(file, err, sources))
    if len(set(parsed) & set(FILES)) != len(FILES) or problems:
        return None, sources, problems
    estate = Estate(
        meta=parsed["estate.yaml"],
        sites=parsed["sites.yaml"].sites,
        network=parsed["network.yaml"],
        databases=parsed["databases.yaml"].databases,
        backup=parsed["databases.yaml"].backup,
        applications=parsed["apps.yaml"].applications,
        **({"cloud": parsed["cloud.yaml"]} if "cloud.yaml" in parsed else {}),
        digest="sha256:" + digest.hexdigest(),
        source=str(root),
    )
    return estate, sources, problems


def load_estate(path: Path | str | None = None) -> Estate:
    """The one entry point: a fully valid estate, or `EstateInvalid` with every problem."""
    root = Path(path) if path is not None else default_estate_dir()
    estate, sources, problems = read_estate(root)
    if estate is not None:
        problems.extend(check(estate, sources))
    if problems:
        raise EstateInvalid(str(root), sorted(problems, key=_order))
    return estate


def _order(p: Problem):
    order = list(FILES | OPTIONAL_FILES)
    return (order.index(p.file) if p.file in order else 99, p.line or 0, p.path, p.message)
