"""One record per device platform: how to name ports, talk to it (netmiko), diff it (hier_config)
and save it. Data, not code paths: adding a platform is adding an entry here and its templates.

Production runs huawei_vrp and hp_comware, and so does the lab (emulated, egov/lab/devices);
frr (routers, via vtysh) and cisco_ios (fake-switches' 2960) remain platforms an estate may
declare. `lab_platform()` is the declared platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hier_config import Platform as HPlatform

from egov.core import ports
from egov.core.model import Device


@dataclass(frozen=True)
class Platform:
    name: str
    netmiko: str  # netmiko device_type
    hier: HPlatform  # hier_config platform for remediation/rollback
    ports: dict[str, str]  # logical interface kind -> name format ({n} index, {vlan}): egov.core.ports
    show_running: str
    save: tuple[str, ...]  # commands (in enable/user view) that persist the running config
    error_pattern: str  # device output that means the command was rejected
    unmanaged: tuple[str, ...] = ()  # running-config lines egov does not manage (regex, top level)
    negation: str = "no"
    # sections that cannot be deleted (physical ports): negating one means negating its lines
    persistent_sections: tuple[str, ...] = ()
    enable: bool = True  # enter privileged mode after login
    # rewrites of remediation lines the device only accepts in another form (regex, replacement)
    negation_subs: tuple[tuple[str, str], ...] = ()
    # netmiko's global_delay_factor: its fixed waits while it finds the prompt (1.0 = netmiko's
    # defaults, kept for production devices; the lab's answer in microseconds)
    delay_factor: float = 1.0
    # skip netmiko's sleep-based session preparation (see NetmikoDriver._lean_session)
    lean_session: bool = False
    # Comware prints globals indented by one space between `#` separators
    dedent_globals: bool = False
    # send a change as one block and read the echo once (lab devices) instead of netmiko's
    # line-by-line echo check (production: VRP/Comware sessions are kept line by line)
    batch_apply: bool = False
    # VRP/Comware: type each line and read until the device's prompt returns (no fixed waits, no
    # netmiko echo match, which long lines wrapped by the terminal would break; no config-mode checks)
    prompted_apply: bool = False

    @property
    def section_exit(self) -> str:
        return "quit" if self.negation == "undo" else "exit"

    def port(self, kind: str, n: int = 0, vlan: int = 0) -> str:
        try:
            fmt = self.ports[kind]
        except KeyError:
            raise KeyError(f"platform {self.name} has no port kind {kind!r}") from None
        return fmt.format(n=n, vlan=vlan)

    def clean_running(self, text: str) -> str:
        """The running config without banners, prompts and lines egov does not manage."""
        pats = [re.compile(p) for p in self.unmanaged]
        out = []
        in_section = False
        for line in text.splitlines():
            line = line.rstrip()
            if not line.strip():
                continue
            if self.dedent_globals:
                if line.strip() == "#":
                    in_section = False
                elif not line.startswith(" "):
                    in_section = True
                elif not in_section and not line.startswith("  "):
                    line = line[1:]
            if any(p.match(line) for p in pats):
                continue
            out.append(line)
        return "\n".join(out) + "\n"


# VRP and Comware take `undo` of a single-valued setting without its old value (`undo description`,
# not `undo description <text>`), as their command references write them; hier_config negates the
# whole line. The emulated devices (egov/lab/devices) refuse the long form as the devices do.
_UNDO_SHORT = tuple((rf"^(\s*)undo ({cmd})\b.*$", r"\1undo \2") for cmd in (
    r"description", r"name", r"sysname", r"header login", r"ospf timer hello", r"ospf timer dead", r"ospf network-type",
    r"spf-schedule-interval", r"port link-type", r"port default vlan", r"port access vlan", r"port link-mode",
    r"stp edged-port")) + ((r"^(\s*undo ip route-static \S+ \S+ \S+) description .*$", r"\1"),)

_COMMON_UNMANAGED = (r"^Building configuration", r"^Current configuration", r"^end$", r"^!", r"^#", r"^return$")

PLATFORMS: dict[str, Platform] = {
    "huawei_vrp": Platform(
        name="huawei_vrp",
        netmiko="huawei",
        hier=HPlatform.HUAWEI_VRP,
        ports=ports.PORTS["huawei_vrp"],
        show_running="display current-configuration",
        save=("save",),
        error_pattern=r"Error:|Unrecognized command|Incomplete command|Wrong parameter",
        unmanaged=_COMMON_UNMANAGED + (r"^ ?!Software Version", r"^ ?!Last configuration"),
        negation="undo",
        enable=False,
        persistent_sections=(r"^interface (?!Vlanif|LoopBack)",),
        negation_subs=_UNDO_SHORT,
        prompted_apply=True,
    ),
    "hp_comware": Platform(
        name="hp_comware",
        netmiko="hp_comware",
        hier=HPlatform.HP_COMWARE5,
        ports=ports.PORTS["hp_comware"],
        show_running="display current-configuration",
        save=("save force",),
        error_pattern=r"% Unrecognized command|% Incomplete command|% Wrong parameter|% Too many parameters",
        unmanaged=_COMMON_UNMANAGED + (r"^ ?version ",),
        dedent_globals=True,
        negation="undo",
        enable=False,
        persistent_sections=(r"^interface (?!Vlan-interface|LoopBack)",),
        # hier_config's HP_COMWARE5 leaves a section with `exit`, which Comware does not have
        negation_subs=_UNDO_SHORT + ((r"^(\s*)exit$", r"\1quit"),),
        prompted_apply=True,
    ),
    "cisco_ios": Platform(
        name="cisco_ios",
        netmiko="cisco_ios",
        hier=HPlatform.CISCO_IOS,
        ports=ports.PORTS["cisco_ios"],
        show_running="show running-config",
        save=("write memory",),
        error_pattern=r"% Invalid input|% Incomplete command|No such command|Command rejected|% Ambiguous",
        unmanaged=_COMMON_UNMANAGED + (r"^version ",),
        persistent_sections=(r"^interface (FastEthernet|GigabitEthernet|TenGigabitEthernet)",),
        batch_apply=True,
        delay_factor=0.1,
        lean_session=True,
    ),
    "frr": Platform(
        name="frr",
        netmiko="cisco_ios",
        hier=HPlatform.CISCO_IOS,
        ports=ports.PORTS["frr"],
        show_running="show running-config",
        save=("write memory",),
        error_pattern=r"% Unknown command|% Invalid|% Command incomplete|% Ambiguous|% Configuration failed",
        unmanaged=_COMMON_UNMANAGED + (r"^frr version", r"^frr defaults", r"^exit$", r"^ exit$"),
        persistent_sections=(r"^interface ",),
        batch_apply=True,
        delay_factor=0.1,
        lean_session=True,
        negation_subs=((r"^(\s*)no description .*$", r"\1no description"),),
    ),
}


# Huawei models that run VRPv8 (two-stage configuration: candidate, then commit)
_VRPV8_MODELS = ("CE", "NE")


def commit_mode(platform: str, model: str | None) -> str:
    """How a change is made safe on this device: `trial` (VRPv8: `commit trial <s>`, post-check,
    `commit`), `delay` (Comware 7: `configuration commit delay <min>`, change, post-check,
    `configuration commit`) or `` (VRP5 and the lab's devices: egov's backup and restore only)."""
    if platform == "hp_comware":
        return "delay"
    if platform == "huawei_vrp" and (model or "").upper().startswith(_VRPV8_MODELS):
        return "trial"
    return ""


def lab_platform(device: Device) -> str:
    """What the lab runs `device` on: the platform the estate declares (VRP/Comware emulated by
    egov.lab.devices with FRR carrying out the routers' layer 3; `frr` and `cisco_ios` as
    themselves). The lab substitutes nothing."""
    return str(device.platform)


def get(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise KeyError(f"unknown platform {name!r} (known: {', '.join(PLATFORMS)})") from None
