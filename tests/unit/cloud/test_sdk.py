"""The plan's diff, the preflight, and openstacksdk's failures (requests-mock) as one line."""

import socket

import pytest
import requests_mock
import yaml

from egov.cloud import sdk
from egov.cloud.graph import Resource, derive
from egov.core.loader import load_estate
from tests.conftest import PANYU, ROOT

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOperatorKeyForTests egov@test"


@pytest.fixture(scope="module")
def graph():
    return derive(load_estate(PANYU), KEY)






def test_plan_creates_updates_replaces_and_prunes(graph):
    server = next(r for r in graph.of("server") if r.name == "dfs-db1")
    sg = next(r for r in graph.of("security_group") if r.name == "dafushan-db")
    observed = {
        server.key: sdk.Observed("server", "dfs-db1", "s1", {**server.props, "flavor": "m1-medium"}),
        sg.key: sdk.Observed("security_group", sg.name, "g1", {**sg.props, "rules": sg.props["rules"][1:]}),
        "network/old-net": sdk.Observed("network", "old-net", "n9", {"description": ""}),
    }
    by_key = {a.key: a for a in sdk.plan(graph, observed, prune=True)}
    assert by_key[server.key].op == "replace" and "flavor: 'm1-medium' -> 'm1-large'" in by_key[server.key].changes
    assert by_key[sg.key].op == "update" and by_key[sg.key].changes == ["rules +1 -0"]
    assert by_key["network/old-net"].op == "delete"
    assert by_key["port/dfs-db1-eth0"].op == "create"
    assert by_key["image/debian-12"].op == "missing"
    assert "network/old-net" not in {a.key for a in sdk.plan(graph, observed, prune=False)}


def test_a_server_in_error_is_replaced_even_without_drift(graph):
    server = next(r for r in graph.of("server") if r.name == "lr-app1")
    obs = sdk.Observed("server", "lr-app1", "s2", dict(server.props), status="ERROR")
    assert sdk.diff(server, obs)[0] == "replace"


def test_order_deletes_before_creates_in_reverse_dependency_order():
    acts = [sdk.Action("delete", "network/a", None, sdk.Observed("network", "a", 1, {})),
            sdk.Action("delete", "server/s", None, sdk.Observed("server", "s", 2, {})),
            sdk.Action("create", "project/p", Resource("project", "p")),
            sdk.Action("create", "port/x", Resource("port", "x"))]
    assert [a.key for a in sdk.order(acts)] == ["server/s", "network/a", "project/p", "port/x"]


def _clouds(tmp_path, url):
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"district": {
        "auth": {"auth_url": url, "username": "ops", "password": "wrong", "project_name": "admin",
                 "user_domain_name": "Default", "project_domain_name": "Default"}, "identity_api_version": 3}}}))
    return tmp_path


def test_wrong_credentials_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(_clouds(tmp_path, "https://keystone.example:5000/v3")
                                                    / "clouds.yaml"))
    with requests_mock.Mocker() as m:
        m.get("https://keystone.example:5000/v3", json={"version": {
            "id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": "https://keystone.example:5000/v3/"}]}})
        m.post("https://keystone.example:5000/v3/auth/tokens", status_code=401,
               json={"error": {"code": 401, "message": "The request you have made requires authentication.",
                               "title": "Unauthorized"}})
        with pytest.raises(sdk.CloudApiError) as e:
            sdk.connect("district", tmp_path)
    assert str(e.value) == (
        "cloud 'district': authentication failed for user 'ops' at https://keystone.example:5000/v3 "
        "(check the credentials in clouds.yaml)"
    )


def test_unreachable_endpoint_is_one_line(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(_clouds(tmp_path, f"http://127.0.0.1:{port}/v3") / "clouds.yaml"))
    with pytest.raises(sdk.CloudApiError, match=rf"cannot reach the identity endpoint http://127.0.0.1:{port}/v3"):
        sdk.connect("district", tmp_path)


