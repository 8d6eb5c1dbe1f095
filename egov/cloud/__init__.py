"""The cloud centre as code: the estate's OpenStack layout, applied through openstacksdk or Pulumi.

- `graph`    the layout of both sites as one resource graph (defined once)
- `sdk`      `egov cloud plan|apply|destroy` on any clouds.yaml cloud through openstacksdk
- `embedded` `egov cloud up|down`: a real OpenStack control plane on this machine
- `novadriver`, `binding`  what that control plane loads: servers as lab hosts, ports bound
The Pulumi program over the same graph is `infra/__main__.py`.
"""
