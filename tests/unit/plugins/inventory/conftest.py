# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the inventory plugin tests: a CA, server certificates, plugin options."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apiserver import SETTINGS  # noqa: E402

pytest.importorskip("cryptography")
from inventory_pki import make_pki  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def make_opts():
    def make(url, **overrides):
        opts = {
            "url": url,
            "auth_type": "basic",
            "username": SETTINGS["api_user"],
            "password": SETTINGS["api_password"],
            "validate_certs": True,
            "ca_path": None,
            "tls_server_name": None,
            "timeout": 5.0,
            "include_disabled": False,
            "query": None,
            "management_server_name": None,
            "failover_assignment": "auto",
            "workers": 4,
            "include_record": False,
        }
        opts.update(overrides)
        return opts

    return make
