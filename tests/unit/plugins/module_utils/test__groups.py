# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_groups.py: the certificate groups of the facts file and the /listcertificategroups parser."""

from __future__ import annotations

import pytest
from windows_output import EVENT_GUID, MOBILE_GUID, SERVER_GUID, STREAMING_GUID, fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _groups, _text


def test_groups_match_the_facts_file():
    assert {k: (g.name, g.default_guid) for k, g in _groups.GROUPS.items()} == {
        "server": ("Server certificate", SERVER_GUID),
        "streaming": ("Streaming media certificate", STREAMING_GUID),
        "mobile": ("Mobile streaming media certificate", MOBILE_GUID),
        "event": ("Event server", EVENT_GUID),
    }


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Server certificate", "server"),
        ("  server   CERTIFICATE ", "server"),
        ("Streaming media certificate", "streaming"),
        ("Mobile streaming media certificate", "mobile"),
        ("Event server and extensions", "event"),
        ("Event Server", "event"),
        ("Something else", None),
    ],
)
def test_group_key_for_name(name, key):
    assert _groups.group_key_for_name(name) == key


# ---------------------------------------------------------------- /listcertificategroups
def test_parse_certificate_groups_fixture():
    groups = _groups.parse_certificate_groups(fixture("listcertificategroups.txt"))
    assert groups == {
        "Server certificate": SERVER_GUID,
        "Streaming media certificate": STREAMING_GUID,
        "Mobile streaming media certificate": MOBILE_GUID,
        "Event server and extensions": EVENT_GUID,
    }


def test_parse_certificate_groups_tolerates_variants():
    text = (
        "\ufeffMilestone XProtect Server Configurator\r\n"
        "\r\n"
        '  found "Server certificate" group with id={84430EB7-847C-422D-AA00-7915CD0D7A65}\r\n'
        "Found \u2018Streaming media certificate\u2019 group with ID = 549df21d-047c-456b-958e-99e65dd8b3ec   \r\n"
        "garbage line with ID = not-a-guid\r\n"
    )
    assert _groups.parse_certificate_groups(text) == {
        "Server certificate": SERVER_GUID,
        "Streaming media certificate": STREAMING_GUID,
    }
    assert _groups.parse_certificate_groups("") == {}
    assert _groups.parse_certificate_groups(None) == {}


def test_resolve_group_ids_by_name_even_with_other_guids():
    listing = {"Server certificate": "11111111-2222-3333-4444-555555555555", "Event server and extensions": EVENT_GUID}
    assert _groups.resolve_group_ids(listing, ["server", "event"]) == {
        "server": "11111111-2222-3333-4444-555555555555",
        "event": EVENT_GUID,
    }


def test_resolve_group_ids_falls_back_to_default_guid_for_translated_names():
    listing = {"Serverzertifikat": SERVER_GUID.upper()}
    assert _groups.resolve_group_ids(listing, ["server"]) == {"server": SERVER_GUID}


def test_resolve_group_ids_missing_group_names_it_and_lists_what_was_found():
    listing = _groups.parse_certificate_groups(fixture("listcertificategroups_recording_only.txt"))
    with pytest.raises(_text.XProtectError) as err:
        _groups.resolve_group_ids(listing, ["server", "mobile"])
    msg = str(err.value)
    assert "'Mobile streaming media certificate'" in msg
    assert "'Server certificate' = 84430eb7" in msg
    assert "roles" in msg


def test_resolve_group_ids_empty_listing_and_unknown_key():
    with pytest.raises(_text.XProtectError, match="no groups at all"):
        _groups.resolve_group_ids({}, ["server"])
    with pytest.raises(_text.XProtectError, match="unknown certificate group 'video'"):
        _groups.resolve_group_ids({"Server certificate": SERVER_GUID}, ["video"])
