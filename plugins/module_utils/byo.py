# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring your own certificate: the checks of a certificate from any CA, before it reaches a host.

The user supplies, per host, a PFX (``pfx_path``) or a PEM/DER certificate with its key
(``cert_path`` + ``key_path``). Everything here is decided on the controller from the files and
from what was read on the host (its ``Root`` and ``CA`` (intermediate) stores):

- the file opens, holds a certificate and the private key that belongs to it;
- the certificate is not self-signed, in date, valid beyond ``renew_before``, for the host's
  names, with serverAuth, an RSA key of at least ``key_length`` bits (the re-issue policy's
  rules, ``reissue.decide`` without its issuer rule);
- a chain leads from it, through the intermediates of the file or of the host's
  ``CA`` (intermediate) store, to a root the host trusts (its ``Root`` store) or that the
  rollout installs (the site CA), every link in date and signed (signatures checked);
- on a mobile server that root is one every client trusts: the site CA, or a root the operator
  names in ``client_trusted_roots`` (the Mobile client cannot connect to a self-signed
  certificate, nor to one its device does not trust [H]).

``check`` returns every problem at once; ``refusal`` makes the one message that names the host
and the option. Nothing here touches a host.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, reissue, trust
from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - pki.HAS_CRYPTOGRAPHY tells the module
    pass

#: The store Windows keeps intermediate CA certificates in (LocalMachine\CA; see trust.INTERMEDIATE_STORE).
INTERMEDIATE_STORE = trust.INTERMEDIATE_STORE
SITE_CA = "the site CA"
HOST_ROOT = "the host's Root store"
_MAX_DEPTH = 6


@dataclasses.dataclass(frozen=True)
class Material:
    """What the user's files hold: the leaf, its key (or None), every other certificate given."""

    option: str  # the option that names the certificate file: pfx_path or cert_path
    path: str
    cert: Any
    key: Any
    others: Tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Verdict:
    problems: Tuple[str, ...]
    chain: Tuple[Any, ...] = ()  # the certificates above the leaf, up to and including the anchor
    anchor_source: Optional[str] = None  # SITE_CA or HOST_ROOT
    to_import: Tuple[Any, ...] = ()  # intermediates of the file the host lacks (into INTERMEDIATE_STORE)

    @property
    def anchor(self):
        return self.chain[-1] if self.chain and self.anchor_source else None


def supplied_option(params: dict) -> Optional[str]:
    """``pfx_path`` or ``cert_path`` when the task brings its own certificate, else None."""
    if params.get("cert_path"):
        return "cert_path"
    if params.get("pfx_path"):
        return "pfx_path"
    return None


def _pem_certificates(data: bytes, option: str) -> List[Any]:
    return pki.certificates_in(
        data,
        option,
        "not a PEM or DER certificate file (expected -----BEGIN CERTIFICATE-----, the server "
        "certificate first, then its chain).",
    )


def _leaf_of(certs: Sequence[Any], key: Any) -> Tuple[Any, List[Any]]:
    """The certificate the key belongs to (else the first that is not a CA), and the others."""
    pick = None
    if key is not None:
        pick = next((c for c in certs if pki.cert_has_private_key_match(c, key)), None)
    if pick is None:
        pick = next((c for c in certs if not pki.is_ca_certificate(c)), certs[0])
    return pick, [c for c in certs if c is not pick]


