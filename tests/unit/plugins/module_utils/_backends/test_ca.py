# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ca backend without AnsibleModule: the pure decision, the value checks, the file names."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca as backend


def params(**kw) -> dict:
    base = dict.fromkeys(
        (
            "path",
            "cert_path",
            "key_path",
            "passphrase",
            "cert_content",
            "key_content",
            *backend.IMPORT_OPTIONS,
            "import_passphrase",
        )
    )
    base.update(allow_unencrypted_key=False, common_name="Test CA", key_size=3072, validity_days=3650)
    base.update(renew_before=365, path="/srv/pki")
    base.update(kw)
    return base


def early(ca) -> datetime.datetime:
    """A moment far from the CA's end of validity."""
    return pki.not_after(ca.cert) - datetime.timedelta(days=3000)


def test_no_ca_and_nothing_to_import_creates(site_ca):
    decision = backend.plan(params(), None, None, early(site_ca))
    assert decision == {"action": "create", "ca": None, "reasons": ["no CA yet; a new one is created"], "renew": False}
    assert backend.changes(decision)


def test_an_import_into_an_empty_folder_imports_and_says_which(site_ca):
    decision = backend.plan(params(import_pfx_path="ca.pfx"), None, site_ca, early(site_ca))
    assert decision["action"] == "import" and decision["ca"] is site_ca
    assert decision["reasons"] == [f"imported CA {site_ca.cert.subject.rfc4514_string()}"]


def test_the_same_ca_again_is_kept(site_ca):
    for imported in (None, site_ca):
        decision = backend.plan(params(import_cert_path="ca.crt"), site_ca, imported, early(site_ca))
        assert decision == {"action": "keep", "ca": site_ca, "reasons": [], "renew": False}
        assert not backend.changes(decision)


@pytest.mark.parametrize(
    ("option", "args"), [("import_pfx_path", {"import_pfx_path": "x.pfx"}), ("import_cert_path", {})]
)
def test_a_different_ca_over_the_existing_one_is_refused(site_ca, other_ca, option, args):
    with pytest.raises(pki.PkiError) as e:
        backend.plan(params(**args), site_ca, other_ca, early(site_ca))
    assert e.value.option == option and "/srv/pki already holds a different CA" in str(e.value)
    assert site_ca.thumbprint in str(e.value)


def test_a_ca_close_to_its_end_is_renewed_with_the_reason(site_ca):
    late = pki.not_after(site_ca.cert) - datetime.timedelta(days=100)
    decision = backend.plan(params(), site_ca, None, late)
    assert decision["action"] == "keep" and decision["renew"] and backend.changes(decision)
    assert decision["reasons"] == ["CA certificate expires in 100 days (renew_before 365)"]
    assert not backend.plan(params(renew_before=30), site_ca, None, late)["renew"]


def test_an_import_that_is_close_to_its_end_is_imported_and_renewed(site_ca):
    late = pki.not_after(site_ca.cert) - datetime.timedelta(days=10)
    decision = backend.plan(params(import_pfx_path="ca.pfx"), None, site_ca, late)
    assert decision["action"] == "import" and decision["renew"] and len(decision["reasons"]) == 2


def test_file_names_and_the_option_each_comes_from():
    assert backend.files(params()) == ("/srv/pki/ca.crt", "/srv/pki/ca.key", "path", "path")
    assert backend.files(params(key_path="/k/my.key")) == ("/srv/pki/ca.crt", "/k/my.key", "path", "key_path")
    assert backend.files(params(path=None, cert_path="/c.crt", key_path="/k.key")) == (
        "/c.crt",
        "/k.key",
        "cert_path",
        "key_path",
    )


@pytest.mark.parametrize("passphrase", [None, ""])
def test_file_mode_needs_a_passphrase_unless_allowed(passphrase, tmp_path):
    with pytest.raises(pki.PkiError) as e:
        backend.check_files_mode(params(path=str(tmp_path), passphrase=passphrase))
    assert e.value.option == "passphrase" and "allow_unencrypted_key: true" in str(e.value)
    backend.check_files_mode(params(path=str(tmp_path), passphrase=passphrase, allow_unencrypted_key=True))


def test_a_file_as_the_folder_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(pki.PkiError) as e:
        backend.check_files_mode(params(path=str(tmp_path / "f"), passphrase="pw"))
    assert e.value.option == "path" and "is a file" in str(e.value)
