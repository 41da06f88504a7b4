# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one home of the text normalisers: thumbprints, certificate group GUIDs, IP addresses.

Every thumbprint read from a host or given as an option, and every group GUID, goes through
these before it is compared, so that one spelling rule holds across the collection. The error
they raise, ``XProtectError``, is the one every XProtect knowledge module (``_groups``,
``_roles``, ``_configfiles``, ``_certreq`` ...) raises for input it cannot understand.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Optional


class XProtectError(Exception):
    """Bad input or output that cannot be understood. The message says what to do."""


# A GUID as Server Configurator prints it (36 characters); braces are handled by the callers.
GUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(rf"^\{{?({GUID_PATTERN})\}}?$")
_THUMBPRINT_RE = re.compile(r"^[0-9A-F]{40}$")
# What surrounds a thumbprint copied by hand: spaces (certlm.msc groups the hex in pairs), colons
# (openssl), and invisible formatting marks, above all the U+200E LEFT-TO-RIGHT MARK that
# certlm.msc puts before a thumbprint copied from its Details tab (also U+200B-U+200F, U+202A-
# U+202E, U+2060, U+2066-U+2069 and the byte order mark).
_THUMBPRINT_NOISE_RE = re.compile("[\\s:\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def normalize_guid(guid: str) -> str:
    """A certificate group GUID in lower case without braces; XProtectError when it is not one."""
    match = _GUID_RE.match(str(guid or "").strip())
    if not match:
        raise XProtectError(f"{guid!r} is not a certificate group GUID; take it from /listcertificategroups.")
    return match.group(1).lower()


def clean_thumbprint(thumbprint: Optional[str]) -> Optional[str]:
    """The one thumbprint normaliser: separators and invisible marks removed, upper case; None
    when nothing is left. It does not check the result (see :func:`normalize_thumbprint`)."""
    tp = _THUMBPRINT_NOISE_RE.sub("", str(thumbprint or "")).upper()
    return tp or None


def normalize_thumbprint(thumbprint: str) -> str:
    """Uppercase hex SHA-1 without separators, as Windows shows and takes it [H]."""
    tp = clean_thumbprint(thumbprint) or ""
    if not _THUMBPRINT_RE.match(tp):
        raise XProtectError(f"{thumbprint!r} is not a certificate thumbprint (40 hex digits, the SHA-1 of the DER).")
    return tp


def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address (the one test pki, tls_probe and certreq use)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False
