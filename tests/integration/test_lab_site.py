# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab end to end: playbooks/lab.yml, lab_site and lab_fault through real Ansible runs, the
site process's endpoints checked with Python's ssl and the openssl CLI, the REST API with a plain
HTTP client, every fault kind, bad input, and no process left behind after ``absent``."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, _server_configurator, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN = "LAB\\milestone-admin"
MS, RS, RS2, FO, MOB, EV, CL = (
    f"{n}.lab.xprotect.test" for n in ("mgmt01", "rs001", "rs002", "fo01", "mob01", "ev01", "cl01")
)
SIZE = {
    "lab_recording_servers": 2,
    "lab_failover_servers": 1,
    "lab_mobile_servers": 1,
    "lab_event_servers": 1,
    "lab_clients": 1,
}
CFG = model.CONFIGURATOR_PATH
TEMP = "C:\\Windows\\Temp"
PASSPHRASE = b"integration-passphrase"


def run(*argv, check=True):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(
        [str(BIN / argv[0]), *map(str, argv[1:])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"{argv}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return proc


def lab_playbook(path, state="started", **sizes):
    extra = {"lab_path": str(path), "lab_state": state, **SIZE, **sizes}
    return run("ansible-playbook", REPO / "playbooks" / "lab.yml", "-e", json.dumps(extra))


def module(name, args, check=True):
    return run("ansible", "localhost", "-m", f"xprotect.encryption.{name}", "-a", json.dumps(args), check=check)


def openssl(*args, input_=b""):
    if shutil.which("openssl") is None:  # pragma: no cover
        pytest.skip("openssl CLI not installed")
    return subprocess.run(["openssl", *args], input=input_, capture_output=True, check=False, timeout=30)


def procs_for(path):
    """Processes whose command line names the site (there must be none after absent)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if site.SERVER_MODULE in cmd and str(path) in cmd:
                found.append(int(pid))
    return found


def make_ca(lab: model.Site):
    ca = pki.create_ca(key_size=3072)
    folder = Path(lab.pki_dir)
    (folder / "ca.crt").write_text(ca.cert_pem)
    (folder / "ca.key").write_bytes(pki.serialize_ca_key(ca, (folder / "passphrase").read_bytes().strip()))
    return ca


def trust_and_issue(lab, host, ca, days=730):
    a = LabAdapter(lab.path, host, run_as=ADMIN)
    a.write_file(TEMP + "\\ca.crt", ca.cert_pem)
    a.import_certificate(TEMP + "\\ca.crt", "Root")
    if host == CL:
        return None
    names = pki.host_names(host)
    a.write_file(TEMP + "\\r.inf", _certreq.certreq_inf(host, names))
    assert a.run(["certreq.exe", "-new", "-q", "-f", TEMP + "\\r.inf", TEMP + "\\r.csr"]).rc == 0
    csr = pki.check_csr(a.read_file(TEMP + "\\r.csr").encode(), names, host=host)
    cert = pki.sign_csr(ca, csr, host, names, days=days, clamp_to_ca=True)
    a.write_file(TEMP + "\\r.cer", pki.cert_pem(cert))
    assert a.run(["certreq.exe", "-accept", "-q", TEMP + "\\r.cer"]).rc == 0
    for svc in a.list_services():
        a.grant_key_read(pki.thumbprint(cert), svc.username)
    return pki.thumbprint(cert)


def configure(lab, host, group, thumbprint=None):
    guid = model.DEFAULT_GROUP_IDS[group]
    argv = (
        _server_configurator.enable_argv(CFG, guid, thumbprint)
        if thumbprint
        else _server_configurator.disable_argv(CFG, guid)
    )
    return LabAdapter(lab.path, host, run_as=ADMIN).run(argv)


def endpoint(lab, host, port):
    return lab.by_name[host]["address"], lab.port(host, port)


def peer_thumbprint(address, ca_pem, name):
    ctx = ssl.create_default_context(cadata=ca_pem)
    with socket.create_connection(address, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=name) as s:
        return hashlib.sha1(s.getpeercert(True)).hexdigest().upper()  # noqa: S324 - Windows' thumbprint


def openssl_thumbprint(address, name, ca_file):
    host, port = address
    out = openssl(
        "s_client",
        "-connect",
        f"{host}:{port}",
        "-servername",
        name,
        "-showcerts",
        "-CAfile",
        ca_file,
        "-verify_return_error",
    )
    assert out.returncode == 0, out.stdout.decode()[-2000:] + out.stderr.decode()
    text = out.stdout.decode()
    leaf = text[text.index("-----BEGIN CERTIFICATE-----") : text.index("-----END CERTIFICATE-----") + 25]
    fp = openssl("x509", "-noout", "-fingerprint", "-sha1", input_=leaf.encode()).stdout.decode()
    return fp.split("=", 1)[1].strip().replace(":", ""), text.count("-----BEGIN CERTIFICATE-----"), text


def http_get(url, context=None, headers=None, data=None):
    assert url.startswith(("http://127.", "https://127."))
    req = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - loopback only, checked above
    with urllib.request.urlopen(req, timeout=10, context=context) as resp:  # noqa: S310
        return resp.status, json.loads(resp.read())


def password_form(lab: model.Site) -> bytes:
    """The token request body of a basic user, with the site's API account."""
    api = lab.spec["api"]
    return urllib.parse.urlencode(
        {
            "grant_type": "password",
            "username": api["user"],
            "password": api["password"],
            "client_id": "GrantValidatorClient",
        }
    ).encode()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A read-mostly site for the checks that change nothing."""
    path = tmp_path_factory.mktemp("lab-shared") / "site"
    lab_playbook(path)
    try:
        yield model.Site(str(path))
    finally:
        lab_playbook(path, "absent")
    assert procs_for(path) == []


def test_lab_playbook_is_idempotent_and_writes_the_contract_files(shared):
    proc = lab_playbook(shared.path)
    assert "changed=0" in proc.stdout and "failed=0" in proc.stdout
    assert "REST API inventory config: " in proc.stdout
    assert "over HTTPS" not in proc.stdout  # no site CA yet, so no HTTPS inventory config
    for name in ("site.json", "inventory.yml", "site.xprotect.yml", "events.jsonl", "status.json", "server.pid"):
        assert (Path(shared.path) / name).exists(), name
    status = json.loads((Path(shared.path) / "status.json").read_text())
    assert status["ready"] and len(status["hosts"]) == 7
    data = json.loads(run("ansible-inventory", "-i", Path(shared.path) / "inventory.yml", "--list").stdout)
    assert data["xprotect_recording_servers"]["hosts"] == [RS, RS2]
    assert data["xprotect_event_servers"]["hosts"] == [EV]
    assert data["_meta"]["hostvars"][MS]["xprotect_host_adapter"] == "lab"


def test_become_runas_with_connection_local_does_not_break_an_action_plugin(shared, tmp_path):
    """The inventory sets become/runas per host; an action plugin that never runs a remote command works,
    and implicit localhost (the CA play, delegate_to) does not inherit runas."""
    playbook = tmp_path / "become.yml"
    playbook.write_text(
        "- name: Become check\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: An action plugin on every lab host\n      xprotect.encryption.lab_fault:\n"
        "        path: '{{ xprotect_lab_site }}'\n        host: '{{ inventory_hostname }}'\n        fault: clear\n"
        "    - name: A module delegated to the controller\n      ansible.builtin.command: 'true'\n"
        "      changed_when: false\n      delegate_to: localhost\n      run_once: true\n"
    )
    proc = run("ansible-playbook", "-i", Path(shared.path) / "inventory.yml", playbook)
    assert "failed=0" in proc.stdout and "unreachable=0" in proc.stdout


def test_rest_api_with_a_plain_http_client(shared):
    address, port = endpoint(shared, MS, 80)
    status, body = http_get(f"http://{address}:{port}/API/IDP/connect/token", data=password_form(shared))
    assert status == 200 and body["token_type"] == "Bearer"  # noqa: S105 - a token type, not a secret
    status, body = http_get(
        f"http://{address}:{port}/api/rest/v1/recordingServers",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert sorted(r["hostName"] for r in body["array"]) == [RS, RS2]
    with pytest.raises(urllib.error.HTTPError) as info:
        http_get(f"http://{address}:{port}/api/rest/v1/recordingServers", headers={"Authorization": "Bearer x"})
    assert info.value.code == 401


@pytest.mark.parametrize(
    "args, message",
    [
        ({"host": RS, "fault": "explode"}, "value of fault must be one of"),
        ({"host": "nope.lab.xprotect.test", "fault": "clear"}, "is not in the lab site"),
        ({"host": RS, "fault": "configurator_exit"}, "needs value"),
    ],
)
def test_lab_fault_bad_input(shared, args, message):
    before = (Path(shared.path) / "events.jsonl").read_text()
    proc = module("lab_fault", {"path": shared.path, **args}, check=False)
    assert proc.returncode != 0 and message in proc.stdout
    assert (Path(shared.path) / "events.jsonl").read_text() == before


def test_lab_site_bad_input_changes_nothing(tmp_path, shared):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep me")
    for state in ("started", "absent"):
        proc = module("lab_site", {"path": str(foreign), "state": state}, check=False)
        assert proc.returncode != 0 and "something other than a lab site" in proc.stdout
    assert os.listdir(foreign) == ["data.txt"]
    proc = module(
        "lab_site", {"path": str(tmp_path / "zero"), "state": "started", "management_servers": 0}, check=False
    )
    assert proc.returncode != 0 and "management_servers must be at least 1" in proc.stdout
    assert not (tmp_path / "zero").exists()
    # A port in use: something listens where the new site's management server would.
    clash = tmp_path / "clash"
    address = str(ipaddress.IPv4Network(site.default_address_range(str(clash), 1)).network_address + 1)
    with socket.socket() as busy:
        busy.bind((address, 12080))
        busy.listen()
        proc = module(
            "lab_site",
            {
                "path": str(clash),
                "state": "started",
                "port_offset": 12000,
                "hosts": [{"name": "m", "roles": ["management"]}],
            },
            check=False,
        )
    assert proc.returncode != 0 and f"{address}:12080" in proc.stdout and "in use" in proc.stdout
    assert not clash.exists()


def test_encryption_end_to_end_with_ssl_and_openssl(tmp_path):
    path = tmp_path / "site"
    lab_playbook(path)
    try:
        lab = model.Site(str(path))
        ca = make_ca(lab)
        # With the CA, lab_site writes the HTTPS inventory config and the playbook says where it is.
        shown = lab_playbook(path).stdout
        assert f"REST API inventory config over HTTPS: {path / 'site-https.xprotect.yml'}" in shown
        ca_file = str(Path(lab.pki_dir) / "ca.crt")
        tps = {h: trust_and_issue(lab, h, ca) for h in (MS, RS, RS2, FO, MOB, EV, CL)}
        # Plain HTTP before: TLS handshakes fail on 9001, HTTP answers.
        rs_host, rs_port = endpoint(lab, RS, 9001)
        assert http_get(f"http://{rs_host}:{rs_port}/")[1]["tls"] is False
        assert openssl("s_client", "-connect", f"{rs_host}:{rs_port}").returncode != 0
        # The safe order: management server, then recording and failover servers, then mobile.
        assert configure(lab, RS, "server", tps[RS]).rc == 0  # refused silently [L]
        assert lab.read_state(RS)["encryption"]["server"]["enabled"] is False
        for host, group in (
            (EV, "event"),
            (MS, "server"),
            (RS, "server"),
            (RS2, "server"),
            (FO, "server"),
            (RS, "streaming"),
            (RS2, "streaming"),
            (MOB, "mobile"),
        ):
            assert configure(lab, host, group, tps[host]).rc == 0, (host, group)
        site.wait_current(str(path))
        for host, port in ((MS, 443), (RS, 7563), (RS, 9001), (RS2, 9001), (FO, 9001), (MOB, 8082)):
            address = endpoint(lab, host, port)
            assert peer_thumbprint(address, ca.cert_pem, host) == tps[host], (host, port)
            fp, count, _text = openssl_thumbprint(address, host, ca_file)
            assert fp == tps[host] and count == 2, (host, port)
        with pytest.raises(OSError):
            socket.create_connection(endpoint(lab, MS, 80), timeout=3)
        status = json.loads((path / "status.json").read_text())["hosts"]
        assert status[RS]["connected"] and status[FO]["connected"]
        assert status[CL]["video"] == {RS: True, RS2: True}
        assert status[MS]["endpoints"][0] == {
            **status[MS]["endpoints"][0],
            "port": lab.port(MS, 443),
            "tls": True,
            "thumbprint": tps[MS],
            "listening": True,
        }
        # The REST API over HTTPS, verified against the CA by name.
        address, port = endpoint(lab, MS, 443)
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = False  # the lab's FQDNs are not in DNS; the thumbprint was checked above
        assert http_get(f"https://{address}:{port}/IDP/connect/token", ctx, data=password_form(lab))[0] == 200
        # The event log tells the order and the disconnection window.
        events = model.Site(str(path)).events()
        hosts = {"management": [MS], "recording": [RS, RS2], "failover": [FO], "mobile": [MOB], "event": [EV]}
        import phase_order as plan  # tests/phase_order.py, the test oracle of the order

        assert plan.check_order(events, hosts) == []
        enabled = {
            e["host"]: e["ts"] for e in events if e["event"] == "encryption_enabled" and e["group_key"] == "server"
        }
        window = plan.disconnection_window(events, hosts)
        assert window == pytest.approx(max(enabled[RS], enabled[RS2]) - enabled[MS]) and window > 0
        assert [e["connected"] for e in events if e["event"] == "connectivity_changed" and e["host"] == RS] == [
            False,
            True,
        ]
        # Renewal: a newer certificate with the same subject is served without Server Configurator.
        runs = sum(e["event"] == "configurator_run" for e in events)
        new = trust_and_issue(lab, RS, ca, days=900)
        site.wait_current(str(path))
        assert peer_thumbprint(endpoint(lab, RS, 7563), ca.cert_pem, RS) == new
        assert sum(e["event"] == "configurator_run" for e in model.Site(str(path)).events()) == runs
        assert new.lower() in LabAdapter(lab.path, RS).run(["netsh", "http", "show", "sslcert"]).stdout
    finally:
        lab_playbook(path, "absent")
    assert procs_for(path) == [] and not path.exists()


def test_every_fault_kind_through_ansible(tmp_path):
    path = tmp_path / "site"
    lab_playbook(path, lab_recording_servers=1, lab_failover_servers=0, lab_mobile_servers=0, lab_event_servers=0)
    try:
        lab = model.Site(str(path))
        ca = make_ca(lab)
        tps = {h: trust_and_issue(lab, h, ca) for h in (MS, RS, CL)}
        for host, group in ((MS, "server"), (RS, "server"), (RS, "streaming")):
            assert configure(lab, host, group, tps[host]).rc == 0
        tasks = [
            (RS, "configurator_exit", 10000),
            (RS, "stale_configurator", 1),
            (RS, "slow_restart", 0.2),
            (CL, "remove_trusted_ca", None),
            (RS, "remove_key_acl", None),
            (MS, "wrong_name_certificate", None),
            (RS, "expire_certificate", None),
        ]
        plays = ["- name: Faults\n  hosts: localhost\n  gather_facts: false\n  tasks:"]
        for i, (host, kind, value) in enumerate(tasks):
            plays.append(
                f"    - name: Fault {i} {kind}\n      xprotect.encryption.lab_fault:\n"
                f"        path: {json.dumps(str(path))}\n        host: {host}\n        fault: {kind}"
            )
            if value is not None:
                plays.append(f"        value: {value}")
        (tmp_path / "faults.yml").write_text("\n".join(plays) + "\n")
        proc = run("ansible-playbook", tmp_path / "faults.yml")
        assert f"changed={len(tasks)}" in proc.stdout
        injected = [e["fault"] for e in lab.events() if e["event"] == "fault_injected"]
        assert injected == [kind for _h, kind, _v in tasks]
        a = LabAdapter(lab.path, RS, run_as=ADMIN)
        guid = model.DEFAULT_GROUP_IDS["streaming"]
        assert a.run(_server_configurator.disable_argv(CFG, guid)).rc == -4  # the stale instance
        t0 = time.monotonic()
        assert a.run(_server_configurator.disable_argv(CFG, guid)).rc == 10000  # nothing changed
        assert time.monotonic() - t0 >= 0.2  # slow restart
        assert lab.read_state(RS)["encryption"]["streaming"]["enabled"]
        status = site.wait_current(str(path))["hosts"]
        assert status[CL]["video"] == {RS: False}
        assert status[RS]["connected"] is False
        assert (
            json.loads(module("lab_site", {"path": str(path), "state": "status"}).stdout.split("=>", 1)[1])["status"][
                "hosts"
            ][RS]["connected"]
            is False
        )
        # disable_encryption behind our back, and unreachable
        module("lab_fault", {"path": str(path), "host": RS, "fault": "disable_encryption"})
        assert not lab.read_state(RS)["encryption"]["server"]["enabled"]
        module("lab_fault", {"path": str(path), "host": RS, "fault": "unreachable"})
        from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import HostUnreachable

        with pytest.raises(HostUnreachable, match="timed out"):
            a.list_services()
        site.wait_current(str(path))
        with pytest.raises(OSError):
            socket.create_connection(endpoint(lab, RS, 7563), timeout=3)
        module("lab_fault", {"path": str(path), "host": RS, "fault": "clear"})
        assert a.list_services()
        assert lab.read_state(RS)["faults"] == {}
    finally:
        lab_playbook(path, "absent")
    assert procs_for(path) == []


def test_absent_stops_the_process_and_removes_the_site(tmp_path):
    path = tmp_path / "site"
    lab_playbook(path, lab_recording_servers=1, lab_failover_servers=0, lab_mobile_servers=0, lab_clients=0)
    pid = int((path / "server.pid").read_text())
    assert model.pid_alive(pid) and procs_for(path) == [pid]
    proc = module("lab_site", {"path": str(path), "state": "stopped"})
    assert '"changed": true' in proc.stdout
    assert procs_for(path) == [] and not model.pid_alive(pid)
    proc = lab_playbook(path, "absent")
    assert "changed=1" in proc.stdout
    assert not path.exists() and procs_for(path) == []
    assert (tmp_path / "pki" / "passphrase").exists()
