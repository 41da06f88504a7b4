# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend of the ``xprotect.encryption.ca`` module: read the CA, decide, write.

:func:`plan` is the decision (create, import, renew or keep, with every reason) and is pure.
The rest reads and writes the CA files on the controller, through ``fileutil``'s atomic writes
under the folder lock. :func:`run` takes the module's validated parameters (the argument spec
and its declared relations are AnsibleModule's job) and returns the result; it raises
``PkiError`` naming the option at fault, ``LockError`` or ``OSError``.
"""

from __future__ import annotations

import datetime
import os
import stat
from typing import Any, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _ca_chain,
    _ca_store,
    _pkcs8,
    fileutil,
    pki,
    validate,
)

# Shorter passphrases get a warning: a stolen CA key file can be attacked offline, and 16
# characters (or four random words) keeps even a fast guesser at PBKDF2's cost out of reach.
MIN_PASSPHRASE_LENGTH = 16

CONTENT_OPTIONS = ("cert_content", "key_content")
FILE_OPTIONS = ("path", "cert_path", "key_path")
IMPORT_OPTIONS = ("import_cert_path", "import_key_path", "import_pfx_path", "import_chain_path")

# The options, as the module (plugins/modules/ca.py) and the action plugin of the same name
# (plugins/action/ca.py, what a task runs) both check them.
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
    "rewrap_key": {"type": "bool", "default": False},
    "import_chain_path": {"type": "path"},
}
# Content mode (values, as an AWX credential injects them) writes nothing, so it takes no file or
# import option. Each half of the CA needs one source: the folder, its own file name, or its value.
_MUTUALLY_EXCLUSIVE = [
    *((content, other) for content in CONTENT_OPTIONS for other in FILE_OPTIONS + IMPORT_OPTIONS),
    ("import_pfx_path", "import_cert_path"),
    ("import_pfx_path", "import_key_path"),
]
_REQUIRED_TOGETHER = [("cert_content", "key_content"), ("import_cert_path", "import_key_path")]
_REQUIRED_ONE_OF = [("path", "cert_path", "cert_content"), ("path", "key_path", "key_content")]
# Ranges and patterns the argument spec cannot express.
RULES = {
    "common_name": validate.bounded(validate.text, max_length=64),
    "key_size": lambda v, o: validate.one_of(v, o, pki.CA_KEY_SIZES),
    "validity_days": validate.bounded(validate.days, 1),
    "renew_before": validate.days,
}
RELATIONS = {
    "mutually_exclusive": _MUTUALLY_EXCLUSIVE,
    "required_together": _REQUIRED_TOGETHER,
    "required_one_of": _REQUIRED_ONE_OF,
}


def write_error(e: OSError) -> str:
    return f"path: cannot write the CA files ({e}). Check that the folder is writable."


# ---- the decision (pure) ------------------------------------------------------------------


def plan(p: dict, existing: Optional[pki.CA], imported: Optional[pki.CA], now: datetime.datetime) -> dict:
    """What to do, from what exists: ``action`` create, import or keep, and ``renew``.

    ``existing`` is the CA in the folder (or given as values), ``imported`` the one an
    ``import_*`` option names. A different CA already in the folder is refused: replacing the
    site's CA is never a side effect of a run.
    """
    decision = {"action": "keep", "ca": existing, "reasons": [], "renew": False}
    if existing is None:
        if imported is not None:
            subject = imported.cert.subject.rfc4514_string()
            decision.update(action="import", ca=imported, reasons=[f"imported CA {subject}"])
        else:
            decision.update(action="create", reasons=["no CA yet; a new one is created"])
    elif imported is not None and imported.thumbprint != existing.thumbprint:
        option = "import_pfx_path" if p["import_pfx_path"] else "import_cert_path"
        raise pki.PkiError(
            f"{option}: {p['path'] or p['cert_path']} already holds a different CA "
            f"({existing.cert.subject.rfc4514_string()}, {existing.thumbprint}). Remove it first, or import into "
            "another folder.",
            option,
        )
    if decision["ca"] is not None:
        why = pki.ca_renewal_reasons(decision["ca"].cert, now, p["renew_before"])
        if why:
            decision["reasons"] = decision["reasons"] + why
            decision["renew"] = True
    return decision


def changes(decision: dict) -> bool:
    return decision["action"] != "keep" or decision["renew"] or decision.get("recover") or decision.get("rewrap")


# ---- reading and writing the CA on the controller -----------------------------------------


def check_files_mode(p: dict) -> None:
    """The checks of file mode that depend on values, not on which options are given."""
    if p["path"] and os.path.exists(p["path"]) and not os.path.isdir(p["path"]):
        raise pki.PkiError(f"path: {p['path']} is a file; give the folder that holds (or will hold) the CA.", "path")
    if not p["passphrase"] and not p["allow_unencrypted_key"]:
        raise pki.PkiError(
            "passphrase: the CA key is kept encrypted; give passphrase (from a vault), or set "
            "allow_unencrypted_key: true to accept a key file anyone with read access could use.",
            "passphrase",
        )
    store = store_files(p)
    for folder, option in {(os.path.dirname(os.path.abspath(f)), o) for f, o in _file_options(p, store)}:
        check_folder_mode(folder, option)


def _file_options(p: dict, store: _ca_store.Files) -> list:
    return [(store.cert, store.cert_option), (store.key, store.key_option)]


def check_folder_mode(folder: str, option: str) -> None:
    """Refuse a CA folder that group or others can write: they could swap ca.crt or ca.key."""
    try:
        mode = stat.S_IMODE(os.stat(folder).st_mode)
    except FileNotFoundError:
        return  # created 0700
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise pki.PkiError(
            f"{option}: the CA folder {folder} can be written by group or others (mode {mode:04o}), so anyone with "
            "access could replace the CA certificate or key. Remove their write access with: chmod go-w "
            f"'{folder}' (or chmod 0700 '{folder}'), then run again.",
            option,
        )


def files(p: dict) -> tuple[str, str, str, str]:
    """The certificate and key files, and the option each comes from (for error messages)."""
    cert_file = p["cert_path"] or os.path.join(p["path"], "ca.crt")
    key_file = p["key_path"] or os.path.join(p["path"], "ca.key")
    return cert_file, key_file, "cert_path" if p["cert_path"] else "path", "key_path" if p["key_path"] else "path"


def store_files(p: dict) -> _ca_store.Files:
    cert_file, key_file, cert_opt, key_opt = files(p)
    return _ca_store.Files(cert=cert_file, key=key_file, cert_option=cert_opt, key_option=key_opt)


def ca_folder(p: dict) -> str:
    """The folder whose lock file guards the CA."""
    return p["path"] or os.path.dirname(os.path.abspath(p["cert_path"]))


def load_import(p: dict, now: Optional[datetime.datetime] = None) -> tuple:
    """``(CA, chain)`` an ``import_*`` option names, checked to be valid today; ``(None, [])`` without one.

    The chain (issuer first, root last; empty for a root CA) comes from ``import_chain_path`` and
    the other certificates of a PFX, and is checked link by link (``_ca_chain.build_chain``).
    """
    moment = pki.utcnow(now)
    imported = _load_import(p)
    if imported is None:
        if p.get("import_chain_path"):
            raise pki.PkiError(
                "import_chain_path: a chain is imported with its CA; give import_cert_path and import_key_path, "
                "or import_pfx_path, too.",
                "import_chain_path",
            )
        return None, []
    option = "import_pfx_path" if p["import_pfx_path"] else "import_cert_path"
    pki.check_ca_validity(imported.cert, moment, option, "import")
    candidates = []
    if p["import_cert_path"]:
        # A bundle (the CA, then its chain) in import_cert_path is read as chain too.
        data = pki.read_input_file(p["import_cert_path"], "import_cert_path")
        candidates.extend(_ca_chain.load_bundle(data, "import_cert_path")[1:])
    if p["import_pfx_path"]:
        data = pki.read_input_file(p["import_pfx_path"], "import_pfx_path")
        candidates.extend(pki.read_pfx(data, pki.to_bytes(p["import_passphrase"]), pfx_option="import_pfx_path")[2])
    if p.get("import_chain_path"):
        option = "import_chain_path"
        data = pki.read_input_file(p["import_chain_path"], option)
        candidates.extend(_ca_chain.load_bundle(data, option))
    elif not pki.is_self_signed(imported.cert) and not candidates:
        option = "import_chain_path"
    return imported, _ca_chain.build_chain(imported.cert, candidates, moment, option)


def read_chain(p: dict, ca: Optional[pki.CA], now: datetime.datetime, path: Optional[str] = None) -> list:
    """The chain kept after the CA certificate in ``ca.crt`` (an intermediate CA), checked again: a
    root that expired since the import is refused here, before anything is signed or trusted."""
    if ca is None:
        return []
    store = store_files(p)
    data = pki.read_input_file(path or store.cert, store.cert_option)
    extra = _ca_chain.load_bundle(data, store.cert_option)[1:]
    return _ca_chain.build_chain(ca.cert, extra, now, store.cert_option) if extra else []


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


def read_existing(p: dict) -> Optional[pki.CA]:
    """The CA in the folder, None when there is none; half a CA or a plain key is refused."""
    cert_file, key_file, cert_opt, key_opt = files(p)
    have_cert, have_key = os.path.exists(cert_file), os.path.exists(key_file)
    if not have_cert and not have_key:
        return None
    if have_cert != have_key:
        there, missing = (cert_file, key_file) if have_cert else (key_file, cert_file)
        # Not a state this module leaves (it stages both files, see _ca_store): an older version's
        # crash, or a file removed by hand. The key may belong to a certificate trusted somewhere.
        raise pki.PkiError(
            f"{key_opt if have_cert else cert_opt}: {there} exists but {missing} does not, and no interrupted run "
            f"left {os.path.basename(missing)}{_ca_store.STAGED} to complete it. Restore the missing file from "
            "your backup. Only if this CA was never distributed (no host trusts it), remove the other file to "
            "create a new CA.",
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


def apply(p: dict, decision: dict, now: datetime.datetime) -> pki.CA:
    """Write what the decision says: a new CA both files or neither (``_ca_store``)."""
    store = store_files(p)
    ca = decision["ca"]
    if decision["action"] == "create":
        ca = pki.create_ca(p["common_name"], p["key_size"], p["validity_days"], now)
    if decision["renew"]:
        ca = pki.renew_ca(ca, p["validity_days"], now)
    if decision["action"] in ("create", "import"):
        for folder in {os.path.dirname(os.path.abspath(f)) for f in store.all()}:
            fileutil.ensure_dir(folder)
        key_pem = pki.serialize_ca_key(ca, pki.to_bytes(p["passphrase"]))
        # ca.crt: the CA, then (an intermediate CA) its chain up to the root, so that any TLS client
        # given ca.crt (tls_probe, the inventory plugin's ca_path) verifies to the root.
        _ca_store.write_pair(store, key_pem, ca.cert_pem.encode() + _ca_chain.bundle_pem(decision.get("chain") or []))
    elif decision["renew"]:
        fileutil.atomic_write(store.cert, ca.cert_pem.encode(), 0o644)
    if decision.get("rewrap"):
        # Same key, same passphrase, a stronger KDF: one atomic replace, old or new, both valid.
        fileutil.atomic_write(store.key, pki.serialize_ca_key(ca, pki.to_bytes(p["passphrase"])), 0o600)
    return ca


def _content_mode(p: dict, check_mode: bool, now: datetime.datetime, warnings: list) -> tuple:
    existing = pki.load_ca(
        p["cert_content"],
        p["key_content"],
        pki.to_bytes(p["passphrase"]),
        cert_option="cert_content",
        key_option="key_content",
        phrase_option="passphrase",
    )
    decision = plan(p, existing, None, now)
    # cert_content may be a bundle: the site CA first, then its chain up to the root.
    extra = _ca_chain.load_bundle(pki.to_bytes(p["cert_content"]), "cert_content")[1:]
    decision["chain"] = _ca_chain.build_chain(existing.cert, extra, now, "cert_content") if extra else []
    ca = pki.renew_ca(existing, p["validity_days"], now) if decision["renew"] and not check_mode else existing
    if decision["renew"]:
        warnings.append(
            "The CA certificate was renewed in content mode; nothing was written. Store the returned "
            "certificate in the credential that holds the CA, and distribute it to every trust store."
        )
    return existing, decision, ca


def _load_staged(p: dict, store: _ca_store.Files, pending) -> pki.CA:
    """The CA an interrupted run staged; PkiError when its certificate is not its key's."""
    return pki.load_ca(
        pki.read_input_file(pending.cert, store.cert_option),
        pki.read_input_file(pending.key, store.key_option),
        pki.to_bytes(p["passphrase"]),
        cert_option=store.cert_option,
        key_option=store.key_option,
        phrase_option="passphrase",
        trusted_key=True,
    )


