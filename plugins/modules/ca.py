#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ca
short_description: Create, import or load the root CA of an XProtect site
description:
  - Keeps the private CA that every XProtect server and client of the site trusts.
  - B(Create) when absent - RSA 4096 (or 3072), SHA-256, basicConstraints C(CA:TRUE, pathlen:0) and keyUsage
    C(keyCertSign, cRLSign), both critical, and a subject key identifier.
  - B(Import) an existing CA from a PEM certificate and key, or from a PFX. Anything that is not a CA, or a key that
    does not belong to the certificate, is refused.
  - B(Content mode) - the certificate, key and passphrase come as values (as an AWX credential injects them) and
    nothing is written to disk.
  - B(Renew) the CA certificate with the same key and subject when it is within O(renew_before) days of expiry, so
    that every server certificate it signed keeps validating. The new certificate must then reach every trust store
    (RV(trust_redistribution_required)).
  - Runs on the controller, where the CA lives. Run it against C(localhost).
  - Files are written through a temporary file and an atomic rename (key 0600, certificate 0644) under a lock file
    C(.lock) in the CA folder, so two runs never corrupt the CA. A failed run leaves nothing half-written.
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
attributes:
  check_mode:
    support: full
    description: Reports what would be created, imported or renewed, and why; writes nothing.
  diff_mode:
    support: full
    description: Before and after - subject, SHA-1 thumbprint, SHA-256 fingerprint, not_after.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (C(localhost)).
options:
  path:
    description:
      - Folder that holds the CA as C(ca.crt) and C(ca.key). Created (mode 0700) when missing.
      - O(cert_path) and O(key_path) override the two file names.
    type: path
  cert_path:
    description:
      - Path of the CA certificate file. Defaults to C(<path>/ca.crt).
    type: path
  key_path:
    description:
      - Path of the CA private key file. Defaults to C(<path>/ca.key).
    type: path
  passphrase:
    description:
      - Passphrase that encrypts the CA key on disk (and decrypts it, or O(key_content)).
      - Required in file mode unless O(allow_unencrypted_key=true).
    type: str
  allow_unencrypted_key:
    description:
      - Allow a CA key file without a passphrase. Anyone who can read that file can then issue certificates that
        the whole site trusts.
    type: bool
    default: false
  cert_content:
    description:
      - Content mode - the CA certificate as a PEM value. Needs O(key_content). Nothing is written.
    type: str
  key_content:
    description:
      - Content mode - the CA private key as a PEM value (encrypted with O(passphrase), or not).
    type: str
  common_name:
    description:
      - Common name of a new CA, 1 to 64 characters without control characters. Not changed on an existing CA.
    type: str
    default: XProtect VMS Root CA
  key_size:
    description:
      - RSA key size of a new CA, 4096 or 3072. Nothing smaller is allowed.
    type: int
    default: 4096
  validity_days:
    description:
      - Validity of a new or renewed CA certificate, in days, from 1 to 36500.
    type: int
    default: 3650
  renew_before:
    description:
      - Renew the CA certificate (same key, same subject) when it expires within this many days, or has expired.
      - C(0) never renews before expiry. At most 36500.
      - Server certificates signed before the renewal keep validating, because the key and name are the same; the
        renewed certificate must still be installed in every trust store before the old one expires.
    type: int
    default: 365
  import_cert_path:
    description:
      - Import - path of an existing CA certificate (PEM or DER). Needs O(import_key_path).
      - Written to O(path) when it holds no CA yet; when O(path) already holds this same CA nothing changes; a
        different CA there is refused.
    type: path
  import_key_path:
    description:
      - Import - path of the existing CA private key (PEM or DER).
    type: path
  import_pfx_path:
    description:
      - Import - path of a PFX holding the CA certificate and its private key.
    type: path
  import_passphrase:
    description:
      - Passphrase of O(import_key_path) or O(import_pfx_path). The imported key is written encrypted with
        O(passphrase).
    type: str
notes:
  - The key of an existing CA is never rewritten, except when a CA is imported into an empty folder.
  - O(common_name), O(key_size) apply only when a CA is created.
seealso:
  - module: xprotect.encryption.server_certificates
"""

EXAMPLES = r"""
- name: Create the site CA once (kept in a folder on the controller)
  xprotect.encryption.ca:
    path: "{{ playbook_dir }}/pki"
    passphrase: "{{ vault_ca_passphrase }}"
  delegate_to: localhost
  run_once: true
  register: site_ca

- name: Import the CA the company already has
  xprotect.encryption.ca:
    path: /srv/xprotect/pki
    passphrase: "{{ vault_ca_passphrase }}"
    import_pfx_path: /tmp/company-ca.pfx
    import_passphrase: "{{ vault_pfx_passphrase }}"
  delegate_to: localhost

