"""The embedded lab: both data centres' servers as real Linux hosts on this machine.

`host` realises one host (namespace, private filesystem, sshd as PID 1) and is
callable on its own (e.g. by an OpenStack compute driver); `lab` builds the
estate's whole topology from it; `network` runs the estate's network on the lab
(routers, village switches, town clients); `cli` is `egov lab ...`.
"""

from egov.lab.lab import CTL, Lab, enter_controller, preflight

__all__ = ["CTL", "Lab", "enter_controller", "preflight"]
