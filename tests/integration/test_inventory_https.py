# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin before and after the rollout: HTTP, then HTTPS with ca_path and tls_server_name.

A small lab site is listed through ``site.xprotect.yml`` (plain HTTP on the management server),
then the rollout encrypts it. Port 80 closes and the REST API is served on 443 with the
certificate the rollout issued for the management server's FQDN. Lab FQDNs do not resolve, so
``site-https.xprotect.yml`` (written by the lab once the site CA exists) reaches the server by
address and checks its certificate against ``tls_server_name``. It must list the same servers in
the same groups; the HTTP config must then fail with a message that says what to change.

The steps build on each other on one site, so they are one test: under ``pytest -n`` the steps
of a module can run in different workers.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from .rollout_helpers import BIN, REPO, env, hosts_in, lab, playbook

pytestmark = pytest.mark.integration

SIZES = dict(recording_servers=2, failover_servers=1, mobile_servers=0, clients=0)
SERVER_GROUPS = ("xprotect_recording_servers", "xprotect_failover_servers")
MANAGEMENT = "xprotect_management_servers"


def inventory(source, check=True):
    """``ansible-inventory --list`` of one source, failing hard on a source that does not parse."""
    environ = {k: v for k, v in env().items() if not k.startswith("XPROTECT_")}
    environ["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "1"
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), "--list"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"ansible-inventory -i {source}\n{proc.stderr[-3000:]}"
        return json.loads(proc.stdout), proc
    return None, proc


def groups(data):
    return {group: sorted(data.get(group, {}).get("hosts", [])) for group in (MANAGEMENT, *SERVER_GROUPS)}


def server_vars(data):
    """Host variables of the recording and failover servers (the management server is named per config)."""
    hosts = {host for group in SERVER_GROUPS for host in data.get(group, {}).get("hosts", [])}
    return {host: hv for host, hv in data["_meta"]["hostvars"].items() if host in hosts}


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    try:
        lab(path, "started", **SIZES)
        yield path
    finally:
        lab(path, state="absent")


def test_inventory_before_and_after_the_rollout(site, tmp_path):
    http_source = site / "site.xprotect.yml"
    https_source = site / "site-https.xprotect.yml"
    expected = {group: hosts_in(site, group) for group in (MANAGEMENT, *SERVER_GROUPS)}
    assert len(expected["xprotect_recording_servers"]) == 2 and len(expected["xprotect_failover_servers"]) == 1
    (fqdn,) = expected[MANAGEMENT]
    http_config = yaml.safe_load(http_source.read_text())
    address = http_config["url"].split("://", 1)[1].rsplit(":", 1)[0]
    # No CA before the rollout: nothing could trust an HTTPS server yet, so no HTTPS config.
    assert not https_source.exists()

    # Before: plain HTTP. Exactly the lab's recording and failover servers, in their groups. The
    # source also names https_url, which is not tried while the site CA does not exist, and says so.
    before, proc = inventory(http_source)
    found = groups(before)
    for group in SERVER_GROUPS:
        assert found[group] == expected[group], group
    assert found[MANAGEMENT] == [fqdn]  # named after tls_server_name
    said = " ".join(proc.stderr.split())
    assert f"read the site from {http_config['url']}; https_url {http_config['https_url']} not tried" in said
    assert before["_meta"]["hostvars"][fqdn]["xprotect_api_url"] == {"__ansible_unsafe": http_config["url"]}
    assert all(before["_meta"]["hostvars"][h]["xprotect_failover_group"] for h in found["xprotect_recording_servers"])

    playbook("site.yml", site)

    # lab_site writes the HTTPS config once the rollout's CA exists.
    lab(site, "started", **SIZES)
    https_config = yaml.safe_load(https_source.read_text())
    assert https_config["url"].startswith(f"https://{address}")
    assert https_config["validate_certs"] is True
    assert https_config["ca_path"] == str(site.parent / "pki" / "ca.crt")
    assert https_config["tls_server_name"] == fqdn

    # After: HTTPS, the certificate checked against the site CA and the FQDN. Same servers, same
    # groups, same variables; the management server is named after its certificate.
    after, _proc = inventory(https_source)
    found = groups(after)
    for group in SERVER_GROUPS:
        assert found[group] == expected[group], group
    assert found[MANAGEMENT] == [fqdn]
    assert server_vars(after) == server_vars(before)

    # The address alone is not on the certificate: without tls_server_name the check fails, and says why.
    no_name = tmp_path / "no-name.xprotect.yml"
    no_name.write_text(
        "".join(line + "\n" for line in https_source.read_text().splitlines() if "tls_server_name" not in line)
    )
    _data, proc = inventory(no_name, check=False)
    text = " ".join(proc.stderr.split())
    assert proc.returncode != 0
    assert "is not valid for the host in url" in text and "set tls_server_name" in text

    # The same source, not edited, now reads HTTPS with the site CA, and says so (AWX syncs it at
    # every job launch, across the switch).
    same, proc = inventory(http_source)
    assert groups(same) == groups(after)
    assert f"read the site from {http_config['https_url']}." in " ".join(proc.stderr.split())
    assert same["_meta"]["hostvars"][fqdn]["xprotect_api_url"] == {"__ansible_unsafe": http_config["https_url"]}

    # A source with the HTTP url alone no longer works: port 80 is closed, and the message says to use https.
    http_only = tmp_path / "http-only.xprotect.yml"
    http_only.write_text(
        "".join(
            line + "\n"
            for line in http_source.read_text().splitlines()
            if not line.startswith(("https_url", "tls_server_name", "ca_path"))
        )
    )
    _data, proc = inventory(http_only, check=False)
    text = " ".join(proc.stderr.split())
    assert proc.returncode != 0
    assert f"Connection to {http_config['url']}/API/IDP/connect/token refused" in text
    assert "https 443 after it" in text
    assert http_config["password"] not in proc.stderr + proc.stdout
