"""Run the playbooks under playbooks/ through ansible-runner's Python API.

`run_playbook(...)` takes the generated inventory, runs one playbook, shows live
progress from ansible-runner's events, and returns per-host ok/changed counts. A
failed or unreachable host raises `PlaybookFailed` naming the host, the task and
Ansible's message. Artifacts (event JSON, stdout) stay in `<state dir>/ansible/`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from egov.core import paths
from egov.core.errors import EgovError
from egov.target import Target


class PlaybookFailed(EgovError):
    def __init__(self, playbook: str, failures: list[dict]):
        self.failures = failures
        f = failures[0]
        more = f" (and {len(failures) - 1} more failure{'s' if len(failures) > 2 else ''})" if len(failures) > 1 else ""
        super().__init__(f"{playbook}: {f['host']}: task '{f['task']}' {f['kind']}: {f['msg']}{more}")


@dataclass
class PlaybookResult:
    playbook: str
    seconds: float
    ok: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    changed_tasks: list[str] = field(default_factory=list)

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def _msg(res: dict) -> str:
    if res.get("censored"):  # a no_log task: the playbooks report its reason in a "(failed)" task after it
        return "its output is hidden because it handles secrets (no_log)"
    for k in ("msg", "stderr", "module_stderr", "stdout"):
        v = res.get(k)
        if v:
            line = str(v).strip().splitlines()
            return line[-1][:300] if line else ""
    return "failed"


def run_playbook(name: str, *, inventory: dict, target: Target, state_dir: Path, limit: str | None = None,
                 extravars: dict | None = None, progress: Callable[[str], None] | None = None,
                 forks: int = 16) -> PlaybookResult:
    import ansible_runner

    playbook = paths.playbooks() / name
    if not playbook.is_file():
        raise EgovError(f"playbook {playbook} not found")
    pdd = paths.at(state_dir).ansible
    (pdd / "cp").mkdir(parents=True, exist_ok=True)
    os.chmod(pdd, 0o700)
    result = PlaybookResult(name, 0.0)
    failures: list[dict] = []

    def on_event(ev: dict) -> bool:
        kind = ev.get("event", "")
        data = ev.get("event_data", {})
        host = data.get("host") or data.get("remote_addr")
        if kind == "playbook_on_task_start" and progress:
            progress(data.get("task", ""))
        elif kind == "runner_on_ok":
            result.ok[host] = result.ok.get(host, 0) + 1
            if data.get("res", {}).get("changed"):
                result.changed[host] = result.changed.get(host, 0) + 1
                result.changed_tasks.append(f"{host}: {data.get('task')}")
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            failures.append(
                {"host": host, "task": data.get("task"), "kind": "failed", "msg": _msg(data.get("res", {}))}
            )
        elif kind == "runner_on_unreachable":
            failures.append({"host": host, "task": data.get("task"), "kind": "could not reach the host",
                             "msg": _msg(data.get("res", {}))})
        return True  # kept in the run's artifacts (job_events/): the audit trail of what ran where

    ssh_args = " ".join(target.ssh_args() + ["-o", "ControlMaster=auto", "-o", "ControlPersist=120s"])
    env = {
        "ANSIBLE_ROLES_PATH": str(playbook.parent / "roles"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": ssh_args,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(pdd / "cp"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_LOCAL_TEMP": str(pdd / "tmp"),
        "ANSIBLE_TIMEOUT": "20",
    }
    bindir = str(Path(sys.executable).parent)  # ansible-playbook lives beside this interpreter
    if bindir not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = f"{bindir}:{os.environ.get('PATH', '')}"
    target.enter()
    t0 = time.monotonic()
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=str(playbook), inventory=inventory, envvars=env,
                           extravars=extravars or {}, limit=limit, forks=forks, quiet=True, event_handler=on_event,
                           rotate_artifacts=20, suppress_env_files=True)
    result.seconds = time.monotonic() - t0
    if failures:
        raise PlaybookFailed(name, failures)
    if r.rc != 0:
        tail = (r.stdout.read().strip().splitlines() or ["no output"])[-1] if r.stdout else "no output"
        raise EgovError(f"{name}: ansible-playbook exited {r.rc} ({r.status}): {tail}")
    # the recap is authoritative: events of no_log tasks are censored, `changed` included
    stats = r.stats or {}
    result.ok = dict(stats.get("ok", result.ok))
    result.changed = dict(stats.get("changed", result.changed))
    hidden = result.total_changed - len(result.changed_tasks)
    if hidden > 0:
        result.changed_tasks.append(f"{hidden} change(s) in tasks whose output is hidden (no_log: secrets)")
    return result
