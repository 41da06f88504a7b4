# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trusted_ca against a scripted host: the CA added to Root once, retired CAs removed, check mode
and diff read-only, and the CA given as the roles give it (``ca``)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .conftest import Host, entry


@pytest.fixture(scope="module")
def old_ca():
    return pki.create_ca("Former CA", key_size=3072, now=datetime.datetime.now(datetime.timezone.utc))


def test_a_missing_ca_is_written_imported_and_its_file_deleted(run_action, site_ca, ca_dir):
    host = Host(stores={"Root": []})
    result = run_action("trusted_ca", {"ca": {"path": str(ca_dir)}}, host)
    assert result["changed"] is True and result["reasons"] == ["CA missing from Root"]
    assert result["thumbprint"] == site_ca.thumbprint
    path = f"C:\\Windows\\Temp\\xprotect-ca-{site_ca.thumbprint}.crt"
    assert host.imported == [(path, "Root")] and host.deleted == [path]
    assert host.call_log == ["list_certificates", "write_file", "import_certificate", "delete_file"]
    assert result["round_trips"] == 4
    # The second run finds it: one read, no change.
    host.call_log.clear()
    again = run_action("trusted_ca", {"ca_cert_path": str(ca_dir / "ca.crt")}, host)
    assert again["changed"] is False and again["reasons"] == [] and host.call_log == ["list_certificates"]


def test_check_mode_reports_with_a_diff_and_touches_nothing(run_action, site_ca, old_ca):
    host = Host(stores={"Root": [entry(old_ca.cert)]})
    args = {"ca_cert_content": site_ca.cert_pem, "retired_thumbprints": [old_ca.thumbprint.lower()]}
    result = run_action("trusted_ca", args, host, check=True, diff=True)
    assert result["changed"] is True
    assert result["reasons"] == ["CA missing from Root", f"retired CA {old_ca.thumbprint} still in Root"]
    assert result["diff"]["before"] == {"root_contains_ca": False, "retired_present": [old_ca.thumbprint]}
    assert result["diff"]["after"] == {"root_contains_ca": True, "retired_present": []}
    assert host.call_log == ["list_certificates"] and host.imported == host.removed == []


def test_a_retired_ca_is_removed_and_the_current_one_kept(run_action, site_ca, old_ca):
    host = Host(stores={"Root": [entry(site_ca.cert), entry(old_ca.cert)]})
    args = {"ca": {"cert_content": site_ca.cert_pem}, "retired_thumbprints": [old_ca.thumbprint, site_ca.thumbprint]}
    result = run_action("trusted_ca", args, host)
    assert result["changed"] is True and result["removed"] == [old_ca.thumbprint]
    assert host.removed == [("Root", old_ca.thumbprint)] and host.imported == []


def test_state_absent_removes_the_ca(run_action, site_ca):
    host = Host(stores={"Root": [entry(site_ca.cert)]})
    result = run_action("trusted_ca", {"ca_cert_content": site_ca.cert_pem, "state": "absent"}, host)
    assert result["reasons"] == ["CA to be removed from Root"] and host.removed == [("Root", site_ca.thumbprint)]


def test_a_failed_import_fails_the_task_and_still_deletes_the_file(run_action, site_ca):
    class Refusing(Host):
        def _import_certificate(self, path, store, password, key_exportable):
            from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

            raise AdapterError("win_certificate_store failed: access is denied")

    host = Refusing(stores={"Root": []})
    result = run_action("trusted_ca", {"ca_cert_content": site_ca.cert_pem}, host)
    assert result["failed"] is True and "access is denied" in result["msg"]
    assert host.deleted == [f"C:\\Windows\\Temp\\xprotect-ca-{site_ca.thumbprint}.crt"]


def test_a_ca_folder_without_ca_crt_fails_naming_ca_before_the_host(run_action, tmp_path):
    host = Host(stores={"Root": []})
    result = run_action("trusted_ca", {"ca": {"path": str(tmp_path), "cert_content": ""}}, host)
    assert result["failed"] is True and result["msg"].startswith(f"{'ms01.example.com'}: ca: ca_cert_path")
    assert host.call_log == []


