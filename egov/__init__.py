"""egov core: the estate model (`model`), loading and rules (`loader`, `rules`),
the journal (`journal`), the summary (`summary`) and the CLI (`cli`).

Capabilities live beside the core: `lab` (the embedded lab), `target` (how hosts are
reached), `inventory`/`ansible`/`build` (playbooks), `apps` (releases via fabric),
`verify` (testinfra suites), `dr`/`drill`/`report` (failover and drills). Still to come:
the network (issue 5) and the cloud (issue 7).
"""

__version__ = "0.1.0"
