"""What a push would change on one device: hier_config's remediation (the exact commands, in the
order sent) and its rollback, from the device's running config and the rendered intent."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from hier_config import WorkflowRemediation, get_hconfig
from hier_config.exceptions import DuplicateChildError

from egov.network import platforms
from egov.network.drivers import DeviceError


class PlanError(DeviceError):
    """A config hier_config cannot read (e.g. a section printed twice)."""

    kind = "plan"


def _parse(p: platforms.Platform, text: str, device: str, which: str):
    try:
        return get_hconfig(p.hier, p.clean_running(text))
    except DuplicateChildError as e:
        raise PlanError(device, f"cannot plan: the {which} config has {str(e)[0].lower()}{str(e)[1:]}") from None


@dataclass
class DevicePlan:
    device: str
    platform: str
    role: str
    commands: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.commands)

    def as_dict(self) -> dict:
        return {"device": self.device, "platform": self.platform, "role": self.role,
                "changed": self.changed, "commands": self.commands, "rollback": self.rollback}


def _lines(cfg, source, p: platforms.Platform) -> list[str]:
    """Remediation lines; a negated persistent section (a physical port) becomes the negation
    of each of its lines, since the port itself cannot be deleted."""
    pats = [re.compile(x) for x in p.persistent_sections]
    neg = p.negation + " "
    out: list[str] = []
    for child in cfg.children:
        text = child.text
        if text.startswith(neg) and any(x.match(text[len(neg):]) for x in pats):
            header = text[len(neg):]
            src = next((c for c in source.children if c.text == header), None)
            if src is not None and src.children:
                out.append(header)
                out += [f"  {neg}{c.text}" for c in src.children]
                out.append("  " + (p.section_exit))
            continue
        out += list(child.lines(sectional_exiting=True))
    for rx, rep in p.negation_subs:
        out = [re.sub(rx, rep, ln) for ln in out]
    return out


def plan(device: str, platform: str, role: str, running: str, intended: str) -> DevicePlan:
    """Commands that take `running` (as the device printed it) to `intended`, and back."""
    p = platforms.get(platform)
    run_h = _parse(p, running, device, "running")
    want_h = _parse(p, intended, device, "intended")
    wf = WorkflowRemediation(run_h, want_h)
    return DevicePlan(device, platform, role, _lines(wf.remediation_config, run_h, p),
                      _lines(wf.rollback_config, want_h, p))


def unified(device: str, platform: str, running: str, intended: str) -> str:
    """A readable text diff of the managed part of the running config against the intent."""
    p = platforms.get(platform)
    a = p.clean_running(running).splitlines(keepends=True)
    b = p.clean_running(intended).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"{device} (running)", f"{device} (intended)"))
