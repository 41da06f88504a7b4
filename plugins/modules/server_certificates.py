#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: server_certificates
short_description: Keep a PFX and a certificate per XProtect server in a folder (the PFX flow, in one batch)
description:
  - For sites whose servers cannot create their own key with certreq, makes on the controller, for every host of
    O(hosts), an RSA key, a certificate signed by the site CA, and a password-protected PFX. It keeps them in O(path)
    as C(<fqdn>.pfx) (mode 0600) and C(<fqdn>.crt) (PEM, mode 0644).
  - Idempotent through the collection's re-issue policy - a host gets a new key and certificate only when its
    certificate is missing, expired or expiring within O(renew_before) days, not issued by this CA, missing one of
    the host's names, has a weak key or the wrong usage, or when its PFX is missing or does not hold it. Every
    reason is returned.
  - "The certificate: CN = FQDN (never an IP address), SAN = FQDN + short name + O(hosts[].dns_names) (+
    O(hosts[].ip_addresses)), keyUsage digitalSignature + keyEncipherment (critical), EKU serverAuth, CA:FALSE,
    SHA-256, a random serial of 159 bits or more."
  - All the hosts are made in one task, in parallel, on the controller. Run it against C(localhost).
  - "On a re-run the PFX files are not decrypted when the certificate file alone shows nothing is needed: each PFX
    is written before its certificate file, so a PFX that exists and is not newer than its C(.crt) is the one that
    C(.crt) was written with. A PFX newer than its certificate (changed by something else) is opened and checked.
    O(verify_pfx=true) opens every PFX."
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
extends_documentation_fragment:
  - xprotect.encryption.ca
attributes:
  check_mode:
    support: full
    description: Reports, per host, whether a certificate would be issued and why; writes nothing.
  diff_mode:
    support: full
    description: Thumbprint and not_after before and after, per host that changes.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (C(localhost)).
