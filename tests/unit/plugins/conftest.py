# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the tests of the modules and of the action plugins."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki


@pytest.fixture
def fast_create(monkeypatch):
    """Create 3072-bit CAs where a test creates one: 4096 is covered once, in test_pki.py and
    tests/unit/plugins/modules/test_ca.py."""
    real = pki.create_ca

    def create(common_name=pki.CA_COMMON_NAME, key_size=4096, days=pki.CA_DAYS, now=None):
        return real(common_name, 3072 if key_size == 4096 else key_size, days, now)

    monkeypatch.setattr(pki, "create_ca", create)
