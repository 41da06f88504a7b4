# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phase 6's refusal, as written in site.yml, over the results phase 1 can leave: a mobile server
is switched only with a certificate whose chain server_certificate verified (to the site CA, or to
a root of the host's Root store for a brought one), never a self-signed one or one whose chain is
unknown (a result of an older plugin, a failed or skipped task)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

SITE = Path(__file__).resolve().parents[3] / "playbooks" / "site.yml"
_JINJA = jinja2.Environment(undefined=jinja2.ChainableUndefined)  # noqa: S701 - renders no HTML
TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
SITE_CA = {"certificates": [{"subject": "CN=Site CA", "thumbprint": TP}], "anchor": "the site CA", "self_signed": False}


def _refusal():
    play = next(p for p in yaml.safe_load(SITE.read_text()) if str(p.get("name", "")).startswith("Phase 6:"))
    return next(t for t in play["tasks"] if str(t["name"]).startswith("Refuse a certificate"))


def passes(certificate) -> bool:
    task = _refusal()
    variables = {"xprotect_certificate": certificate} if certificate is not None else {}
    for name, value in task.get("vars", {}).items():
        expr = re.match(r"^\s*\{\{(.*)\}\}\s*$", value, re.DOTALL).group(1)
        variables[name] = _JINJA.compile_expression(expr)(**variables)
    return all(_JINJA.compile_expression(cond)(**variables) for cond in task["ansible.builtin.assert"]["that"])


@pytest.mark.parametrize(
    ("certificate", "ok"),
    [
        ({"thumbprint": TP, "chain": SITE_CA}, True),
        ({"thumbprint": TP, "chain": dict(SITE_CA, anchor="the host's Root store")}, True),
        ({"thumbprint": TP}, False),  # no verified chain: the old check let this through
        ({"thumbprint": TP, "chain": dict(SITE_CA, self_signed=True)}, False),
        ({"thumbprint": TP, "chain": dict(SITE_CA, anchor=None)}, False),
        ({"thumbprint": TP, "chain": dict(SITE_CA, certificates=[])}, False),
        ({"thumbprint": TP, "chain": SITE_CA, "failed": True}, False),
        ({"thumbprint": None, "chain": SITE_CA}, False),
        ({"skipped": True}, False),
        (None, False),
    ],
)
def test_phase_6_switches_a_mobile_server_only_on_a_verified_chain(certificate, ok):
    assert passes(certificate) is ok
