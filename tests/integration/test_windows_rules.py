"""What a real Windows site does and the lab models on purpose: the runas become plugin by any
spelling, Server Configurator's codes of a local change judged by the state read back, and
thumbprints pasted from certlm.msc. Each test on its own small lab site (a management server
and a mobile server), with real ansible runs of the per-host plugins."""

from __future__ import annotations

import json
import pathlib
from typing import NamedTuple

import pytest

from .rollout_helpers import BIN, lab, run
from .test_host_plugins import adhoc, adhoc_local, ca_args

pytestmark = pytest.mark.integration

MS = "mgmt01.lab.xprotect.test"
# As certlm.msc's Details tab gives a thumbprint to the clipboard: the invisible U+200E first,
# lower case, pairs separated by spaces.
LRM = "\u200e"


def pasted(thumbprint: str) -> str:
    return LRM + " ".join(thumbprint[i : i + 2] for i in range(0, 40, 2)).lower()


class Site(NamedTuple):
    path: pathlib.Path
    thumbprint: str  # the management server's certificate


@pytest.fixture
def site(tmp_path):
    """A site of its own: the CA made, trusted on the management server, its certificate issued."""
    path = tmp_path / "site"
    lab(path, recording_servers=0, failover_servers=0, mobile_servers=1, event_servers=0, clients=0)
    try:
        pki = path.parent / "pki"
        made = adhoc_local(["ca", {"path": str(pki), "passphrase": (pki / "passphrase").read_text().strip()}])
        assert made["changed"]
        assert adhoc(path, MS, "trusted_ca", {"ca_cert_path": ca_args(path)["ca_cert_path"]})["changed"]
        cert = adhoc(path, MS, "server_certificate", ca_args(path))
        assert cert["changed"] and len(cert["thumbprint"]) == 40
        yield Site(path, cert["thumbprint"])
    finally:
        lab(path, state="absent")


def inject(site, host, code, applied=None):
    args = {"path": str(site.path), "host": host, "fault": "configurator_exit", "value": code}
    if applied is not None:
        args["applied"] = applied
    run([str(BIN / "ansible"), "localhost", "-m", "xprotect.encryption.lab_fault", "-a", json.dumps(args)])


def server_group(site, args=None, **extra):
    return adhoc(
        site.path,
        MS,
        "encryption",
        dict({"thumbprint": site.thumbprint, "groups": ["server"]}, **(args or {})),
        extra=extra or None,
    )


def test_runas_spelled_fully_qualified_switches_and_another_plugin_is_refused(site):
    refused = server_group(site, ansible_become_method="ansible.builtin.sudo")
    assert refused.get("failed") and "become is ansible.builtin.sudo" in refused["msg"]
    assert "become_method: ansible.builtin.runas" in refused["msg"]
    done = server_group(site, ansible_become_method="ansible.builtin.runas")
    assert done["changed"] is True and not done.get("warnings"), done
    # Server Configurator ran as the become user (an interactive logon of a Milestone administrator):
    # the lab answers a plain network logon with exit 100.
    assert done["applied"] == [{"group": "Server certificate", "action": "enable", "exit_codes": [0]}]
    assert done["groups"] == {"Server certificate": f"enabled ({site.thumbprint})"}


@pytest.mark.parametrize("code", [20, 100])
def test_a_code_of_a_local_change_with_the_change_made_is_changed_with_a_warning(site, code):
    inject(site, MS, code, applied=True)
    res = server_group(site)
    assert not res.get("failed"), res
    assert res["changed"] is True and res["groups"] == {"Server certificate": f"enabled ({site.thumbprint})"}
    assert res["applied"][0]["exit_codes"] == [code]
    assert len(res["warnings"]) == 1 and f"exited {code}" in res["warnings"][0]
    assert "shows the change" in res["warnings"][0] and "/register" in res["warnings"][0]
    assert server_group(site)["changed"] is False  # the host is in the state asked


def test_a_code_of_a_local_change_without_the_change_fails_with_its_meaning(site):
    inject(site, MS, 100, applied=False)
    res = server_group(site, {"settle_timeout": 2, "settle_interval": 0.5})
    assert res.get("failed"), res
    assert "exited 100: applied locally, but registration" in res["msg"]
    assert "does not show the change (disabled): it was not applied" in res["msg"]
    assert res["groups"] == {"Server certificate": "disabled"}


def test_a_thumbprint_pasted_from_certlm_matches_the_host(site):
    first = server_group(site, {"thumbprint": pasted(site.thumbprint)})
    assert first["changed"] is True and first["thumbprints"] == {"server": site.thumbprint}, first
    again = server_group(site, {"thumbprint": pasted(site.thumbprint)})
    assert again["changed"] is False and again["round_trips"] <= 2
    bad = server_group(site, {"thumbprint": pasted(site.thumbprint)[:-3]})
    assert bad.get("failed") and "thumbprint:" in bad["msg"] and "40 hex digits" in bad["msg"] and MS in bad["msg"]
    assert "round_trips" not in bad  # refused before the host


def test_a_retired_ca_pasted_from_certlm_is_removed_from_root(site, tmp_path):
    old = tmp_path / "old-pki"
    made = adhoc_local(["ca", {"path": str(old), "passphrase": "an old one, retired", "common_name": "Old CA"}])
    assert made["changed"]
    trust_old = adhoc(site.path, MS, "trusted_ca", {"ca_cert_path": str(old / "ca.crt")})
    assert trust_old["changed"] is True
    retire = {
        "ca_cert_path": ca_args(site.path)["ca_cert_path"],
        "retired_thumbprints": [pasted(trust_old["thumbprint"])],
    }
    plan = adhoc(site.path, MS, "trusted_ca", retire, check=True)
    assert plan["changed"] and plan["reasons"] == [f"retired CA {trust_old['thumbprint']} still in Root"]
    done = adhoc(site.path, MS, "trusted_ca", retire)
    assert done["changed"] and done["removed"] == [trust_old["thumbprint"]]
    assert adhoc(site.path, MS, "trusted_ca", {"ca_cert_path": str(old / "ca.crt")}, check=True)["reasons"] == [
        "CA missing from Root"
    ]
    assert adhoc(site.path, MS, "trusted_ca", retire)["changed"] is False
