# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trusted_ca_info: the CA certificates of a lab host's Root store, and its documentation."""

from __future__ import annotations

import yaml
from lab_helpers import CL, RS, adapter, trust

from ansible_collections.xprotect.encryption.plugins.action import trusted_ca_info as action
from ansible_collections.xprotect.encryption.plugins.modules import trusted_ca_info as docs


def _work(lab, host, names):
    plugin = action.ActionModule.__new__(action.ActionModule)
    a = adapter(lab, host)
    return plugin.work({"common_names": names}, a, {"inventory_hostname": host}), a


def test_lists_the_cas_of_the_collection_in_root_in_one_round_trip(lab, ca, other_ca):
    trust(lab, RS, ca)
    trust(lab, RS, other_ca)
    result, a = _work(lab, RS, ["xprotect vms root ca"])
    assert [c["thumbprint"] for c in result["certificates"]] == [ca.thumbprint]
    assert result["certificates"][0]["subject"] == "CN=XProtect VMS Root CA"
    assert result["certificates"][0]["self_signed"] is True
    assert result["changed"] is False and a.calls == 1
    every, _a = _work(lab, RS, [])
    assert {c["thumbprint"] for c in every["certificates"]} >= {ca.thumbprint, other_ca.thumbprint}


def test_a_host_without_our_ca_lists_nothing(lab, other_ca):
    trust(lab, CL, other_ca)
    result, _a = _work(lab, CL, ["XProtect VMS Root CA"])
    assert result["certificates"] == []


def test_documentation_matches_the_argument_spec():
    options = yaml.safe_load(docs.DOCUMENTATION)["options"]
    assert set(options) == set(action.ActionModule.argument_spec)
    for name, spec in action.ActionModule.argument_spec.items():
        assert options[name]["type"] == spec["type"]
        assert options[name].get("default") == spec.get("default")
