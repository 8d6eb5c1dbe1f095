"""The estate's hosts: `egov build` (the playbooks through ansible-runner, with an inventory
generated from the estate), `egov verify` (testinfra suites) and `egov inventory`.

- `inventory`: the Ansible inventory, generated (never written by hand);
- `ansible`: running a playbook through ansible-runner's Python API, with progress;
- `build`: configure every host (`site.yml`);
- `verify/`: what to check (`suites/`, one module per concern) split from how hosts are
  reached (testinfra's ssh backend over the target's ssh_config);
- `cli`: the three commands, and their stages for `egov up`.
"""
