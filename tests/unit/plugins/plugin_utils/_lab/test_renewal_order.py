# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A renewal never interrupts video: the key's Read right comes before the certificate.

XProtect picks up a renewed certificate with the same subject as soon as it is in My [H]; the
lab does the same in the transaction that installs it. These tests drive the server
certificate flow (``plugin_utils/certificate_flow.py``) against a lab host whose streaming
media is encrypted, and read the lab's event log.
"""

from __future__ import annotations

import pytest
from lab_helpers import CL, MS, RS, adapter, enable

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

PARAMS = {
    "fqdn": RS,
    "dns_names": [],
    "ip_addresses": [],
    "key_length": 2048,
    "provider": "Microsoft RSA SChannel Cryptographic Provider",
    "validity_days": 740,  # later than the certificate in place, so that it is picked up
    "_clamp_to_ca": False,
    "temp_dir": "C:\\Windows\\Temp",
}


def _encrypted(lab, tps):
    assert enable(lab, MS, "server", tps[MS]).rc == 0
    assert enable(lab, RS, "server", tps[RS]).rc == 0
    assert enable(lab, RS, "streaming", tps[RS]).rc == 0
    assert model.read_json(lab.file("connectivity.json"))["video"][CL][RS] is True
    return len(lab.events())


def test_certreq_renewal_grants_the_pending_key_before_the_certificate_appears(lab, ca, prepared):
    start = _encrypted(lab, prepared)
    a = adapter(lab, RS)
    readers = flow.service_key_readers(a, [])
    new = flow.issue_on_host(a, dict(PARAMS), ca, readers)
    assert new != prepared[RS]
    log = lab.events()[start:]
    kinds = [(e["host"], e["event"]) for e in log]
    granted = kinds.index((RS, "key_access_granted"))
    assert log[granted]["store"] == "REQUEST"
    assert granted < kinds.index((RS, "certificate_installed")) < kinds.index((RS, "certificate_renewed"))
    # The service picked the new certificate up at once, and clients never lost video.
    assert lab.read_state(RS)["encryption"]["streaming"]["thumbprint"] == new
    assert [e for e in log if e["event"] == "video_changed"] == []
    # The right went with the key: granting it again on My changes nothing.
    assert flow.grant_key_access(a, new, readers, check=False) == []


def test_without_the_early_grant_the_lab_shows_the_interruption(lab, ca, prepared):
    # The lab must be able to show the defect this order prevents, or the test above proves nothing.
    start = _encrypted(lab, prepared)
    a = adapter(lab, RS)
    new = flow.issue_on_host(a, dict(PARAMS), ca)
    flow.grant_key_access(a, new, flow.service_key_readers(a, []), check=False)
    video = [e["video"] for e in lab.events()[start:] if e["event"] == "video_changed" and e["host"] == CL]
    assert video == [False, True]


def test_a_pending_request_that_is_gone_stops_before_anything_is_installed(lab, ca, prepared, monkeypatch):
    a = adapter(lab, RS)
    before = {e.thumbprint for e in a.list_certificates("My")}
    monkeypatch.setattr(type(a), "_list_certificates", lambda self, store: [])
    with pytest.raises(AdapterError, match="no pending request with the new key in LocalMachine.REQUEST"):
        flow.issue_on_host(a, dict(PARAMS), ca, ["NT AUTHORITY\\NetworkService"])
    monkeypatch.undo()
    assert {e.thumbprint for e in a.list_certificates("My")} == before
    assert pki.thumbprint(ca.cert) not in before
