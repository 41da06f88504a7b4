# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the CA for an action plugin, from files on the controller or from values.

The CA key is only ever read here, on the controller: it never goes to a managed host.
Values (``ca_cert_content`` / ``ca_key_content``) are how an AWX credential injects the CA,
so that a job needs no file at all.
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

CA_OPTIONS = {
    "ca_cert_path": {"type": "path"},
    "ca_key_path": {"type": "path"},
    "ca_passphrase": {"type": "str", "no_log": True},
    "ca_cert_content": {"type": "str"},
    "ca_key_content": {"type": "str", "no_log": True},
}

CA_CERT_ONLY_OPTIONS = {
    "ca_cert_path": {"type": "path"},
    "ca_cert_content": {"type": "str"},
}


def _read(path: str, option: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise pki.PkiError(f"{option}: cannot read {path} ({e.strerror}). Check the path and its permissions.", option)


def load_ca_certificate(args: dict):
    """The CA certificate only (enough to check signatures and to distribute trust)."""
    if args.get("ca_cert_content"):
        return pki.load_certificate(args["ca_cert_content"].encode(), option="ca_cert_content")
    if args.get("ca_cert_path"):
        return pki.load_certificate(_read(args["ca_cert_path"], "ca_cert_path"), option="ca_cert_path")
    raise pki.PkiError("Give the CA certificate as ca_cert_path or ca_cert_content.", "ca_cert_path")


def load_signing_ca(args: dict) -> "pki.CA":
    """Certificate and key, to sign. Refuses anything that is not a matching CA pair."""
    passphrase: Optional[bytes] = args["ca_passphrase"].encode() if args.get("ca_passphrase") else None
    if args.get("ca_cert_content") or args.get("ca_key_content"):
        if not (args.get("ca_cert_content") and args.get("ca_key_content")):
            raise pki.PkiError(
                "Content mode needs both ca_cert_content and ca_key_content (as an AWX credential injects them).",
                "ca_key_content",
            )
        return pki.load_ca(args["ca_cert_content"].encode(), args["ca_key_content"].encode(), passphrase)
    if not (args.get("ca_cert_path") and args.get("ca_key_path")):
        raise pki.PkiError(
            "Signing needs the CA: give ca_cert_path and ca_key_path (files on the controller), "
            "or ca_cert_content and ca_key_content.",
            "ca_key_path",
        )
    return pki.load_ca(_read(args["ca_cert_path"], "ca_cert_path"), _read(args["ca_key_path"], "ca_key_path"), passphrase)
