# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server certificate flows, host side, through the adapter.

``key_source: host`` (default): certreq makes the key on the host (machine key set, not
exportable); only the CSR comes back; the controller checks and signs it; certreq installs
the certificate onto its pending key. The private key never leaves the host.

``key_source: pfx``: a PFX (the user's, or made on the controller) is copied, imported and
deleted from the host in every case.
"""

from __future__ import annotations

import datetime
import secrets
from typing import List, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, hoststate, pki, reissue, validate
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


def supplied_pfx(params: dict, ca_cert, now=None):
    """The user's PFX (``pfx_path``), checked before it goes near the host: ``(cert, pfx, password)``.

    Refused (PkiError naming ``pfx_path``) unless it would pass the re-issue policy once
    installed - the host's names, issued by the site's CA, serverAuth, valid beyond
    ``renew_before`` - and holds its own key and is not self-signed. An unchecked PFX would be
    bound by the switch and cut every recording server off, and imported again on every run.
    """
    path = params["pfx_path"]
    data = pki.read_input_file(path, "pfx_path")
    password = params.get("pfx_passphrase") or ""
    key, cert, _others = pki.read_pfx(data, password.encode() or None, pfx_option="pfx_path")
    names = pki.host_names(params["fqdn"], params.get("dns_names") or ())
    problems = reissue.supplied_problems(cert, key, names, ca_cert, now or _now(), params["renew_before"])
    if problems:
        raise pki.PkiError(
            f"pfx_path: {path} cannot serve {params['fqdn']}: {'; '.join(problems)}. Nothing was imported. "
            f"Give a PFX with the private key of a certificate issued by {ca_cert.subject.rfc4514_string()} "
            f"for {', '.join(names)}, with serverAuth, valid for more than renew_before "
            f"({params['renew_before']}) days.",
            "pfx_path",
        )
    return cert, data, password


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


def user_pfx(params: dict, data: bytes):
    """``(certificate, PFX to import, password)`` from the user's PFX (``pfx_path``).

    The file is imported as it is, unless it carries a self-signed root: then it is written again
    without it (same key, certificate and intermediates), so that the root does not land in My.
    """
    password = params.get("pfx_passphrase") or ""
    key, cert, others = pki.read_pfx(data, password.encode() or None, pfx_option="pfx_path")
    if cert is None or key is None:
        raise pki.PkiError(
            f"pfx_path: {params['pfx_path']} holds no certificate with its private key. "
            "Export the server certificate with its private key.",
            "pfx_path",
        )
    kept, dropped = pki.split_import_chain(others)
    if not dropped:
        return cert, data, password
    password = password or secrets.token_urlsafe(24)
    pfx = pki.write_pfx(key, cert, kept, password.encode(), params["fqdn"], params.get("pfx_encryption", "3des"))
    return cert, pfx, password


def service_key_readers(adapter, extra) -> List[str]:
    return hoststate.key_reader_accounts(adapter.list_services("Milestone*"), extra or ())


def open_pfx_option(args: dict) -> None:
    """Read and open ``pfx_path`` on the controller, so that a wrong file or passphrase stops
    the task before the host is touched (PkiError naming the option)."""
    if not args.get("pfx_path"):
        return
    if args["key_source"] != "pfx":
        raise validate.refuse("pfx_path", args["pfx_path"], "it is only read with key_source: pfx; set that too")
    password = (args.get("pfx_passphrase") or "").encode() or None
    key, cert, _others = pki.read_pfx(
        pki.read_input_file(args["pfx_path"], "pfx_path"), password, pfx_option="pfx_path"
    )
    if key is None or cert is None:
        raise pki.PkiError(
            f"pfx_path: {args['pfx_path']} holds no {'private key' if key is None else 'certificate'}; "
            "export the server certificate with its private key.",
            "pfx_path",
        )


def install(adapter, params: dict, *, signing_ca, supplied, accounts: Sequence[str], warnings: List[str]):
    """Issue or import the host's new certificate and check it landed in My with its key.

    ``signing_ca()`` gives the CA with its key (read only when something is signed); ``supplied``
    is ``supplied_pfx()`` or None; ``accounts`` get Read on the key. Returns what to add to the
    result (thumbprint, not_after, key_readers, removed_requests), and the new certificate's
    ``summary()`` for the diff.
    """
    out = {}
    if params["key_source"] == "host":
        # The key's Read right is set on the pending request, before the certificate appears.
        thumbprint = issue_on_host(adapter, params, signing_ca(), accounts)
        out["removed_requests"] = clean_pending_requests(adapter, params["fqdn"], warnings=warnings)
    else:
        if supplied:
            # Checked already; imported without a self-signed root, which would land in My.
            cert, pfx, password = user_pfx(params, supplied[1])
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