def _recover(p: dict, store: _ca_store.Files, check_mode: bool) -> list:
    """Finish or undo what an interrupted run left (under the lock); the reasons to report."""
    pending = _ca_store.inspect(store)
    reasons = []
    if pending.roll_forward:
        if pending.key is None or os.path.exists(store.cert):
            there = ", ".join(f for f in (pending.cert, store.cert, store.key) if os.path.exists(f))
            why = "ca.crt already exists" if os.path.exists(store.cert) else "its key is missing"
            raise pki.PkiError(
                f"{store.cert_option}: {pending.cert} is a CA certificate staged by an interrupted run, but {why} "
                f"({there}). "
                "Nothing was changed. Compare the files; keep the pair whose certificate your hosts trust and move "
                "the others away.",
                store.cert_option,
            )
        # Checked before anything moves: the staged certificate must belong to the staged key.
        _load_staged(p, store, pending)
        reasons.append(f"completes the CA an interrupted run left staged ({pending.cert})")
        if not check_mode:
            _ca_store.complete(store, pending)
    if pending.orphans:
        names = ", ".join(os.path.basename(o) for o in pending.orphans)
        reasons.append(f"removes files an interrupted run left unpaired ({names}); no certificate was made for them")
        if not check_mode:
            _ca_store.remove_orphans(pending)
    return reasons


