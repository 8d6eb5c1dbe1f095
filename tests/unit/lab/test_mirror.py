"""The lab mirror's inputs and outputs that need no registry: the package set read from the roles, which
host needs what, the PEP 503 index, the mirror host's server files, the inventory's mirror variables."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml

from egov.core import paths
from egov.core.loader import load_estate
from egov.hosts.inventory import generate
from egov.lab import mirror
from tests.conftest import PANYU, ROOT

ROLES = ROOT / "playbooks" / "roles"


def test_the_mirror_set_is_the_image_base_plus_every_role_package_once():
    w = mirror.wanted()
    assert w == sorted(set(w))
    assert set(mirror.IMAGE_BASE) <= set(w)
    for pkgs in mirror.role_packages().values():
        assert set(pkgs) <= set(w)
    assert "python3-apt" in w  # ansible.builtin.apt runs on it


def test_a_role_adding_a_package_changes_the_mirror_set_and_its_inputs(tmp_path):
    pb = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", pb)
    before = mirror.wanted(pb)
    d = pb / "roles" / "lb" / "defaults" / "main.yml"
    data = yaml.safe_load(d.read_text())
    data["lb_packages"].append("socat")
    d.write_text(yaml.safe_dump(data))
    assert mirror.wanted(pb) == sorted(set(before) | {"socat"})
    a = mirror.Mirror(tmp_path / "state", playbooks=ROOT / "playbooks", wheelhouse=tmp_path / "none")
    b = mirror.Mirror(tmp_path / "state", playbooks=pb, wheelhouse=tmp_path / "none")
    assert a.inputs_digest() != b.inputs_digest()


def test_a_malformed_package_list_names_the_file(tmp_path):
    pb = tmp_path / "playbooks"
    (pb / "roles" / "lb" / "defaults").mkdir(parents=True)
    (pb / "roles" / "lb" / "defaults" / "main.yml").write_text("lb_packages: haproxy\n")
    with pytest.raises(ValueError, match=r"lb/defaults/main.yml: lb_packages: a list of Debian package names"):
        mirror.role_packages(pb)


def _inventory(tmp_path):
    e = load_estate(PANYU)
    return e, generate(e, secrets_file=tmp_path / "s.yml", admin_cidrs=(), target="lab", state_dir=tmp_path)


def test_each_host_needs_its_roles_packages_only(tmp_path):
    _, inv = _inventory(tmp_path)
    groups, hv = inv["all"]["children"], {h: {**inv["all"]["vars"], **v} for h, v in inv["all"]["hosts"].items()}
    db = mirror.host_packages("dfs-db1", hv["dfs-db1"], groups)
    lb = mirror.host_packages("dfs-lb1", hv["dfs-lb1"], groups)
    repo = mirror.host_packages("lr-app2", hv["lr-app2"], groups)
    assert {"postgresql-15", "pgbackrest", "chrony"} <= set(db) and "haproxy" not in db
    assert "haproxy" in lb and "postgresql-15" not in lb
    assert {"python3-venv", "pgbackrest"} <= set(repo) and "postgresql-15" not in repo


def test_the_inventory_names_the_mirror_and_the_lab_key_hosts_pin(tmp_path):
    e, inv = _inventory(tmp_path)
    m = inv["all"]["vars"]["egov_mirror"]
    assert m["apt_url"] == e.meta.mirrors.apt.url and m["served_by"] == "lr-app2"
    assert m["key_file"] == str(paths.at(tmp_path).mirror_public_key) and m["key_fingerprint"] is None
    assert "secrets" not in m["key_file"]  # only the public key leaves the state dir's secrets


def test_the_wheelhouse_becomes_a_pep503_simple_index(tmp_path):
    wh = tmp_path / "wheels"
    wh.mkdir()
    (wh / "Django-4.2.11-py3-none-any.whl").write_bytes(b"django wheel")
    (wh / "psycopg_binary-3.1.18-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"psycopg")
    (wh / "zope.interface-6.2.tar.gz").write_bytes(b"sdist")
    (wh / ".requirements").write_text("x\n")
    m = mirror.Mirror(tmp_path / "state", wheelhouse=wh)
    assert m._pypi() == 3
    simple = m.www / "pypi" / "simple"
    assert sorted(p.name for p in simple.iterdir() if p.is_dir()) == ["django", "psycopg-binary", "zope-interface"]
    page = (simple / "django" / "index.html").read_text()
    sha = hashlib.sha256(b"django wheel").hexdigest()
    assert f'href="../../files/Django-4.2.11-py3-none-any.whl#sha256={sha}"' in page
    assert (m.www / "pypi" / "files" / "Django-4.2.11-py3-none-any.whl").read_bytes() == b"django wheel"
    assert '<a href="django/">django</a>' in (simple / "index.html").read_text()


def test_the_mirror_host_gets_nginx_and_a_boot_script_once(tmp_path):
    upper = tmp_path / "upper"
    assert len(mirror.serve("lr-app2", upper)) == 2
    assert mirror.serve("lr-app2", upper) == []
    conf = (upper / "etc/egov/mirror/nginx.conf").read_text()
    assert f"root {mirror.SERVED};" in conf and "listen 80" in conf
    boot = upper / "etc/egov/boot.d/01-egov-mirror.sh"
    assert boot.stat().st_mode & 0o777 == 0o755 and "nginx -c /etc/egov/mirror/nginx.conf" in boot.read_text()


def test_an_unbuilt_mirror_is_stale_and_says_why(tmp_path):
    m = mirror.Mirror(tmp_path / "state", wheelhouse=tmp_path / "none")
    assert m.stale() == "not built"


def test_the_rules_know_where_the_lab_serves_its_mirror():
    from egov.core.rules import LAB_MIRROR_PATHS

    assert LAB_MIRROR_PATHS == mirror.PATHS
    conf = mirror.NGINX_CONF
    assert all(f"location {p}/" in conf for p in mirror.PATHS.values())
