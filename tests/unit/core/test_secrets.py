"""Generated secrets: one private file per estate, stable across runs."""

import yaml

from egov.core import secrets
from egov.core.loader import load_estate
from tests.conftest import PANYU


def test_secrets_file_is_private_and_stable(tmp_path):
    e = load_estate(PANYU)
    p = secrets.ensure(tmp_path, e)
    assert (p.stat().st_mode & 0o777) == 0o600 and (p.parent.stat().st_mode & 0o777) == 0o700
    first = p.read_text()
    assert secrets.ensure(tmp_path, e).read_text() == first  # kept, not regenerated
    data = yaml.safe_load(first)
    assert data.pop("net_username") == "netops"  # a login name, not a secret
    assert len(set(data.values())) == len(data) and all(len(v) >= 32 for v in data.values())


def test_backup_key_and_ssh_key_pair_generated_once(tmp_path):
    e = load_estate(PANYU)
    data = yaml.safe_load(secrets.ensure(tmp_path, e).read_text())
    assert len(data["pgbackrest_cipher_pass"]) >= 64
    assert data["pgbackrest_ssh_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert data["pgbackrest_ssh_pubkey"].startswith("ssh-ed25519 ")
    again = yaml.safe_load(secrets.ensure(tmp_path, e).read_text())
    assert again == data
    # an estate without backups gets no backup secrets
    bare = yaml.safe_load(secrets.ensure(tmp_path / "x", e.model_copy(update={"backup": None})).read_text())
    assert not any(k.startswith("pgbackrest") for k in bare)
