# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the lab tests: a small site per test and one CA per session."""

from __future__ import annotations

import pytest
from lab_helpers import HOSTS, certreq, trust, write_pki

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site


@pytest.fixture(scope="session")
def ca():
    return pki.create_ca(key_size=3072)


@pytest.fixture(scope="session")
def other_ca():
    return pki.create_ca(common_name="Somebody Else's CA", key_size=3072)


@pytest.fixture
def lab(tmp_path, ca):
    """A site of one host per role, with the session CA in its pki folder. Not started."""
    write_pki(tmp_path / "pki", ca)
    site.ensure_site(str(tmp_path / "site"), hosts=HOSTS, port_offset=0)
    return model.Site(str(tmp_path / "site"))


@pytest.fixture
def prepared(lab, ca):
    """Every server trusts the CA and has its certificate (key born on the host, ACL granted)."""
    tps = {}
    for h in HOSTS:
        trust(lab, h["name"], ca)
        if h["roles"] != ["client"]:
            tps[h["name"]] = certreq(lab, h["name"], ca)
    return tps


_KEYS: dict = {}


@pytest.fixture(autouse=True)
def key_pool(monkeypatch):
    """certreq -new makes a real RSA key; in unit tests it comes from a pool made once per session
    (a dozen distinct keys per size, handed out in turn), which keeps every test fast."""
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

    real = certs.generate_key
    counter = {"n": 0}

    def pooled(bits):
        pool = _KEYS.setdefault(bits, [])
        i = counter["n"] % 12
        counter["n"] += 1
        while len(pool) <= i:
            pool.append(real(bits))
        return pool[i]

    monkeypatch.setattr(certs, "generate_key", pooled)