def test_unknown_cloud_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(_clouds(tmp_path, "http://x/v3") / "clouds.yaml"))
    with pytest.raises(sdk.CloudApiError, match="cloud 'nowhere': not in clouds.yaml"):
        sdk.connect("nowhere", tmp_path)


class _FakeConn:
    """Just what preflight reads: the catalog, the token's roles, quotas (an in-memory stand-in)."""

    def __init__(self, *, roles=("admin",), services=("compute", "network", "image", "identity"),
                 instances=10, used=0):
        from types import SimpleNamespace as NS

        self._services = set(services)
        access = NS(role_names=list(roles))
        self.session = NS(auth=NS(get_access=lambda _s: access))
        self.current_project_id = "admin-project"
        quota = NS(instances=instances, cores=100, ram=10 ** 6, usage={"instances": used})
        netq = NS(ports=100, networks=100, subnets=100, routers=10, security_groups=100, security_group_rules=1000)
        self.compute = NS(get_quota_set=lambda pid, usage=False: quota, get_quota_set_defaults=lambda pid: quota)
        self.network = NS(get_quota=lambda pid, details=False: netq, get_quota_default=lambda pid: netq)

    def has_service(self, name):
        return name in self._services


def _fresh_plan(graph):
    return sdk.plan(graph, {"image/debian-12": sdk.Observed("image", "debian-12", "i1", {"name": "debian-12"},
                                                            status="active")})


def test_preflight_passes_a_fresh_estate_on_an_admin_cloud(graph):
    cl = sdk.Cloud("c", _FakeConn(), graph)
    assert cl.preflight(_fresh_plan(graph)) == ["cloud 'c': no block-storage (cinder) service, so the estate's "
                                                "volumes cannot be made; use --without-volumes to keep data on "
                                                "the servers' root disks"]


def test_preflight_names_a_missing_flavor_for_a_non_admin(graph):
    cl = sdk.Cloud("c", _FakeConn(roles=("member",), services=("compute", "network", "image", "block-storage")),
                   graph)
    problems = cl.preflight(_fresh_plan(graph))
    assert "cloud 'c': flavor 'm1-medium' is missing and this user is not an admin, so egov cannot create it" \
        in problems


def test_preflight_counts_quota_per_project(graph):
    cl = sdk.Cloud("c", _FakeConn(instances=2, services=("compute", "network", "image", "block-storage")), graph)
    problems = cl.preflight(_fresh_plan(graph))
    # the service departments hold lb + 2 app servers per site: 3 > 2
    assert problems == [
        "cloud 'c': project dafushan-zwfw needs 3 more instances but its quota is 2 with 0 in use",
        "cloud 'c': project legacy-room-zwfw needs 3 more instances but its quota is 2 with 0 in use"]


def test_preflight_refuses_a_missing_image(graph):
    cl = sdk.Cloud("c", _FakeConn(services=("compute", "network", "image", "block-storage")), graph)
    assert cl.preflight(sdk.plan(graph, {})) == [
        "cloud 'c': image 'debian-12' is missing; upload it or set `image:` in cloud.yaml"]


def test_a_missing_public_key_file_is_one_line(tmp_path):
    import shutil
    import subprocess
    import sys

    estate = tmp_path / "estate"
    shutil.copytree(ROOT / "estate" / "panyu", estate)
    with open(estate / "cloud.yaml", "a") as f:
        f.write("public_key_file: keys/operators.pub\n")
    r = subprocess.run([sys.executable, "-m", "egov.cli", "--estate", str(estate), "cloud", "plan"],
                       capture_output=True, text=True, env={"EGOV_STATE_DIR": str(tmp_path / "state"),
                                                            "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert r.stderr.strip() == f"egov: error: cloud.yaml: public_key_file {estate}/keys/operators.pub: " \
                               "No such file or directory"
