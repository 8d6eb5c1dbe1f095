"""The two data centres' disaster recovery (`egov dr`) and its drills (`egov drill`).

- `dr`: status, switchover, failover (fenced), failback (pg_rewind), guard; the only
  writer of the runtime state (`egov.core.state`);
- `drill`: scenarios run under load on the lab, RTO/RPO measured (scenario descriptions are
  data in the top-level `datacenters/drills/`);
- `report`: the drill report as self-contained HTML;
- `cli`: the commands.
"""
