"""The front's HAProxy configuration as the lb role renders it: valid for HAProxy, HTTPS with the
site's certificate, plain HTTP only redirecting, forwarded headers set by the front itself."""

import shutil
import subprocess

import jinja2
import pytest

from egov.core import secrets
from egov.core.loader import load_estate
from egov.hosts import inventory
from tests.conftest import PANYU, ROOT

ROLE = ROOT / "playbooks" / "roles" / "lb"


@pytest.fixture
def rendered(tmp_path):
    e = load_estate(PANYU)
    inv = inventory.generate(e, secrets_file=secrets.ensure(tmp_path, e), admin_cidrs=(), target="lab")
    hv = inv["all"]["hosts"]["dfs-lb1"]
    cert = tmp_path / "front.pem"
    cert.write_text(secrets.load(tmp_path, e)[hv["lb_tls_var"]])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), undefined=jinja2.StrictUndefined)
    text = env.get_template("haproxy.cfg.j2").render(**hv, lb_cert=str(cert))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    return cfg, text, hv


@pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy not installed")
def test_the_front_configuration_is_valid_for_haproxy(rendered):
    cfg, _, _ = rendered
    r = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_https_on_every_app_and_plain_http_only_redirects(rendered):
    _, text, hv = rendered
    vip = hv["lb_vip"].split("/")[0]
    for a in hv["lb_apps"]:
        https = text.split(f"frontend {a['id']}\n")[1].split("\nbackend ")[0]
        assert f"bind {vip}:{a['tls_port']} ssl crt" in https
        assert "http-request set-header X-Forwarded-For %[src]" in https  # overwritten, never passed on
        plain = text.split(f"frontend {a['id']}-http\n")[1].split("\nfrontend ")[0]
        assert f"bind {vip}:{a['port']}\n" in plain and "default_backend" not in plain
        assert f":{a['tls_port']}%[capture.req.uri] code 301" in plain
    assert "ssl-min-ver TLSv1.2" in text
