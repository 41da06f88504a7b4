# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Continuity of the site CA: does the site already trust a CA of ours that the controller lacks?

Phase 0 creates a CA when the controller has none (a deleted CA folder, or a second controller
with the default ``~/.xprotect/pki``). Trusted everywhere, it would re-issue every certificate
and leave every client that is offline now without trust in the servers. Before that, the
rollout reads what the site shows and stops when it finds a CA of ours.

**Which CA is "ours".** A CA certificate (basicConstraints CA:TRUE) whose subject common name
is the name this collection gives the CAs it creates, ``xprotect_ca_common_name`` (default
``XProtect VMS Root CA``), compared without case. Two kinds of evidence count:

- the CA in ``LocalMachine\\Root`` of any server or client (``trusted_ca_info``);
- a certificate a server serves on its TLS endpoints (a ``tls_probe`` from the controller)
  whose issuer has that name; the CA's thumbprint is known when the server sends it along,
  else from a Root store that holds a CA of that name.

A CA with another name is not ours: a company CA, imported with ``xprotect_ca_import_*``, is
never created by phase 0, so it cannot be replaced by accident. A name shared with somebody
else's CA only stops the run, which the named setting gets past.

Everything here is pure: it takes what was read and returns what was found.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - pki.HAS_CRYPTOGRAPHY tells the module
    pass

ALLOW_SETTING = "xprotect_ca_allow_new"


def _folded(names: Iterable[str]) -> set:
    return {str(n).strip().casefold() for n in names if str(n).strip()}


def is_ours(cert: Any, common_names: Sequence[str]) -> bool:
    """A CA certificate whose common name is one of ``common_names`` (without case)."""
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except x509.ExtensionNotFound:
        return False
    wanted = _folded(common_names)
    return any(cn.casefold() in wanted for cn in pki.common_names(cert.subject))


def ca_entries(entries: Iterable[Any], common_names: Optional[Sequence[str]] = None) -> List[dict]:
    """The CA certificates of a store listing (adapter entries), ours only when names are given."""
    found = []
    for entry in entries:
        try:
            cert = pki.load_certificate(entry.der, "Root")
        except pki.PkiError:
            continue
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca or (common_names and not is_ours(cert, common_names)):
            continue
        found.append(
            {
                "thumbprint": entry.thumbprint,
                "subject": cert.subject.rfc4514_string(),
                "not_after": pki.iso_z(pki.not_after(cert)),
                "self_signed": pki.is_self_signed(cert),
            }
        )
    return found


def _cn_of(rfc4514: str) -> List[str]:
    """Common names of a distinguished name as the probe and the action report it (RFC 4514)."""
    try:
        return pki.common_names(x509.Name.from_rfc4514_string(str(rfc4514 or "")))
    except ValueError:
        return []


def evidence(
    hosts: Sequence[str],
    hostvars: Mapping,
    probes: Sequence[Mapping],
    common_names: Sequence[str],
    key: str = "xprotect_ca_roots",
) -> Dict[str, Any]:
    """What the site shows of a CA of ours: ``{found, cas, unread}``.

    ``hosts``' results of ``trusted_ca_info`` are read from ``hostvars[host][key]``; ``probes``
    are ``tls_probe`` endpoint results. ``cas`` lists each CA once: ``subject``, ``thumbprint``
    (None when only served certificates name it and no Root store holds it), ``trusted_on``
    (hosts), ``served_by`` (``host:port``). ``unread`` names the hosts whose Root store could
    not be read.
    """
    wanted = _folded(common_names)
    cas: Dict[tuple, dict] = {}
    unread = []

    def add(subject: str, thumbprint: Optional[str]) -> dict:
        return cas.setdefault(
            (subject.casefold(), thumbprint),
            {"subject": subject, "thumbprint": thumbprint, "trusted_on": [], "served_by": []},
        )

    for host in hosts:
        result = (hostvars.get(host) or {}).get(key) or {}
        if result.get("skipped") and not result.get("certificates"):
            continue
        if result.get("failed") or result.get("unreachable") or "certificates" not in result:
            unread.append(host)
            continue
        for entry in result.get("certificates") or []:
            if any(cn.casefold() in wanted for cn in _cn_of(entry.get("subject", ""))):
                row = add(entry["subject"], entry.get("thumbprint"))
                if host not in row["trusted_on"]:
                    row["trusted_on"].append(host)
    for probe in probes or ():
        chain = probe.get("chain") or []
        if not chain:
            continue
        issuer = chain[0].get("issuer") or ""
        if not any(cn.casefold() in wanted for cn in _cn_of(issuer)):
            continue
        sent = next((c for c in chain[1:] if (c.get("subject") or "").casefold() == issuer.casefold()), None)
        thumbprint = sent.get("thumbprint") if sent else None
        if thumbprint is None:
            known = [k for k in cas if k[0] == issuer.casefold() and k[1]]
            thumbprint = known[0][1] if len(known) == 1 else None
        row = add(issuer, thumbprint)
        where = f"{probe.get('label') or probe.get('server_name') or probe.get('host')}:{probe.get('port')}"
        if where not in row["served_by"]:
            row["served_by"].append(where)
    return {"found": bool(cas), "cas": list(cas.values()), "unread": unread}


def _where(what: str, hosts: list, shown: int) -> str:
    """``what`` and the first ``shown`` hosts, with how many more there are."""
    more = len(hosts) - shown
    return what + ", ".join(hosts[:shown]) + (f" and {more} more" if more > 0 else "")


def stop_message(found: Mapping, ca_path: str, shown: int = 5) -> str:
    """Why the run stops, which CA the site trusts, and the two ways on."""
    parts = []
    for ca in found.get("cas") or []:
        where = [
            _where(what, ca[key], shown)
            for key, what in (
                ("trusted_on", "in LocalMachine\\Root on "),
                ("served_by", "issuer of the certificates served on "),
            )
            if ca[key]
        ]
        thumb = ca["thumbprint"] or "thumbprint not served; see the Root store of the servers"
        parts.append(f"{ca['subject']} (thumbprint {thumb}), {'; '.join(where)}")
    return (
        f"No CA in {ca_path}, so this run would create a new one, but the site already trusts a CA of this "
        f"collection: {' | '.join(parts)}. A new CA would re-issue every certificate and cut off every client "
        "that is offline now. Nothing was changed. Restore ca.crt and ca.key of that CA into "
        f"{ca_path} (from your backup, or from the controller that ran the rollout), or set xprotect_ca_path to "
        "where they are, or give them as xprotect_ca_cert_content and xprotect_ca_key_content. To replace the "
        f"CA on purpose, set {ALLOW_SETTING}: true; every server and client must then trust the new CA "
        "(offline clients later with playbooks/trust_clients.yml)."
    )
