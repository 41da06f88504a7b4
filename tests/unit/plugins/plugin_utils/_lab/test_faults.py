# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fault kind of lab_fault, and its bad input."""

from __future__ import annotations

import os

import pytest
from lab_helpers import CL, EV, MOB, MS, RS, adapter, enable, events, group_state

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs, faults, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.spec import FAULTS

PFX_PW = {"pw": "pw", "secret": "secret", "wrong": "wrong"}  # test-only PFX passphrases


def encrypt_site(lab, tps):
    enable(lab, MS, "server", tps[MS])
    enable(lab, RS, "server", tps[RS])
    enable(lab, RS, "streaming", tps[RS])
    enable(lab, MOB, "mobile", tps[MOB])


def connected(lab, host):
    return model.read_json(lab.file("connectivity.json"))["connected"][host]


def video(lab, client, rs):
    return model.read_json(lab.file("connectivity.json"))["video"][client][rs]


def test_unknown_fault_and_host(lab):
    with pytest.raises(model.LabError, match="Unknown fault 'explode'") as info:
        faults.inject(lab, RS, "explode")
    assert info.value.option == "fault"
    with pytest.raises(model.LabError, match="is not in the lab site") as info:
        faults.inject(lab, "nope.lab.xprotect.test", "clear")
    assert info.value.option == "host"
    assert not events(lab, "fault_injected")


@pytest.mark.parametrize(
    "fault, value, match",
    [
        ("configurator_exit", None, "needs value"),
        ("configurator_exit", "abc", "'abc' is not allowed; give a whole number from -2147483648 to 4294967295"),
        ("configurator_exit", 2**40, "is not allowed; give a whole number"),
        ("stale_configurator", 0, "0 is not allowed; give a whole number from 1 to 1000 runs"),
        ("slow_restart", "soon", "'soon' is not allowed; give a number from 0 to 3600 seconds"),
        ("slow_restart", -1, "-1 is not allowed; give a number from 0 to 3600 seconds"),
        ("slow_restart", "nan", "'nan' is not allowed"),
        ("slow_restart", 1e20, "1e\\+20 is not allowed"),
        ("unreachable", "maybe", "true or false"),
        ("disable_encryption", "nonsense", "has no certificate group"),
    ],
)
def test_bad_values_change_nothing(lab, fault, value, match):
    before = lab.read_state(RS)
    with pytest.raises(model.LabError, match=match) as info:
        faults.inject(lab, RS, fault, value)
    assert info.value.option == "value"
    assert lab.read_state(RS) == before


def test_every_fault_is_documented_and_handled():
    for fault in FAULTS:
        assert callable(getattr(faults, "_" + fault))
    doc = open(os.path.join(os.path.dirname(faults.__file__), "..", "..", "modules", "lab_fault.py")).read()
    for fault in FAULTS:
        assert fault in doc


def test_conditions_are_logged_and_cleared(lab):
    r = faults.inject(lab, RS, "configurator_exit", "10000")
    assert r["changed"] and "without changing anything" in r["detail"]
    assert not faults.inject(lab, RS, "configurator_exit", 10000)["changed"]
    faults.inject(lab, RS, "slow_restart", 2.5)
    faults.inject(lab, RS, "stale_configurator", 2)
    faults.inject(lab, RS, "unreachable")
    assert lab.read_state(RS)["faults"] == {
        "configurator_exit": 10000,
        "slow_restart": 2.5,
        "stale_configurator": 2,
        "unreachable": True,
    }
    assert [e["fault"] for e in events(lab, "fault_injected", RS)] == [
        "configurator_exit",
        "slow_restart",
        "stale_configurator",
        "unreachable",
    ]
    r = faults.inject(lab, RS, "clear")
    assert r["changed"] and lab.read_state(RS)["faults"] == {}
    assert not faults.inject(lab, RS, "clear")["changed"]
    assert not faults.inject(lab, RS, "slow_restart", 0)["changed"]


def test_unreachable_drops_connectivity_and_endpoints(lab):
    assert connected(lab, RS) is True and video(lab, CL, RS) is True
    faults.inject(lab, RS, "unreachable", True)
    assert connected(lab, RS) is False and video(lab, CL, RS) is False
    status = model.read_json(lab.file("status.json"))["hosts"][RS]
    assert status["reachable"] is False and status["endpoints"] == []
    assert events(lab, "connectivity_changed", RS)[-1]["connected"] is False
    faults.inject(lab, RS, "unreachable", "false")
    assert connected(lab, RS) is True