- name: Use the CA injected by an AWX credential (nothing written)
  xprotect.encryption.ca:
    cert_content: "{{ lookup('env', 'XPROTECT_CA_CERT') }}"
    key_content: "{{ lookup('env', 'XPROTECT_CA_KEY') }}"
    passphrase: "{{ lookup('env', 'XPROTECT_CA_PASSPHRASE') }}"
  delegate_to: localhost
  register: site_ca

- name: Audit - would the CA be renewed within a year?
  xprotect.encryption.ca:
    path: /srv/xprotect/pki
    passphrase: "{{ vault_ca_passphrase }}"
    renew_before: 365
  check_mode: true
  delegate_to: localhost
"""

RETURN = r"""
certificate:
  description: The CA certificate (PEM); the renewed one after a renewal. Null when a CA would be created in check mode.
  returned: always
  type: str
thumbprint:
  description: SHA-1 of the certificate, uppercase hex, as Windows shows it.
  returned: always
  type: str
  sample: 3F1C0A9B2E7D44C1A8B39F0E6D2C5B7A91E4D803
sha256:
  description: SHA-256 fingerprint of the certificate, uppercase hex.
  returned: always
  type: str
subject:
  description: Subject of the CA certificate.
  returned: always
  type: str
  sample: CN=XProtect VMS Root CA
not_after:
  description: End of validity, ISO 8601 UTC.
  returned: always
  type: str
  sample: "2036-01-01T12:00:00Z"
days_left:
  description: Whole days until the CA certificate expires.
  returned: always
  type: int
reasons:
  description: Why something changed (or would change in check mode). Empty when nothing did.
  returned: always
  type: list
  elements: str
  sample: ["CA certificate expires in 120 days (renew_before 365)"]
created:
  description: A new CA was (or would be) created.
  returned: always
  type: bool
imported:
  description: A CA was (or would be) imported into O(path).
  returned: always
  type: bool
renewed:
  description: The CA certificate was (or would be) renewed with the same key and subject.
  returned: always
  type: bool
trust_redistribution_required:
  description: True after a renewal - install the new certificate in every Trusted Root store.
  returned: always
  type: bool
previous_thumbprint:
  description: Thumbprint of the certificate before the renewal.
  returned: when renewed
  type: str
cert_path:
  description: Path of the CA certificate file (file mode).
  returned: when not in content mode
  type: str
key_path:
  description: Path of the CA key file (file mode).
  returned: when not in content mode
  type: str