def _files_mode(p: dict, check_mode: bool, now: datetime.datetime) -> tuple:
    check_files_mode(p)
    imported, imported_chain = load_import(p, now)
    folder = ca_folder(p)
    if check_mode and not os.path.isdir(folder):
        existing = None
        decision = plan(p, existing, imported, now)
        decision["chain"] = imported_chain
        return existing, decision, decision["ca"]
    fileutil.ensure_dir(folder)
    # Readers (check mode) take the lock too, shared: they never see a CA half-written by a writer.
    with fileutil.locked(folder, shared=check_mode):
        recovered = _recover(p, store_files(p), check_mode)
        if recovered and check_mode:
            existing = _staged_view(p)
            staged_cert = _ca_store.staged(store_files(p).cert)
            chain = read_chain(p, existing, now, staged_cert if os.path.exists(staged_cert) else None)
        else:
            existing = read_existing(p)
            chain = read_chain(p, existing, now)
        decision = plan(p, existing, imported, now)
        decision["chain"] = imported_chain if decision["action"] == "import" else chain
        decision["reasons"] = recovered + decision["reasons"]
        decision["recover"] = bool(recovered)
        decision["rewrap"] = bool(p["rewrap_key"] and existing is not None and _weak_protection(p) is not None)
        if decision["rewrap"]:
            decision["reasons"].append(
                f"re-encrypts the CA key with PBKDF2-HMAC-SHA256 at {_pkcs8.PBKDF2_ITERATIONS:,} iterations"
            )
        ca = decision["ca"]
        if changes(decision) and not check_mode:
            ca = apply(p, decision, now)
    return existing, decision, ca


