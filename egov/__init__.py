"""egov: provision a district e-government estate from one source of truth and keep it running.

The package map (one import root; one concept per sub-package; each `egov <verb>` group
holds its own `cli.py`):

    core/         the estate model, loader, rules, topology, paths, runtime state, journal,
                  secrets, errors: imports nothing else of egov
    lab/          egov lab        both data centres' hosts and the network on this machine
    network/      egov net        render, plan, push in waves, back up, roll back, verify
    hosts/        egov build|verify|inventory   playbooks (ansible-runner), testinfra
    apps/         egov apps       application releases shipped with fabric
    datacenters/  egov dr|drill   switchover, failover, failback, drills and their reports
    cloud/        egov cloud      the OpenStack layout (openstacksdk), the embedded cloud
    target.py     THE target (lab | real) for hosts and devices
    up.py         egov up (the pipeline) and egov lab down
    cli.py        the root command; clikit.py what every command shares

Declarative content lives beside the package, in the repository's top-level folders (in a
wheel: package data), found through `egov.core.paths`: `playbooks/`, `network/`,
`datacenters/`, `apps_deploy/`, `estate/`; `infra/` is the Pulumi project.
"""

__version__ = "0.1.0"
