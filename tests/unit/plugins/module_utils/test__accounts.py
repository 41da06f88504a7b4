# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_accounts.py: the built-in service accounts in every spelling and language a host reports."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _accounts


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("NT AUTHORITY\\NetworkService", "NT AUTHORITY\\NETWORK SERVICE"),
        ("nt authority\\network service", "NT AUTHORITY\\NETWORK SERVICE"),
        ("NT AUTHORITY\\LocalService", "NT AUTHORITY\\LOCAL SERVICE"),
        ("LocalSystem", None),
        ("NT AUTHORITY\\SYSTEM", None),
        ("", None),
        ("CORP\\svc-failover", "CORP\\svc-failover"),
    ],
)
def test_normalize_account(account, expected):
    assert _accounts.normalize_account(account) == expected


@pytest.mark.parametrize(
    ("account", "sid"),
    [
        ("LocalSystem", _accounts.SYSTEM_SID),
        (".\\LocalSystem", _accounts.SYSTEM_SID),
        ("S-1-5-18", _accounts.SYSTEM_SID),
        ("NT AUTHORITY\\SYSTEM", _accounts.SYSTEM_SID),
        ("NT-AUTORITÄT\\SYSTEM", _accounts.SYSTEM_SID),  # German: win_service_info translates LocalSystem
        ("AUTORITE NT\\Système", _accounts.SYSTEM_SID),  # French
        ("AUTORIDAD NT\\SYSTEM", _accounts.SYSTEM_SID),  # Spanish
        ("NT AUTHORITY\\СИСТЕМА", _accounts.SYSTEM_SID),  # Russian
        ("NT-AUTORITÄT\\NETZWERKDIENST", _accounts.NETWORK_SERVICE_SID),
        ("AUTORITE NT\\Service réseau", _accounts.NETWORK_SERVICE_SID),
        ("NT-AUTORITÄT\\LOKALER DIENST", _accounts.LOCAL_SERVICE_SID),
        ("s-1-5-20", _accounts.NETWORK_SERVICE_SID),
        ("CORP\\SYSTEM", None),  # a domain account of that name is not the built-in one
        ("CORP\\svc-xprotect", None),
        ("", None),
    ],
)
def test_well_known_sid_in_any_language(account, sid):
    assert _accounts.well_known_sid(account) == sid


@pytest.mark.parametrize(
    ("account", "canonical"),
    [
        ("NT-AUTORITÄT\\NETZWERKDIENST", "NT AUTHORITY\\NETWORK SERVICE"),
        ("NetworkService", "NT AUTHORITY\\NETWORK SERVICE"),
        (".\\LocalSystem", "NT AUTHORITY\\SYSTEM"),
        ("AUTORITE NT\\Système", "NT AUTHORITY\\SYSTEM"),
        ("local service", "NT AUTHORITY\\LOCAL SERVICE"),
        ("  CORP\\svc-rs  ", "CORP\\svc-rs"),
        ("CORP\\SYSTEM", "CORP\\SYSTEM"),
        (None, ""),
    ],
)
def test_canonical_account(account, canonical):
    # The one table of built-in accounts; the lab compares key readers through it too.
    assert _accounts.canonical_account(account) == canonical


def test_a_localised_system_account_gets_no_grant():
    # SYSTEM already holds full control of machine keys, in any language it is reported in.
    assert _accounts.normalize_account("NT-AUTORITÄT\\SYSTEM") is None
    assert _accounts.normalize_account("AUTORITE NT\\Système") is None
    assert _accounts.normalize_account("NT-AUTORITÄT\\NETZWERKDIENST") == "NT AUTHORITY\\NETWORK SERVICE"
