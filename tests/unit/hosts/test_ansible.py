"""A failing task that hides its output (no_log, it handles secrets) still reports why, secrets masked."""

import pytest

from egov.core import paths
from egov.hosts import ansible
from tests.conftest import ROOT

PLAY = """- hosts: all
  gather_facts: false
  vars:
    login_role: replicator
    login_password: s3cr3t-pw
    login_attrs: REPLICATION LOGIN
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


@pytest.mark.parametrize("tasks,task", [("login_roles.yml", "Login roles: replicator (failed)"),
                                        ("login_role.yml", "Create replicator / set its password (failed)")])
def test_no_log_failure_names_task_host_and_masked_reason(tmp_path, monkeypatch, tasks, task):
    book = tmp_path / "books"
    book.mkdir()
    (book / "t.yml").write_text(PLAY % (ROOT / "playbooks/roles/postgresql/tasks" / tasks))
    monkeypatch.setattr(paths, "playbooks", lambda: book)
    inv = {"all": {"hosts": {"hdc-pg2": {"ansible_connection": "local",
                                         "ansible_python_interpreter": __import__("sys").executable}}}}
    with pytest.raises(ansible.PlaybookFailed) as info:
        ansible.run_playbook("t.yml", inventory=inv, target=LocalTarget(), state_dir=tmp_path / "state")
    msg = str(info.value)
    assert msg.startswith(f"t.yml: hdc-pg2: task '{task}' failed: exit "), msg
    assert "role rejected, password ********" in msg
    assert "s3cr3t" not in msg and "no_log" not in msg


def test_a_censored_result_is_not_the_bare_ansible_line():
    msg = ansible._msg({"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"})
    assert "has been hidden due to the fact" not in msg and "handles secrets" in msg