def read_material(params: dict) -> Material:
    """Open the user's files (PkiError naming the option: missing file, corrupt, wrong passphrase)."""
    option = supplied_option(params)
    if option == "pfx_path":
        path = params["pfx_path"]
        password = (params.get("pfx_passphrase") or "").encode() or None
        data = pki.read_input_file(path, "pfx_path")
        try:
            key, cert, others = pki.read_pfx(data, password, option="pfx_passphrase", pfx_option="pfx_path")
        except pki.PkiError as e:
            raise pki.PkiError(f"pfx_path: {path}: {e}", e.option) from e
        if cert is None and not others:
            raise pki.PkiError(f"pfx_path: {path} holds no certificate.", "pfx_path")
        if cert is None:  # a PFX without a key: its certificates come as "others"
            cert, others = _leaf_of(others, None)
        return Material("pfx_path", path, cert, key, tuple(others))
    if option != "cert_path":
        raise pki.PkiError("cert_path: give pfx_path, or cert_path with key_path.", "cert_path")
    path = params["cert_path"]
    certs = _pem_certificates(pki.read_input_file(path, "cert_path"), "cert_path")
    key = None
    if params.get("key_path"):  # errors name key_path or key_passphrase, and the file
        key = pki.load_private_key(
            pki.read_input_file(params["key_path"], "key_path"),
            (params.get("key_passphrase") or "").encode() or None,
            "key_path",
            "key_passphrase",
        )
    cert, others = _leaf_of(certs, key)
    return Material("cert_path", path, cert, key, tuple(others))


def _valid_at(cert: Any, now: datetime.datetime) -> bool:
    return pki.not_before(cert) <= now <= pki.not_after(cert)


def _name(cert: Any) -> str:
    return cert.subject.rfc4514_string() or pki.thumbprint(cert)


def _issuer_in(cert: Any, pool: Iterable[Any]) -> Optional[Any]:
    return next((c for c in pool if c.subject == cert.issuer and pki.verify_issued_by(cert, c)), None)


def _path_length_problems(chain: Sequence[Any]) -> List[str]:
    """A CA whose pathLenConstraint is smaller than the number of CAs below it breaks the chain
    (RFC 5280 4.2.1.9; Windows and OpenSSL refuse it: a root made with pathlen:0 signs no CA)."""
    problems = []
    for below, cert in enumerate(chain):
        try:
            limit = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
        except x509.ExtensionNotFound:
            continue
        if limit is not None and below > limit:
            problems.append(
                f"{_name(cert)} allows {limit} intermediate CA(s) below it (pathLenConstraint) "
                f"and the chain has {below}"
            )
    return problems


def build_chain(  # noqa: PLR0917 - public API, positional by design
    leaf: Any,
    given: Sequence[Any],
    host_intermediates: Sequence[Any],
    host_roots: Sequence[Any],
    site_ca: Any,
    now: datetime.datetime,
) -> Tuple[List[Any], Optional[str], List[str]]:
    """``(chain above the leaf, anchor source or None, problems)``.

    Links are found by name and signature, from the file's certificates and the host's
    intermediate store; the anchor is the site CA or a certificate of the host's Root store. A
    self-signed root that comes only in the file is no anchor: trust is the host's, not the file's.
    """
    anchors = ([(site_ca, SITE_CA)] if site_ca is not None else []) + [(r, HOST_ROOT) for r in host_roots]
    pool = [c for c in list(given) + list(host_intermediates) if not pki.is_self_signed(c)]
    chain: List[Any] = []
    problems: List[str] = []
    current = leaf
    for _depth in range(_MAX_DEPTH):
        anchor = next(((a, src) for a, src in anchors if _issuer_in(current, [a]) is not None), None)
        if anchor is not None:
            chain.append(anchor[0])
            if not _valid_at(anchor[0], now):
                problems.append(f"its root {_name(anchor[0])} ({anchor[1]}) is not valid now")
            return chain, anchor[1], problems + _path_length_problems(chain)
        link = _issuer_in(current, [c for c in pool if c not in chain])
        if link is None:
            break
        chain.append(link)
        if not pki.is_ca_certificate(link):
            problems.append(f"the chain certificate {_name(link)} is not a CA certificate (CA:TRUE)")
        if not _valid_at(link, now):
            until = pki.iso_z(pki.not_after(link))
            problems.append(f"the intermediate CA {_name(link)} is not valid now (valid until {until})")
        current = link
    given_root = _issuer_in(current, [c for c in given if pki.is_self_signed(c)])
    if given_root is not None:
        problems.append(
            f"its chain ends at {_name(given_root)} ({pki.thumbprint(given_root)}), a root the host does not trust "
            "(not in its Root store) and that is not the site CA; trust that root on the host first (Group Policy)"
        )
    else:
        problems.append(
            f"missing chain: the issuer {current.issuer.rfc4514_string()} of {_name(current)} is neither in the file "
            "nor in the host's Root or intermediate (CA) store; add the intermediate certificates "
            "to the file"
        )
    return chain, None, problems


