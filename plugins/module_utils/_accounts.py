# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of the built-in service accounts (SYSTEM, LOCAL SERVICE, NETWORK SERVICE) in
every spelling and language a host reports them, and the names to grant to.

The host decisions (``hoststate``), the Windows adapter and the lab all compare accounts
through it. Which role's service must read the key is in ``_roles``.
"""

from __future__ import annotations

import unicodedata
from typing import Optional

# The three built-in service accounts, by well-known SID.
SYSTEM_SID = "S-1-5-18"
LOCAL_SERVICE_SID = "S-1-5-19"
NETWORK_SERVICE_SID = "S-1-5-20"
_CANONICAL = {
    SYSTEM_SID: "NT AUTHORITY\\SYSTEM",
    LOCAL_SERVICE_SID: "NT AUTHORITY\\LOCAL SERVICE",
    NETWORK_SERVICE_SID: "NT AUTHORITY\\NETWORK SERVICE",
}

# How win_service_info reports them. SCManager.cs (ansible.windows) turns the StartName "LocalSystem"
# into the NTAccount of S-1-5-18, which is translated into the host's language
# ("NT-AUTORITÄT\SYSTEM", "AUTORITE NT\Système"); LocalService and NetworkService come as the
# installer stored them, usually "NT AUTHORITY\NetworkService", sometimes a localised name.
# There is no SID in its result (``sid_info`` is the service SID type), so the names are matched
# here, case- and accent-insensitively [L: the Windows language packs' names; an unlisted spelling
# costs only a redundant grant, which win_acl resolves on the host itself].
_NT_AUTHORITY = {
    "",
    ".",
    "nt authority",
    "nt-autoritat",  # de
    "autorite nt",  # fr
    "autoridad nt",  # es
    "autorita nt",  # it
    "autoridade nt",  # pt
    "nt-instans",  # sv
    "nt instans",
    "zarzadzanie nt",  # pl
    "nt yetkilisi",  # tr
}
_ACCOUNT_NAMES = {
    SYSTEM_SID: {"system", "localsystem", "local system", "systeme", "sistema", "система"},
    LOCAL_SERVICE_SID: {
        "localservice",
        "local service",
        "lokaler dienst",
        "service local",
        "servicio local",
        "servizio locale",
        "servico local",
        "lokal tjanst",
        "lokale service",
    },
    NETWORK_SERVICE_SID: {
        "networkservice",
        "network service",
        "netzwerkdienst",
        "service reseau",
        "servicio de red",
        "servizio di rete",
        "servico de rede",
        "natverkstjanst",
        "netwerkservice",
    },
}


def _fold(text: str) -> str:
    """Lower case without accents: 'NT-AUTORITÄT' -> 'nt-autoritat', 'Système' -> 'systeme'."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def well_known_sid(account: str) -> Optional[str]:
    """The SID of SYSTEM, LOCAL SERVICE or NETWORK SERVICE in any spelling and language, else None."""
    text = str(account or "").strip()
    if text.upper() in _ACCOUNT_NAMES:
        return text.upper()
    domain, _sep, name = text.rpartition("\\")
    if _fold(domain) not in _NT_AUTHORITY:
        return None
    folded = _fold(name)
    return next((sid for sid, names in _ACCOUNT_NAMES.items() if folded in names), None)


def canonical_account(account: str) -> str:
    """SYSTEM, LOCAL SERVICE and NETWORK SERVICE, in any spelling and language, by their English
    names (``NT AUTHORITY\\NETWORK SERVICE``); any other account as given, without blanks around.
    The one table of the built-in service accounts: the lab compares accounts through it too."""
    return _CANONICAL.get(well_known_sid(account) or "", str(account or "").strip())


def normalize_account(account: str) -> Optional[str]:
    """The name to grant to, or None for SYSTEM (which already holds full control of machine keys).

    LocalService and NetworkService, in any spelling, become their English names, which the
    Windows adapter passes to win_acl as SIDs.
    """
    sid = well_known_sid(account)
    if not str(account or "").strip() or sid == SYSTEM_SID:
        return None
    return _CANONICAL.get(sid, str(account).strip())
