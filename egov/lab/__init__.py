"""The embedded lab: both data centres' servers as real Linux hosts on this machine.

`host` realises one host (namespace, private filesystem, sshd as PID 1) and is
callable on its own (e.g. by an OpenStack compute driver); `lab` builds the
estate's whole topology from it; `cli` is `egov lab ...`.
"""

from .lab import CTL, Lab, enter_controller, preflight

__all__ = ["CTL", "Lab", "enter_controller", "preflight"]
