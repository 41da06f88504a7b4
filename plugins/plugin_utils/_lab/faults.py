# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults injected on purpose into a lab host (xprotect.encryption.lab_fault).

Two kinds:

- *conditions* that stay until ``clear`` (or until used up): ``configurator_exit`` (the next
  enable/disable run exits with that code, after applying the change or not: ``applied``, by
  default as the field reports the code), ``stale_configurator`` (the next N runs exit -4, or
  until ``taskkill``), ``unreachable``, ``slow_restart``;
- *tampering*, done once to the host's state as a person or an accident would, and not undone
  by ``clear``: ``remove_trusted_ca``, ``disable_encryption``, ``expire_certificate``,
  ``wrong_name_certificate``, ``remove_key_acl``.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adcs, certs, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.spec import FAULTS

CONDITIONS = ("configurator_exit", "stale_configurator", "unreachable", "slow_restart")
APPLIED_KEY = model.CONFIGURATOR_EXIT_APPLIED


# A Windows exit code is 32 bits: signed as Server Configurator's callers print it, or unsigned.
EXIT_CODES = (-(2**31), 2**32 - 1)
MAX_STALE_RUNS = 1000
MAX_SLOW_SECONDS = 3600


def check_value(fault: str, value: Any) -> Any:
    """The value of a condition, checked (and as a number) before any host is touched.

    A number must be finite and in range: ``nan``, ``1e20`` or negative seconds are refused with
    the option named, never stored in a host's state.
    """
    try:
        if fault == "configurator_exit":
            if value is None or str(value).strip() == "":
                raise model.LabError(
                    "Fault configurator_exit needs value: the exit code of the next run.", option="value"
                )
            return validate.whole_number(value, "value", *EXIT_CODES)
        if fault == "stale_configurator":
            return 1 if value in (None, "") else validate.whole_number(value, "value", 1, MAX_STALE_RUNS, "runs")
        if fault == "slow_restart":
            return validate.number(value, "value", 0, MAX_SLOW_SECONDS)
    except validate.ArgumentError as e:
        raise model.LabError(f"Fault {fault}: {e.message}", option="value")
    if fault == "unreachable":
        return _bool(value)
    return value


