# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plugin through the real ``ansible-inventory`` and ``ansible-doc`` CLIs, against a local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The test server and PKI of the inventory plugin's unit tests, here driven through the CLIs.
sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "inventory"))

from apiserver import SETTINGS, ApiServer, site_records  # noqa: E402
from inventory_pki import make_pki  # noqa: E402

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


PASSWORD = SETTINGS["api_password"]


def run(*args, env=None, check=True):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("XPROTECT_")}
    full_env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
    proc = subprocess.run(
        [str(BIN / args[0]), *args[1:]], env=full_env, capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def config(tmp_path, url, name="site.xprotect.yml", password=True, management=True, **extra):
    lines = [
        "plugin: xprotect.encryption.xprotect",
        f"url: {url}",
        f"username: {SETTINGS['api_user']}",
    ]
    if management:
        lines.append("management_server_name: mgmt01.lab.xprotect.test")
    if password:
        lines.append(f"password: {PASSWORD}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in extra.items()))
    return str(path)


def inventory_list(source, env=None):
    proc = run("ansible-inventory", "-i", source, "--list", env=env)
    return json.loads(proc.stdout), proc


def unsafe(value):
    # ansible-core 2.19 marks values from the API as data, never templates.
    return value.get("__ansible_unsafe", value) if isinstance(value, dict) else value


def members(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


def test_list_builds_the_contract_groups(tmp_path):
    records = site_records(recording=3, failover=2)
    records[2]["hot_standby"] = records[-1]["name"]
    with ApiServer(records) as server:
        data, proc = inventory_list(config(tmp_path, server.url))
    assert members(data, "xprotect_management_servers") == ["mgmt01.lab.xprotect.test"]
    assert members(data, "xprotect_recording_servers") == [f"rs00{n}.lab.xprotect.test" for n in (1, 2, 3)]
    assert members(data, "xprotect_failover_servers") == ["fo01.lab.xprotect.test", "fo02.lab.xprotect.test"]
    hostvars = {h: {k: unsafe(v) for k, v in hv.items()} for h, hv in data["_meta"]["hostvars"].items()}
    rs2 = hostvars["rs002.lab.xprotect.test"]
    assert rs2["xprotect_id"] == records[2]["id"]
    assert rs2["xprotect_display_name"] == "rs002"
    assert rs2["xprotect_web_server_uri"] == "http://rs002.lab.xprotect.test:7563/"
    assert rs2["xprotect_failover_group"] == "Failover group 1"
    assert rs2["xprotect_hot_standby"] == "fo02.lab.xprotect.test"
    assert "xprotect_hot_standby" not in hostvars["rs001.lab.xprotect.test"]
    assert hostvars["mgmt01.lab.xprotect.test"]["xprotect_api_url"] == server.url
    # Every host (a variable of the group all) knows the management server: an AWX slice without
    # its host still finds it (the order guard, the site lock).
    found = {h: unsafe(hv["xprotect_management_server"]) for h, hv in data["_meta"]["hostvars"].items()}
    assert {unsafe(v["name"]) for v in found.values()} == {"mgmt01.lab.xprotect.test"}
    assert PASSWORD not in proc.stdout + proc.stderr


def test_query_keyed_groups_compose_and_groups(tmp_path):
    records = site_records(recording=4, failover=1)
    records[4]["failover_group"] = None  # rs004: no failover group
    with ApiServer(records) as server:
        source = config(
            tmp_path,
            server.url,
            query="[?kind=='failover_server' || !contains(name, 'rs003')]",
            keyed_groups=[{"key": "xprotect_failover_group | default('none')", "prefix": "failover_group"}],
            compose={"ansible_host": "xprotect_name ~ '.example.test'"},
            groups={"first_servers": "xprotect_name in ['rs001', 'rs002']"},
        )
        data, _proc = inventory_list(source)
    assert members(data, "xprotect_recording_servers") == [f"rs00{n}.lab.xprotect.test" for n in (1, 2, 4)]
    assert members(data, "failover_group_Failover_group_1") == [
        "fo01.lab.xprotect.test",
        "rs001.lab.xprotect.test",
        "rs002.lab.xprotect.test",
    ]
    # Constructed features apply to every host, the management server included.
    assert members(data, "failover_group_none") == ["mgmt01.lab.xprotect.test", "rs004.lab.xprotect.test"]
    assert members(data, "first_servers") == ["rs001.lab.xprotect.test", "rs002.lab.xprotect.test"]
    assert unsafe(data["_meta"]["hostvars"]["rs004.lab.xprotect.test"]["ansible_host"]) == "rs004.example.test"


def test_templated_credentials_and_environment(tmp_path):
    with ApiServer(site_records()) as server:
        source = config(tmp_path, server.url, password=False)
        Path(source).write_text(
            Path(source).read_text() + "password: \"{{ lookup('ansible.builtin.env', 'LAB_PW') }}\"\n"
        )
        data, _proc = inventory_list(source, env={"LAB_PW": PASSWORD})
        assert members(data, "xprotect_failover_servers") == ["fo01.lab.xprotect.test"]
        data, _proc = inventory_list(
            config(tmp_path, server.url, name="env.xprotect.yaml", password=False), env={"XPROTECT_PASSWORD": PASSWORD}
        )
        assert len(members(data, "xprotect_recording_servers")) == 3


def test_cache_serves_the_site_while_the_server_is_down(tmp_path):
    cache_dir = tmp_path / "cache"
    with ApiServer(site_records(recording=2, failover=1)) as server:
        source = config(
            tmp_path,
            server.url,
            cache=True,
            cache_plugin="ansible.builtin.jsonfile",
            cache_connection=str(cache_dir),
            cache_timeout=3600,
        )
        first, _proc = inventory_list(source)
        requests_made = len(server.log)
    assert requests_made >= 5
    cached = "".join(p.read_text() for p in cache_dir.iterdir())
    assert "rs002.lab.xprotect.test" in cached
    assert PASSWORD not in cached
    assert "access_token" not in cached and "lab." not in cached.replace("lab.xprotect", "")
    second, _proc = inventory_list(source)  # the server is gone: only the cache can answer
    assert second == first
    proc = run(
        "ansible-inventory",
        "-i",
        source,
        "--list",
        "--flush-cache",
        env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"},
        check=False,
    )
    assert proc.returncode != 0
    assert "refused" in proc.stderr


def test_errors_reach_the_operator_without_the_password(tmp_path):
    with ApiServer(site_records()) as server:
        source = config(tmp_path, server.url, password=False)
        Path(source).write_text(Path(source).read_text() + "password: wrong-Pa55\n")
        proc = run(
            "ansible-inventory", "-i", source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False
        )
    assert proc.returncode != 0
    text = " ".join(proc.stderr.split())
    assert "refused the credentials of basic user 'inventory'" in text
    assert "wrong-Pa55" not in proc.stderr + proc.stdout


def test_bad_options_are_named(tmp_path):
    source = config(tmp_path, "http://127.0.0.1:1", ca_path=str(tmp_path / "missing.crt"))
    proc = run("ansible-inventory", "-i", source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False)
    assert proc.returncode != 0
    assert "missing.crt' is not a file" in " ".join(proc.stderr.split())
    source = config(tmp_path, "https://admin:Secret@ms.example.test", name="cred.xprotect.yml")
    proc = run("ansible-inventory", "-i", source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False)
    assert "carries credentials" in " ".join(proc.stderr.split())
    assert "Secret" not in proc.stderr


def test_only_xprotect_yml_files_are_taken(tmp_path):
    source = config(tmp_path, "http://127.0.0.1:1", name="site.yml")
    proc = run(
        "ansible-inventory", "-i", source, "--list", "-vvv", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False
    )
    assert proc.returncode != 0
    assert "must end in .xprotect.yml or .xprotect.yaml" in proc.stdout + proc.stderr


def test_graph(tmp_path):
    with ApiServer(site_records(recording=2, failover=1)) as server:
        proc = run("ansible-inventory", "-i", config(tmp_path, server.url), "--graph")
    assert (
        "@xprotect_recording_servers:\n  |  |--rs001.lab.xprotect.test\n  |  |--rs002.lab.xprotect.test" in proc.stdout
    )


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_ansible_doc_renders(fmt):
    proc = run("ansible-doc", "-t", "inventory", *fmt, "xprotect.encryption.xprotect")
    for option in (
        "url",
        "auth_type",
        "ca_path",
        "tls_server_name",
        "XPROTECT_TLS_SERVER_NAME",
        "include_disabled",
        "query",
        "failover_assignment",
        "keyed_groups",
        "cache_plugin",
    ):
        assert option in proc.stdout


def test_https_by_address_with_tls_server_name(tmp_path, pki):
    # The certificate names ms.example.test only; url uses 127.0.0.1, as on a site reached by address.
    with ApiServer(site_records(recording=2, failover=1), tls=pki["other"]) as server:
        source = config(tmp_path, server.url, management=False, ca_path=pki["ca"])
        fail = run(
            "ansible-inventory", "-i", source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False
        )
        assert fail.returncode != 0
        assert "set tls_server_name to the certificate's name" in " ".join(fail.stderr.split())
        assert set(server.sni) == {None}  # url's host is an address: no SNI without the option
        server.sni.clear()
        data, _proc = inventory_list(source, env={"XPROTECT_TLS_SERVER_NAME": "ms.example.test"})
        assert set(server.sni) == {"ms.example.test"}
        named_source = config(
            tmp_path, server.url, name="named.xprotect.yml", ca_path=pki["ca"], tls_server_name="MS.example.test"
        )
        named, _proc = inventory_list(named_source)
    assert members(data, "xprotect_recording_servers") == ["rs001.lab.xprotect.test", "rs002.lab.xprotect.test"]
    assert members(data, "xprotect_failover_servers") == ["fo01.lab.xprotect.test"]
    # The certificate's name is the management server's default inventory name ...
    assert members(data, "xprotect_management_servers") == ["ms.example.test"]
    assert unsafe(data["_meta"]["hostvars"]["ms.example.test"]["xprotect_api_url"]) == server.url
    # ... and management_server_name still wins over it.
    assert members(named, "xprotect_management_servers") == ["mgmt01.lab.xprotect.test"]
    assert members(named, "xprotect_recording_servers") == members(data, "xprotect_recording_servers")


def test_tls_server_name_with_plain_http_warns(tmp_path):
    with ApiServer(site_records(recording=1, failover=0)) as server:
        data, proc = inventory_list(config(tmp_path, server.url, tls_server_name="ms.example.test"))
    assert members(data, "xprotect_recording_servers") == ["rs001.lab.xprotect.test"]
    assert "tls_server_name is set but url" in " ".join(proc.stderr.split())


def test_tls_server_name_must_be_a_host_name(tmp_path):
    source = config(tmp_path, "https://127.0.0.1:1", tls_server_name="https://ms.example.test:443")
    proc = run("ansible-inventory", "-i", source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, check=False)
    assert proc.returncode != 0
    assert "Option tls_server_name 'https://ms.example.test:443' is not a host name" in " ".join(proc.stderr.split())
