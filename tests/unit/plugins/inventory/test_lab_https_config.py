# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's plugin configs: site.xprotect.yml (HTTP) always, site-https.xprotect.yml once the CA exists."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site

yaml = pytest.importorskip("yaml")
MS = "mgmt01.lab.xprotect.test"


def test_https_config_appears_with_the_ca_and_goes_with_it(tmp_path, pki):
    path = tmp_path / "site"
    site.ensure_site(str(path), counts={"recording_servers": 1, "clients": 0}, port_offset=10000)
    result = site.apply(str(path), {"state": "present"})
    https = path / "site-https.xprotect.yml"
    assert not https.exists()  # no CA yet: nothing could trust the server
    assert result["xprotect_inventory_https"] is None

    (tmp_path / "pki").mkdir(exist_ok=True)
    shutil.copy(pki["ca"], tmp_path / "pki" / "ca.crt")
    result = site.apply(str(path), {"state": "present"})
    assert result["xprotect_inventory_https"] == str(https)
    assert result["xprotect_inventory"] == str(path / "site.xprotect.yml")
    config = yaml.safe_load(https.read_text())
    plain = yaml.safe_load((path / "site.xprotect.yml").read_text())
    lab = model.Site(str(path))
    address = lab.by_name[MS]["address"]
    assert config == {
        "plugin": "xprotect.encryption.xprotect",
        "url": f"https://{address}:10443",
        "username": plain["username"],
        "password": lab.spec["api"]["password"],
        "validate_certs": True,
        "ca_path": str(tmp_path / "pki" / "ca.crt"),
        "tls_server_name": MS,
    }
    assert plain["url"] == f"http://{address}:10080"
    assert stat.S_IMODE(os.stat(https).st_mode) == 0o600

    # lab_site rewrites it on each run: a hand edit does not survive.
    https.write_text("plugin: xprotect.encryption.xprotect\nurl: https://elsewhere\n")
    site.apply(str(path), {"state": "present"})
    assert yaml.safe_load(https.read_text()) == config

    # Without the CA the config could only fail: it is removed.
    os.unlink(tmp_path / "pki" / "ca.crt")
    result = site.apply(str(path), {"state": "present"})
    assert not https.exists()
    assert result["xprotect_inventory_https"] is None


def test_absent_removes_the_https_config(tmp_path, pki):
    path = tmp_path / "site"
    (tmp_path / "pki").mkdir()
    shutil.copy(pki["ca"], tmp_path / "pki" / "ca.crt")
    site.ensure_site(str(path), counts={"recording_servers": 1, "clients": 0}, port_offset=10000)
    site.apply(str(path), {"state": "present"})
    assert (path / "site-https.xprotect.yml").exists()
    site.apply(str(path), {"state": "absent"})
    assert not path.exists()
