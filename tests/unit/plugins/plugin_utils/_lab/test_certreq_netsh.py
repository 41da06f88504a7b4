# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's certreq and netsh: arguments, output texts, exit codes, and the CSR itself."""

from __future__ import annotations

import pytest
from cryptography import x509
from lab_helpers import MOB, MS, RS, TEMP, adapter, certreq, enable, events, openssl, trust

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, _netsh, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import powershell
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, programs

INF = TEMP + "\\r.inf"
CSR = TEMP + "\\r.csr"
CER = TEMP + "\\r.cer"


def new_request(a, host, names=None, bits=2048):
    a.write_file(INF, _certreq.certreq_inf(host, names or pki.host_names(host), key_length=bits))
    return a.run(["certreq.exe", "-new", "-q", "-f", INF, CSR])


def test_certreq_new_writes_a_real_pkcs10_request(lab, tmp_path):
    a = adapter(lab, RS)
    res = new_request(a, RS)
    assert (res.rc, res.stdout) == (0, "\r\nCertReq: Request Created\r\n")
    text = a.read_file(CSR)
    assert text.startswith("-----BEGIN NEW CERTIFICATE REQUEST-----\r\n")
    assert text.rstrip().endswith("-----END NEW CERTIFICATE REQUEST-----")
    csr = x509.load_pem_x509_csr(text.encode())
    assert csr.is_signature_valid
    assert csr.public_key().key_size == 2048
    assert csr.subject.rfc4514_string() == f"CN={RS}"
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [RS, "rs001"]
    # The other helper's CSR check accepts it for the host's names.
    pki.check_csr(text.encode(), pki.host_names(RS), host=RS)
    # And openssl agrees, independently.
    path = tmp_path / "r.csr"
    path.write_text(text)
    out = openssl("req", "-in", str(path), "-noout", "-verify", "-text")
    assert out.returncode == 0, out.stderr
    assert b"verify OK" in out.stdout + out.stderr
    assert b"DNS:rs001.lab.xprotect.test, DNS:rs001" in out.stdout
    # The pending key sits in the REQUEST store, as on Windows.
    pending = a.list_certificates("REQUEST")
    assert len(pending) == 1 and pending[0].has_private_key and pending[0].subject == f"CN={RS}"
    assert events(lab, "certificate_requested", RS)[-1]["key_length"] == 2048


def test_key_length_comes_from_the_inf(lab):
    a = adapter(lab, RS)
    assert new_request(a, RS, bits=3072).rc == 0
    assert x509.load_pem_x509_csr(a.read_file(CSR).encode()).public_key().key_size == 3072


def test_two_requests_leave_two_pending_keys_and_accept_picks_the_right_one(lab, ca):
    trust(lab, RS, ca)
    a = adapter(lab, RS)
    new_request(a, RS)
    first = a.read_file(CSR)
    new_request(a, RS)
    assert len(a.list_certificates("REQUEST")) == 2
    csr = pki.check_csr(first.encode(), pki.host_names(RS), host=RS)
    cert = pki.sign_csr(ca, csr, RS, pki.host_names(RS), clamp_to_ca=True)
    a.write_file(CER, pki.cert_pem(cert))
    res = a.run(["certreq", "-accept", "-q", CER])
    assert res.rc == 0
    assert res.stdout.startswith("Installed Certificate:\r\n  Serial Number: ")
    assert f"  Thumbprint: {pki.thumbprint(cert).lower()}\r\n" in res.stdout
    assert f"  Subject: CN={RS}\r\n" in res.stdout
    my = a.list_certificates("My")
    assert [(c.thumbprint, c.has_private_key) for c in my] == [(pki.thumbprint(cert), True)]
    assert my[0].dns_names == (RS, RS, "rs001")  # the simple name first, as win_certificate_info
    assert len(a.list_certificates("REQUEST")) == 1  # the other request is still pending
    # win_certificate_store state=absent removes the leftover's certificate, not its key container.
    left = a.list_certificates("REQUEST")[0]
    state = lab.read_state(RS)
    assert model.orphan_keys(lab, RS, state) == []
    assert a.remove_certificate(left.thumbprint, "REQUEST")
    assert a.list_certificates("REQUEST") == []
    assert model.orphan_keys(lab, RS, lab.read_state(RS)) == [left.thumbprint]


