"""The four-level network (city uplink -> district core -> towns -> villages): render configs
from the estate, plan exact changes with hier_config, push them in waves with netmiko, back up,
roll back, verify. `topology` is the intent, `platforms` the per-platform data, `drivers` the one
device interface, `plan`/`push`/`backups` the workflow, `cli` the `egov net` verbs.
"""
