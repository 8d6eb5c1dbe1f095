"""The fronts' certificates: generated from an estate CA in the lab, or supplied by the estate."""

import os
import shutil
import ssl
import subprocess

import pytest
import yaml

from egov.core import secrets, tls
from egov.core.loader import EstateInvalid, load_estate
from tests.conftest import PANYU


def _verify(bundle: str, ca_pem: str, ip: str, tmp_path) -> None:
    """Verify the front certificate the way a client does (OpenSSL, hostname = the IP)."""
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "front.pem").write_text(bundle.split("-----BEGIN PRIVATE KEY-----")[0])
    r = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-verify_ip", ip,
                        str(tmp_path / "front.pem")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_lab_fronts_get_certificates_from_a_generated_estate_ca(tmp_path):
    e = load_estate(PANYU)
    data = secrets.load(tmp_path, e)
    assert "BEGIN CERTIFICATE" in data["tls_ca_cert"] and "PRIVATE KEY" in data["tls_ca_key"]
    for s in e.sites:
        bundle = data[f"tls_front_{s.id}"]
        assert tls.front_problems(e, s, bundle, data["tls_ca_cert"]) == []
        _verify(bundle, data["tls_ca_cert"], str(s.service_address), tmp_path)
    other = next(s for s in e.sites if s.id != e.sites[0].id)
    probs = tls.front_problems(e, other, data[f"tls_front_{e.sites[0].id}"], data["tls_ca_cert"])
    assert probs and f"not valid for {other.service_address}" in probs[0]
    # the secrets file holds the keys: private; the CA file for clients is public
    assert oct(secrets.path(tmp_path, e).stat().st_mode & 0o777) == "0o600"
    ca = secrets.ca_file(tmp_path, e)
    assert ca.read_text() == data["tls_ca_cert"] and "PRIVATE" not in ca.read_text()
    ssl.create_default_context(cafile=str(ca))  # loads as a trust anchor


def test_generated_certificates_are_kept_and_renewed_only_when_unusable(tmp_path):
    e = load_estate(PANYU)
    first = secrets.load(tmp_path, e)
    assert secrets.load(tmp_path, e) == first
    p = secrets.path(tmp_path, e)
    data = yaml.safe_load(p.read_text())
    site = e.sites[0].id
    data[f"tls_front_{site}"] = data[f"tls_front_{e.sites[1].id}"]  # a certificate for the wrong address
    p.write_text(yaml.safe_dump(data))
    again = secrets.load(tmp_path, e)
    assert again[f"tls_front_{site}"] != first[f"tls_front_{e.sites[1].id}"]
    assert again["tls_ca_cert"] == first["tls_ca_cert"]
    assert tls.front_problems(e, e.sites[0], again[f"tls_front_{site}"], again["tls_ca_cert"]) == []


def test_an_estate_supplies_its_own_certificates_and_egov_validate_checks_them(panyu, tmp_path):
    e = load_estate(PANYU)
    ca_pem, ca_key = tls.new_ca(e)
    (panyu.path / "tls").mkdir()
    (panyu.path / "tls" / "ca.pem").write_text(ca_pem)
    for s in e.sites:
        (panyu.path / "tls" / f"{s.id}.pem").write_text(tls.new_front(e, s, ca_pem, ca_key, loopback=False))
    fronts = {s.id: f"tls/{s.id}.pem" for s in e.sites}
    panyu.edit("estate.yaml", lambda d: d.update(tls={"ca": "tls/ca.pem", "fronts": fronts}))
    supplied = load_estate(panyu.path)
    data = secrets.load(tmp_path, supplied)
    assert data["tls_ca_cert"] == ca_pem and "tls_ca_key" not in data  # the estate's CA key never comes here
    assert data[f"tls_front_{e.sites[0].id}"] == (panyu.path / "tls" / f"{e.sites[0].id}.pem").read_text()

    # swapped certificates, a missing file, an unknown site: one line each, naming the file
    a, b = e.sites[0].id, e.sites[1].id
    shutil.copy(panyu.path / "tls" / f"{b}.pem", panyu.path / "tls" / f"{a}.pem")
    os.remove(panyu.path / "tls" / f"{b}.pem")
    panyu.edit("estate.yaml", lambda d: d["tls"]["fronts"].update(nowhere="tls/x.pem"))
    with pytest.raises(EstateInvalid) as ex:
        load_estate(panyu.path)
    lines = [str(p) for p in ex.value.problems]
    assert any(f"tls/{a}.pem: not valid for {e.sites[0].service_address}" in x and "estate.yaml:" in x for x in lines)
    assert any(f"cannot read tls/{b}.pem" in x for x in lines)
    assert any("unknown site 'nowhere'" in x for x in lines)


def test_front_ports_may_not_collide(panyu):
    def clash(d):
        d["applications"][1]["port"] = d["applications"][0]["port"] + 1000  # = the first app's https_port
    panyu.edit("apps.yaml", clash)
    with pytest.raises(EstateInvalid) as ex:
        load_estate(panyu.path)
    assert any("front port" in str(p) and "already taken by" in str(p) for p in ex.value.problems)
