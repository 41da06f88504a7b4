# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ca_rotation backend on real folders: plan, record, promotion, and a promotion killed half-way."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, rotation
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca_rotation as backend


def _write_ca(folder, ca):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ca.crt"), "w", encoding="ascii") as fh:
        fh.write(ca.cert_pem)
    with open(os.path.join(folder, "ca.key"), "wb") as fh:
        fh.write(pki.serialize_ca_key(ca, b"pass-phrase"))


def params(tmp_path, **kw):
    base = dict(
        state="plan",
        path=str(tmp_path / "pki"),
        new_path=str(tmp_path / "pki-new"),
        new_certificate="",
        min_days=365,
        step=None,
        old_thumbprint=None,
        new_thumbprint=None,
        clients_pending=None,
    )
    base.update(kw)
    return base


@pytest.fixture
def folders(tmp_path, site_ca, foreign_ca):
    _write_ca(tmp_path / "pki", site_ca)
    (tmp_path / "pki" / "passphrase").write_text("pass-phrase")
    _write_ca(tmp_path / "pki-new", foreign_ca)
    return tmp_path


def test_plan_before_the_new_ca_exists_and_with_an_import(tmp_path, site_ca, foreign_ca):
    _write_ca(tmp_path / "pki", site_ca)
    plan = backend.run(params(tmp_path), False)
    assert plan["phase"] == "rotate" and plan["old_thumbprint"] == site_ca.thumbprint
    assert plan["new_thumbprint"] is None and plan["step"] == ""
    plan = backend.run(params(tmp_path, new_certificate=foreign_ca.cert_pem), False)
    assert plan["new_thumbprint"] == foreign_ca.thumbprint


def test_plan_refuses_the_same_ca_a_missing_site_ca_and_one_folder_for_both(tmp_path, site_ca):
    _write_ca(tmp_path / "pki", site_ca)
    with pytest.raises(rotation.RotationError, match="the new CA is the site's CA"):
        backend.run(params(tmp_path, new_certificate=site_ca.cert_pem), False)
    with pytest.raises(rotation.RotationError, match="a folder of its own"):
        backend.run(params(tmp_path, new_path=str(tmp_path / "pki") + "/"), False)
    with pytest.raises(rotation.RotationError, match="is inside"):
        backend.run(params(tmp_path, new_path=str(tmp_path / "pki" / "new")), False)
    with pytest.raises(rotation.RotationError, match="is inside"):
        backend.run(params(tmp_path, path=str(tmp_path / "pki-new" / "old")), False)
    with pytest.raises(rotation.RotationError, match="holds no CA"):
        backend.run(params(tmp_path, path=str(tmp_path / "gone")), False)


def test_record_goes_to_the_new_folder_and_is_idempotent(folders, site_ca, foreign_ca):
    args = params(
        folders, state="record", step="trusted", old_thumbprint=site_ca.thumbprint, new_thumbprint=foreign_ca.thumbprint
    )
    assert backend.run(args, True)["changed"] and not (folders / "pki-new" / "rotation.json").exists()
    assert backend.run(args, False)["changed"]
    assert json.loads((folders / "pki-new" / "rotation.json").read_text())["step"] == "trusted"
    assert backend.run(params(folders), False)["in_progress"]
    assert not backend.run(args, False)["changed"]
    assert oct(os.stat(folders / "pki-new" / "rotation.json").st_mode & 0o777) == "0o600"


def test_promotion_then_finish_and_a_rerun_changes_nothing(folders, site_ca, foreign_ca):
    rec = params(
        folders,
        state="record",
        step="promoted",
        old_thumbprint=site_ca.thumbprint,
        new_thumbprint=foreign_ca.thumbprint,
    )
    backend.run(rec, False)
    promote = params(folders, state="promote", old_thumbprint=site_ca.thumbprint)
    assert backend.run(promote, True)["changed"] and (folders / "pki-new").exists()
    result = backend.run(promote, False)
    assert result["changed"] and not (folders / "pki-new").exists()
    assert pki.load_certificate((folders / "pki" / "ca.crt").read_bytes()) == foreign_ca.cert
    retired = folders / "pki" / f"ca-retired-{site_ca.thumbprint}"
    assert pki.load_certificate((retired / "ca.crt").read_bytes()) == site_ca.cert
    assert (folders / "pki" / "passphrase").read_text() == "pass-phrase"
    assert not backend.run(promote, False)["changed"]
    plan = backend.run(params(folders), False)
    assert plan["phase"] == "finish" and plan["old_thumbprint"] == site_ca.thumbprint
    assert plan["new_thumbprint"] == foreign_ca.thumbprint


def test_a_promotion_killed_between_its_renames_is_finished(folders, site_ca, foreign_ca):
    backend.run(
        params(
            folders,
            state="record",
            step="promoted",
            old_thumbprint=site_ca.thumbprint,
            new_thumbprint=foreign_ca.thumbprint,
        ),
        False,
    )
    # The first rename done, the second not: what a kill between the two leaves.
    os.rename(folders / "pki", folders / "pki-new" / f"ca-retired-{site_ca.thumbprint}")
    plan = backend.run(params(folders), False)
    assert plan["phase"] == "promote" and plan["old_thumbprint"] == site_ca.thumbprint
    backend.run(params(folders, state="promote", old_thumbprint=site_ca.thumbprint), False)
    assert backend.run(params(folders), False)["phase"] == "finish"


def test_an_unreadable_record_is_named(folders):
    (folders / "pki-new" / "rotation.json").write_text("{not json")
    with pytest.raises(rotation.RotationError, match="rotation record"):
        backend.run(params(folders), False)
