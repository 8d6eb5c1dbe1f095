"""A failing task that hides its output (no_log, it handles secrets) still reports why, secrets masked."""

import pytest

from egov.core import paths
from egov.hosts import ansible
from tests.conftest import ROOT

PLAY = """- hosts: all
  gather_facts: false
  vars:
    pg_port: 5433
    pg_psql: "sh -c 'cat >/dev/null; echo \\"psql: FATAL: role rejected, password s3cr3t-pw\\" >&2; exit 2'"
    pg_login_roles:
      - {role: replicator, password: s3cr3t-pw, attrs: REPLICATION LOGIN}
  tasks:
    - ansible.builtin.include_tasks: %s
"""


class LocalTarget:
    def ssh_args(self):
        return []

    def enter(self):
        pass


def test_no_log_failure_names_task_host_and_masked_reason(tmp_path, monkeypatch):
    book = tmp_path / "books"
    book.mkdir()
    (book / "t.yml").write_text(PLAY % (ROOT / "playbooks/roles/postgresql/tasks/login_roles.yml"))
    monkeypatch.setattr(paths, "playbooks", lambda: book)
    inv = {"all": {"hosts": {"hdc-pg2": {"ansible_connection": "local",
                                         "ansible_python_interpreter": __import__("sys").executable}}}}
    with pytest.raises(ansible.PlaybookFailed) as info:
        ansible.run_playbook("t.yml", inventory=inv, target=LocalTarget(), state_dir=tmp_path / "state")
    msg = str(info.value)
    assert msg.startswith("t.yml: hdc-pg2: task 'Login roles: replicator (failed)' failed: exit ")
    assert "role rejected, password ********" in msg
    assert "s3cr3t" not in msg and "no_log" not in msg
