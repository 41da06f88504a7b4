# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helpers of the action plugins' base class: the CA given as one option, thumbprint options
(the plugins themselves run against a scripted host in tests/unit/plugins/action)."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action


def test_the_ca_option_is_the_files_under_path_unless_content_is_given():
    assert action.ca_options({"ca": {"path": "/pki/", "cert_content": "", "passphrase": "pw"}}) == {
        "ca_cert_path": "/pki/ca.crt",
        "ca_key_path": "/pki/ca.key",
        "ca_passphrase": "pw",
    }
    # Content wins even with path set: the roles always pass both, the AWX credential fills content.
    assert action.ca_options({"ca": {"path": "/pki", "cert_content": "PEM", "key_content": "KEY"}}) == {
        "ca_cert_content": "PEM",
        "ca_key_content": "KEY",
        "ca_passphrase": None,
    }


def test_without_ca_the_flat_options_are_taken_as_given():
    args = {"ca": None, "ca_cert_path": "/x/ca.crt", "ca_cert_content": None}
    assert action.ca_options(args)["ca_cert_path"] == "/x/ca.crt"


@pytest.mark.parametrize("ca", [{"path": "", "cert_content": ""}, {"passphrase": "pw"}])
def test_a_ca_with_neither_path_nor_content_is_refused_naming_it(ca):
    with pytest.raises(validate.ArgumentError, match=r"^ca: ") as info:
        action.ca_options({"ca": ca})
    assert info.value.option == "ca"


def test_no_action_plugin_reads_a_role_variable():
    """Roles pass their variables as arguments (issue 14). What the plugins and their flows still
    take from the host's variables is Ansible's own (inventory_hostname, group_names, ansible_host)
    and the inventory contract's host name and roles; the settings action, whose job is to check
    the variables a playbook reads, takes them from its own table."""
    import pathlib
    import re

    root = pathlib.Path(action.__file__).resolve().parents[1]
    sources = [*root.glob("action/*.py"), *root.glob("plugin_utils/*.py")]
    named = set()
    for path in sources:
        if path.name.startswith("lab_") or path.name == "adapter.py":  # the lab's, and the adapter's choice
            continue
        named |= set(re.findall(r"task_vars(?:\.get\(|\[)\s*[\"'](\w+)", path.read_text()))
    assert named <= {
        "inventory_hostname",
        "group_names",
        "ansible_host",
        "ansible_delegated_vars",
        "xprotect_fqdn",
        "xprotect_roles",
    }, named
    assert not hasattr(action.XProtectAction, "host_var_defaults")


# -- thumbprint options, normalised by the one normaliser when the arguments are validated ------
def test_thumbprint_options_are_normalised_in_place():
    rules = {"thumbprint": validate.thumbprint, "retired": validate.list_of(validate.thumbprint)}
    args = {"thumbprint": "\u200e6a 3f 9c 01 d2 e4 5b 77 80 aa 19 c3 4e 5f 60 71 82 93 a4 b5", "retired": None}
    validate.apply(args, rules)
    assert args == {"thumbprint": "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5", "retired": None}
    args = {"retired": ["aa" * 20, "\u200e" + "bb " * 20]}
    validate.apply(args, rules)
    assert args == {"retired": ["AA" * 20, "BB" * 20]}


def test_a_bad_entry_is_named_by_its_option():
    with pytest.raises(validate.ArgumentError, match=r"retired") as info:
        validate.apply({"retired": ["aa" * 20, "old CA"]}, {"retired": validate.list_of(validate.thumbprint)})
    assert "old CA" in str(info.value)
