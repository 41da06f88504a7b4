# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared PKI fixtures: CAs and keys are made once per test session (key generation is slow)."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

FQDN = "rs01.vms.example.com"
NAMES = [FQDN, "rs01"]


def openssl(*args: str, input_: bytes | None = None) -> subprocess.CompletedProcess:
    """The real openssl CLI, as an independent implementation to cross-check against."""
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is on every CI image here
        pytest.skip("openssl CLI not installed")
    return subprocess.run(["openssl", *args], input=input_, capture_output=True, check=False)


def make_cert(  # noqa: PLR0917 - a test builder with many knobs
    issuer_ca,
    public_key,
    cn=FQDN,
    dns=tuple(NAMES),
    ips=(),
    eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
    ku="server",
    ca_flag=False,
    algorithm=None,
    not_before=None,
    not_after=None,
    san=True,
    basic=True,
    ski=False,
):
    """A certificate with any content, to feed the re-issue policy the odd cases."""
    now = pki.utcnow()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer_ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(days=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=365))
    )
    if basic:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if san:
        import ipaddress

        entries = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if ku == "server":
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
    elif ku == "ca":
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    elif ku == "signature_only":
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    return builder.sign(issuer_ca.key, algorithm or hashes.SHA256())


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(obj) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def site_ca():
    # 3072 keeps the session fast; the 4096 default is tested once in test_pki.py.
    return pki.create_ca("Test Site CA", key_size=3072)


@pytest.fixture(scope="session")
def other_ca():
    return pki.create_ca("Test Site CA", key_size=3072)  # same name, different key: a look-alike


@pytest.fixture(scope="session")
def foreign_ca():
    return pki.create_ca("Someone Else CA", key_size=3072)


@pytest.fixture(scope="session")
def server_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def second_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def weak_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - weak on purpose


@pytest.fixture(scope="session")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def server_cert(site_ca, server_key):
    return pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES)


@pytest.fixture
def now():
    return pki.utcnow()


@pytest.fixture(scope="session")
def cert_factory():
    """``make_cert`` as a fixture (test modules cannot import a conftest reliably)."""
    return make_cert


@pytest.fixture(scope="session")
def run_openssl():
    return openssl
