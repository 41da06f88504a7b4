# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend of the ``xprotect.encryption.server_certificates`` module: the PFX flow in one batch.

Per host: read its ``.crt`` and (only when needed) its PFX, :func:`decide` keep or issue with
every reason (pure, over the re-issue policy of ``reissue``), then issue the hosts that need it,
in parallel, each PFX written before its certificate file (the order the fast path of
:func:`pfx_state` relies on). :func:`run` takes the module's validated parameters and returns
the result; it raises ``PkiError`` naming the option at fault, ``LockError`` or ``OSError``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from typing import Any, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, fileutil, pki, reissue


@dataclasses.dataclass(frozen=True)
class Host:
    fqdn: str
    names: tuple  # DNS names for the SAN: fqdn, short name, aliases
    ips: tuple
    pfx_path: str
    crt_path: str


@dataclasses.dataclass(frozen=True)
class Assessment:
    host: Host
    cert: Any  # the current certificate, or None
    reasons: tuple

    @property
    def needs_issue(self) -> bool:
        return bool(self.reasons)


def parse_hosts(p: dict) -> list[Host]:
    """Validate every host before anything is read or written."""
    hosts, seen = [], set()
    for i, entry in enumerate(p["hosts"]):
        try:
            names = pki.host_names(entry["name"], entry.get("dns_names") or ())
            ips = tuple(pki.validate_ip(a, "ip_addresses") for a in entry.get("ip_addresses") or ())
        except pki.PkiError as e:
            raise pki.PkiError(f"hosts[{i}] ({entry['name']}): {e}", "hosts")
        fqdn = names[0]
        if fqdn in seen:
            raise pki.PkiError(f"hosts[{i}]: {fqdn} is listed twice; list each server once.", "hosts")
        seen.add(fqdn)
        base = os.path.join(p["path"], fqdn)
        hosts.append(Host(fqdn, tuple(names), ips, base + ".pfx", base + ".crt"))
    return hosts


def check_options(p: dict) -> None:
    """The checks of values the argument spec and the module's rules leave: a PFX passphrase, a folder."""
    if not p["pfx_passphrase"]:
        raise pki.PkiError("pfx_passphrase: a PFX needs a non-empty passphrase.", "pfx_passphrase")
    if os.path.exists(p["path"]) and not os.path.isdir(p["path"]):
        raise pki.PkiError(f"path: {p['path']} is a file; give the folder for the PFX files.", "path")


def _read_cert(path: str) -> Optional[Any]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        return pki.load_certificate(data, "path")
    except pki.PkiError:
        return False  # present but unreadable: re-issue


def pfx_state(host: Host, cert: Any, p: dict) -> Optional[str]:
    """None when the PFX holds ``cert`` and its key; otherwise why not.

    Fast path: PFX files are written before their certificate file, so a PFX that exists and is
    not newer than its .crt is the one that .crt came with; it is not decrypted.
    """
    try:
        pfx_stat = os.stat(host.pfx_path)
    except FileNotFoundError:
        return f"{os.path.basename(host.pfx_path)} is missing"
    if not p["verify_pfx"] and pfx_stat.st_size > 0:
        if pfx_stat.st_mtime_ns <= os.stat(host.crt_path).st_mtime_ns:
            return None
    with open(host.pfx_path, "rb") as f:
        data = f.read()
    try:
        key, pfx_cert, dummy = pki.read_pfx(data, p["pfx_passphrase"], option="pfx_passphrase", pfx_option="path")
    except pki.PkiError:
        return f"{os.path.basename(host.pfx_path)} cannot be opened with pfx_passphrase"
    if pfx_cert is None or pki.cert_der(pfx_cert) != pki.cert_der(cert):
        return f"{os.path.basename(host.pfx_path)} does not hold the certificate of {os.path.basename(host.crt_path)}"
    if key is None or not pki.cert_has_private_key_match(cert, key):
        return f"{os.path.basename(host.pfx_path)} does not hold the private key of its certificate"
    return None


def decide(host: Host, cert: Any, pfx_problem: Optional[str], *, ca_cert: Any, now, p: dict) -> Assessment:
    """Keep or issue for one host, with every reason, from what its two files hold. Pure.

    ``cert`` is the certificate in its ``.crt`` (None: none), ``pfx_problem`` why its PFX does
    not hold that certificate and its key (None: it does). The re-issue policy is
    ``reissue.decide``; a PFX problem takes the place of its "no private key" reason.
    """
    decision = reissue.decide(
        pki.cert_der(cert) if cert is not None else None,
        pfx_problem is None,
        [*host.names, *host.ips],
        ca_cert,
        now,
        p["renew_before"],
        min_key_bits=p["key_size"],
    )
    reasons = [pfx_problem if r == reissue.REASON_NO_KEY else r for r in decision.reasons]
    if p["force"] and not reasons:
        reasons.append("force: true")
    return Assessment(host, cert, tuple(reasons))


def assess(host: Host, ca_cert: Any, now, p: dict) -> Assessment:
    """Read one host's two files, then :func:`decide`."""
    cert = _read_cert(host.crt_path)
    if cert is False:
        return Assessment(host, None, (f"{os.path.basename(host.crt_path)} is not a readable certificate",))
    problem = pfx_state(host, cert, p) if cert is not None else None
    return decide(host, cert, problem, ca_cert=ca_cert, now=now, p=p)


