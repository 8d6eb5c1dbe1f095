"""Generated secrets (database passwords, the backup repository's key and SSH key pair): one YAML
file per estate, mode 0600, never in the repo.

`<state dir>/secrets/<estate>.yml` is created on first use; existing values are kept,
missing ones generated. Playbooks load it with `vars_files`; nothing copies it into
ansible-runner's artifacts or the journal.
"""

from __future__ import annotations

import os
import secrets as _rnd
from pathlib import Path

import yaml

from egov.core import paths, tls
from egov.core.model import Estate


def path(state_dir: Path, estate: Estate) -> Path:
    return paths.at(state_dir).secrets(estate.meta.name)


def app_role(app_id: str) -> str:
    return "app_" + app_id.replace("-", "_")


def ssh_keypair(comment: str) -> tuple[str, str]:
    """A new ed25519 key pair: (OpenSSH private key, public key line)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    k = Ed25519PrivateKey.generate()
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                           serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return priv, f"{pub} {comment}"


def ensure(state_dir: Path, estate: Estate) -> Path:
    """Create or complete the estate's secrets file; returns its path."""
    p = path(state_dir, estate)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(p.parent, 0o700)
    data = yaml.safe_load(p.read_text()) if p.exists() else {}
    data = data or {}
    want = {"pg_superuser_password": None, "pg_replication_password": None, "net_password": None}
    want |= {f"pg_password_{app_role(a.id)}": None for a in estate.applications}
    changed = False
    for key in want:
        if not data.get(key):
            data[key] = _rnd.token_urlsafe(24)
            changed = True
    if not data.get("net_username"):
        data["net_username"] = "netops"
        changed = True
    if estate.backup is not None:
        if not data.get("pgbackrest_cipher_pass"):  # the repository's encryption key (aes-256-cbc)
            data["pgbackrest_cipher_pass"] = _rnd.token_urlsafe(48)
            changed = True
        if not data.get("pgbackrest_ssh_key"):  # postgres@db <-> postgres@repository (pgBackRest's own SSH)
            data["pgbackrest_ssh_key"], data["pgbackrest_ssh_pubkey"] = ssh_keypair("postgres@egov-backup")
            changed = True
    if tls.ensure(data, estate, Path(estate.source) if estate.source else None):
        changed = True
    if changed or not p.exists():
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(data, f)
        os.replace(tmp, p)
    os.chmod(p, 0o600)
    return p


def ca_file(state_dir: Path, estate: Estate) -> Path:
    """The estate's CA certificate (public) for clients that talk to the fronts over HTTPS."""
    data = load(state_dir, estate)
    return tls.write_ca_file(path(state_dir, estate).with_name(f"{estate.meta.name}-ca.pem"), data["tls_ca_cert"])


def load(state_dir: Path, estate: Estate) -> dict:
    return yaml.safe_load(ensure(state_dir, estate).read_text())
