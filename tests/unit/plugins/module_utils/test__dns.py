# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_dns.py: the one DNS name matcher (RFC 6125 / RFC 9525), and that every user of it agrees."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _dns, reissue, tls_probe
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        # Exact names, without case and without the trailing dot of an absolute name.
        ("rs01.vms.example.com", "rs01.vms.example.com", True),
        ("RS01.VMS.example.com.", "rs01.vms.example.com", True),
        ("rs01.vms.example.com", "RS01.vms.example.com.", True),
        ("rs01.vms.example.com", "rs02.vms.example.com", False),
        ("rs01", "rs01.vms.example.com", False),
        # A wildcard is the whole left-most label and stands for exactly one label.
        ("*.vms.example.com", "rs01.vms.example.com", True),
        ("*.VMS.example.com", "RS01.vms.example.com.", True),
        ("*.vms.example.com", "vms.example.com", False),
        ("*.vms.example.com", "a.rs01.vms.example.com", False),
        ("*.vms.example.com", ".vms.example.com", False),
        ("*.example.com", "rs01.vms.example.com", False),
        # No partial-label wildcard, none further right, none twice (RFC 9525 6.3).
        ("rs*.vms.example.com", "rs01.vms.example.com", False),
        ("*s01.vms.example.com", "rs01.vms.example.com", False),
        ("rs01.*.example.com", "rs01.vms.example.com", False),
        ("*.*.example.com", "rs01.vms.example.com", False),
        ("*.*.example.com", "a.*.example.com", False),
        ("*", "rs01", False),
        ("*.", "rs01.", False),
        # A wildcard never covers an address; names empty on either side never match.
        ("*.0.0.1", "127.0.0.1", False),
        ("*.168.1.10", "192.168.1.10", False),
        ("", "rs01.vms.example.com", False),
        ("*.vms.example.com", "", False),
    ],
)
def test_dns_name_matches(pattern, name, matches):
    assert _dns.dns_name_matches(pattern, name) is matches


@pytest.fixture
def wildcard_cert(cert_factory, site_ca, server_key):
    return cert_factory(site_ca, server_key.public_key(), cn="node.vms.example.com", dns=["*.VMS.example.com."])


@pytest.mark.parametrize(
    ("name", "covered"),
    [
        ("rs01.vms.example.com", True),
        ("RS01.vms.example.com.", True),
        ("vms.example.com", False),
        ("a.rs01.vms.example.com", False),
        ("rs01.example.com", False),
    ],
)
def test_reissue_probe_and_lab_agree(wildcard_cert, name, covered):
    # The re-issue policy, the TLS probe and the lab's TLS client used to carry three matchers
    # with different rules; they must now give one answer.
    assert (reissue.missing_names(wildcard_cert, [name]) == []) is covered
    assert tls_probe.name_matches(wildcard_cert, name) is covered
    assert certs.covers(wildcard_cert, name) is covered