def test_remove_item_delete_key_takes_the_key_container_too(lab):
    a = adapter(lab, RS)
    new_request(a, RS)
    (left,) = a.list_certificates("REQUEST")
    res = a.run(powershell.remove_with_key_argv("REQUEST", left.thumbprint))
    assert (res.rc, res.stdout, res.stderr) == (0, "", "")
    assert a.list_certificates("REQUEST") == []
    assert model.orphan_keys(lab, RS, lab.read_state(RS)) == []
    assert events(lab, "request_removed", RS)[-1]["key_deleted"] is True
    # Gone already: PowerShell's error and exit code 1.
    res = a.run(powershell.remove_with_key_argv("REQUEST", left.thumbprint))
    assert res.rc == 1 and "PathNotFound" in res.stderr


def test_the_labs_powershell_runs_nothing_else(lab):
    res = adapter(lab, RS).run(["powershell.exe", "-NoProfile", "-Command", "Get-Item Cert:\\LocalMachine\\My"])
    assert res.rc == 1 and "runs only" in res.stderr


def test_accept_without_a_matching_request_fails_as_certreq(lab, ca):
    trust(lab, RS, ca)
    a = adapter(lab, RS)
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(ca, key.public_key(), RS, [RS], clamp_to_ca=True)
    a.write_file(CER, pki.cert_pem(cert))
    res = a.run(["certreq", "-accept", "-q", CER])
    assert res.rc == -2146885628
    assert res.stdout == (
        "Certificate Request Processor: Cannot find object or property. 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)\r\n"
    )
    assert a.list_certificates("My") == []


def test_accept_of_a_certificate_from_an_untrusted_root_fails(lab, ca):
    a = adapter(lab, RS)  # the CA is not in Root yet
    new_request(a, RS)
    csr = pki.check_csr(a.read_file(CSR).encode(), pki.host_names(RS), host=RS)
    a.write_file(CER, pki.cert_pem(pki.sign_csr(ca, csr, RS, pki.host_names(RS), clamp_to_ca=True)))
    res = a.run(["certreq", "-accept", "-q", CER])
    assert res.rc == -2146762487
    assert "0x800b0109 (-2146762487 CERT_E_UNTRUSTEDROOT)" in res.stdout
    assert a.list_certificates("My") == [] and len(a.list_certificates("REQUEST")) == 1
    trust(lab, RS, ca)
    assert a.run(["certreq", "-accept", "-q", CER]).rc == 0


def test_accept_takes_der_and_bare_base64(lab, ca):
    import base64

    trust(lab, RS, ca)
    a = adapter(lab, RS)
    for encode in (pki.cert_der, lambda c: base64.b64encode(pki.cert_der(c))):
        new_request(a, RS)
        csr = pki.check_csr(a.read_file(CSR).encode(), pki.host_names(RS), host=RS)
        cert = pki.sign_csr(ca, csr, RS, pki.host_names(RS), clamp_to_ca=True)
        a.write_file(CER, encode(cert))
        assert a.run(["certreq", "-accept", CER]).rc == 0
    assert len(a.list_certificates("My")) == 2


@pytest.mark.parametrize(
    "argv, code",
    [
        (["certreq", "-new", "-q", TEMP + "\\missing.inf", CSR], 0x80070002),
        (["certreq", "-new", "-q"], 0x80070057),
        (["certreq", "-accept", TEMP + "\\missing.cer"], 0x80070002),
        (["certreq", "-frob", "x"], 0x80070057),
        (["certreq", "-new", "-accept", "x"], 0x80070057),
    ],
)
def test_certreq_errors_use_the_hresult_as_exit_code(lab, argv, code):
    res = adapter(lab, RS).run(argv)
    assert res.rc == code - (1 << 32)
    assert res.stdout.startswith("Certificate Request Processor: ")
    assert f"0x{code:08x}" in res.stdout