def test_remove_trusted_ca(lab, prepared, ca):
    encrypt_site(lab, prepared)
    assert video(lab, CL, RS) is True
    r = faults.inject(lab, CL, "remove_trusted_ca")
    assert r["changed"] and ca.thumbprint in r["detail"]
    assert ca.thumbprint not in [c.thumbprint for c in adapter(lab, CL).list_certificates("Root")]
    assert len(adapter(lab, CL).list_certificates("Root")) == 1  # the stand-in for Windows' roots stays
    assert video(lab, CL, RS) is False
    ev = events(lab, "video_changed", CL)[-1]
    assert ev["recording_server"] == RS and ev["video"] is False
    assert events(lab, "ca_removed", CL)[-1]["fault"] is True
    assert not faults.inject(lab, CL, "remove_trusted_ca")["changed"]
    # The recording server without the CA cannot verify the management server: disconnected.
    faults.inject(lab, RS, "remove_trusted_ca", ca.thumbprint)
    assert connected(lab, RS) is False


def test_remove_trusted_ca_without_a_site_ca_removes_our_roots(lab, ca):
    os.unlink(os.path.join(lab.pki_dir, "ca.crt"))
    a = adapter(lab, CL)
    a.write_file("C:\\Windows\\Temp\\ca.crt", ca.cert_pem)
    a.import_certificate("C:\\Windows\\Temp\\ca.crt", "Root")
    assert faults.inject(lab, CL, "remove_trusted_ca")["changed"]
    assert [c.subject for c in a.list_certificates("Root")] == ["CN=Lab Stand-in Root (Windows built-in roots)"]


def test_disable_encryption_behind_our_back(lab, prepared):
    encrypt_site(lab, prepared)
    # No rule is checked: the recording server goes off although the management server is on.
    r = faults.inject(lab, RS, "disable_encryption", "Server certificate")
    assert r["changed"] and r["detail"] == "disabled: Server certificate"
    assert not group_state(lab, RS, "server")["enabled"] and group_state(lab, RS, "streaming")["enabled"]
    assert connected(lab, RS) is False
    assert events(lab, "encryption_disabled", RS)[-1] == {
        **events(lab, "encryption_disabled", RS)[-1],
        "group": "Server certificate",
        "fault": True,
    }
    faults.inject(lab, MS, "disable_encryption")
    assert not group_state(lab, MS, "server")["enabled"]
    assert connected(lab, RS) is True  # both off again
    assert not faults.inject(lab, MS, "disable_encryption")["changed"]


def test_expire_certificate(lab, prepared, ca):
    encrypt_site(lab, prepared)
    old = prepared[RS]
    r = faults.inject(lab, RS, "expire_certificate")
    (rep,) = r["replaced"]
    assert rep["old"] == old
    new = group_state(lab, RS, "server")["thumbprint"]
    assert new == rep["new"] == group_state(lab, RS, "streaming")["thumbprint"]
    (entry,) = adapter(lab, RS).list_certificates("My")
    assert entry.thumbprint == new and entry.has_private_key
    cert = pki.load_certificate(entry.der)
    assert pki.not_after(cert) < pki.utcnow()
    assert pki.verify_issued_by(cert, ca.cert)
    assert certs.names(cert) == [RS, "rs001"]  # the same names as the certificate it replaced
    assert connected(lab, RS) is False and video(lab, CL, RS) is False
    netsh = adapter(lab, RS).run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"]).stdout
    assert new.lower() in netsh


def test_expire_certificate_needs_the_site_ca(lab, prepared):
    encrypt_site(lab, prepared)
    os.unlink(os.path.join(lab.pki_dir, "ca.key"))
    with pytest.raises(model.LabError, match="site CA, which is not there"):
        faults.inject(lab, RS, "expire_certificate")


def test_expire_certificate_needs_a_bound_certificate(lab, prepared):
    with pytest.raises(model.LabError, match="no certificate bound"):
        faults.inject(lab, RS, "expire_certificate")


def test_expire_refuses_a_certificate_of_another_ca(lab, other_ca):
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(other_ca, key.public_key(), MS, [MS], clamp_to_ca=True)
    a = adapter(lab, MS)
    a.write_file("C:\\Windows\\Temp\\o.crt", other_ca.cert_pem)
    a.import_certificate("C:\\Windows\\Temp\\o.crt", "Root")
    a.write_file("C:\\Windows\\Temp\\o.pfx", pki.write_pfx(key, cert, [], b"pw", MS))
    tp = a.import_certificate("C:\\Windows\\Temp\\o.pfx", "My", password=PFX_PW["pw"])[0]
    assert enable(lab, MS, "server", tp).rc == 0
    with pytest.raises(model.LabError, match="not issued by the site CA"):
        faults.inject(lab, MS, "expire_certificate")
    assert group_state(lab, MS, "server")["thumbprint"] == tp


