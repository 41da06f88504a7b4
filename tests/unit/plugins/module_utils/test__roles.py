# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_roles.py: the one role table (inventory groups, certificate groups, key-reading services)."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _groups,
    _roles,
    _text,
    coverage,
    hoststate,
    inventory,
    settings,
)


@pytest.mark.parametrize(
    ("roles", "groups"),
    [
        (["management"], ["server"]),
        (["recording"], ["server", "streaming"]),
        (["failover"], ["server", "streaming"]),
        (["mobile"], ["mobile"]),
        (["event"], ["event"]),
        (["client"], []),
        (["mobile", "management", "recording"], ["server", "streaming", "mobile"]),
        ([], []),
    ],
)
def test_groups_for_roles(roles, groups):
    assert _roles.groups_for_roles(roles) == groups


def test_groups_for_unknown_role_names_it():
    with pytest.raises(_text.XProtectError, match="'smartclient'"):
        _roles.groups_for_roles(["recording", "smartclient"])


def test_the_table_is_the_inventory_contract():
    # design.md's inventory contract, group for group; every other module takes its names from here.
    assert _roles.INVENTORY_GROUPS == {
        "management": "xprotect_management_servers",
        "recording": "xprotect_recording_servers",
        "failover": "xprotect_failover_servers",
        "mobile": "xprotect_mobile_servers",
        "event": "xprotect_event_servers",
        "client": "xprotect_clients",
    }
    assert {g: r for r, g in _roles.INVENTORY_GROUPS.items()} == _roles.GROUP_ROLES
    assert _roles.SERVER_ROLES == ("management", "recording", "failover", "mobile", "event")
    assert "xprotect_clients" not in _roles.SERVER_GROUPS and len(_roles.SERVER_GROUPS) == 5
    assert all(set(groups) <= set(_groups.GROUPS) for groups in _roles.ROLE_GROUPS.values())


def test_users_of_the_table_take_their_names_from_it():
    assert coverage.CONTRACT_GROUPS == tuple(_roles.INVENTORY_GROUPS.values())
    assert (inventory.GROUP_MANAGEMENT, inventory.GROUP_RECORDING, inventory.GROUP_FAILOVER) == (
        coverage.GROUP_MANAGEMENT,
        coverage.GROUP_RECORDING,
        coverage.GROUP_FAILOVER,
    )
    assert hoststate.roles_from_groups(list(_roles.GROUP_ROLES)) == list(_roles.ROLES)
    assert settings.SERVER_GROUPS == _roles.SERVER_GROUPS


@pytest.mark.parametrize(
    ("roles", "group", "reader"),
    [
        (["recording"], "server", "recording"),
        (["recording"], "streaming", "recording"),
        (["failover"], "server", "failover"),
        # A combined recording + failover box: the recording server's account reads the key.
        (["failover", "recording"], "streaming", "recording"),
        (["management"], "server", None),
        (["management", "recording"], "server", "recording"),
        (["mobile"], "mobile", "mobile"),
        (["mobile"], "server", None),
        (["event"], "event", "event"),
        (["client"], "server", None),
    ],
)
def test_key_reader_role(roles, group, reader):
    assert _roles.key_reader_role(roles, group) == reader


def test_key_reader_services_are_the_roles_that_read_the_key():
    assert dict(_roles.KEY_READER_SERVICES) == {
        "recording": ("recording server",),
        "failover": ("failover",),
        "mobile": ("mobile server",),
        "event": ("event server",),
    }


REPO = pathlib.Path(__file__).resolve().parents[4]
_GROUPS_EXPR = re.compile(r"groups\s*\[\s*['\"](xprotect_\w+)['\"]\s*\]")


def _group_mentions(node, key=None):
    """Inventory group names a playbook or role names: in host patterns, in groups['...'], and
    as items of a list of groups."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _group_mentions(v, k)
    elif isinstance(node, list):
        names = [v for v in node if isinstance(v, str)]
        # A list of groups: only xprotect_* names, at least one of them a group of the table.
        if (
            names
            and len(names) == len(node)
            and all(v.startswith("xprotect_") for v in names)
            and any(v in _roles.GROUP_ROLES for v in names)
        ):
            yield from names
        elif key == "hosts":
            yield from (n for n in names if n.startswith("xprotect_"))
        for v in node:
            yield from _group_mentions(v, key)
    elif isinstance(node, str):
        if key == "hosts":
            for raw in re.split(r"[:,]", node):
                token = raw.strip().lstrip("!&")
                if token.startswith("xprotect_"):
                    yield token
        yield from _GROUPS_EXPR.findall(node)


def test_every_group_a_playbook_or_role_names_is_in_the_table():
    # The YAML copies of the group names (host patterns, group lists) cannot import the table;
    # a typo there silently leaves hosts out of a phase, so each name is checked against it.
    files = sorted((REPO / "playbooks").rglob("*.yml")) + sorted((REPO / "roles").rglob("*.yml"))
    seen = set()
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for name in _group_mentions(doc):
                assert name in _roles.GROUP_ROLES, f"{path.relative_to(REPO)} names {name!r}, not a group of _roles"
                seen.add(name)
    # The scan finds the rollout's groups at all (it would pass vacuously on an empty tree).
    assert {"xprotect_management_servers", "xprotect_recording_servers", "xprotect_clients"} <= seen