def _staged_view(p: dict) -> Optional[pki.CA]:
    """Check mode after a crash: the CA as the next run will complete it (or None)."""
    store = store_files(p)
    pending = _ca_store.inspect(store)
    if not pending.roll_forward:
        return read_existing(p)
    return _load_staged(p, store, pending)


def _weak_protection(p: dict) -> Optional[dict]:
    """How the CA key on disk is protected, when that is weaker than today's guidance; else None
    (strong, not encrypted, or no key file to read)."""
    try:
        with open(store_files(p).key, "rb") as f:
            protection = _pkcs8.key_protection(f.read())
    except OSError:
        return None
    return protection if protection is not None and not protection["strong"] else None


def key_warnings(p: dict) -> list:
    """A short passphrase, and a CA key on disk whose KDF is weaker than today's guidance."""
    out = []
    phrase = p.get("passphrase") or ""
    if phrase and len(phrase) < MIN_PASSPHRASE_LENGTH:
        out.append(
            f"passphrase: the CA passphrase has {len(phrase)} characters; use {MIN_PASSPHRASE_LENGTH} or more (for "
            "example four random words). Anyone who copies the key file can try passphrases offline."
        )
    if p.get("cert_content") or not phrase:
        return out
    protection = None if p["rewrap_key"] else _weak_protection(p)
    if protection is not None:
        out.append(
            f"rewrap_key: the CA key {store_files(p).key} is encrypted with {protection['kdf']} at "
            f"{protection['iterations']:,} "
            f"iterations, below today's guidance. Set rewrap_key: true once to re-encrypt it (same key, same "
            f"passphrase) with PBKDF2-HMAC-SHA256 at {_pkcs8.PBKDF2_ITERATIONS:,} iterations."
        )
    return out