options:
  path:
    description:
      - Folder that holds C(<fqdn>.pfx) and C(<fqdn>.crt) per host. Created (mode 0700) when missing.
      - Files of hosts no longer listed are left alone.
    type: path
    required: true
  hosts:
    description:
      - The servers to keep a certificate for.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The server's FQDN. It becomes the certificate's common name and the PFX friendly name.
        type: str
        required: true
      dns_names:
        description:
          - More DNS names the clients use for this server (the short name is always added).
        type: list
        elements: str
        default: []
      ip_addresses:
        description:
          - IP addresses to add to the SAN. Only if clients connect by IP; never used as the common name.
        type: list
        elements: str
        default: []
  pfx_passphrase:
    description:
      - Passphrase of every PFX written.
    type: str
    required: true
  pfx_encryption:
    description:
      - C(3des) - PBE-SHA1-3DES with a SHA-1 MAC, which Windows Server 2016 can import.
      - C(aes256) - AES-256-CBC with a SHA-256 MAC; Windows Server 2016 rejects it ("The specified network password
        is not correct").
      - Changing it does not rewrite existing PFX files; use O(force) for that.
    type: str
    choices: [3des, aes256]
    default: 3des
  validity_days:
    description:
      - Validity of new certificates, in days. Default 730, ended early at the CA's own end of validity.
      - A value given explicitly that would outlive the CA certificate is refused.
    type: int
  renew_before:
    description:
      - Re-issue a certificate that expires within this many days, from 0 to 36500.
    type: int
    default: 30
  key_size:
    description:
      - RSA key size of new keys, from 2048 to 16384. A certificate with a smaller key is re-issued.
    type: int
    default: 2048
  include_ca:
    description:
      - Put the CA certificate in each PFX, after the server certificate.
    type: bool
    default: true
  verify_pfx:
    description:
      - Open every existing PFX with O(pfx_passphrase) and check it holds the certificate and its key, instead of
        trusting the file order. Slower (about 40 ms per host).
    type: bool
    default: false
  force:
    description:
      - Issue a new key, certificate and PFX for every host, whatever the re-issue policy says.
    type: bool
    default: false
  workers:
    description:
      - How many keys are made at once, from 1 to 256. Default - the number of CPUs of the controller.
    type: int
notes:
  - The CA key is opened only when a certificate must be issued; an idempotent run never decrypts it.
  - Each PFX holds a private key; copy it to its server, import it (M(ansible.windows.win_certificate_store)), and
    delete the copy.
seealso:
  - module: xprotect.encryption.ca
"""

EXAMPLES = r"""
- name: Check, without writing, which servers would get a new certificate and why
  xprotect.encryption.server_certificates:
    path: "{{ playbook_dir }}/pki/servers"
    ca_cert_path: "{{ playbook_dir }}/pki/ca.crt"
    pfx_passphrase: "{{ vault_pfx_passphrase }}"
    hosts:
      - name: rs01.vms.example.com
      - name: rs02.vms.example.com
  check_mode: true
  delegate_to: localhost

- name: Two servers, one with an alias and an IP
  xprotect.encryption.server_certificates:
    path: /srv/xprotect/pfx
    ca_cert_path: /srv/xprotect/pki/ca.crt
    ca_key_path: /srv/xprotect/pki/ca.key
    ca_passphrase: "{{ vault_ca_passphrase }}"
    pfx_passphrase: "{{ vault_pfx_passphrase }}"
    hosts:
      - name: ms01.vms.example.com
        dns_names: [vms.example.com]
      - name: rs01.vms.example.com
        ip_addresses: [10.0.10.21]
  delegate_to: localhost
  register: pfx_files
"""

RETURN = r"""
hosts:
  description: Per FQDN, the certificate kept for it (the new one after an issue).
  returned: always
  type: dict
  sample:
    rs01.vms.example.com:
      thumbprint: 3F1C0A9B2E7D44C1A8B39F0E6D2C5B7A91E4D803
      not_after: "2028-01-01T12:00:00Z"
      days_left: 730
      changed: true
      reasons: [no certificate]
      pfx_path: /srv/xprotect/pfx/rs01.vms.example.com.pfx
      crt_path: /srv/xprotect/pfx/rs01.vms.example.com.crt
  contains:
    thumbprint:
      description: SHA-1 thumbprint, uppercase hex (null when none exists yet in check mode).
      type: str
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
    days_left:
      description: Whole days until expiry.
      type: int
    changed:
      description: Whether this host got (or in check mode would get) a new key, certificate and PFX.
      type: bool
    reasons:
      description: Why it was (or would be) issued; empty when kept.
      type: list
      elements: str
    pfx_path:
      description: Path of the PFX.
      type: str
    crt_path:
      description: Path of the PEM certificate.
      type: str
issued:
  description: FQDNs that got (or would get) a new certificate, in the order of O(hosts).
  returned: always
  type: list
  elements: str
ca_thumbprint:
  description: Thumbprint of the CA certificate.
  returned: always
  type: str
"""

import concurrent.futures
import dataclasses
import os
from typing import Any, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, fileutil, pki, reissue, validate
from ansible_collections.xprotect.encryption.plugins.module_utils.pki_module import run_module

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "hosts": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
        },
    },
    **_ca_options.ca_argument_spec(),
    "pfx_passphrase": {"type": "str", "required": True, "no_log": True},
    "pfx_encryption": {"type": "str", "default": "3des", "choices": list(pki.PFX_ENCRYPTIONS)},
    "validity_days": {"type": "int"},
    "renew_before": {"type": "int", "default": 30},
    "key_size": {"type": "int", "default": 2048, "no_log": False},
    "include_ca": {"type": "bool", "default": True},
    "verify_pfx": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "workers": {"type": "int"},
}


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


RULES = {
    "key_size": validate.bounded(validate.whole_number, pki.MIN_RSA_BITS, 16384, "bits"),
    "validity_days": validate.bounded(validate.days, 1),
    "renew_before": validate.days,
    "workers": validate.bounded(validate.whole_number, 1, 256),
}


def validate_options(p: dict) -> None:
    validate.apply(p, RULES)
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


def assess(host: Host, ca_cert: Any, now, p: dict) -> Assessment:
    """Keep or issue for one host, from its two files, with every reason."""
    cert = _read_cert(host.crt_path)
    if cert is False:
        return Assessment(host, None, (f"{os.path.basename(host.crt_path)} is not a readable certificate",))
    key_problem = pfx_state(host, cert, p) if cert is not None else None
    decision = reissue.decide(
        pki.cert_der(cert) if cert is not None else None,
        key_problem is None,
        [*host.names, *host.ips],
        ca_cert,
        now,
        p["renew_before"],
        min_key_bits=p["key_size"],
    )
    reasons = [key_problem if r == reissue.REASON_NO_KEY else r for r in decision.reasons]
    if p["force"] and not reasons:
        reasons.append("force: true")
    return Assessment(host, cert, tuple(reasons))


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


def run(p: dict, check_mode: bool, now=None) -> dict:
    """The whole module without AnsibleModule; raises PkiError, LockError or OSError."""
    now = pki.utcnow(now)
    validate_options(p)
    hosts = parse_hosts(p)
    ca_cert = _ca_options.load_ca_certificate_from_options(p)
    plan = [assess(h, ca_cert, now, p) for h in hosts]
    issued: dict[str, Any] = {}
    errors: dict[str, str] = {}
    has_key = bool(p["ca_key_path"] or p["ca_key_content"])
    if any(a.needs_issue for a in plan) and (has_key or not check_mode):
        # Opened only now; in check mode too (when given), so a wrong passphrase shows before the real run.
        # The CA key is the one the ca module wrote after a full check: skip OpenSSL's slow RSA
        # consistency check (its public half is still matched against the CA certificate).
        ca = _ca_options.load_ca_from_options(p, trusted_key=True)
        if pki.thumbprint(ca.cert) != pki.thumbprint(ca_cert):  # pragma: no cover - same options, read twice
            raise pki.PkiError("ca_cert_path: the CA certificate changed during the run; run again.", "ca_cert_path")
        if p["validity_days"] is not None:
            # Refuse a validity past the CA's before any key is made (and in check mode too).
            pki.certificate_validity(ca, p["validity_days"], now)
        if not check_mode:
            fileutil.ensure_dir(p["path"])
            with fileutil.locked(p["path"]):
                plan = [assess(h, ca_cert, now, p) for h in hosts]  # again, under the lock
                todo = [a.host for a in plan if a.needs_issue]
                workers = max(1, min(p["workers"] or os.cpu_count() or 1, 64))
                with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = {pool.submit(issue, ca, h, now, p): h for h in todo}
                    for future in concurrent.futures.as_completed(futures):
                        h = futures[future]
                        try:
                            issued[h.fqdn] = future.result()
                        except (pki.PkiError, OSError) as e:
                            errors[h.fqdn] = str(e)
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


def main() -> None:
    module = validate.naming_options(AnsibleModule, ARGUMENT_SPEC)(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        mutually_exclusive=[("ca_cert_path", "ca_cert_content"), ("ca_key_path", "ca_key_content")],
        required_one_of=[("ca_cert_path", "ca_cert_content")],
    )
    result = run_module(
        module, run, lambda e: f"path: cannot write in {module.params['path']} ({e}). Check the folder."
    )
    errors = result.pop("errors")
    if errors:
        lines = "; ".join(f"{fqdn}: {msg}" for fqdn, msg in sorted(errors.items()))
        module.fail_json(msg=f"{len(errors)} host(s) could not be issued: {lines}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
