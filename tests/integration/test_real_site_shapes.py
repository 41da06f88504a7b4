"""Real Windows shapes the lab models, end to end through ansible: the registry read of the
bindings, a German console, a customer's own IIS binding on 443, a mobile server installed on
D:, and a cold-standby failover server."""

from __future__ import annotations

import json

import pytest

from .rollout_helpers import BIN, run, status
from .test_host_plugins import adhoc, adhoc_local, ca_args

pytestmark = pytest.mark.integration

MS = "mgmt01.lab.xprotect.test"
RS = "rs001.lab.xprotect.test"
FO = "fo01.lab.xprotect.test"
MOB = "mob01.lab.xprotect.test"
INTRANET = "intranet.lab.xprotect.test:443"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("shapes") / "site"
    hosts = [
        {"name": MS, "roles": ["management"], "customer_binding": INTRANET},
        {"name": RS, "roles": ["recording"], "locale": "de-DE"},
        {"name": FO, "roles": ["failover"], "standby": "cold"},
        {"name": MOB, "roles": ["mobile"], "install_folder": "D:\\Milestone"},
    ]
    args = {"path": str(path), "state": "started", "hosts": hosts}
    run([str(BIN / "ansible"), "localhost", "-m", "xprotect.encryption.lab_site", "-a", json.dumps(args)])
    pki = path.parent / "pki"
    assert adhoc_local(["ca", {"path": str(pki), "passphrase": (pki / "passphrase").read_text().strip()}])["changed"]
    yield path
    run([str(BIN / "ansible"), "localhost", "-m", "xprotect.encryption.lab_site", "-a",
         json.dumps({"path": str(path), "state": "absent"})])  # fmt: skip


def _certificate(site, host):
    assert not adhoc(site, host, "trusted_ca", {"ca_cert_path": ca_args(site)["ca_cert_path"]}).get("failed")
    cert = adhoc(site, host, "server_certificate", ca_args(site))
    assert not cert.get("failed"), cert
    return cert["thumbprint"]


def test_shapes_end_to_end(site):
    # Before anything: the customer's IIS binding on 443 is not the management server's certificate.
    info = adhoc(site, MS, "xprotect_info", check=True)["xprotect"]
    assert info["encryption"] == {"Server certificate": None}
    assert "0.0.0.0:9000" in info["encryption_notes"]["Server certificate"]
    assert INTRANET in info["encryption_notes"]["Server certificate"]
    # The German console's netsh is read by shape (the registry has no binding yet).
    assert adhoc(site, RS, "xprotect_info", check=True)["xprotect"]["encryption"]["Server certificate"] is None

    tps = {host: _certificate(site, host) for host in (MS, RS, FO, MOB)}
    for host in (MS, RS, MOB):
        enc = adhoc(site, host, "encryption", {"thumbprint": tps[host]})
        assert enc["changed"] is True and not enc.get("failed"), enc
        assert all(v == tps[host] for v in enc["thumbprints"].values()), enc
        again = adhoc(site, host, "encryption", {"thumbprint": tps[host]})
        assert again["changed"] is False and not again.get("failed"), again
        assert again["round_trips"] <= 3, again  # registry reads; no netsh once bound

    # The mobile server on D:: its configuration and Server Configurator were found there.
    mob = adhoc(site, MOB, "xprotect_info")["xprotect"]
    assert mob["server_configurator"]["path"] == "D:\\Milestone\\Server Configurator\\ServerConfigurator.exe"
    assert mob["encryption"] == {"Mobile streaming media certificate": tps[MOB]}

    # The cold-standby failover server: its Server group switches, streaming media reads unknown.
    enc = adhoc(site, FO, "encryption", {"thumbprint": tps[FO]})
    assert not enc.get("failed"), enc
    assert enc["thumbprints"] == {"server": tps[FO], "streaming": "UNKNOWN"}
    assert enc["groups"]["Streaming media certificate"] == "unknown"
    assert any("cannot be read" in w for w in enc.get("warnings", []))
    assert "cold-standby" in enc["notes"]["Streaming media certificate"]
    again = adhoc(site, FO, "encryption", {"thumbprint": tps[FO]})
    assert again["changed"] is False and not again.get("failed"), again
    assert status(site)[FO]["connected"] is True
