# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_pkcs8.py: the CA key written with PBKDF2-HMAC-SHA256 at 600,000 iterations, read back by
cryptography and by ``openssl pkey``; the protection of older keys recognised."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.xprotect.encryption.plugins.module_utils import _pkcs8, pki

PHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def key():
    return pki.generate_key()


def openssl(*argv, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *argv], input=data, capture_output=True, check=False)


def test_written_key_uses_the_strong_kdf_and_both_readers_open_it(key):
    pem = _pkcs8.encrypt_private_key(key, PHRASE)
    assert pem.startswith(b"-----BEGIN " + b"ENCRYPTED PRIVATE" + b" KEY-----\n")
    assert _pkcs8.key_protection(pem) == {
        "scheme": "PBES2",
        "kdf": "PBKDF2-HMAC-SHA256",
        "iterations": 600_000,
        "strong": True,
    }
    loaded = serialization.load_pem_private_key(pem, PHRASE)
    assert loaded.private_numbers() == key.private_numbers()
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong")
    # openssl agrees on the parameters and opens it with the passphrase.
    parsed = openssl("asn1parse", data=pem).stdout.decode()
    assert "PBES2" in parsed and "PBKDF2" in parsed and "hmacWithSHA256" in parsed and "aes-256-cbc" in parsed
    assert ":0927C0" in parsed  # 600,000
    opened = openssl("pkey", "-passin", "pass:" + PHRASE.decode(), "-pubout", data=pem)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert openssl("pkey", "-passin", "pass:wrong", "-noout", data=pem).returncode != 0


def test_serialize_ca_key_uses_it_and_plain_stays_plain(key):
    ca_like = pki.CA(cert=None, key=key)  # type: ignore[arg-type]
    assert _pkcs8.key_protection(pki.serialize_ca_key(ca_like, PHRASE))["iterations"] == 600_000
    assert _pkcs8.key_protection(pki.serialize_ca_key(ca_like, None)) is None


def test_older_protections_are_recognised_as_weak(key):
    best = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(PHRASE)
    )
    old = _pkcs8.key_protection(best)
    assert old["kdf"] == "PBKDF2-HMAC-SHA256" and old["iterations"] == 2048 and not old["strong"]
    legacy = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PHRASE),
    )
    assert _pkcs8.key_protection(legacy)["strong"] is False
    strong = _pkcs8.encrypt_private_key(key, PHRASE)
    scrypt = openssl(
        "pkcs8", "-topk8", "-scrypt", "-passin", "pass:" + PHRASE.decode(), "-passout", "pass:x", data=strong
    )
    assert scrypt.returncode == 0, scrypt.stderr
    assert _pkcs8.key_protection(scrypt.stdout) == {
        "scheme": "PBES2",
        "kdf": "scrypt",
        "iterations": 16384,
        "strong": True,
    }
    sha1 = openssl(
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-iter", "600000",
        "-passin", "pass:" + PHRASE.decode(), "-passout", "pass:x", data=strong,
    )  # fmt: skip
    assert _pkcs8.key_protection(sha1.stdout)["kdf"] == "PBKDF2-HMAC-SHA1"
    assert _pkcs8.key_protection(_pkcs8.PEM_BEGIN + b"\nMAA=\n" + _pkcs8.PEM_END + b"\n")["strong"] is False
