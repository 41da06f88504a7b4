# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server certificate flows, host side, through the adapter.

``key_source: host`` (default): certreq makes the key on the host (machine key set, not
exportable); only the CSR comes back; the controller checks and signs it; certreq installs
the certificate onto its pending key. The private key never leaves the host.

``key_source: pfx``: a PFX made on the controller, or the user's own certificate (``pfx_path``,
or ``cert_path`` + ``key_path``: "bring your own", checked by ``module_utils/byo.py`` against the
host's stores first), is copied, imported and deleted from the host in every case.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
from typing import List, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _certreq,
    byo,
    hoststate,
    pki,
    reissue,
    validate,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils import powershell
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def summary(entry) -> Optional[dict]:
    if entry is None:
        return None
    return {
        "thumbprint": entry.thumbprint,
        "not_after": entry.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "names": list(entry.dns_names),
        "has_private_key": entry.has_private_key,
    }


def _tmp(params: dict, fqdn: str, ext: str) -> str:
    return "{}\\xprotect-{}.{}".format(params["temp_dir"].rstrip("\\"), fqdn, ext)


def assess(adapter, params: dict, ca_cert, now=None):
    """Read My once and decide: ``(entries, current_entry, Decision)``."""
    now = now or _now()
    names = pki.host_names(params["fqdn"], params.get("dns_names") or ())
    entries = adapter.list_certificates("My")
    current = reissue.pick_current(entries, names, ca_cert)
    decision = reissue.decide(
        current.der if current else None,
        bool(current and current.has_private_key),
        names,
        ca_cert,
        now,
        params["renew_before"],
    )
    return entries, current, decision


def grant_key_access(adapter, thumbprint: str, accounts: List[str], check: bool, store: str = "My") -> List[str]:
    """Grant (or, with ``check``, detect missing) key Read; returns the accounts changed."""
    changed = []
    for account in accounts:
        if adapter.grant_key_read(thumbprint, account, check=check, store=store):
            changed.append(account)
    return changed


def pending_request(adapter, fqdn: str, public_key) -> str:
    """The thumbprint of the pending certreq request (LocalMachine\\REQUEST) that holds this key."""
    want = pki.public_key_der(public_key)
    for entry in adapter.list_certificates("REQUEST"):
        try:
            if pki.public_key_der(pki.load_certificate(entry.der, "REQUEST").public_key()) == want:
                return entry.thumbprint
        except pki.PkiError:
            continue
    raise AdapterError(
        f"{fqdn}: certreq -new left no pending request with the new key in LocalMachine\\REQUEST, so its Read "
        "right cannot be set before the certificate is installed. Nothing was installed; re-run the task."
    )


def issue_on_host(adapter, params: dict, ca: pki.CA, key_readers: Sequence[str] = ()) -> str:
    """The certreq flow. Returns the new thumbprint. Cleans up its files in every case.

    ``key_readers`` get Read on the new key while it is still a pending request, before
    ``certreq -accept``: XProtect picks up a renewed certificate as soon as it is in My [H], so
    a service that could not read its key yet would drop its TLS connections (clients lose
    video) until the right came.
    """
    fqdn = params["fqdn"]
    names = pki.host_names(fqdn, params.get("dns_names") or ())
    inf, csr, cer = (_tmp(params, fqdn, ext) for ext in ("inf", "csr", "cer"))
    try:
        adapter.write_file(
            inf,
            _certreq.certreq_inf(
                fqdn,
                names,
                key_length=params["key_length"],
                provider=params["provider"],
                exportable=False,
                machine_key_set=True,
            ),
        )
        res = adapter.run(_certreq.certreq_new_argv(inf, csr))
        if res.rc != 0:
            raise AdapterError(_certreq.explain_certreq("-new", fqdn, res.rc, res.stdout, res.stderr))
        csr_text = adapter.read_file(csr)
        # The controller decides: a compromised host must not get a certificate for another name.
        request = pki.check_csr(csr_text.encode(), names, min_bits=2048, host=fqdn)
        if key_readers:
            pending = pending_request(adapter, fqdn, request.public_key())
            grant_key_access(adapter, pending, list(key_readers), check=False, store="REQUEST")
        cert = pki.sign_csr(
            ca,
            request,
            fqdn,
            names,
            params.get("ip_addresses") or (),
            days=params["validity_days"],
            clamp_to_ca=params.get("_clamp_to_ca", True),
        )
        adapter.write_file(cer, pki.cert_pem(cert))
        res = adapter.run(_certreq.certreq_accept_argv(cer))
        if res.rc != 0:
            raise AdapterError(_certreq.explain_certreq("-accept", fqdn, res.rc, res.stdout, res.stderr))
        return pki.thumbprint(cert)
    finally:
        for path in (inf, csr, cer):
            try:
                adapter.delete_file(path)
            except AdapterError:
                pass


