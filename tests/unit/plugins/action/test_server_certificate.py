# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_certificate against a scripted host: a good certificate kept (and its key's Read right
checked), a missing one issued - by certreq on the host, or as a PFX made on the controller -
and check mode that only says what it would do."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .conftest import FQDN, Host, ServiceInfo, entry, ok

NETWORK_SERVICE = "NT AUTHORITY\\NETWORK SERVICE"
NAMES = pki.host_names(FQDN)  # the FQDN and its short name
# A recording server's service: its account must read the certificate's key.
RECORDER = ServiceInfo(
    "Milestone XProtect Recording Server",
    "Milestone XProtect Recording Server",
    "NT AUTHORITY\\NetworkService",
    '"C:\\Program Files\\Milestone\\XProtect Recording Server\\RecordingServer.exe"',
    "started",
)


def server(**kw):
    return Host(services=[RECORDER], **kw)


@pytest.fixture(scope="module")
def issued(site_ca):
    """A certificate of the site CA for the host, as if issued by an earlier run."""
    key = pki.generate_key(2048)
    return pki.issue_certificate(site_ca, key.public_key(), FQDN, NAMES, (), days=365)


def ca_args(ca_dir):
    return {"ca": {"path": str(ca_dir), "passphrase": "a passphrase"}}


def test_a_good_certificate_is_kept_at_the_cost_of_one_read(run_action, ca_dir, issued):
    host = server(stores={"My": [entry(issued)]})
    result = run_action("server_certificate", ca_args(ca_dir), host)
    assert result["changed"] is False and result["reasons"] == []
    assert result["thumbprint"] == pki.thumbprint(issued) and result["days_left"] in (364, 365)
    assert host.call_log == ["list_certificates"]


def test_a_key_its_service_cannot_read_is_reported_in_check_mode_and_granted_otherwise(run_action, ca_dir, issued):
    host = server(stores={"My": [entry(issued)]}, unreadable_keys=[NETWORK_SERVICE])
    args = dict(ca_args(ca_dir), verify_key_access=True)
    check = run_action("server_certificate", args, host, check=True, diff=True)
    assert check["changed"] is True and check["reasons"] == [f"private key not readable by {NETWORK_SERVICE}"]
    assert check["diff"]["before"] == {"key_readers": []} and check["diff"]["after"] == {
        "key_readers": [NETWORK_SERVICE]
    }
    assert [g[2] for g in host.grants] == [True]  # only asked
    result = run_action("server_certificate", args, host)
    assert result["changed"] is True and host.grants[-1] == (pki.thumbprint(issued), NETWORK_SERVICE, False, "My")
    again = run_action("server_certificate", args, host)
    assert again["changed"] is False and again["key_readers"] == [NETWORK_SERVICE]


def test_check_mode_says_it_would_issue_and_touches_nothing(run_action, ca_dir):
    host = server(stores={"My": []})
    result = run_action("server_certificate", ca_args(ca_dir), host, check=True)
    assert result["changed"] is True and result["msg"] == "Would issue a new certificate: no certificate"
    assert host.call_log == ["list_certificates"] and host.written == {}


def test_a_pfx_made_on_the_controller_is_imported_checked_and_deleted(run_action, ca_dir, site_ca):
    host = server(stores={"My": []})
    result = run_action("server_certificate", dict(ca_args(ca_dir), key_source="pfx"), host)
    assert result["changed"] is True
    pfx_path = f"C:\\Windows\\Temp\\xprotect-{FQDN}.pfx"
    assert host.imported == [(pfx_path, "My")] and host.deleted == [pfx_path]
    installed = host.stores["My"][0]
    assert result["thumbprint"] == installed.thumbprint and installed.has_private_key
    cert = pki.load_certificate(installed.der)
    assert pki.verify_issued_by(cert, site_ca.cert) and result["key_readers"] == [NETWORK_SERVICE]
    assert host.grants == [(installed.thumbprint, NETWORK_SERVICE, False, "My")]
    assert host.call_log == [
        "list_certificates",  # My, to decide
        "list_services",  # the accounts that must read the key
        "write_file",
        "import_certificate",
        "delete_file",
        "list_certificates",  # My again: it landed with its key
        "grant_key_read",
    ]


def test_the_certreq_flow_signs_the_hosts_own_request(run_action, ca_dir, site_ca):
    """certreq -new makes the key on the host; only the CSR comes back, the controller signs it,
    certreq -accept installs it."""
    host_key = pki.generate_key(2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject)
    request = request.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]), critical=False)
    csr = request.sign(host_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    # What certreq -new leaves in REQUEST: a self-signed placeholder on the pending key.
    now = datetime.datetime.now(datetime.timezone.utc)
    placeholder = pki.self_signed_builder(host_key.public_key(), subject, now, 1).sign(host_key, hashes.SHA256())
    host = server(stores={"My": [], "REQUEST": [entry(placeholder, has_key=True)]})

    def certreq_new(argv):
        host.files[argv[-1]] = csr
        return ok("CertReq: Request Created")

    def certreq_accept(argv):
        cert = pki.load_certificate(host.files[argv[-1]].encode())
        host.stores["My"].append(entry(cert, has_key=True))
        host.stores["REQUEST"] = []
        return ok("Installed Certificate")

    host.runs = [certreq_new, certreq_accept]
    result = run_action("server_certificate", ca_args(ca_dir), host)
    assert result["changed"] is True and [a[0] for a in host.argvs] == ["certreq.exe", "certreq.exe"]
    installed = pki.load_certificate(host.stores["My"][0].der)
    assert pki.verify_issued_by(installed, site_ca.cert)
    assert pki.public_key_der(installed.public_key()) == pki.public_key_der(host_key.public_key())
    # The key's Read right is set on the pending request, before -accept makes it visible.
    assert host.grants[0] == (pki.thumbprint(placeholder), NETWORK_SERVICE, False, "REQUEST")
    assert sorted(host.deleted) == sorted(f"C:\\Windows\\Temp\\xprotect-{FQDN}.{ext}" for ext in ("inf", "csr", "cer"))


def test_a_ca_without_its_key_fails_only_when_something_must_be_signed(run_action, site_ca, issued):
    args = {"ca": {"cert_content": site_ca.cert_pem}}
    kept = run_action("server_certificate", args, server(stores={"My": [entry(issued)]}))
    assert kept["changed"] is False
    failed = run_action("server_certificate", args, server(stores={"My": []}))
    assert failed["failed"] is True and failed["msg"].startswith("ca: ") and "ca_key_content" in failed["msg"]
