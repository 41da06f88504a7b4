# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``key_source: adcs``: the server certificate from an enterprise CA (AD CS), through the adapter.

``certreq -new`` makes the key on the host (as ``key_source: host``), ``certreq -submit`` sends the
CSR to the CA named by ``adcs_config`` with the template ``adcs_template``, ``certreq -accept``
installs what the CA issued. The controller signs nothing.

A request that waits for a CA manager's approval leaves its key in LocalMachine\\REQUEST and its
RequestId in ``_adcs.STATE_FILE`` on the host; the next run asks the CA for that request
(``certreq -retrieve``) and sends no new one. A denied or failed request loses its key and record,
and the error says so. Decisions and texts are in ``module_utils/_adcs.py``.
"""

from __future__ import annotations

import datetime
from typing import List, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import _adcs, _certreq, pki, reissue, validate
from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils import powershell
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, HostUnreachable


def check_options(args: dict) -> None:
    """``adcs_config`` and ``adcs_template``, checked before the host is touched (ArgumentError naming the option)."""
    given = [o for o in ("adcs_config", "adcs_template") if args.get(o) is not None]
    if args["key_source"] != "adcs":
        if given:
            raise validate.refuse(given[0], args[given[0]], "it is only read with key_source: adcs; set that too")
        return
    for option, check in (("adcs_config", _adcs.check_config), ("adcs_template", _adcs.check_template)):
        try:
            args[option] = check(args.get(option), option)
        except XProtectError as e:
            raise validate.ArgumentError(str(e), option) from e


def _requests(adapter, fqdn: str) -> List:
    """This host's pending requests (LocalMachine\\REQUEST entries whose CN is its FQDN)."""
    entries = adapter.list_certificates("REQUEST")
    mine = {t for t, _key in reissue.leftover_requests(entries, fqdn, ())}
    return [e for e in entries if e.thumbprint.upper() in mine]


def _read_state(adapter, requests) -> Optional[dict]:
    """The waiting request's record; read only when the host has a pending request at all."""
    if not requests:
        return None
    try:
        return _adcs.read_state(adapter.read_file(_adcs.STATE_FILE))
    except HostUnreachable:
        raise
    except AdapterError:
        return None


def _forget(adapter) -> None:
    try:
        adapter.delete_file(_adcs.STATE_FILE)
    except HostUnreachable:
        raise
    except AdapterError:
        pass


def _drop_key(adapter, fqdn: str, thumbprint: Optional[str]) -> str:
    """Remove a refused request's key; returns the sentence for the error message."""
    if not thumbprint:
        return "No key was left on the host."
    res = adapter.run(powershell.remove_with_key_argv("REQUEST", thumbprint))
    if res.rc == 0:
        return f"Its pending key ({thumbprint}) was removed from LocalMachine\\REQUEST; nothing was installed."
    return (
        f"Nothing was installed, but its pending key could not be removed (powershell.exe exit {res.rc}): remove it on "
        f"{fqdn} with: Remove-Item Cert:\\LocalMachine\\REQUEST\\{thumbprint} -DeleteKey"
    )


def _new_request(adapter, params: dict, files) -> tuple:
    """``certreq -new`` (key born on the host), the CSR checked; returns (pending thumbprint, public key)."""
    fqdn = params["fqdn"]
    names = pki.host_names(fqdn, params.get("dns_names") or ())
    inf, csr = files["inf"], files["csr"]
    adapter.write_file(
        inf,
        _certreq.certreq_inf(
            fqdn,
            names,
            key_length=params["key_length"],
            provider=params["provider"],
            exportable=False,
            machine_key_set=True,
            ip_addresses=params.get("ip_addresses") or (),
        ),
    )
    res = adapter.run(_certreq.certreq_new_argv(inf, csr))
    if res.rc != 0:
        raise AdapterError(_certreq.explain_certreq("-new", fqdn, res.rc, res.stdout, res.stderr))
    try:
        request = pki.check_csr(adapter.read_file(csr).encode(), names, min_bits=2048, host=fqdn)
    except pki.PkiError as e:
        # Refused before anything went to the CA: the key certreq just made goes too.
        flow.clean_pending_requests(adapter, fqdn)
        msg = f"{e} Nothing was sent to the CA; the pending request and its key were removed."
        raise pki.PkiError(msg, e.option) from e
    pending = flow.pending_request(adapter, fqdn, request.public_key())
    return pending, request.public_key()


def _key_of(entries, thumbprint: str):
    for e in entries:
        if e.thumbprint.upper() == thumbprint.upper():
            return pki.load_certificate(e.der, "REQUEST").public_key()
    return None