"""

import datetime
import os
from typing import Any, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki, validate
from ansible_collections.xprotect.encryption.plugins.module_utils.pki_module import run_module

ARGUMENT_SPEC = {
    "path": {"type": "path"},
    "cert_path": {"type": "path"},
    "key_path": {"type": "path", "no_log": False},
    "passphrase": {"type": "str", "no_log": True},
    "allow_unencrypted_key": {"type": "bool", "default": False},
    "cert_content": {"type": "str"},
    "key_content": {"type": "str", "no_log": True},
    "common_name": {"type": "str", "default": pki.CA_COMMON_NAME},
    "key_size": {"type": "int", "default": 4096, "no_log": False},
    "validity_days": {"type": "int", "default": pki.CA_DAYS},
    "renew_before": {"type": "int", "default": 365},
    "import_cert_path": {"type": "path"},
    "import_key_path": {"type": "path", "no_log": False},
    "import_pfx_path": {"type": "path"},
    "import_passphrase": {"type": "str", "no_log": True},
}
_IMPORTS = ("import_cert_path", "import_key_path", "import_pfx_path")
RULES = {
    "common_name": validate.bounded(validate.text, max_length=64),
    "key_size": lambda v, o: validate.one_of(v, o, pki.CA_KEY_SIZES),
    "validity_days": validate.bounded(validate.days, 1),
    "renew_before": validate.days,
}


def _view(cert: Any) -> dict:
    if cert is None:
        return {}
    return {
        "subject": cert.subject.rfc4514_string(),
        "thumbprint": pki.thumbprint(cert),
        "sha256": pki.fingerprint_sha256(cert),
        "not_after": pki.iso_z(pki.not_after(cert)),
    }


def _validate(p: dict) -> str:
    """Option checks that need no file; returns the mode, ``content`` or ``files``."""
    validate.apply(p, RULES)
    content = p["cert_content"] or p["key_content"]
    files = p["path"] or p["cert_path"] or p["key_path"]
    if content and (files or any(p[o] for o in _IMPORTS)):
        raise pki.PkiError(
            "cert_content: content mode (cert_content, key_content) writes nothing; do not combine it with path, "
            "cert_path, key_path or import_*.",
            "cert_content",
        )
    if content:
        for opt in ("cert_content", "key_content"):
            if not p[opt]:
                raise pki.PkiError(f"{opt}: content mode needs both cert_content and key_content.", opt)
        return "content"
    if not files:
        raise pki.PkiError(
            "path: give the CA folder in path (or cert_path and key_path), or the CA as cert_content and key_content.",
            "path",
        )
    if not p["path"]:
        for opt in ("cert_path", "key_path"):
            if not p[opt]:
                raise pki.PkiError(f"{opt}: without path, give both cert_path and key_path.", opt)
    if p["path"] and os.path.exists(p["path"]) and not os.path.isdir(p["path"]):
        raise pki.PkiError(f"path: {p['path']} is a file; give the folder that holds (or will hold) the CA.", "path")
    if not p["passphrase"] and not p["allow_unencrypted_key"]:
        raise pki.PkiError(
            "passphrase: the CA key is kept encrypted; give passphrase (from a vault), or set "
            "allow_unencrypted_key: true to accept a key file anyone with read access could use.",
            "passphrase",
        )
    if p["import_pfx_path"] and (p["import_cert_path"] or p["import_key_path"]):
        raise pki.PkiError(
            "import_pfx_path: import either from a PFX or from import_cert_path + import_key_path.", "import_pfx_path"
        )
    if bool(p["import_cert_path"]) != bool(p["import_key_path"]):
        opt = "import_key_path" if p["import_cert_path"] else "import_cert_path"
        raise pki.PkiError(f"{opt}: importing from PEM needs both import_cert_path and import_key_path.", opt)
    return "files"


def _load_import(p: dict) -> Optional[pki.CA]:
    secret = pki.to_bytes(p["import_passphrase"])
    if p["import_pfx_path"]:
        return pki.load_ca_pfx(pki.read_input_file(p["import_pfx_path"], "import_pfx_path"), secret)
    if p["import_cert_path"]:
        return pki.load_ca(
            pki.read_input_file(p["import_cert_path"], "import_cert_path"),
            pki.read_input_file(p["import_key_path"], "import_key_path"),
            secret,
            cert_option="import_cert_path",
            key_option="import_key_path",
            phrase_option="import_passphrase",
        )
    return None


def _files(p: dict) -> tuple[str, str, str, str]:
    cert_file = p["cert_path"] or os.path.join(p["path"], "ca.crt")
    key_file = p["key_path"] or os.path.join(p["path"], "ca.key")
    return cert_file, key_file, "cert_path" if p["cert_path"] else "path", "key_path" if p["key_path"] else "path"


def _read_existing(p: dict) -> Optional[pki.CA]:
    cert_file, key_file, cert_opt, key_opt = _files(p)
    have_cert, have_key = os.path.exists(cert_file), os.path.exists(key_file)
    if not have_cert and not have_key:
        return None
    if have_cert != have_key:
        there, missing = (cert_file, key_file) if have_cert else (key_file, cert_file)
        raise pki.PkiError(
            f"{key_opt if have_cert else cert_opt}: {there} exists but {missing} does not. Restore the missing file, "
            "or remove the other to create a new CA.",
            key_opt if have_cert else cert_opt,
        )
    key_data = pki.read_input_file(key_file, key_opt)
    if not p["allow_unencrypted_key"] and not pki.is_key_encrypted(key_data):
        raise pki.PkiError(
            f"allow_unencrypted_key: the CA key {key_file} is not encrypted. Encrypt it (openssl pkcs8 -topk8 -v2 "
            "aes256), or set allow_unencrypted_key: true to accept it.",
            "allow_unencrypted_key",
        )
    return pki.load_ca(
        pki.read_input_file(cert_file, cert_opt),
        key_data,
        pki.to_bytes(p["passphrase"]),
        cert_option=cert_opt,
        key_option=key_opt,
        phrase_option="passphrase",
    )


def _plan(p: dict, existing: Optional[pki.CA], imported: Optional[pki.CA], now) -> dict:
    """What to do, from what exists: create, import, renew or keep. Pure."""
    plan = {"action": "keep", "ca": existing, "reasons": [], "renew": False}
    if existing is None:
        if imported is not None:
            plan.update(action="import", ca=imported, reasons=[f"imported CA {imported.cert.subject.rfc4514_string()}"])
        else:
            plan.update(action="create", reasons=["no CA yet; a new one is created"])
    elif imported is not None and imported.thumbprint != existing.thumbprint:
        option = "import_pfx_path" if p["import_pfx_path"] else "import_cert_path"
        raise pki.PkiError(
            f"{option}: {p['path'] or p['cert_path']} already holds a different CA "
            f"({existing.cert.subject.rfc4514_string()}, {existing.thumbprint}). Remove it first, or import into "
            "another folder.",
            option,
        )
    if plan["ca"] is not None:
        why = pki.ca_renewal_reasons(plan["ca"].cert, now, p["renew_before"])
        if why:
            plan["reasons"] = plan["reasons"] + why
            plan["renew"] = True
    return plan


def _apply(p: dict, plan: dict, now) -> pki.CA:
    """Write what the plan says; on failure remove what this run wrote."""
    cert_file, key_file = _files(p)[:2]
    ca = plan["ca"]
    if plan["action"] == "create":
        ca = pki.create_ca(p["common_name"], p["key_size"], p["validity_days"], now)
    if plan["renew"]:
        ca = pki.renew_ca(ca, p["validity_days"], now)
    if plan["action"] in ("create", "import"):
        for folder in {os.path.dirname(os.path.abspath(f)) for f in (cert_file, key_file)}:
            fileutil.ensure_dir(folder)
        fileutil.atomic_write(key_file, pki.serialize_ca_key(ca, pki.to_bytes(p["passphrase"])), 0o600)
        try:
            fileutil.atomic_write(cert_file, ca.cert_pem.encode(), 0o644)
        except BaseException:
            os.unlink(key_file)
            raise
    elif plan["renew"]:
        fileutil.atomic_write(cert_file, ca.cert_pem.encode(), 0o644)
    return ca


def run(p: dict, check_mode: bool, now=None) -> dict:
    """The whole module, without AnsibleModule: returns the result dict, raises PkiError/LockError."""
    now = pki.utcnow(now)
    mode = _validate(p)
    warnings = []
    if mode == "content":
        existing = pki.load_ca(
            p["cert_content"],
            p["key_content"],
            pki.to_bytes(p["passphrase"]),
            cert_option="cert_content",
            key_option="key_content",
            phrase_option="passphrase",
        )
        plan = _plan(p, existing, None, now)
        ca = pki.renew_ca(existing, p["validity_days"], now) if plan["renew"] and not check_mode else existing
        if plan["renew"]:
            warnings.append(
                "The CA certificate was renewed in content mode; nothing was written. Store the returned "
                "certificate in the credential that holds the CA, and distribute it to every trust store."
            )
    else:
        imported = _load_import(p)
        before_ca = _read_existing(p)
        plan = _plan(p, before_ca, imported, now)
        ca = plan["ca"]
        if plan["action"] != "keep" or plan["renew"]:
            if not check_mode:
                folder = p["path"] or os.path.dirname(os.path.abspath(p["cert_path"]))
                fileutil.ensure_dir(folder)
                with fileutil.locked(folder):
                    # Re-read under the lock: another run may have written meanwhile.
                    before_ca = _read_existing(p)
                    plan = _plan(p, before_ca, imported, now)
                    ca = _apply(p, plan, now) if plan["action"] != "keep" or plan["renew"] else plan["ca"]
        existing = before_ca
    changed = plan["action"] != "keep" or plan["renew"]
    if ca is not None and ca.cert.public_key().key_size < 3072:
        warnings.append(f"The CA key is {ca.cert.public_key().key_size} bits; 3072 or more is recommended.")
    before = _view(existing.cert if existing else None)
    if ca is not None and not (check_mode and plan["renew"]):
        after = _view(ca.cert)
    elif plan["renew"]:
        after = dict(before, thumbprint="(new)", sha256="(new)")
        after["not_after"] = pki.iso_z(now + datetime.timedelta(days=p["validity_days"]))
    else:
        after = {"subject": f"CN={p['common_name']}", "thumbprint": "(new)", "sha256": "(new)"}
    cert = ca.cert if ca is not None else None
    result = {
        "changed": changed,
        "certificate": pki.cert_pem(cert) if cert is not None else None,
        "thumbprint": pki.thumbprint(cert) if cert is not None else None,
        "sha256": pki.fingerprint_sha256(cert) if cert is not None else None,
        "subject": cert.subject.rfc4514_string() if cert is not None else after.get("subject"),
        "not_after": pki.iso_z(pki.not_after(cert)) if cert is not None else None,
        "days_left": pki.days_left(cert, now) if cert is not None else None,
        "reasons": plan["reasons"] if changed else [],
        "created": plan["action"] == "create",
        "imported": plan["action"] == "import",
        "renewed": plan["renew"],
        "trust_redistribution_required": plan["renew"],
        "diff": {"before": before, "after": after},
        "warnings": warnings,
    }
    if plan["renew"] and existing is not None:
        result["previous_thumbprint"] = existing.thumbprint
    if mode == "files":
        result["cert_path"], result["key_path"] = _files(p)[:2]
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run_module(
        module, run, lambda e: f"path: cannot write the CA files ({e}). Check that the folder is writable."
    )
    for w in result.pop("warnings"):
        module.warn(w)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
