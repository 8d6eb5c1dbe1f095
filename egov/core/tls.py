"""The fronts' TLS certificates: from the estate's CA when the estate supplies them, else from a CA
egov generates for the estate (the lab's case).

A real estate names its files in estate.yaml (paths relative to the estate directory)::

    tls:
      ca: tls/ca.pem                      # the CA clients trust (certificate only)
      fronts: {dafushan: tls/dafushan.pem, legacy-room: tls/legacy-room.pem}   # chain + key

Without `tls:`, egov makes an estate CA (ECDSA P-256, ten years) and one certificate per front
(two years) naming the site's service address and the applications' names. The CA's key and every
front's key live only in the estate's secrets file (mode 0600); `ca_file()` writes the public CA
certificate next to it for clients (drills, verify, a browser).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from egov.core.model import Estate, Site

LAB_CA_DAYS = 3650
FRONT_DAYS = 730


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert_pem(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def new_ca(estate: Estate) -> tuple[str, str]:
    """(CA certificate PEM, CA key PEM) for the estate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, estate.meta.display_name),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"egov {estate.meta.name} estate CA")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=LAB_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def front_names(estate: Estate, site: Site) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) a site's front answers for."""
    dns = [f"{a.id}.{estate.meta.name}.egov" for a in estate.applications]
    ips = [str(site.service_address)] if site.service_address else []
    return dns, ips


def new_front(estate: Estate, site: Site, ca_cert_pem: str, ca_key_pem: str, *, loopback: bool) -> str:
    """A front's certificate signed by the CA, as one PEM: certificate, CA certificate, key
    (the bundle HAProxy's `crt` takes). `loopback` also names 127.0.0.1 (the lab's `egov lab open`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = front_names(estate, site)
    if loopback:
        ips = ips + ["127.0.0.1"]
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{site.id}.{estate.meta.name}.egov")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=FRONT_DAYS))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _cert_pem(cert) + ca_cert_pem + _key_pem(key)


def front_problems(estate: Estate, site: Site, bundle: str, ca_pem: str) -> list[str]:
    """What is wrong with a front's PEM bundle (empty: usable): parse, key match, CA, names, dates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    try:
        certs = x509.load_pem_x509_certificates(bundle.encode())
    except ValueError:
        return ["holds no PEM certificate"]
    try:
        start = bundle.index("-----BEGIN", bundle.rindex("-----END CERTIFICATE-----"))
        key = serialization.load_pem_private_key(bundle[start:].encode(), None)
    except ValueError:
        return ["holds no PEM private key after its certificates"]
    leaf = certs[0]
    if key.public_key().public_numbers() != leaf.public_key().public_numbers():
        return ["its private key does not belong to its first certificate"]
    try:
        cas = x509.load_pem_x509_certificates(ca_pem.encode())
    except ValueError:
        return ["the estate's CA file holds no PEM certificate"]
    out = []
    now = _now()
    if leaf.not_valid_after_utc < now:
        out.append(f"certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    for ip in front_names(estate, site)[1]:
        try:
            verifier = PolicyBuilder().store(Store(cas)).time(now).build_server_verifier(
                x509.IPAddress(ipaddress.ip_address(ip)))
            verifier.verify(leaf, certs[1:])
        except (VerificationError, ValueError) as e:
            out.append(f"not valid for {ip} under the estate's CA ({e})")
    return out


def ensure(data: dict, estate: Estate, estate_dir: Path | None) -> bool:
    """Fill the secrets dict's `tls_ca_cert` and `tls_front_<site>` entries; True if anything changed.
    Supplied files (estate.yaml `tls:`) are read every time, generated ones are kept."""
    changed = False
    sites = [s for s in estate.sites if s.service_address]
    if estate.meta.tls is not None:
        base = estate_dir or Path(".")
        want = {"tls_ca_cert": (base / estate.meta.tls.ca).read_text()}
        want |= {f"tls_front_{s.id}": (base / estate.meta.tls.fronts[s.id]).read_text() for s in sites}
        for k, v in want.items():
            if data.get(k) != v:
                data[k] = v
                changed = True
        if data.pop("tls_ca_key", None) is not None:  # a lab CA's key, once the estate brings its own CA
            changed = True
        return changed
    if not data.get("tls_ca_cert") or not data.get("tls_ca_key"):
        data["tls_ca_cert"], data["tls_ca_key"] = new_ca(estate)
        for s in sites:
            data.pop(f"tls_front_{s.id}", None)
        changed = True
    for s in sites:
        k = f"tls_front_{s.id}"
        if not data.get(k) or front_problems(estate, s, data[k], data["tls_ca_cert"]):
            data[k] = new_front(estate, s, data["tls_ca_cert"], data["tls_ca_key"], loopback=True)
            changed = True
    return changed


def write_ca_file(path: Path, ca_pem: str) -> Path:
    """The estate's CA certificate for clients (public: 0644), rewritten only when it changed."""
    if not (path.exists() and path.read_text() == ca_pem):
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(ca_pem)
        os.replace(tmp, path)
    return path