def clean_pending_requests(
    adapter, fqdn: str, keep: Optional[str] = None, warnings: Optional[List[str]] = None
) -> List[str]:
    """Remove pending certreq requests for this host left by an interrupted earlier run, keys included.

    ``win_certificate_store state=absent`` would remove a request's certificate and leave its key
    container in MachineKeys, so each leftover goes with ``Remove-Item -DeleteKey`` through ``run``.
    When a certificate in My holds the same key (see ``reissue.leftover_requests``), only the
    request's certificate goes. When PowerShell cannot remove one, the request stays (its key is
    still findable through it) and a line in ``warnings`` says so.
    """
    requests = adapter.list_certificates("REQUEST")
    if not requests:
        return []
    removed = []
    for thumbprint, delete_key in reissue.leftover_requests(requests, fqdn, adapter.list_certificates("My")):
        if thumbprint == keep:
            continue
        if not delete_key:
            adapter.remove_certificate(thumbprint, "REQUEST")
            removed.append(thumbprint)
            continue
        res = adapter.run(powershell.remove_with_key_argv("REQUEST", thumbprint))
        if res.rc == 0:
            removed.append(thumbprint)
        elif warnings is not None:
            detail = (res.stdout + res.stderr).strip()[:300]
            warnings.append(
                f"{fqdn}: the pending certificate request {thumbprint} left by an earlier run could not be removed "
                f"with its key (powershell.exe exit {res.rc}: {detail}). It stays in LocalMachine\\REQUEST. Remove it "
                f"on the host with: Remove-Item Cert:\\LocalMachine\\REQUEST\\{thumbprint} -DeleteKey"
            )
    return removed


def import_file(adapter, path: str, content, store: str, password: Optional[str] = None) -> List[str]:
    """Copy a certificate file (PEM or PFX) to ``path`` on the host, import it into ``store``, and
    delete it from the host in every case: a PFX left behind would hold a private key."""
    try:
        adapter.write_file(path, content)
        return adapter.import_certificate(path, store, password=password)
    finally:
        try:
            adapter.delete_file(path)
        except AdapterError:
            pass


def import_pfx(adapter, params: dict, pfx: bytes, password: str) -> List[str]:
    """Copy a PFX to the host, import it into My, and delete it from the host in every case."""
    return import_file(adapter, _tmp(params, params["fqdn"], "pfx"), pfx, "My", password=password)


def make_pfx(params: dict, ca: pki.CA):
    """A key, certificate and PFX made on the controller (for hosts that cannot run certreq)."""
    fqdn = params["fqdn"]
    names = pki.host_names(fqdn, params.get("dns_names") or ())
    key = pki.generate_key(params["key_length"])
    cert = pki.issue_certificate(
        ca,
        key.public_key(),
        fqdn,
        names,
        params.get("ip_addresses") or (),
        days=params["validity_days"],
        clamp_to_ca=params.get("_clamp_to_ca", True),
    )
    password = params.get("pfx_passphrase") or secrets.token_urlsafe(24)
    # The leaf and its key only: win_certificate_store imports every certificate of a PFX into My,
    # and the CA belongs in Root, where the trust role puts it.
    pfx = pki.write_pfx(key, cert, [], password.encode(), fqdn, params.get("pfx_encryption", "3des"))
    return cert, pfx, password


def service_key_readers(adapter, extra) -> List[str]:
    return hoststate.key_reader_accounts(adapter.list_services("Milestone*"), extra or ())


def install(adapter, params: dict, *, signing_ca, supplied, accounts: Sequence[str], warnings: List[str]):
    """Issue or import the host's new certificate and check it landed in My with its key.

    ``signing_ca()`` gives the CA with its key (read only when something is signed); ``supplied``
    is the user's checked certificate (``assess_brought``) or None; ``accounts`` get Read on the
    key. Returns what to add to the result (thumbprint, not_after, key_readers, removed_requests),
    and the new certificate's ``summary()`` for the diff.
    """
    out = {}
    if isinstance(supplied, BroughtCertificate):
        thumbprint = install_brought(adapter, params, supplied)
    elif params["key_source"] == "host":
        # The key's Read right is set on the pending request, before the certificate appears.
        thumbprint = issue_on_host(adapter, params, signing_ca(), accounts)
        out["removed_requests"] = clean_pending_requests(adapter, params["fqdn"], warnings=warnings)
    else:
        cert, pfx, password = make_pfx(params, signing_ca())
        import_pfx(adapter, params, pfx, password)
        thumbprint = pki.thumbprint(cert)
    installed = {e.thumbprint: e for e in adapter.list_certificates("My")}.get(thumbprint)
    if installed is None or not installed.has_private_key:
        raise AdapterError(
            f"{params['fqdn']}: certificate {thumbprint} is not in LocalMachine\\My with its private key after "
            "the install. Nothing was switched; re-run the task, and check the host's certificate store."
        )
    # Certreq: confirms the right set before -accept (no change). PFX: win_certificate_store
    # brings certificate and key in one step, so the right can only follow (docs/certificates.md).
    grant_key_access(adapter, thumbprint, list(accounts), check=False)
    after = summary(installed)
    out.update(thumbprint=thumbprint, not_after=after["not_after"], key_readers=list(accounts))
    return out, after


