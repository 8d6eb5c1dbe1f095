"""Draining a host from its front through HAProxy's runtime API, against a real HAProxy on loopback
(its admin socket in a temp dir), with the commands run the way a front runs them (python3 on the host)."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time

import pytest

from egov.apps import deploy
from egov.lab.devices.process import free_ports

pytestmark = pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy not installed")


class Local:
    """What fabric's Connection offers `front_runtime`: run(cmd) on 'the front', here this machine."""

    def run(self, cmd, hide=True, warn=True, in_stream=False, timeout=15):
        r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return type("R", (), {"exited": r.returncode, "stdout": r.stdout, "stderr": r.stderr})()


@pytest.fixture
def front(tmp_path, monkeypatch):
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    front_port, dead_port = free_ports(2)  # the second: nothing listens there
    sock = tmp_path / "haproxy.sock"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(f"""global
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    default-server inter 200 fastinter 100 downinter 200 fall 2 rise 2
frontend hall
    bind 127.0.0.1:{front_port}
    default_backend hall
backend hall
    option httpchk GET /
    server app1 127.0.0.1:{backend.server_address[1]} check
    server app2 127.0.0.1:{dead_port} check
""")
    proc = subprocess.Popen(["haproxy", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    monkeypatch.setattr(deploy, "HAPROXY_SOCKET", str(sock))
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    yield Local()
    proc.terminate()
    proc.wait(timeout=10)
    backend.shutdown()


def _p(host: str) -> deploy.HostApp:
    return deploy.HostApp(host, "127.0.0.1", "hall", 0, "/", fronts=("lb1",))


def test_drain_ready_and_state_through_the_runtime_api(front):
    c = front
    deadline = time.monotonic() + 10
    while deploy.server_state(c, _p("app1"), front="lb1")[0] != "UP" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert deploy.server_state(c, _p("app1"), front="lb1") == ("UP", 0)
    assert deploy.server_state(c, _p("app2"), front="lb1")[0].startswith("DOWN")  # nothing listens there
    deploy.front_runtime(c, "set server hall/app1 state drain", front="lb1")
    assert deploy.server_state(c, _p("app1"), front="lb1")[0] == "DRAIN"
    deploy.front_runtime(c, "set server hall/app1 state ready", front="lb1")
    assert deploy.server_state(c, _p("app1"), front="lb1")[0] == "UP"


def test_a_server_the_front_does_not_know_and_a_refused_command_are_named(front):
    with pytest.raises(deploy.DeployFailed, match="front lb1: backend hall has no server app9"):
        deploy.server_state(front, _p("app9"), front="lb1")
    with pytest.raises(deploy.DeployFailed, match="front lb1: HAProxy refused 'set server hall/app9 state drain'"):
        deploy.front_runtime(front, "set server hall/app9 state drain", front="lb1")


def test_no_haproxy_on_a_front_means_nothing_to_drain(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy, "HAPROXY_SOCKET", str(tmp_path / "none.sock"))
    assert deploy.front_runtime(Local(), "show stat", front="lb1") is None