@pytest.mark.parametrize(
    ("shift", "days", "said"),
    [(-30, 10, "expired on"), (30, 365, "is not valid until")],
    ids=["expired", "not-yet-valid"],
)
def test_a_ca_outside_its_validity_is_not_put_in_root(run_action, shift, days, said):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = pki.create_ca("Out Of Time CA", key_size=3072, days=days, now=now + datetime.timedelta(days=shift))
    host = Host(stores={"Root": []})
    result = run_action("trusted_ca", {"ca_cert_content": ca.cert_pem}, host)
    assert result["failed"] and result["option"] == "ca_cert_content" and said in result["msg"]
    boundary = pki.not_after(ca.cert) if shift < 0 else pki.not_before(ca.cert)
    assert pki.iso_z(boundary) in result["msg"]
    assert host.call_log == [] and host.imported == []
    # Taking it out of Root stays possible.
    host = Host(stores={"Root": [entry(ca.cert)]})
    removed = run_action("trusted_ca", {"ca_cert_content": ca.cert_pem, "state": "absent"}, host)
    assert removed["changed"] and host.removed == [("Root", ca.thumbprint)]


@pytest.fixture(scope="module")
def intermediate_site():
    """An enterprise root and the site CA it signed, kept as the ca module keeps them."""
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

    now = datetime.datetime.now(datetime.timezone.utc)
    root = certs.enterprise_root("Enterprise Root", now)
    key = pki.generate_key(3072)
    site = pki.CA(cert=certs.issue_ca_certificate(root, key.public_key(), "XProtect Site CA", now), key=key)
    return root, site


def test_an_intermediate_ca_puts_the_root_in_root_and_itself_in_ca(run_action, intermediate_site, tmp_path):
    root, site = intermediate_site
    (tmp_path / "ca.crt").write_text(site.cert_pem + root.cert_pem)  # as the ca module keeps it
    host = Host(stores={"Root": [], "CA": []})
    result = run_action("trusted_ca", {"ca": {"path": str(tmp_path)}}, host, diff=True)
    assert result["changed"] and result["thumbprint"] == root.thumbprint
    assert result["intermediates"] == [site.thumbprint]
    assert result["reasons"] == ["CA missing from Root", f"intermediate CA {site.thumbprint} missing from CA"]
    assert [store for _path, store in host.imported] == ["Root", "CA"]
    assert {e.thumbprint for e in host.stores["Root"]} == {root.thumbprint}
    assert {e.thumbprint for e in host.stores["CA"]} == {site.thumbprint}
    assert result["diff"]["before"]["intermediates_missing"] == [site.thumbprint]
    # Idempotent; the bundle as a value (an AWX credential) says the same.
    again = run_action("trusted_ca", {"ca_cert_content": site.cert_pem + root.cert_pem}, host)
    assert not again["changed"] and again["thumbprint"] == root.thumbprint
    # state absent takes out the intermediate, never the enterprise root (Group Policy's to manage).
    gone = run_action("trusted_ca", {"ca": {"path": str(tmp_path)}, "state": "absent"}, host)
    assert gone["changed"] and host.removed == [("CA", site.thumbprint)]
    assert {e.thumbprint for e in host.stores["Root"]} == {root.thumbprint}


def test_an_intermediate_ca_whose_root_expired_is_refused(run_action, tmp_path):
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

    now = datetime.datetime.now(datetime.timezone.utc)
    old = certs.enterprise_root("Old Root", now - datetime.timedelta(days=40), days=30)
    key = pki.generate_key(3072)
    site = certs.issue_ca_certificate(
        old, key.public_key(), "Site CA", now, not_before=now - datetime.timedelta(days=39)
    )
    host = Host(stores={"Root": [], "CA": []})
    result = run_action("trusted_ca", {"ca_cert_content": pki.cert_pem(site) + old.cert_pem}, host)
    assert result["failed"] and result["option"] == "ca_cert_content" and "expired on" in result["msg"]
    assert host.call_log == []