def test_wrong_name_certificate(lab, prepared):
    encrypt_site(lab, prepared)
    faults.inject(lab, MS, "wrong_name_certificate")
    (entry,) = adapter(lab, MS).list_certificates("My")
    assert entry.dns_names[0] == "wrong-name.lab.xprotect.test"
    assert group_state(lab, MS, "server")["thumbprint"] == entry.thumbprint
    assert connected(lab, RS) is False  # the recording server checks the management server's name
    faults.inject(lab, MOB, "wrong_name_certificate", "elsewhere.example.com")
    assert adapter(lab, MOB).list_certificates("My")[0].subject == "CN=elsewhere.example.com"


def test_remove_key_acl(lab, prepared):
    encrypt_site(lab, prepared)
    assert video(lab, CL, RS) is True
    r = faults.inject(lab, RS, "remove_key_acl")
    assert r["changed"]
    assert events(lab, "key_access_revoked", RS)[-1]["account"] == "NT AUTHORITY\\NetworkService"
    # Without it the 7563 handshake fails and clients get no video [L].
    assert video(lab, CL, RS) is False
    status = model.read_json(lab.file("status.json"))["hosts"][RS]
    image = next(e for e in status["endpoints"] if e["name"] == "image-server")
    assert image["handshake"] is False and image["thumbprint"] is None
    assert not faults.inject(lab, RS, "remove_key_acl")["changed"]
    assert adapter(lab, RS).grant_key_read(prepared[RS], "NT AUTHORITY\\NETWORK SERVICE")
    assert video(lab, CL, RS) is True


def test_faults_do_not_apply_to_hosts_without_groups(lab):
    with pytest.raises(model.LabError, match="no certificate bound"):
        faults.inject(lab, CL, "expire_certificate")
    assert not faults.inject(lab, CL, "disable_encryption")["changed"]
    assert not faults.inject(lab, EV, "remove_key_acl")["changed"]


@pytest.mark.parametrize(
    "code, applied, switched",
    [(100, True, True), (20, True, True), (100, False, False), (20, False, False), (10000, True, True)],
)
def test_configurator_exit_applied_option_decides_whatever_the_code(lab, prepared, code, applied, switched):
    r = faults.inject(lab, MS, "configurator_exit", code, applied=applied)
    assert r["changed"] and ("after applying" in r["detail"]) is switched
    assert lab.read_state(MS)["faults"] == {"configurator_exit": code, "configurator_exit_applied": applied}
    assert enable(lab, MS, "server", prepared[MS]).rc == code
    assert bool(group_state(lab, MS, "server").get("enabled")) is switched
    assert lab.read_state(MS)["faults"] == {}  # used up, with its option


def test_applied_is_only_for_configurator_exit_and_cleared_with_it(lab):
    with pytest.raises(model.LabError, match="only for fault configurator_exit") as info:
        faults.inject(lab, RS, "slow_restart", 1, applied=True)
    assert info.value.option == "applied"
    faults.inject(lab, RS, "configurator_exit", 100, applied=False)
    assert not faults.inject(lab, RS, "configurator_exit", 100, applied=False)["changed"]
    assert faults.inject(lab, RS, "configurator_exit", 100)["changed"]  # back to the code's meaning
    assert "configurator_exit_applied" not in lab.read_state(RS)["faults"]
    faults.inject(lab, RS, "configurator_exit", 100, applied=True)
    faults.inject(lab, RS, "clear")
    assert lab.read_state(RS)["faults"] == {}


@pytest.mark.parametrize(
    ("fault", "value", "expected"),
    [
        ("configurator_exit", "10000", 10000),
        ("configurator_exit", -4, -4),
        ("configurator_exit", 4294967295, 4294967295),
        ("stale_configurator", None, 1),
        ("stale_configurator", "3", 3),
        ("slow_restart", "2.5", 2.5),
        ("slow_restart", 0, 0),
        ("unreachable", "no", False),
        ("remove_key_acl", "LAB\\svc", "LAB\\svc"),
    ],
)
def test_condition_values_are_checked_and_normalised(fault, value, expected):
    assert faults.check_value(fault, value) == expected


@pytest.mark.parametrize(
    ("fault", "value"),
    [("slow_restart", "nan"), ("slow_restart", 1e20), ("slow_restart", -1), ("stale_configurator", 0)],
)
def test_a_bad_value_is_refused_before_the_host_changes(lab, fault, value):
    before = open(lab.state_path(RS), "rb").read()
    with pytest.raises(model.LabError, match=f"Fault {fault}: value: .* is not allowed") as e:
        faults.inject(lab, RS, fault, value)
    assert e.value.option == "value"
    assert open(lab.state_path(RS), "rb").read() == before
