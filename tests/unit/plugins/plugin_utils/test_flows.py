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
    RegistryValue,
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

    def __init__(self, runs=(), files=None, services=(), version="24.2.0.1", registry=None):
        super().__init__("rs01.example.com")
        self.runs = list(runs)
        self.registry = dict(registry or {})
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

    def _read_registry(self, key, value):
        answer = self.registry.get(f"{key}\\{value}")
        if isinstance(answer, Exception):
            raise answer
        return answer or RegistryValue(key, value, False)


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


def test_the_advice_for_a_stale_instance_is_never_a_setting_that_is_already_set():
    # not asked: the advice names the setting that ends it
    with pytest.raises(AdapterError) as e:
        apply(Scripted(runs=[RunResult(-4, "", "")]))
    assert "xprotect_stop_stale_configurator: true" in e.value.message
    # asked, ended, and -4 again: another cause, not the setting
    with pytest.raises(AdapterError) as e:
        apply(Scripted(runs=[RunResult(-4, "", ""), ok(), RunResult(-4, "", "")]), stop_stale=True)
    assert "was ended" in e.value.message and "set `xprotect_stop_stale" not in e.value.message
    # asked, but no process to end (taskkill exits 128): the untrusted root is what is left
    with pytest.raises(AdapterError) as e:
        apply(Scripted(runs=[RunResult(-4, "", ""), RunResult(128, "", ""), RunResult(-4, "", "")]), stop_stale=True)
    assert "No Server Configurator process was running" in e.value.message and "Root" in e.value.message