def issue(ca: pki.CA, host: Host, now, p: dict) -> Any:
    """New key, certificate and PFX for one host; the PFX is written before the certificate."""
    key = pki.generate_key(p["key_size"])
    cert = pki.issue_certificate(
        ca,
        key.public_key(),
        host.fqdn,
        host.names,
        host.ips,
        days=p["validity_days"] or pki.SERVER_DAYS,
        now=now,
        clamp_to_ca=p["validity_days"] is None,
    )
    chain = [ca.cert] if p["include_ca"] else []
    pfx = pki.write_pfx(key, cert, chain, p["pfx_passphrase"], host.fqdn, p["pfx_encryption"])
    fileutil.atomic_write(host.pfx_path, pfx, 0o600)
    fileutil.atomic_write(host.crt_path, pki.cert_pem(cert).encode(), 0o644)
    return cert


def _view(cert: Any) -> dict:
    if cert is None:
        return {}
    return {"thumbprint": pki.thumbprint(cert), "not_after": pki.iso_z(pki.not_after(cert))}


def _load_signing_ca(p: dict, ca_cert: Any, now) -> pki.CA:
    # The CA key is the one the ca module wrote after a full check: skip OpenSSL's slow RSA
    # consistency check (its public half is still matched against the CA certificate).
    ca = _ca_options.load_ca_from_options(p, trusted_key=True)
    if pki.thumbprint(ca.cert) != pki.thumbprint(ca_cert):  # pragma: no cover - same options, read twice
        raise pki.PkiError("ca_cert_path: the CA certificate changed during the run; run again.", "ca_cert_path")
    if p["validity_days"] is not None:
        # Refuse a validity past the CA's before any key is made (and in check mode too).
        pki.certificate_validity(ca, p["validity_days"], now)
    return ca


def _issue_all(ca: pki.CA, todo: list, now, p: dict) -> tuple[dict, dict]:
    """Issue for every host of ``todo`` in parallel; a host that fails does not stop the others."""
    issued: dict[str, Any] = {}
    errors: dict[str, str] = {}
    workers = max(1, min(p["workers"] or os.cpu_count() or 1, 64))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(issue, ca, h, now, p): h for h in todo}
        for future in concurrent.futures.as_completed(futures):
            h = futures[future]
            try:
                issued[h.fqdn] = future.result()
            except (pki.PkiError, OSError) as e:
                errors[h.fqdn] = str(e)
    return issued, errors


def _result(plan: list, issued: dict, errors: dict, *, ca_cert: Any, check_mode: bool, now) -> dict:
    result_hosts, before, after = {}, {}, {}
    for a in plan:
        h = a.host
        cert = issued.get(h.fqdn, a.cert)
        entry = {
            "thumbprint": pki.thumbprint(cert) if cert is not None else None,
            "not_after": pki.iso_z(pki.not_after(cert)) if cert is not None else None,
            "days_left": pki.days_left(cert, now) if cert is not None else None,
            "changed": h.fqdn in issued or (check_mode and a.needs_issue),
            "reasons": list(a.reasons),
            "pfx_path": h.pfx_path,
            "crt_path": h.crt_path,
        }
        if h.fqdn in errors:
            entry["error"] = errors[h.fqdn]
        result_hosts[h.fqdn] = entry
        if entry["changed"]:
            before[h.fqdn] = _view(a.cert)
            after[h.fqdn] = _view(issued.get(h.fqdn)) or {"thumbprint": "(new)"}
    return {
        "changed": any(e["changed"] for e in result_hosts.values()),
        "hosts": result_hosts,
        "issued": [fqdn for fqdn, e in result_hosts.items() if e["changed"]],
        "ca_thumbprint": pki.thumbprint(ca_cert),
        "errors": errors,
        "diff": {"before": before, "after": after},
    }


def run(p: dict, check_mode: bool, now=None) -> dict:
    """The module's work without AnsibleModule; raises PkiError, LockError or OSError.

    ``errors`` in the result names the hosts that could not be issued (the others were).
    """
    now = pki.utcnow(now)
    check_options(p)
    hosts = parse_hosts(p)
    ca_cert = _ca_options.load_ca_certificate_from_options(p)
    plan = [assess(h, ca_cert, now, p) for h in hosts]
    issued: dict[str, Any] = {}
    errors: dict[str, str] = {}
    has_key = bool(p["ca_key_path"] or p["ca_key_content"])
    if any(a.needs_issue for a in plan) and (has_key or not check_mode):
        # Opened only now; in check mode too (when given), so a wrong passphrase shows before the real run.
        ca = _load_signing_ca(p, ca_cert, now)
        if not check_mode:
            fileutil.ensure_dir(p["path"])
            with fileutil.locked(p["path"]):
                plan = [assess(h, ca_cert, now, p) for h in hosts]  # again, under the lock
                issued, errors = _issue_all(ca, [a.host for a in plan if a.needs_issue], now, p)
    return _result(plan, issued, errors, ca_cert=ca_cert, check_mode=check_mode, now=now)
