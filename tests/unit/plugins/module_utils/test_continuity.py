# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""continuity.py: which CA is ours, what the site shows of it, and the message that stops a run."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import continuity, pki

NAME = pki.CA_COMMON_NAME


@dataclasses.dataclass(frozen=True)
class Entry:
    """What the adapter lists of a store entry (only the fields read here)."""

    thumbprint: str
    der: bytes


def entry(cert) -> Entry:
    return Entry(pki.thumbprint(cert), pki.cert_der(cert))


@pytest.fixture(scope="module")
def ours():
    return pki.create_ca(key_size=3072)


@pytest.fixture(scope="module")
def second_of_ours():
    return pki.create_ca(key_size=3072)  # the same default name: a second controller's CA


def test_ours_is_a_ca_certificate_with_the_collections_name(ours, site_ca, server_cert):
    assert continuity.is_ours(ours.cert, [NAME])
    assert continuity.is_ours(ours.cert, [NAME.upper()])  # without case
    assert not continuity.is_ours(site_ca.cert, [NAME])  # another name: a company CA is never ours
    assert continuity.is_ours(site_ca.cert, ["Test Site CA"])  # ... unless it is the configured name
    assert not continuity.is_ours(server_cert, [pki.common_names(server_cert.subject)[0]])  # not a CA


def test_ca_entries_lists_ca_certificates_and_filters_by_name(ours, site_ca, server_cert):
    listing = [entry(server_cert), entry(site_ca.cert), entry(ours.cert), Entry("00" * 20, b"\x30\x00junk")]
    every = continuity.ca_entries(listing)
    assert [e["thumbprint"] for e in every] == [site_ca.thumbprint, ours.thumbprint]
    (only,) = continuity.ca_entries(listing, [NAME])
    assert only == {
        "thumbprint": ours.thumbprint,
        "subject": f"CN={NAME}",
        "not_after": pki.iso_z(pki.not_after(ours.cert)),
        "self_signed": True,
    }


def _roots(*cas, failed=False):
    if failed:
        return {"xprotect_ca_roots": {"failed": True, "msg": "win_certificate_info failed"}}
    return {"xprotect_ca_roots": {"certificates": [continuity.ca_entries([entry(c.cert)])[0] for c in cas]}}


def _probe(label, port, leaf_issuer, chain_ca=None):
    chain = [{"subject": f"CN={label}", "issuer": leaf_issuer, "thumbprint": "AA" * 20}]
    if chain_ca is not None:
        chain.append({"subject": chain_ca.cert.subject.rfc4514_string(), "thumbprint": chain_ca.thumbprint})
    return {"label": label, "port": port, "tls": True, "chain": chain}


def test_nothing_of_ours_on_a_new_site(site_ca):
    hostvars = {"ms": _roots(site_ca), "cl": _roots()}
    probes = [_probe("ms", 443, "CN=Corporate Issuing CA"), {"label": "rs", "port": 7563, "tls": False}]
    found = continuity.evidence(["ms", "cl"], hostvars, probes, [NAME])
    assert found == {"found": False, "cas": [], "unread": []}


def test_root_stores_and_served_certificates_name_the_ca_once(ours):
    hostvars = {"ms": _roots(ours), "rs": _roots(ours), "cl": _roots(failed=True), "off": {}}
    probes = [_probe("rs", 7563, f"CN={NAME}"), _probe("ms", 443, f"CN={NAME}", chain_ca=ours)]
    found = continuity.evidence(["ms", "rs", "cl", "off"], hostvars, probes, [NAME])
    assert found["found"] is True
    assert found["cas"] == [
        {
            "subject": f"CN={NAME}",
            "thumbprint": ours.thumbprint,
            "trusted_on": ["ms", "rs"],
            "served_by": ["rs:7563", "ms:443"],
        }
    ]
    assert found["unread"] == ["cl", "off"]


def test_served_certificates_alone_are_enough(ours):
    # Every Root store unreadable (or cleaned), but the servers still serve what our CA issued.
    found = continuity.evidence(["rs"], {"rs": _roots(failed=True)}, [_probe("rs", 9001, f"CN={NAME}")], [NAME])
    assert found["found"] is True
    assert found["cas"][0]["thumbprint"] is None and found["cas"][0]["served_by"] == ["rs:9001"]
    assert "thumbprint not served; see the Root store of the servers" in continuity.stop_message(found, "/pki")


def test_two_cas_of_ours_are_both_named(ours, second_of_ours):
    hostvars = {"ms": _roots(ours), "cl": _roots(second_of_ours)}
    found = continuity.evidence(["ms", "cl"], hostvars, [], [NAME])
    assert sorted(ca["thumbprint"] for ca in found["cas"]) == sorted([ours.thumbprint, second_of_ours.thumbprint])


def test_a_skipped_read_is_no_evidence_and_not_unread():
    found = continuity.evidence(["ms"], {"ms": {"xprotect_ca_roots": {"skipped": True}}}, [], [NAME])
    assert found == {"found": False, "cas": [], "unread": []}


def test_the_message_names_subject_thumbprint_where_and_both_ways_on(ours):
    hosts = [f"rs{i:03d}" for i in range(8)]
    hostvars = {h: _roots(ours) for h in hosts}
    found = continuity.evidence(hosts, hostvars, [_probe("ms", 443, f"CN={NAME}", chain_ca=ours)], [NAME])
    message = continuity.stop_message(found, "/home/ops/.xprotect/pki")
    assert message.startswith("No CA in /home/ops/.xprotect/pki, so this run would create a new one")
    assert f"CN={NAME} (thumbprint {ours.thumbprint})" in message
    assert "in LocalMachine\\Root on rs000, rs001, rs002, rs003, rs004 and 3 more" in message
    assert "issuer of the certificates served on ms:443" in message
    assert "Nothing was changed." in message
    assert "Restore ca.crt and ca.key of that CA into /home/ops/.xprotect/pki" in message
    assert "xprotect_ca_allow_new: true" in message
