"""TLS for the server: a configured certificate, or a self-signed one made at first start (``--tls auto``)."""

from __future__ import annotations

import datetime
import os
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE, KEY_FILE = "tls.crt", "tls.key"


def server_context(config: Any, data_dir: str) -> ssl.SSLContext | None:
    """The SSL context for SSLRequests, or None (the server then answers ``N``)."""
    cert, key = config.tls_cert, config.tls_key
    if cert is None and config.tls_auto:
        cert, key = os.path.join(data_dir, CERT_FILE), os.path.join(data_dir, KEY_FILE)
        if not (os.path.exists(cert) and os.path.exists(key)):
            write_self_signed(cert, key, config.host)
    if cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def write_self_signed(cert_path: str, key_path: str, host: str) -> None:
    """A P-256 key and a self-signed certificate for ``host`` (and localhost), valid for ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host or "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    if host and host not in ("localhost", "0.0.0.0", "::"):
        try:
            import ipaddress

            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
