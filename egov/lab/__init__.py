"""The embedded lab: both data centres' servers as real Linux hosts on this machine.

`host` realises one host (namespace, private filesystem, sshd as PID 1) and is
callable on its own (e.g. by an OpenStack compute driver); `lab` builds the
estate's whole topology from it; `network` runs the estate's network on the lab
(routers, village switches, town clients); `cli` is `egov lab ...`.

The names below load `lab` on first use, so that `python -m egov.lab.devices` (the device
emulator, started per lab) does not pay for the estate model it never uses.
"""

__all__ = ["CTL", "Lab", "enter_controller", "preflight"]


def __getattr__(name: str):
    if name in __all__:
        from egov.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module 'egov.lab' has no attribute {name!r}")