# ---- bring your own certificate (pfx_path, or cert_path + key_path) ---------------------------


@dataclasses.dataclass(frozen=True)
class BroughtCertificate:
    """The user's certificate, checked for this host (``byo.check``), and whether its leaf is in My."""

    material: byo.Material
    verdict: byo.Verdict
    in_place: bool


def open_brought(args: dict) -> Optional[byo.Material]:
    """Open ``pfx_path`` or ``cert_path``/``key_path`` on the controller, before the host is touched:
    a missing, corrupt or wrongly protected file stops the task (PkiError naming the option)."""
    option = byo.supplied_option(args)
    if option is None:
        return None
    if args["key_source"] != "pfx":
        raise validate.refuse(option, args[option], "it is only read with key_source: pfx; set that too")
    material = byo.read_material(args)
    problems = byo.file_problems(material)
    if problems:  # what the file alone shows stops the task before the host is read
        raise pki.PkiError(f"{option}: {material.path}: {'; '.join(problems)}. Nothing was imported.", option)
    return material


def assess_brought(adapter, params: dict, site_ca, material: byo.Material, *, mobile: bool, now=None):
    """Read My, Root and the intermediate store once each, check the user's certificate against
    them, and decide: ``(current entry, Decision, BroughtCertificate)``.

    Refused (``byo.refusal``: the host, the option, every problem) before anything is written, in
    check mode too. A certificate already in My with its key, whose chain the host already holds,
    is kept: nothing is imported again.
    """
    now = pki.utcnow(now or _now())
    names = pki.host_names(params["fqdn"], params.get("dns_names") or ()) + list(params.get("ip_addresses") or ())
    entries = adapter.list_certificates("My")
    roots = byo.load_entries(adapter.list_certificates("Root"))
    intermediates = byo.load_entries(adapter.list_certificates(byo.INTERMEDIATE_STORE))
    verdict = byo.check(
        material,
        names,
        intermediates,
        roots,
        site_ca,
        now,
        params["renew_before"],
        key_length=params["key_length"],
        mobile=mobile,
        client_trusted_roots=params.get("client_trusted_roots") or (),
    )
    if verdict.problems:
        raise byo.refusal(params["fqdn"], material, verdict.problems)
    current = byo.installed(entries, material.cert)
    reasons = []
    if current is None:
        reasons.append(
            f"the supplied certificate {pki.thumbprint(material.cert)} is not in LocalMachine\\My with its private key"
        )
    if verdict.to_import:
        missing = ", ".join(c.subject.rfc4514_string() for c in verdict.to_import)
        reasons.append(f"chain certificates missing from the host's intermediate store: {missing}")
    action = reissue.ISSUE if reasons else reissue.KEEP
    decision = reissue.Decision(action, tuple(reasons), pki.days_left(material.cert, now))
    shown = current or reissue.pick_current(entries, names, site_ca)
    return shown, decision, BroughtCertificate(material, verdict, current is not None)


def install_brought(adapter, params: dict, brought: BroughtCertificate) -> str:
    """Import what the host lacks: each missing intermediate into the intermediate store (one PEM
    file each), then the leaf with its key into My, as a PFX written on the controller with the
    leaf and key only (a CA certificate in My is no server certificate). Returns the thumbprint."""
    fqdn = params["fqdn"]
    for number, cert in enumerate(brought.verdict.to_import):
        import_file(adapter, _tmp(params, f"{fqdn}-chain{number}", "crt"), pki.cert_pem(cert), byo.INTERMEDIATE_STORE)
    material = brought.material
    if not brought.in_place:
        password = params.get("pfx_passphrase") or secrets.token_urlsafe(24)
        pfx = pki.write_pfx(
            material.key, material.cert, [], password.encode(), fqdn, params.get("pfx_encryption", "3des")
        )
        import_pfx(adapter, params, pfx, password)
    return pki.thumbprint(material.cert)


def brought_result(brought: Optional[BroughtCertificate]) -> dict:
    """What the result says of a brought certificate's chain (``chain``), for phase 6's check."""
    if brought is None:
        return {}
    return {"chain": byo.describe(brought.verdict), "supplied": True}


def site_ca_chain(ca_cert) -> dict:
    """The result's ``chain`` for a certificate of the site CA: the re-issue policy kept or issued
    it only when the site CA's signature verifies, so its chain is the site CA."""
    return {"chain": byo.describe(byo.Verdict((), (ca_cert,), byo.SITE_CA))}