def obtain(adapter, params: dict, accounts, warnings: List[str], now=None) -> dict:
    """Submit, or retrieve the waiting request, and install what the CA issued.

    Returns ``{"state": "issued", "thumbprint", "public_key"}`` or ``{"state": "pending", "request_id",
    "submitted": bool}``; raises AdapterError for a denied or failed request, after removing its key.
    """
    fqdn, config, template = params["fqdn"], params["adcs_config"], params["adcs_template"]
    files = {ext: flow._tmp(params, fqdn, ext) for ext in ("inf", "csr", "cer", "rsp")}
    requests = _requests(adapter, fqdn)
    state = _read_state(adapter, requests)
    step = _adcs.next_step(state, config, template, [e.thumbprint for e in requests])
    pending = None
    # Only the files this run may write are deleted afterwards (certreq writes <cer>.rsp beside the answer).
    written = ["cer", "rsp"] if step == "retrieve" else ["inf", "csr", "cer", "rsp"]
    try:
        if step == "retrieve":
            pending, submitted = state["pending_thumbprint"].upper(), False
            public_key = _key_of(requests, pending)
            res = adapter.run(_adcs.retrieve_argv(config, state["request_id"], files["cer"]))
            verb = "-retrieve"
        else:
            if step == "abandon":
                warnings.append(
                    f"{fqdn}: request {state['request_id']} (to {state['config']}, template {state['template']}) is "
                    "abandoned: its key is gone or the CA or template changed. A new request is sent."
                )
                _forget(adapter)
            # No second request while one exists: leftovers of this host go first, keys included.
            flow.clean_pending_requests(adapter, fqdn, warnings=warnings)
            pending, public_key = _new_request(adapter, params, files)
            submitted = True
            res = adapter.run(_adcs.submit_argv(config, template, files["csr"], files["cer"]))
            verb = "-submit"
        answer = _adcs.parse_answer(f"{res.stdout}\n{res.stderr}", res.rc)
        request_id = answer.request_id if answer.request_id is not None else (state or {}).get("request_id")
        if answer.kind == "pending" and request_id is not None:
            if submitted:
                stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
                adapter.write_file(_adcs.STATE_FILE, _adcs.state_record(request_id, config, template, pending, stamp))
            return {"state": "pending", "request_id": request_id, "submitted": submitted}
        if answer.kind != "issued":
            if answer.kind == "pending":
                answer = answer._replace(kind="failed", message="pending, but certreq printed no RequestId")
            answer = answer._replace(request_id=request_id)
            error = _adcs.explain(answer, fqdn, config, template, verb)
            _forget(adapter)
            raise AdapterError(f"{error} {_drop_key(adapter, fqdn, pending)}")
        # Read right on the key while it is still a pending request (as key_source: host does).
        flow.grant_key_access(adapter, pending, list(accounts), check=False, store="REQUEST")
        res = adapter.run(_certreq.certreq_accept_argv(files["cer"]))
        if res.rc != 0:
            raise AdapterError(_certreq.explain_certreq("-accept", fqdn, res.rc, res.stdout, res.stderr))
        _forget(adapter)
        return {"state": "issued", "public_key": public_key, "request_id": request_id}
    finally:
        for path in (files[ext] for ext in written):
            try:
                adapter.delete_file(path)
            except HostUnreachable:
                raise
            except AdapterError:
                pass


def status(adapter, params: dict) -> Optional[dict]:
    """Read-only (check mode): the request waiting for this host at this CA and template, or None."""
    requests = _requests(adapter, params["fqdn"])
    state = _read_state(adapter, requests)
    step = _adcs.next_step(state, params["adcs_config"], params["adcs_template"], [e.thumbprint for e in requests])
    return state if step == "retrieve" else None


def run(action, adapter, params: dict, result: dict, before: Optional[dict]) -> dict:
    """The ``key_source: adcs`` part of server_certificate, once the re-issue policy said "issue"."""
    fqdn, config, template = params["fqdn"], params["adcs_config"], params["adcs_template"]
    result["adcs"] = {"config": config, "template": template, "state": None, "request_id": None}
    if action.check_mode:
        waiting = status(adapter, params)
        if waiting:
            result["adcs"].update(state="pending", request_id=waiting["request_id"])
            result.update(pending=True, msg=_adcs.waiting_message(fqdn, waiting["request_id"], config, template))
            result["waiting"] = _adcs.waiting_finding(waiting["request_id"], config, template)
        else:
            result["msg"] = f"Would request a certificate from {config} (template {template}): " + "; ".join(
                result["reasons"]
            )
        action.diff(result, before or {}, {"reissue": True, "names": result["names"], "adcs": result["adcs"]})
        return result
    accounts = flow.service_key_readers(adapter, params["key_readers"])
    warnings: List[str] = []
    got = obtain(adapter, params, accounts, warnings)
    result["adcs"].update(state=got["state"], request_id=got["request_id"])
    if got["state"] == "pending":
        message = _adcs.waiting_message(fqdn, got["request_id"], config, template)
        # A new request changed the host (a key, a request at the CA); waiting again changes nothing.
        result.update(pending=True, changed=got["submitted"], msg=message, warnings=warnings + [message])
        result["waiting"] = _adcs.waiting_finding(got["request_id"], config, template)
        return result
    want = pki.public_key_der(got["public_key"]) if got["public_key"] is not None else None
    installed = None
    for e in adapter.list_certificates("My"):
        if e.has_private_key and want and pki.public_key_der(pki.load_certificate(e.der, "My").public_key()) == want:
            installed = e
    if installed is None:
        raise AdapterError(
            f"{fqdn}: the certificate issued by {config} is not in LocalMachine\\My with its private key after "
            "certreq -accept. Nothing was switched; check the host's certificate store and run again."
        )
    names = pki.host_names(fqdn, params.get("dns_names") or ())
    check = reissue.decide(installed.der, True, names, action.ca_cert, flow._now(), params["renew_before"])
    if check.action != "keep":
        raise AdapterError(
            f"{fqdn}: the certificate {installed.thumbprint} issued by {config} (template {template}) is installed but "
            f"does not serve this host: {'; '.join(check.reasons)}. Nothing was switched. Check the template (subject "
            "from the request, Server Authentication, validity) and that the CA chains to the CA given as the site "
            "CA (xprotect_ca_cert_content)."
        )
    flow.grant_key_access(adapter, installed.thumbprint, list(accounts), check=False)
    after = flow.summary(installed)
    result.update(
        thumbprint=installed.thumbprint, not_after=after["not_after"], key_readers=list(accounts), pending=False
    )
    if warnings:
        result["warnings"] = warnings
    action.diff(result, before or {}, after)
    return result