def _bool(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise model.LabError(f"Fault unreachable takes true or false as value (got {value!r}).", option="value")


def inject(
    site: model.Site, host: str, fault: str, value: Any = None, applied: Optional[bool] = None
) -> Dict[str, Any]:
    """Apply a fault to one host. Returns {changed, host, fault, value, detail}.

    ``applied`` (``configurator_exit`` only): whether the run still applies the change before it
    exits with the code; None takes the field reports' meaning of the code (APPLYING_EXIT_CODES).
    """
    if fault not in FAULTS:
        raise model.LabError(f"Unknown fault {fault!r}. Use one of: {', '.join(FAULTS)}.", option="fault")
    if applied is not None and fault != "configurator_exit":
        raise model.LabError(f"Option applied is only for fault configurator_exit, not {fault}.", option="applied")
    checked = check_value(fault, value)
    name = site.require_host(host)["name"]
    handler: Callable[..., Dict[str, Any]] = globals()["_" + fault]
    ca = _load_ca(site) if fault in ("expire_certificate", "wrong_name_certificate") else None
    with site.transaction(name) as tx:
        if fault == "configurator_exit":
            detail = handler(site, tx, checked, applied)
        else:
            detail = handler(site, tx, checked, ca) if ca is not None else handler(site, tx, checked)
        if detail.get("changed"):
            tx.touch()
            tx.emit("fault_injected", fault=fault, value=value)
    detail.update(host=name, fault=fault, value=value)
    return detail


# ---- conditions -----------------------------------------------------------------------------


def _configurator_exit(site, tx, code, applied=None):
    faults = tx.state["faults"]
    changed = faults.get("configurator_exit") != code or faults.get(APPLIED_KEY) != applied
    faults["configurator_exit"] = code
    if applied is None:
        faults.pop(APPLIED_KEY, None)
    else:
        faults[APPLIED_KEY] = bool(applied)
    applies = model.configurator_exit_applies(code, applied)
    return {
        "changed": changed,
        "detail": f"next enable/disable run exits {code}"
        + (" after applying the change" if applies else " without changing anything"),
    }


def _stale_configurator(site, tx, runs):
    changed = tx.state["faults"].get("stale_configurator") != runs
    tx.state["faults"]["stale_configurator"] = runs
    return {"changed": changed, "detail": f"the next {runs} Server Configurator run(s) exit -4 (or until taskkill)"}


def _unreachable(site, tx, on):
    faults = tx.state["faults"]
    changed = bool(faults.get("unreachable")) != on
    if on:
        faults["unreachable"] = True
    else:
        faults.pop("unreachable", None)
    return {"changed": changed, "detail": "host does not answer" if on else "host answers again"}


def _slow_restart(site, tx, seconds):
    faults = tx.state["faults"]
    changed = float(faults.get("slow_restart") or 0) != seconds
    if seconds:
        faults["slow_restart"] = seconds
    else:
        faults.pop("slow_restart", None)
    return {"changed": changed, "detail": f"enable/disable runs take {seconds:g} s longer"}


def _clear(site, tx, value):
    del value
    faults = tx.state["faults"]
    removed = [k for k in CONDITIONS if k in faults]
    for key in removed:
        faults.pop(key)
    faults.pop(APPLIED_KEY, None)
    running = tx.state["configurator"].get("running")
    if running:
        tx.state["configurator"]["running"] = None
        removed.append("running_configurator")
    if removed:
        tx.emit("fault_cleared", faults=removed)
    return {"changed": bool(removed), "detail": f"cleared: {', '.join(removed) or 'nothing'}"}


# ---- tampering ------------------------------------------------------------------------------


def _site_ca_thumbprint(site: model.Site) -> Optional[str]:
    path = os.path.join(site.pki_dir, "ca.crt")
    try:
        with open(path, "rb") as fh:
            return pki.thumbprint(certs.load_any(fh.read())[0])
    except (OSError, ValueError):
        return None


def _remove_trusted_ca(site, tx, value):
    if value:
        targets = [model.normalize_thumbprint(str(value))]
    else:
        ca_tp = _site_ca_thumbprint(site)
        roots = model.store(tx.state, "Root")
        targets = [ca_tp] if ca_tp else [e["thumbprint"] for e in roots if not e.get("preinstalled")]
    removed = [tp for tp in targets if tp and model.remove_certificate(tx, "Root", tp, fault=True)]
    return {"changed": bool(removed), "detail": f"removed from Root: {', '.join(removed) or 'nothing'}"}


def _group_keys(site: model.Site, tx: model.Txn, value: Any) -> List[str]:
    groups = list(tx.state.get("encryption") or {})
    if value in (None, ""):
        return groups
    want = str(value).strip().lower()
    found = [g for g in groups if want in (g, site.group_name(g).lower(), site.group_id(g))]
    if not found:
        names = ", ".join(f"{g} ({site.group_name(g)})" for g in groups) or "none"
        raise model.LabError(f"{tx.name} has no certificate group {value!r}; its groups: {names}.", option="value")
    return found


def _disable_encryption(site, tx, value):
    """As a person in the Server Configurator GUI: no rule is checked."""
    changed = []
    for g in _group_keys(site, tx, value):
        if tx.state["encryption"][g].get("enabled"):
            tx.state["encryption"][g] = {"enabled": False, "thumbprint": None}
            tx.emit("encryption_disabled", group=site.group_name(g), group_key=g, group_id=site.group_id(g), fault=True)
            changed.append(site.group_name(g))
    return {"changed": bool(changed), "detail": f"disabled: {', '.join(changed) or 'nothing was enabled'}"}


def _load_ca(site: model.Site):
    folder = site.pki_dir
    try:
        with open(os.path.join(folder, "ca.crt"), "rb") as fh:
            cert_pem = fh.read()
        with open(os.path.join(folder, "ca.key"), "rb") as fh:
            key_pem = fh.read()
    except OSError as e:
        raise model.LabError(
            f"This fault re-issues a certificate with the site CA, which is not there ({e.filename}). "
            "Run the rollout's phase 0 (xprotect.encryption.ca) first.",
            option="fault",
        )
    passphrase = None
    try:
        with open(os.path.join(folder, "passphrase"), "rb") as fh:
            passphrase = fh.read().strip() or None
    except OSError:
        pass
    try:
        return pki.load_ca(cert_pem, key_pem, passphrase)
    except pki.PkiError as e:
        raise model.LabError(f"Cannot load the site CA from {folder}: {e}", option="fault")


def _replace_bound(site, tx, value, make) -> Dict[str, Any]:
    """Replace each bound certificate by ``make(old_cert)`` on the same key, and rebind."""
    enc = tx.state.get("encryption") or {}
    keys = _group_keys(site, tx, value)
    tps = sorted({enc[g]["thumbprint"] for g in keys if enc[g].get("enabled") and enc[g].get("thumbprint")})
    if not tps:
        raise model.LabError(
            f"{tx.name} has no certificate bound to an encrypted group to replace; enable encryption first.",
            option="host",
        )
    replaced = []
    for tp in tps:
        old = model.find(tx.state, "My", tp)
        if old is None or not old.get("key"):
            raise model.LabError(f"{tx.name}: the bound certificate {tp} is no longer in My with its key.")
        new_cert = make(certs.load_pem(old["pem"]))
        new_entry, _added = model.add_certificate(
            tx, "My", new_cert, key_id=old["key"], acl=list(old.get("acl") or []), exportable=old.get("exportable")
        )
        model.remove_certificate(tx, "My", tp, fault=True)
        for rec in enc.values():
            if rec.get("thumbprint") == tp:
                model.bind(rec, new_entry)
        replaced.append({"old": tp, "new": new_entry["thumbprint"]})
    return {"changed": True, "replaced": replaced, "detail": f"replaced {len(replaced)} certificate(s)"}


def _check_issuer(ca, cert, host: str) -> None:
    if not certs.issued_by(cert, ca.cert):
        raise model.LabError(
            f"The certificate bound on {host} was not issued by the site CA, so the lab cannot re-issue it "
            "'signed by the same CA'.",
            option="host",
        )


def _expire_certificate(site, tx, value, ca):
    now = certs.utcnow()

    def make(old):
        _check_issuer(ca, old, tx.name)
        return pki.issue_certificate(
            ca,
            old.public_key(),
            certs.common_name(old) or tx.name,
            pki.san_dns_names(old) or [tx.name],
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )

    return _replace_bound(site, tx, value, make)


def _wrong_name_certificate(site, tx, value, ca):
    # value: the name the wrong certificate carries (default wrong-name.<domain>).
    wrong = str(value).strip().lower() if value else f"wrong-name.{site.settings.get('domain') or 'lab.xprotect.test'}"

    def make(old):
        _check_issuer(ca, old, tx.name)
        return pki.issue_certificate(ca, old.public_key(), wrong, [wrong], days=365, clamp_to_ca=True)

    return _replace_bound(site, tx, None, make)


def _remove_key_acl(site, tx, value):
    if value:
        accounts = [str(value)]
    else:
        accounts = [
            s["username"] for s in tx.state.get("services") or () if s["role"] in ("recording", "failover", "mobile")
        ]
    enc = tx.state.get("encryption") or {}
    bound = {rec.get("thumbprint") for rec in enc.values() if rec.get("thumbprint")}
    removed = []
    for entry in model.store(tx.state, "My"):
        if entry["thumbprint"] not in bound or not entry.get("key"):
            continue
        drop = {conn.canon_account(a) for a in accounts}
        keep = [a for a in entry.get("acl") or [] if conn.canon_account(a) not in drop]
        if len(keep) != len(entry.get("acl") or []):
            for account in accounts:
                tx.emit("key_access_revoked", thumbprint=entry["thumbprint"], account=account, fault=True)
            entry["acl"] = keep
            removed.append(entry["thumbprint"])
    return {"changed": bool(removed), "detail": f"removed {', '.join(accounts)} from {len(removed)} key(s)"}


# ---- the enterprise CA (_lab/adcs.py): a CA manager acts on this host's waiting requests ------


def _adcs_approve(site, tx, value):
    return adcs.resolve(site, tx.name, approve=True)


def _adcs_deny(site, tx, value):
    return adcs.resolve(site, tx.name, approve=False)