def file_problems(material: Material) -> List[str]:
    """What the file alone shows: no private key, or a key of another certificate."""
    if material.key is None:
        return [f"the {'PFX' if material.option == 'pfx_path' else 'file'} holds no private key"]
    if not pki.cert_has_private_key_match(material.cert, material.key):
        return ["the private key does not belong to the certificate"]
    return []


def check(  # noqa: PLR0913, PLR0917 - public API, positional by design
    material: Material,
    names: Sequence[str],
    host_intermediates: Sequence[Any],
    host_roots: Sequence[Any],
    site_ca: Any,
    now: datetime.datetime,
    renew_before: int,
    key_length: int = pki.MIN_RSA_BITS,
    mobile: bool = False,
    client_trusted_roots: Sequence[str] = (),
) -> Verdict:
    """Every reason the supplied certificate must not be installed on this host (none: it may)."""
    cert = material.cert
    problems = file_problems(material)
    if pki.is_self_signed(cert):
        problems.append("the certificate is self-signed; it must be issued by a CA the clients trust")
        return Verdict(tuple(problems))
    moment = pki.utcnow(now)
    decision = reissue.decide(pki.cert_der(cert), True, names, None, moment, renew_before, min_key_bits=key_length)
    problems += list(decision.reasons)
    chain, source, chain_problems = build_chain(cert, material.others, host_intermediates, host_roots, site_ca, moment)
    problems += chain_problems
    if mobile and source == HOST_ROOT:
        trusted = {clean_thumbprint(t) for t in client_trusted_roots}
        if pki.thumbprint(chain[-1]) not in trusted:
            problems.append(
                f"this is a mobile server, and its root {_name(chain[-1])} ({pki.thumbprint(chain[-1])}) is not one "
                "every client trusts: use a certificate from the site CA, or name that root in client_trusted_roots "
                "once every device that connects trusts it (the Mobile client cannot connect otherwise)"
            )
    on_host = {pki.thumbprint(c) for c in list(host_intermediates) + list(host_roots)}
    to_import = tuple(c for c in chain[:-1] if source and pki.thumbprint(c) not in on_host) if source else ()
    return Verdict(tuple(problems), tuple(chain), source, to_import)


def refusal(fqdn: str, material: Material, problems: Sequence[str]) -> pki.PkiError:
    """The error for a refused certificate: the host, the option and file, every problem."""
    return pki.PkiError(
        f"{material.option}: {material.path} cannot serve {fqdn}: {'; '.join(problems)}. Nothing was imported.",
        material.option,
    )


def for_host(fqdn: str, error: pki.PkiError) -> pki.PkiError:
    """A file error (corrupt, wrong passphrase) with the host's name in front."""
    return pki.PkiError(f"{fqdn}: {error}", getattr(error, "option", None))


def installed(entries: Iterable[Any], cert: Any) -> Optional[Any]:
    """The entry of My that is this certificate with its key (then nothing is imported), or None."""
    want = pki.thumbprint(cert)
    return next((e for e in entries if clean_thumbprint(e.thumbprint) == want and e.has_private_key), None)


def load_entries(entries: Iterable[Any]) -> List[Any]:
    """The certificates of a store listing that can be read (a broken entry is skipped)."""
    out = []
    for entry in entries:
        try:
            out.append(x509.load_der_x509_certificate(bytes(entry.der)))
        except (ValueError, TypeError):
            continue
    return out


def describe(verdict: Verdict) -> dict:
    """The result's ``chain``: subjects and thumbprints from the issuer up, and where the root was found."""
    return {
        "certificates": [{"subject": _name(c), "thumbprint": pki.thumbprint(c)} for c in verdict.chain],
        "anchor": verdict.anchor_source,
        "self_signed": False,
    }
