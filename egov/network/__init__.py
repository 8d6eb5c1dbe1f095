"""The four-level network (city uplink -> district core -> towns -> villages), `egov net`: render
configs from the estate, plan exact changes with hier_config, push them in waves with netmiko,
back up, roll back, verify. The intent is `egov.core.topology`; `platforms` is the per-platform
data, `drivers` the one device interface, `render` the templates (top-level `network/templates/`),
`fleet` the devices and how the target reaches them, `plan`/`push`/`backups` the workflow,
`verify` the checks, `cli` the verbs.
"""
