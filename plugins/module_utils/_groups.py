# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server Configurator's certificate groups: their names and default GUIDs, and the parser of
``/listcertificategroups``.

Which groups a role switches is in ``_roles`` (the one role table).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Iterable, Mapping, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils._text import GUID_PATTERN, XProtectError


@dataclasses.dataclass(frozen=True)
class Group:
    """A Server Configurator certificate group."""

    key: str  # our short name: server, streaming, mobile, event
    name: str  # the name /listcertificategroups prints [H]
    default_guid: str  # the known default ID [H]; the real one is resolved at run time by name
    pattern: str  # how the printed name is matched (regex, case-insensitive)
    covers: str


# [H] names and default GUIDs; the event server's group name varies, so it is matched by
# /event server/ [H: "name varies"].
GROUPS: Dict[str, Group] = {
    "server": Group(
        "server",
        "Server certificate",
        "84430eb7-847c-422d-aa00-7915cd0d7a65",
        r"^server certificate$",
        "management server <-> recording server, and clients to the management server's HTTPS",
    ),
    "streaming": Group(
        "streaming",
        "Streaming media certificate",
        "549df21d-047c-456b-958e-99e65dd8b3ec",
        r"^streaming media certificate$",
        "every client connection to recording servers (port 7563)",
    ),
    "mobile": Group(
        "mobile",
        "Mobile streaming media certificate",
        "76cfc719-a852-4210-913e-703eadab139a",
        r"^mobile streaming media certificate$",
        "mobile server",
    ),
    "event": Group(
        "event",
        "Event server",
        "7e02e0f5-549d-4113-b8de-bda2c1f38dbf",
        r"event server",
        "event server",
    ),
}


def _norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def group_key_for_name(name: str) -> Optional[str]:
    """The group key of a name as /listcertificategroups prints it, or None."""
    norm = _norm_name(name)
    for key, group in GROUPS.items():
        if re.search(group.pattern, norm, re.IGNORECASE):
            return key
    return None


# "Found '<group name>' group with ID = <36-char GUID>" [H, vendor code]. Tolerant of case,
# spacing, the kind of quotes and braces around the GUID.
_GROUP_LINE_RE = re.compile(
    r"found\s+['\"\u2018\u2019\u201c\u201d]?(?P<name>.+?)['\"\u2018\u2019\u201c\u201d]?\s+group\s+with\s+id\s*[=:]\s*"
    rf"\{{?(?P<guid>{GUID_PATTERN})\}}?",
    re.IGNORECASE,
)


def parse_certificate_groups(stdout: str) -> Dict[str, str]:
    """``{group name: GUID (lowercase)}`` from the output of ``/listcertificategroups``.

    Lines that are not group lines (banners, blank lines) are ignored.
    """
    groups: Dict[str, str] = {}
    for line in (stdout or "").lstrip("\ufeff").splitlines():
        match = _GROUP_LINE_RE.search(line)
        if match:
            groups[match.group("name").strip()] = match.group("guid").lower()
    return groups


def resolve_group_ids(listing: Mapping[str, str], keys: Iterable[str]) -> Dict[str, str]:
    """``{group key: GUID}`` for ``keys``, matched by name in a parsed listing.

    The name decides [H: "resolve their IDs at run time, by name"]. When no name matches (a
    translated Server Configurator, say) but the known default GUID is listed, that GUID is
    used. Otherwise XProtectError names the missing group and lists what was found.
    """
    resolved: Dict[str, str] = {}
    for key in keys:
        if key not in GROUPS:
            raise XProtectError(f"unknown certificate group {key!r}; use one of {', '.join(GROUPS)}.")
        group = GROUPS[key]
        found = [guid for name, guid in listing.items() if group_key_for_name(name) == key]
        if not found and group.default_guid in (g.lower() for g in listing.values()):
            found = [group.default_guid]
        if not found:
            seen = ", ".join(f"'{n}' = {g}" for n, g in listing.items()) or "no groups at all"
            raise XProtectError(
                f"Server Configurator lists no '{group.name}' group (found: {seen}). Is the XProtect component "
                f"for this group installed on the host? Check the host's roles in the inventory, or name the "
                f"groups to change explicitly."
            )
        resolved[key] = found[0].lower()
    return resolved
