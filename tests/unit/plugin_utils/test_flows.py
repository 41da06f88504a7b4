"""The host-side flows against a scripted adapter: the faults a real host can throw at them."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow, encryption_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    HostAdapter,
    HostUnreachable,
    RunResult,
    ServiceInfo,
)

GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
EXE = "C:\\Program Files\\Milestone\\Server Configurator\\ServerConfigurator.exe"
LISTING = (
    "Found 'Server certificate' group with ID = 84430eb7-847c-422d-aa00-7915cd0d7a65\r\n"
    "Found 'Streaming media certificate' group with ID = 549df21d-047c-456b-958e-99e65dd8b3ec\r\n"
)


class Scripted(HostAdapter):
    """An adapter whose answers are scripted per call; it records what was asked."""

    kind = "test"

    def __init__(self, runs=(), files=None, services=(), version="24.2.0.1"):
        super().__init__("rs01.example.com")
        self.runs = list(runs)
        self.files = dict(files or {})
        self.services = list(services)
        self.version = version
        self.argvs = []
        self.written = {}
        self.deleted = []

    def _run(self, argv):
        self.argvs.append(argv)
        answer = self.runs.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(argv) if callable(answer) else answer

    def _read_file(self, path):
        if path not in self.files:
            raise AdapterError(f"{path} not found")
        return self.files[path]

    def _write_file(self, path, content):
        self.written[path] = content
        return True

    def _delete_file(self, path):
        self.deleted.append(path)
        return True

    def _list_services(self, name):
        return self.services

    def _file_version(self, path):
        return self.version

    def _list_certificates(self, store):
        return []


SERVICES = [
    ServiceInfo(
        "MilestoneRecordingServerService",
        "Milestone XProtect Recording Server",
        "NT AUTHORITY\\NetworkService",
        '"C:\\Program Files\\Milestone\\XProtect Recording Server\\RecordingServer.exe"',
        "started",
    )
]


def ok(stdout=""):
    return RunResult(0, stdout, "")


def test_locate_configurator_refuses_missing_old_and_absent_services():
    assert encryption_flow.locate_configurator(Scripted(services=SERVICES), "rs01", None) == EXE
    with pytest.raises(AdapterError, match="no Milestone XProtect service"):
        encryption_flow.locate_configurator(Scripted(services=[]), "rs01", None)
    with pytest.raises(AdapterError, match="missing at"):
        encryption_flow.locate_configurator(Scripted(services=SERVICES, version=None), "rs01", None)
    with pytest.raises(AdapterError, match="older than 20.3"):
        encryption_flow.locate_configurator(Scripted(services=SERVICES, version="20.2.0.0"), "rs01", None)


def test_group_ids_by_name_and_a_failing_listing():
    ids = encryption_flow.group_ids(Scripted(runs=[ok(LISTING)]), EXE, "rs01", ["server", "streaming"])
    assert ids == {
        "server": "84430eb7-847c-422d-aa00-7915cd0d7a65",
        "streaming": "549df21d-047c-456b-958e-99e65dd8b3ec",
    }
    with pytest.raises(AdapterError, match="-4"):
        encryption_flow.group_ids(Scripted(runs=[RunResult(-4, "", "")]), EXE, "rs01", ["server"])


def test_a_listing_without_the_group_names_it():
    with pytest.raises(AdapterError, match="rs01: Server Configurator lists no 'Mobile streaming media certificate'"):
        encryption_flow.group_ids(Scripted(runs=[ok(LISTING)]), EXE, "rs01", ["mobile"])


KNOWN = {"path": EXE, "version": "24.2.0.1", "group_ids": {"server": GUID.upper(), "streaming": GUID}}


def test_what_the_preflight_found_is_not_looked_up_again():
    adapter = Scripted()
    assert encryption_flow.configurator_and_ids(adapter, "rs01", ["server"], known=KNOWN) == (EXE, {"server": GUID}, [])
    assert adapter.calls == 0
    # The same file named by the task (case, quotes) still uses it.
    quoted = f'"{EXE.upper()}"'
    assert encryption_flow.configurator_and_ids(adapter, "rs01", ["server"], path=quoted, known=KNOWN)[1] == {
        "server": GUID
    }
    assert adapter.calls == 0


def test_what_the_preflight_lacks_is_looked_up():
    # No group IDs: one listing, no service or version look-up.
    adapter = Scripted(runs=[ok(LISTING)])
    found = encryption_flow.configurator_and_ids(adapter, "rs01", ["server"], known={"path": EXE, "version": "24.2"})
    assert found == (EXE, {"server": GUID}, ["groups"]) and adapter.calls == 1
    # Another path given to the task: nothing known is used.
    adapter = Scripted(runs=[ok(LISTING)])
    found = encryption_flow.configurator_and_ids(
        adapter, "rs01", ["server"], path="D:\\SC\\ServerConfigurator.exe", known=KNOWN
    )
    assert found[2] == ["version", "groups"] and adapter.calls == 2
    # Nothing known: services, version, listing.
    adapter = Scripted(runs=[ok(LISTING)], services=SERVICES)
    found = encryption_flow.configurator_and_ids(adapter, "rs01", ["server"])
    assert found[::2] == (EXE, ["services", "version", "groups"])
    assert adapter.calls == 3


def test_what_the_preflight_found_is_still_checked():
    with pytest.raises(AdapterError, match="older than 20.3"):
        encryption_flow.configurator_and_ids(Scripted(), "rs01", ["server"], known=dict(KNOWN, version="20.2.0.0"))
    with pytest.raises(AdapterError, match=r"configurator.group_ids.server: 'nope' is not a certificate group GUID"):
        encryption_flow.configurator_and_ids(
            Scripted(), "rs01", ["server"], known=dict(KNOWN, group_ids={"server": "nope"})
        )


def apply(adapter, action="disable", **kw):
    """One Server Configurator change for the Server certificate group of rs01."""
    return encryption_flow.apply_change(
        adapter, EXE, "rs01", guid=GUID, group="Server certificate", action=action, **kw
    )


def test_apply_change_names_the_group_and_always_passes_it():
    adapter = Scripted(runs=[ok()])
    out = apply(adapter, "enable", thumbprint="AB" * 20)
    assert out["exit_codes"] == [0]
    argv = adapter.argvs[0]
    assert f"/certificategroup={GUID}" in argv and f"/thumbprint={'AB' * 20}" in argv and "/quiet" in argv


def test_apply_change_retries_service_restart_codes_then_explains():
    adapter = Scripted(runs=[RunResult(10000, "", ""), RunResult(20000, "", ""), ok()])
    out = apply(adapter, retries=2)
    assert out["exit_codes"] == [10000, 20000, 0]
    adapter = Scripted(runs=[RunResult(10000, "", "")] * 3)
    with pytest.raises(AdapterError, match=r"Exit codes seen: \[10000, 10000, 10000\]"):
        apply(adapter, retries=2)


def test_stale_instance_is_ended_only_when_asked():
    adapter = Scripted(runs=[RunResult(-4, "", ""), ok(), ok()])
    out = apply(adapter, stop_stale=True)
    assert out["exit_codes"] == [-4, 0]
    assert adapter.argvs[1][0].lower().startswith("taskkill")
    with pytest.raises(AdapterError, match="another instance"):
        apply(Scripted(runs=[RunResult(-4, "", "")]))


def test_unknown_exit_code_names_the_code_and_the_log():
    with pytest.raises(AdapterError) as e:
        apply(Scripted(runs=[RunResult(4711, "", "")]))
    assert "4711" in e.value.message and "log" in e.value.message.lower()


def test_read_state_names_a_missing_config_file():
    adapter = Scripted(runs=[ok("")])
    ctx = {"fqdn": "rs01", "address": "127.0.0.1", "port_offset": 0, "config_paths": {}, "timeout": 1}
    with pytest.raises(AdapterError, match="cannot read the XProtect recording configuration"):
        encryption_flow.read_state(adapter, ctx, ["recording"], ["server"])


def test_settle_reraises_unreachable_at_once():
    adapter = Scripted(runs=[HostUnreachable("rs01 is unreachable")])
    ctx = {"fqdn": "rs01", "address": "127.0.0.1", "port_offset": 0, "config_paths": {}, "timeout": 1}
    with pytest.raises(HostUnreachable):
        encryption_flow.settle(adapter, ctx, ["recording"], ["server"], {"server": "AA"}, timeout=30, interval=0)


# -- the certreq flow ---------------------------------------------------------------------


def _csr(names, bits=2048):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    from cryptography import x509

    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def ca():
    return pki.create_ca(key_size=3072, now=datetime.datetime.now(datetime.timezone.utc))


PARAMS = {
    "fqdn": "rs01.example.com",
    "dns_names": [],
    "temp_dir": "C:\\Windows\\Temp",
    "key_length": 2048,
    "provider": "Microsoft RSA SChannel Cryptographic Provider",
    "validity_days": 730,
}


def _certreq(csr_text):
    files = {}

    def new(argv):
        files[argv[-1]] = csr_text
        return ok("CertReq: Request Created")

    return new, files


def test_a_csr_for_names_that_are_not_the_hosts_is_refused_and_nothing_signed(ca):
    new, files = _certreq(_csr(["mgmt.example.com", "rs01.example.com"]))
    adapter = Scripted(runs=[new])
    adapter.files = files
    with pytest.raises(pki.PkiError, match="mgmt.example.com"):
        certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    assert not [p for p in adapter.written if p.endswith(".cer")]
    assert len(adapter.argvs) == 1  # no certreq -accept
    assert set(adapter.written) <= set(adapter.deleted)  # the INF does not stay behind


def test_certreq_failures_are_explained_and_files_cleaned(ca):
    adapter = Scripted(runs=[RunResult(-2146893802, "", "Keyset does not exist")])
    with pytest.raises(AdapterError, match="certreq -new failed on rs01.example.com"):
        certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    assert any(p.endswith(".inf") for p in adapter.deleted)

    new, files = _certreq(_csr(["rs01.example.com", "rs01"]))
    adapter = Scripted(runs=[new, RunResult(-2146885628, "Cannot find object or property. 0x80092004", "")])
    adapter.files = files
    with pytest.raises(AdapterError, match="certreq -accept failed"):
        certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    assert {p.rsplit(".", 1)[1] for p in adapter.deleted} == {"inf", "csr", "cer"}


def test_certreq_flow_signs_the_hosts_own_request(ca):
    new, files = _certreq(_csr(["rs01.example.com", "rs01"]))
    adapter = Scripted(runs=[new, ok("Installed Certificate")])
    adapter.files = files
    thumbprint = certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    cer = next(v for p, v in adapter.written.items() if p.endswith(".cer"))
    cert = pki.load_certificate(cer.encode())
    assert pki.thumbprint(cert) == thumbprint and pki.verify_issued_by(cert, ca.cert)
    assert adapter.argvs[0][:3] == ["certreq.exe", "-new", "-machine"]
    assert adapter.argvs[1][:3] == ["certreq.exe", "-accept", "-machine"]
    inf = next(v for p, v in adapter.written.items() if p.endswith(".inf"))
    assert "MachineKeySet" in inf and "Exportable" in inf


# -- a PFX the user supplies ------------------------------------------------------------------


def _pfx(tmp_path, ca, names, name="host.pfx"):
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(ca, key.public_key(), names[0], names)
    path = tmp_path / name
    path.write_bytes(pki.write_pfx(key, cert, [ca.cert], b"pfx-pass", names[0]))
    return path, cert


def _supplied(path, **extra):
    return dict(PARAMS, pfx_path=str(path), pfx_passphrase="pfx-pass", renew_before=30, **extra)


def test_a_supplied_pfx_for_the_host_is_accepted(tmp_path, ca):
    path, cert = _pfx(tmp_path, ca, ["rs01.example.com", "rs01"])
    got, data, password = certificate_flow.supplied_pfx(_supplied(path), ca.cert)
    assert pki.thumbprint(got) == pki.thumbprint(cert) and data == path.read_bytes() and password == "pfx-pass"


def test_a_supplied_pfx_for_another_host_is_refused_naming_file_host_and_names(tmp_path, ca):
    path, _cert = _pfx(tmp_path, ca, ["mgmt.example.com", "mgmt"])
    with pytest.raises(pki.PkiError) as info:
        certificate_flow.supplied_pfx(_supplied(path), ca.cert)
    assert info.value.option == "pfx_path"
    assert str(info.value).startswith(
        f"pfx_path: {path} cannot serve rs01.example.com: names missing: rs01.example.com, rs01 "
        "(certificate has: mgmt.example.com, mgmt). Nothing was imported."
    )


def test_a_supplied_pfx_of_another_ca_or_expiring_soon_is_refused(tmp_path, ca):
    other = pki.create_ca("Another CA", key_size=3072)
    path, _cert = _pfx(tmp_path, other, ["rs01.example.com", "rs01"])
    with pytest.raises(pki.PkiError, match="certificate is not issued by this CA"):
        certificate_flow.supplied_pfx(_supplied(path), ca.cert)
    path, _cert = _pfx(tmp_path, ca, ["rs01.example.com", "rs01"], "soon.pfx")
    with pytest.raises(pki.PkiError, match=r"certificate expires in \d+ days \(renew_before 800\)"):
        certificate_flow.supplied_pfx(dict(_supplied(path), renew_before=800), ca.cert)
    with pytest.raises(pki.PkiError, match="pfx_path: /nonexistent.pfx does not exist"):
        certificate_flow.supplied_pfx(_supplied("/nonexistent.pfx"), ca.cert)


def test_override_mode_is_refused_before_anything_runs():
    from ansible_collections.xprotect.encryption.plugins.module_utils import xprotect

    ctx = {
        "fqdn": "rs01",
        "raw": {
            "C:\\RecorderConfig.xml": "<x>\n<overridelocalmanagementserver>true</overridelocalmanagementserver>\n</x>"
        },
    }
    with pytest.raises(AdapterError, match="only the Server Configurator GUI"):
        encryption_flow.refuse_override(ctx, xprotect.OVERRIDE_MARKERS)
    encryption_flow.refuse_override({"fqdn": "rs01", "raw": {"C:\\x.xml": "<x/>"}}, xprotect.OVERRIDE_MARKERS)
