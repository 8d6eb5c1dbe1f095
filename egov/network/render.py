"""Render each device's intended configuration from its intent (topology.py) with Jinja2.

Templates live in the top-level `network/templates/<platform>/<role>.j2` (egov.core.paths).
An estate may override any of them with
its own `<estate dir>/templates/<platform>/<role>.j2` (a district's local conventions stay
data, next to the estate). Rendering is deterministic: same estate, same bytes (no
timestamps, sorted sets, estate order). Undefined variables fail loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from egov.core import paths, topology
from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.core.topology import Intent
from egov.network import platforms


class RenderError(EgovError):
    pass


@dataclass(frozen=True)
class Rendered:
    device: str
    platform: str
    role: str
    text: str


_envs: dict[str, jinja2.Environment] = {}


def env(estate_dir: str | Path | None = None) -> jinja2.Environment:
    """The template environment: the estate's own templates first, then egov's."""
    local = Path(estate_dir) / "templates" if estate_dir else None
    key = str(local.resolve()) if local is not None and local.is_dir() else ""
    if key not in _envs:
        dirs = ([key] if key else []) + [str(paths.network_templates())]
        e = jinja2.Environment(loader=jinja2.FileSystemLoader(dirs), undefined=jinja2.StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
        e.globals["wildcard"] = topology.wildcard
        _envs[key] = e
    return _envs[key]


def effective_platform(intent: Intent, *, lab: bool) -> str:
    return platforms.lab_platform(intent.device) if lab else str(intent.device.platform)


def render_intent(intent: Intent, platform: str, estate_dir: str | Path | None = None) -> Rendered:
    p = platforms.get(platform)
    role = str(intent.device.role)
    name = f"{platform}/{role}.j2"
    try:
        tpl = env(estate_dir).get_template(name)
    except jinja2.TemplateNotFound:
        raise RenderError(
            f"{intent.device.id}: no template {name} (platform {platform} cannot play role {role})"
        ) from None
    try:
        text = tpl.render(i=intent, p=p)
    except (jinja2.TemplateError, KeyError) as e:
        raise RenderError(f"{intent.device.id}: template {name}: {e}") from None
    # one blank-free, newline-terminated text: stable bytes for golden files and diffs
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return Rendered(intent.device.id, platform, role, "\n".join(lines) + "\n")


def render_all(estate: Estate, *, lab: bool, devices: list[str] | None = None,
               platform: str | None = None) -> dict[str, Rendered]:
    """Rendered configs keyed by device id (all devices, or the named ones, estate order)."""
    its = topology.intents(estate)
    if devices:
        unknown = [d for d in devices if d not in its]
        if unknown:
            raise RenderError(f"no device {unknown[0]!r} in the estate's network.yaml")
        its = {d: its[d] for d in its if d in set(devices)}
    return {d: render_intent(i, platform or effective_platform(i, lab=lab), estate.source or None)
            for d, i in its.items()}
