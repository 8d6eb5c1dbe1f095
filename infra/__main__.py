"""Pulumi entry point: `pulumi up` in this folder builds the estate's OpenStack layout.

Config: `egov:estate` (estate directory, default ../estate/panyu), `egov:publicKeyFile` (the
operator key every server trusts), `egov:cloud` (clouds.yaml cloud for the scoped providers).
"""

import os
import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from program import declare  # noqa: E402

from egov.cloud.graph import derive, policy_violations  # noqa: E402
from egov.core.loader import load_estate  # noqa: E402

cfg = pulumi.Config("egov")
estate = load_estate(cfg.get("estate") or Path(__file__).resolve().parent.parent / "estate" / "panyu")
key_file = cfg.get("publicKeyFile") or os.path.expanduser("~/.ssh/id_ed25519.pub")
graph = derive(estate, Path(key_file).read_text())
if bad := policy_violations(graph):
    raise SystemExit(f"security policy: {bad[0]}")
made = declare(graph, cloud=cfg.get("cloud"))
pulumi.export("servers", {k.split("/", 1)[1]: v.access_ip_v4 for k, v in made.items() if k.startswith("server/")})
