"""egov core: the estate model (`model`), loading and rules (`loader`, `rules`),
the journal (`journal`), the summary (`summary`) and the CLI (`cli`).

Capabilities live beside the core, each in its own package: `egov.lab` (the
embedded lab). Later: network pushes, builds, drills, cloud.
"""

__version__ = "0.1.0"