def test_certreq_new_does_not_overwrite_without_f(lab):
    a = adapter(lab, RS)
    new_request(a, RS)
    res = a.run(["certreq", "-new", "-q", INF, CSR])
    assert res.rc == 0x80070050 - (1 << 32) and "The file exists." in res.stdout


@pytest.mark.parametrize("inf", ["garbage", "[NewRequest]\r\nKeyLength = 2048\r\n"])
def test_certreq_new_refuses_a_bad_inf(lab, inf):
    a = adapter(lab, RS)
    a.write_file(INF, inf)
    res = a.run(["certreq", "-new", "-q", "-f", INF, CSR])
    assert res.rc == 0x8007000D - (1 << 32) and "The data is invalid." in res.stdout


def test_certreq_reads_a_utf16_inf(lab):
    a = adapter(lab, RS)
    a.write_file(INF, ("\ufeff" + _certreq.certreq_inf(RS, [RS])).encode("utf-16-le"))
    assert a.run(["C:\\Windows\\System32\\certreq.exe", "-new", "-q", "-f", INF, CSR]).rc == 0


# ---- netsh ------------------------------------------------------------------------------------


def test_netsh_without_bindings(lab):
    a = adapter(lab, MS)
    res = a.run(["netsh", "http", "show", "sslcert"])
    assert res.rc == 0
    assert res.stdout == "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"
    missing = a.run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:443"])
    assert missing.rc == 1
    assert "The system cannot find the file specified." in missing.stdout
    assert _netsh.NETSH_NO_BINDING in missing.stdout


def test_netsh_shows_the_bindings_of_encrypted_groups(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    enable(lab, RS, "server", prepared[RS])
    enable(lab, MOB, "mobile", prepared[MOB])
    ms = adapter(lab, MS).run(["netsh", "http", "show", "sslcert"])
    parsed = _netsh.parse_netsh_sslcert(ms.stdout)
    assert [(b["port"], b["thumbprint"]) for b in parsed] == [(443, prepared[MS]), (9000, prepared[MS])]
    assert f"    Certificate Hash             : {prepared[MS].lower()}\r\n" in ms.stdout
    assert "    IP:port                      : 0.0.0.0:443\r\n" in ms.stdout
    rs = adapter(lab, RS).run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"])
    assert _netsh.binding_for_port(_netsh.parse_netsh_sslcert(rs.stdout), 9001) == prepared[RS]
    mob = adapter(lab, MOB).run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:8082"])
    assert _netsh.binding_for_port(_netsh.parse_netsh_sslcert(mob.stdout), 8082) == prepared[MOB]


@pytest.mark.parametrize("args", [["http", "show", "urlacl"], ["http", "show", "sslcert", "hostnameport=x:443"]])
def test_netsh_other_commands(lab, args):
    assert adapter(lab, MS).run(["netsh", *args]).rc == 1


def test_programs_not_on_the_host(lab):
    from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

    a = adapter(lab, MS)
    with pytest.raises(AdapterError, match="Could not locate the following executable certutil.exe"):
        a.run(["certutil.exe", "-store", "My"])
    with pytest.raises(AdapterError, match="Could not locate"):
        a.run(["D:\\tools\\certreq.exe", "-new"])
    with pytest.raises(AdapterError, match="Could not locate"):
        a.run(["ServerConfigurator.exe", "/listcertificategroups"])
    with pytest.raises(AdapterError, match="argv is empty"):
        a.run([])


def test_program_name_helper():
    assert programs._exe('"C:\\Program Files\\X\\ServerConfigurator.EXE"') == "serverconfigurator"
    assert programs._system_tool("netsh") and programs._system_tool("C:/Windows/System32/netsh.exe")
    assert not programs._system_tool("C:\\Temp\\netsh.exe")


def test_certreq_flow_helper_round_trip(lab, ca):
    trust(lab, MS, ca)
    tp = certreq(lab, MS, ca)
    assert [c.thumbprint for c in adapter(lab, MS).list_certificates("My")] == [tp]
