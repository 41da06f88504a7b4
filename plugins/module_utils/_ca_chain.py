# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An intermediate site CA: the chain from the collection's CA up to the enterprise root.

When the CA that signs the servers is itself signed by an enterprise root, hosts need the
intermediate certificates (``LocalMachine\\CA``) to build the chain, and trust goes to the root
(``LocalMachine\\Root``), not to the intermediate. :func:`build_chain` orders and checks the
certificates given with such a CA, the way a TLS client will check them: each link's signature,
each issuer a CA allowed to sign certificates (and this many levels below it), all in date.
"""

from __future__ import annotations

import datetime
from typing import Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - exercised by ansible-test sanity's import test
    pass

MAX_DEPTH = 6


def load_bundle(data: bytes, option: str) -> list:
    """Every certificate of a PEM bundle (or one DER certificate); PkiError when none."""
    return pki.certificates_in(
        data,
        option,
        "no certificate found. Give a PEM file holding the CA certificates of the chain "
        "(-----BEGIN CERTIFICATE----- blocks), up to the root.",
    )


def build_chain(
    ca_cert: x509.Certificate, candidates: Sequence[x509.Certificate], now: datetime.datetime, option: str
) -> list:
    """The chain above ``ca_cert``, issuer first and the self-signed root last; ``[]`` for a root CA.

    Refused (PkiError naming ``option``): a CA that is not self-signed with no chain, a chain that
    does not link (no certificate in it signed the one below), an issuer that is no CA or may not
    sign certificates, a path length one of them does not allow, a certificate out of date, and a
    chain that does not end at a self-signed root.
    """
    if pki.is_self_signed(ca_cert):
        return []
    pool = [c for c in candidates if pki.thumbprint(c) != pki.thumbprint(ca_cert)]
    if not pool:
        raise pki.PkiError(
            f"{option}: the CA {ca_cert.subject.rfc4514_string()} is not self-signed (issued by "
            f"{ca_cert.issuer.rfc4514_string()}), and no chain was given. Give the issuing CA certificates up to the "
            "root (a PEM bundle in import_chain_path, or a PFX exported with its chain).",
            option,
        )
    chain: list = []
    current = ca_cert
    while not pki.is_self_signed(current):
        if len(chain) >= MAX_DEPTH:
            raise pki.PkiError(f"{option}: the chain is longer than {MAX_DEPTH} certificates.", option)
        issuer = next((c for c in pool if c.subject == current.issuer and pki.verify_issued_by(current, c)), None)
        if issuer is None:
            raise pki.PkiError(
                f"{option}: the chain does not link: no certificate in it signed {current.subject.rfc4514_string()} "
                f"(issuer {current.issuer.rfc4514_string()}). Give the issuing CA certificates, in any order, up "
                "to the self-signed root.",
                option,
            )
        pki.check_ca_certificate(issuer, option)
        _check_path_length(issuer, len(chain) + 1, option)
        chain.append(issuer)
        current = issuer
    for cert in chain:
        role = "root" if cert is chain[-1] else "issuing CA"
        pki.check_ca_validity(cert, now, option, f"the chain of the site CA (its {role})")
    return chain


def _check_path_length(issuer: x509.Certificate, below: int, option: str) -> None:
    """``issuer`` has ``below`` CA certificates under it (the site CA included): its pathLen must allow them."""
    limit = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
    if limit is not None and limit < below:
        raise pki.PkiError(
            f"{option}: {issuer.subject.rfc4514_string()} allows {limit} CA level(s) below it (pathLenConstraint), "
            f"but the site CA is {below} level(s) below it; every client would refuse the chain. Have the CA "
            "signed by an issuer whose path length allows it.",
            option,
        )


def root_of(ca_cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> x509.Certificate:
    """The certificate trust goes to: the root at the end of the chain, or the CA itself."""
    return chain[-1] if chain else ca_cert


def bundle_pem(chain: Sequence[x509.Certificate]) -> bytes:
    return "".join(pki.cert_pem(c) for c in chain).encode("ascii")