def test_the_listing_ends_a_stale_instance_when_asked_and_says_so():
    adapter = Scripted(runs=[RunResult(-4, "", ""), ok(), ok(LISTING)])
    ids, ended = encryption_flow.list_group_ids(adapter, EXE, "rs01", ["server"], stop_stale=True)
    assert ended and ids == {"server": GUID}
    assert adapter.argvs[1][0].lower().startswith("taskkill") and "/listcertificategroups" in adapter.argvs[2]
    # not asked: nothing is ended, and the advice names the setting
    adapter = Scripted(runs=[RunResult(-4, "", "")])
    with pytest.raises(AdapterError, match="xprotect_stop_stale_configurator: true"):
        encryption_flow.list_group_ids(adapter, EXE, "rs01", ["server"])
    assert len(adapter.argvs) == 1
    # check mode ends nothing, and says that a real run would
    adapter = Scripted(runs=[RunResult(-4, "", "")])
    with pytest.raises(AdapterError, match="Check mode ends no process"):
        encryption_flow.list_group_ids(adapter, EXE, "rs01", ["server"], stop_stale=True, check_mode=True)
    assert len(adapter.argvs) == 1
    # the switch's own look-up honours the setting too
    adapter = Scripted(runs=[RunResult(-4, "", ""), ok(), ok(LISTING)])
    _exe, ids, looked_up = encryption_flow.configurator_and_ids(
        adapter, "rs01", ["server"], path=EXE, known={"path": EXE, "version": "24.2.0.1"}, stop_stale=True
    )
    assert ids == {"server": GUID} and looked_up == ["groups"]


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
    files = {r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml": "<recorderconfig/>"}
    adapter = Scripted(runs=[HostUnreachable("rs01 is unreachable")], files=files)
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


def test_override_mode_is_refused_before_anything_runs():
    from ansible_collections.xprotect.encryption.plugins.module_utils import _server_configurator

    ctx = {
        "fqdn": "rs01",
        "raw": {
            "C:\\RecorderConfig.xml": "<x>\n<overridelocalmanagementserver>true</overridelocalmanagementserver>\n</x>"
        },
    }
    with pytest.raises(AdapterError, match="only the Server Configurator GUI"):
        encryption_flow.refuse_override(ctx, _server_configurator.OVERRIDE_MARKERS)
    encryption_flow.refuse_override(
        {"fqdn": "rs01", "raw": {"C:\\x.xml": "<x/>"}}, _server_configurator.OVERRIDE_MARKERS
    )


# -- exit codes reported after a local change: returned, for the read-back to judge ----------


@pytest.mark.parametrize("code", [20, 100, 100000, 300000])
def test_codes_of_a_local_change_return_for_the_read_back(code):
    adapter = Scripted(runs=[RunResult(code, "applied, registration failed", "")])
    out = apply(adapter, "enable", thumbprint="AB" * 20, retries=3)
    assert out == {"group": "Server certificate", "action": "enable", "exit_codes": [code]}
    assert len(adapter.argvs) == 1  # not retried, not explained away


def test_a_code_of_a_local_change_after_a_retry_returns_too():
    adapter = Scripted(runs=[RunResult(20000, "", ""), RunResult(100, "", "")])
    assert apply(adapter, retries=1)["exit_codes"] == [20000, 100]


# -- certreq failures: the HRESULT table, on the reconstructed outputs --------------------


def _fixture(name):
    import pathlib

    # As win_command hands it over: CRLF line ends (stored with LF, see tests/unit/test_data/windows/README.md).
    text = (pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows" / name).read_text(encoding="utf-8")
    return text.replace("\n", "\r\n")


@pytest.mark.parametrize(
    ("name", "rc", "words"),
    [
        ("certreq_new_access_denied.txt", -2147024891, ["0x80070005", "become: true"]),
        ("certreq_new_invalid_inf.txt", -2147024883, ["0x8007000d", "INF"]),
    ],
)
def test_certreq_new_failure_is_explained_by_its_hresult(ca, name, rc, words):
    adapter = Scripted(runs=[RunResult(rc, _fixture(name), "")])
    with pytest.raises(AdapterError) as info:
        certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    message = info.value.message
    assert message.startswith(f"certreq -new failed on rs01.example.com (exit {rc}): ")
    assert all(w in message for w in words), message
    assert "Check the INF provider" not in message  # the old generic advice
    assert any(p.endswith(".inf") for p in adapter.deleted)


@pytest.mark.parametrize(
    ("name", "rc", "words"),
    [
        (
            "certreq_accept_untrusted_root.txt",
            -2146762487,
            ["CERT_E_UNTRUSTEDROOT", "LocalMachine\\Root", "trusted_ca"],
        ),
        ("certreq_accept_not_found.txt", -2146885628, ["CRYPT_E_NOT_FOUND", "no pending request"]),
    ],
)
def test_certreq_accept_failure_is_explained_by_its_hresult(ca, name, rc, words):
    new, files = _certreq(_csr(["rs01.example.com", "rs01"]))
    adapter = Scripted(runs=[new, RunResult(rc, _fixture(name), "")])
    adapter.files = files
    with pytest.raises(AdapterError) as info:
        certificate_flow.issue_on_host(adapter, dict(PARAMS), ca)
    message = info.value.message
    assert message.startswith(f"certreq -accept failed on rs01.example.com (exit {rc}): ")
    assert all(w in message for w in words), message
    assert adapter.argvs[1] == ["certreq.exe", "-accept", "-machine", "-q", adapter.argvs[1][-1]]


# -- PFX for import, leftover requests ----------------------------------------------------------


def test_the_controller_made_pfx_holds_the_leaf_and_key_only(ca):
    cert, pfx, password = certificate_flow.make_pfx(dict(PARAMS, pfx_encryption="3des"), ca)
    key, leaf, others = pki.read_pfx(pfx, password.encode())
    assert pki.thumbprint(leaf) == pki.thumbprint(cert) and pki.cert_has_private_key_match(leaf, key)
    assert others == []  # the CA goes to Root through the trust role, never into My


class Stores(Scripted):
    """A Scripted adapter with certificate stores."""

    def __init__(self, stores, runs=()):
        super().__init__(runs=runs)
        self.stores = stores
        self.removed = []

    def _list_certificates(self, store):
        return list(self.stores.get(store, []))

    def _remove_certificate(self, thumbprint, store):
        self.removed.append((store, thumbprint))
        return True


def _entry(cert, has_key=True):
    from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import CertificateEntry

    return CertificateEntry(
        thumbprint=pki.thumbprint(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=(),
        not_after=pki.not_after(cert),
        has_private_key=has_key,
        der=pki.cert_der(cert),
    )


def _placeholder(cn, key=None):
    """What certreq -new leaves in REQUEST: a self-signed certificate on the pending key."""
    key = key or pki.generate_key(2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    return pki.self_signed_builder(key.public_key(), pki.cn_name(cn), now, 365).sign(key, hashes.SHA256()), key


REMOVE_OK = RunResult(0, "", "")
REMOVE_FAILED = RunResult(
    1,
    "",
    "Remove-Item : Cannot find path 'Cert:\\LocalMachine\\REQUEST\\X' because it does not exist.\r\n"
    "    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand\r\n",
)


def test_leftover_requests_go_with_their_key_containers(ca):
    mine, _key = _placeholder("rs01.example.com")
    other, _key2 = _placeholder("rs02.example.com")
    adapter = Stores({"REQUEST": [_entry(mine), _entry(other)], "My": []}, runs=[REMOVE_OK])
    assert certificate_flow.clean_pending_requests(adapter, "rs01.example.com") == [pki.thumbprint(mine)]
    (argv,) = adapter.argvs
    assert argv[0] == "powershell.exe" and argv[-1].endswith(
        f"Cert:\\LocalMachine\\REQUEST\\{pki.thumbprint(mine)}' -DeleteKey -ErrorAction Stop"
    )
    assert adapter.removed == []  # not win_certificate_store, which would leave the key in MachineKeys


def test_a_request_whose_key_a_certificate_in_my_uses_loses_only_its_certificate(ca):
    placeholder, key = _placeholder("rs01.example.com")
    issued = pki.issue_certificate(ca, key.public_key(), "rs01.example.com", ["rs01.example.com"], (), days=30)
    adapter = Stores({"REQUEST": [_entry(placeholder)], "My": [_entry(issued)]})
    assert certificate_flow.clean_pending_requests(adapter, "rs01.example.com") == [pki.thumbprint(placeholder)]
    assert adapter.argvs == []  # the key stays: the installed certificate needs it
    assert adapter.removed == [("REQUEST", pki.thumbprint(placeholder))]


def test_a_request_powershell_cannot_remove_stays_and_is_reported(ca):
    placeholder, _key = _placeholder("rs01.example.com")
    adapter = Stores({"REQUEST": [_entry(placeholder)], "My": []}, runs=[REMOVE_FAILED])
    warnings = []
    assert certificate_flow.clean_pending_requests(adapter, "rs01.example.com", warnings=warnings) == []
    assert adapter.removed == []
    (warning,) = warnings
    assert pki.thumbprint(placeholder) in warning and "exit 1" in warning and "-DeleteKey" in warning


def test_no_pending_request_costs_one_listing():
    adapter = Stores({"REQUEST": [], "My": []})
    assert certificate_flow.clean_pending_requests(adapter, "rs01.example.com") == []
    assert adapter.call_log == ["list_certificates"]


# -- reading the bindings: registry first, netsh by shape as the fallback ------------------------
RS_CONFIG = r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml"
MS_CONFIG = r"C:\ProgramData\Milestone\XProtect Management Server\ServerConfig.xml"
TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
KEY_9001 = r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9001\SslCertHash"
RECORDER = "<recorderconfig><webapi><port>9001</port></webapi></recorderconfig>"


def _ctx(**extra):
    ctx = {"fqdn": "rs01", "address": "127.0.0.1", "port_offset": 0, "config_paths": {}, "timeout": 1}
    ctx.update(extra)
    return ctx


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_read_state_takes_the_binding_from_the_registry_without_netsh():
    reg = RegistryValue(KEY_9001.rsplit("\\", 1)[0], "SslCertHash", True, "REG_BINARY", list(bytes.fromhex(TP)))
    adapter = Scripted(files={RS_CONFIG: RECORDER}, registry={KEY_9001: reg})
    assert encryption_flow.read_state(adapter, _ctx(), ["recording"], ["server"]) == {"server": TP}
    assert adapter.argvs == []  # no netsh at all
    assert adapter.call_log == ["read_file", "read_registry"]


@pytest.mark.parametrize("why", ["absent", "unreadable"])
def test_read_state_falls_back_to_a_localised_netsh(why):
    # A German console: netsh writes code page 850, win_command decodes UTF-8, the umlauts break.
    german = (
        "\r\nSSL-Zertifikatbindungen:\r\n-------------------------\r\n\r\n"
        "    IP:Port                      : 0.0.0.0:9001\r\n"
        f"    Zertifikathash               : {TP.lower()}\r\n"
        "    Anwendungs-ID                : {c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f}\r\n"
        "    Zertifikatspeichername       : My\r\n"
        "    Clientzertifikatsperrung überprüfen : Enabled\r\n\r\n"
    )
    console = german.encode("cp850").decode("utf-8", errors="replace")
    assert "\ufffd" in console
    registry = {KEY_9001: AdapterError("win_reg_stat failed: access is denied")} if why == "unreadable" else {}
    adapter = Scripted(runs=[ok(console)], files={RS_CONFIG: RECORDER}, registry=registry)
    assert encryption_flow.read_state(adapter, _ctx(), ["recording"], ["server"]) == {"server": TP}
    assert adapter.argvs == [["netsh", "http", "show", "sslcert"]]


def test_read_state_reads_the_mobile_config_beside_the_service_executable():
    exe = r"D:\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe"
    services = [
        ServiceInfo(
            "Milestone XProtect Mobile Server", "Milestone XProtect Mobile Server", "LAB\\svc", f'"{exe}"', "started"
        )
    ]
    mobile = (
        "<configuration><HttpSecureMetaChannel><Address><add key='Port' value='8443' />"
        "<add key='Ip' value='+' /></Address></HttpSecureMetaChannel></configuration>"
    )
    key = r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:8443\SslCertHash"
    reg = RegistryValue("", "SslCertHash", True, "REG_BINARY", list(bytes.fromhex(TP)))
    adapter = Scripted(files={exe + ".config": mobile}, services=services, registry={key: reg})
    assert encryption_flow.read_state(adapter, _ctx(), ["mobile"], ["mobile"]) == {"mobile": TP}


def test_management_server_reads_its_web_api_binding_not_a_customer_443():
    customer = (
        "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"
        "    IP:port                      : 0.0.0.0:443\r\n"
        "    Certificate Hash             : ffffffffffffffffffffffffffffffffffffffff\r\n"
        "    Application ID               : {4dc3e181-e14b-4a21-b022-59fc669b0914}\r\n"
        "    Certificate Store Name       : My\r\n\r\n"
    )
    server = "<server><WebApiConfig><Port>9000</Port></WebApiConfig></server>"
    adapter = Scripted(runs=[ok(customer)], files={MS_CONFIG: server})
    ctx = _ctx()
    assert encryption_flow.read_state(adapter, ctx, ["management"], ["server"]) == {"server": None}
    assert "0.0.0.0:9000" in ctx["reasons"]["server"] and "0.0.0.0:443" in ctx["reasons"]["server"]


def test_cold_standby_failover_streaming_is_unknown_not_disabled():
    port = _free_port()  # nothing listens there: a failover server on cold standby
    reg = RegistryValue("", "SslCertHash", True, "REG_BINARY", list(bytes.fromhex(TP)))
    adapter = Scripted(files={RS_CONFIG: RECORDER}, registry={KEY_9001: reg})
    ctx = _ctx(port_offset=port - 7563)
    state = encryption_flow.read_state(adapter, ctx, ["failover"], ["server", "streaming"])
    assert state == {"server": TP, "streaming": "UNKNOWN"}
    assert "cold-standby" in ctx["reasons"]["streaming"]
    # A recording server that does not answer is a fault, not an unknown.
    with pytest.raises(AdapterError, match="did not answer"):
        encryption_flow.read_state(adapter, ctx, ["recording"], ["server", "streaming"])