# ---- the result ---------------------------------------------------------------------------


def _view(cert: Any) -> dict:
    if cert is None:
        return {}
    return {
        "subject": cert.subject.rfc4514_string(),
        "thumbprint": pki.thumbprint(cert),
        "sha256": pki.fingerprint_sha256(cert),
        "not_after": pki.iso_z(pki.not_after(cert)),
    }


def _diff(p: dict, existing: Optional[pki.CA], decision: dict, ca: Optional[pki.CA], *, check_mode: bool, now) -> dict:
    before = _view(existing.cert if existing else None)
    if ca is not None and not (check_mode and decision["renew"]):
        after = _view(ca.cert)
    elif decision["renew"]:
        after = dict(before, thumbprint="(new)", sha256="(new)")
        after["not_after"] = pki.iso_z(now + datetime.timedelta(days=p["validity_days"]))
    else:
        after = {"subject": f"CN={p['common_name']}", "thumbprint": "(new)", "sha256": "(new)"}
    return {"before": before, "after": after}


def run(p: dict, check_mode: bool, now: Optional[datetime.datetime] = None) -> dict:
    """The module's work, without AnsibleModule: the result dict, with ``warnings`` as a list."""
    now = pki.utcnow(now)
    warnings: list = []
    if p["cert_content"]:
        existing, decision, ca = _content_mode(p, check_mode, now, warnings)
    else:
        existing, decision, ca = _files_mode(p, check_mode, now)
    warnings.extend(key_warnings(p))
    changed = bool(changes(decision))
    cert = ca.cert if ca is not None else None
    chain = decision.get("chain") or []
    if cert is not None and not chain and not pki.is_self_signed(cert):
        warnings.append(
            f"The CA {cert.subject.rfc4514_string()} is not self-signed and no chain is kept with it, so hosts "
            "would be given the CA itself to trust. Import it again with import_chain_path (or a PFX with its "
            "chain) into a new folder."
        )
    if cert is not None and cert.public_key().key_size < 3072:
        warnings.append(f"The CA key is {cert.public_key().key_size} bits; 3072 or more is recommended.")
    diff = _diff(p, existing, decision, ca, check_mode=check_mode, now=now)
    result = {
        "changed": changed,
        "certificate": pki.cert_pem(cert) if cert is not None else None,
        "thumbprint": pki.thumbprint(cert) if cert is not None else None,
        "sha256": pki.fingerprint_sha256(cert) if cert is not None else None,
        "subject": cert.subject.rfc4514_string() if cert is not None else diff["after"].get("subject"),
        "not_after": pki.iso_z(pki.not_after(cert)) if cert is not None else None,
        "days_left": pki.days_left(cert, now) if cert is not None else None,
        "reasons": decision["reasons"] if changed else [],
        "created": decision["action"] == "create",
        "imported": decision["action"] == "import",
        "renewed": decision["renew"],
        "trust_redistribution_required": decision["renew"],
        "chain": [pki.cert_pem(c) for c in chain],
        "root_certificate": pki.cert_pem(_ca_chain.root_of(cert, chain)) if cert is not None else None,
        "root_thumbprint": pki.thumbprint(_ca_chain.root_of(cert, chain)) if cert is not None else None,
        "diff": diff,
        "warnings": warnings,
    }
    if decision["renew"] and existing is not None:
        result["previous_thumbprint"] = existing.thumbprint
    if not p["cert_content"]:
        result["cert_path"], result["key_path"] = files(p)[:2]
    return result
