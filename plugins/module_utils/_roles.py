# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one role table: each XProtect role, its inventory group, the certificate groups it
switches, and the Milestone service whose account must read the server certificate's key.

Everything else (hoststate, the inventory plugin's pure part, the coverage check, the settings
table, the lab) derives its names from here, so that a role or group is spelled in one place.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._groups import GROUPS
from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError


@dataclasses.dataclass(frozen=True)
class Role:
    """One row of the role table."""

    name: str  # our short name, the value of xprotect_roles
    inventory_group: str  # the group of the inventory contract (design.md)
    certificate_groups: Tuple[str, ...]  # keys of _groups.GROUPS this role switches
    # Words that name the role's Milestone service (case-insensitive, in its name or display
    # name), when that service's account must read the server certificate's private key; empty
    # when no service of the role reads it.
    key_reader_service: Tuple[str, ...]


# Which certificate groups a host switches, per role:
# - management -> server [H]: the Server certificate group covers the management server side.
# - recording -> server + streaming [H]: management<->recording encryption is all or nothing,
#   and streaming media covers the clients pulling video from port 7563.
# - failover -> server + streaming [?]: the facts only say failover servers "should be prepared
#   for encryption as well"; we treat them as recording servers. Override per host with the
#   action's ``groups`` option.
# - mobile -> mobile [H]; event -> event [L] (the event server group is a field report).
# - client -> nothing: clients only trust the CA.
# Which service accounts read the key: the recording server's need is [L] (without it the 7563
# handshake fails), the failover service's [H], the mobile server's [M], the event server's [L]
# (its group is served with the host's server certificate). The management server's service is
# not known to read it.
ROLE_TABLE: Tuple[Role, ...] = (
    Role("management", "xprotect_management_servers", ("server",), ()),
    Role("recording", "xprotect_recording_servers", ("server", "streaming"), ("recording server",)),
    Role("failover", "xprotect_failover_servers", ("server", "streaming"), ("failover",)),
    Role("mobile", "xprotect_mobile_servers", ("mobile",), ("mobile server",)),
    Role("event", "xprotect_event_servers", ("event",), ("event server",)),
    Role("client", "xprotect_clients", (), ()),
)

ROLES: Tuple[str, ...] = tuple(r.name for r in ROLE_TABLE)
SERVER_ROLES: Tuple[str, ...] = tuple(r.name for r in ROLE_TABLE if r.name != "client")
# role -> inventory group, and back.
INVENTORY_GROUPS: Dict[str, str] = {r.name: r.inventory_group for r in ROLE_TABLE}
GROUP_ROLES: Dict[str, str] = {r.inventory_group: r.name for r in ROLE_TABLE}
SERVER_GROUPS: Tuple[str, ...] = tuple(INVENTORY_GROUPS[r] for r in SERVER_ROLES)
# role -> certificate group keys.
ROLE_GROUPS: Dict[str, Tuple[str, ...]] = {r.name: r.certificate_groups for r in ROLE_TABLE}
# (role, service words) of every role whose service account reads the key.
KEY_READER_SERVICES: Tuple[Tuple[str, Tuple[str, ...]], ...] = tuple(
    (r.name, r.key_reader_service) for r in ROLE_TABLE if r.key_reader_service
)


def groups_for_roles(roles: Iterable[str]) -> List[str]:
    """The group keys a host with these roles switches, in GROUPS order, without duplicates."""
    wanted = set()
    for role in roles:
        if role not in ROLE_GROUPS:
            raise XProtectError(f"unknown XProtect role {role!r}; use one of {', '.join(ROLE_GROUPS)}.")
        wanted.update(ROLE_GROUPS[role])
    return [key for key in GROUPS if key in wanted]


def key_reader_role(roles: Sequence[str], group: str) -> Optional[str]:
    """The role whose service account must read the key bound to certificate group ``group`` on
    a host with ``roles``: the first in table order that switches the group and has a key-reading
    service; None when no service of the host reads it."""
    for row in ROLE_TABLE:
        if row.name in roles and group in row.certificate_groups and row.key_reader_service:
            return row.name
    return None
