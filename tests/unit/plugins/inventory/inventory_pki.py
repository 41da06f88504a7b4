# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A CA and server certificates for the inventory plugin's HTTPS tests (unit and CLI)."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, cert=None, key=None):
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    return str(path)


def _issue(ca_key, ca_name, subject_key, *, cn, sans, is_ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def make_pki(base):
    """A CA, a server certificate for 127.0.0.1/localhost, and one for another name, in ``base``."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _issue(ca_key, _name("Inventory Test CA"), ca_key, cn="Inventory Test CA", sans=[], is_ca=True)
    good_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = _issue(
        ca_key,
        ca.subject,
        good_key,
        cn="localhost",
        sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        is_ca=False,
    )
    other = _issue(
        ca_key, ca.subject, good_key, cn="ms.example.test", sans=[x509.DNSName("ms.example.test")], is_ca=False
    )
    return {
        "ca": _write(base / "ca.crt", ca),
        "good": (_write(base / "good.crt", good), _write(base / "good.key", key=good_key)),
        "other": (_write(base / "other.crt", other), _write(base / "good2.key", key=good_key)),
    }
