"""Emulated Huawei VRP (VRP5, VRPv8) and H3C Comware 7 devices for the lab.

Nothing on PyPI, npm or Debian emulates these over SSH with state, so egov carries its own, built
on fake-switches' SSH server and line editor (a new core given to `SwitchFactory(mapping=...)`,
no fork): grammar.py says what each dialect accepts (the production templates' commands, as
data), tree.py holds the running configuration as a text tree (what a device accepted is what
`display current-configuration` shows), device.py is the device and its CLI sessions (views,
prompts, dialogs, VRPv8 candidate/commit/trial/rollback, Comware commit delay), server.py puts
many of them in one twisted process: `python -m egov.lab.devices <spec.json>`.
"""
