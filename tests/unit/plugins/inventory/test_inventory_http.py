# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plugin's HTTP side against a local server: what it reads, and every error case."""

from __future__ import annotations

import json
import pickle
import select
import socket
import socketserver
import threading
import time

import pytest
from apiserver import SETTINGS, ApiServer, site_records

from ansible_collections.xprotect.encryption.plugins.inventory import xprotect as plugin
from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv

PASSWORD = SETTINGS["api_password"]
WINDOWS_PASSWORD = "W1ndows!"  # noqa: S105 - the lab user's test password


def fetch_error(opts):
    with pytest.raises(inv.InventoryError) as err:
        plugin.fetch_records(opts)
    text = str(err.value)
    assert PASSWORD not in text
    return text


def reply(status, payload=None, headers=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return status, dict({"Content-Type": "application/json"}, **(headers or {})), body


def paths(server):
    return [path for _method, path in server.log]


# ---- what it reads --------------------------------------------------------------------------


def test_reads_the_whole_site_in_a_fixed_number_of_requests(make_opts):
    records = site_records(recording=5, failover=2)
    records[3]["hot_standby"] = records[-1]["name"]
    with ApiServer(records) as server:
        got = plugin.fetch_records(make_opts(server.url))
    kinds = [(r["kind"], r["host"]) for r in got]
    assert kinds == [("recording_server", f"rs{n:03d}.lab.xprotect.test") for n in range(1, 6)] + [
        ("failover_server", "fo01.lab.xprotect.test"),
        ("failover_server", "fo02.lab.xprotect.test"),
    ]
    assert all(r["failoverGroup"] == "Failover group 1" for r in got)
    assert got[2]["hotStandby"] == "fo02.lab.xprotect.test"
    # token, servers, groups, one group's members, loose recorders, all failover settings at once
    assert len(server.log) == 6
    assert paths(server)[0] == "/API/IDP/connect/token"
    assert paths(server)[-1] == "/api/rest/v1/recordingServerFailovers"


def test_falls_back_to_one_request_per_server_without_the_bulk_list(make_opts):
    records = site_records(recording=7, failover=1)
    settings = dict(SETTINGS, bulk_failover_settings=False)
    with ApiServer(records, settings) as server:
        got = plugin.fetch_records(make_opts(server.url, workers=3))
    assert all(r["failoverGroup"] == "Failover group 1" for r in got)
    per_server = [p for p in paths(server) if p.endswith("/recordingServerFailovers") and "recordingServers/" in p]
    assert len(per_server) == 7


def test_per_server_and_skip_modes(make_opts):
    with ApiServer(site_records(recording=3, failover=1)) as server:
        got = plugin.fetch_records(make_opts(server.url, failover_assignment="per_server", workers=1))
        assert [r["failoverGroup"] for r in got] == ["Failover group 1"] * 4
        assert "/api/rest/v1/recordingServerFailovers" not in paths(server)
        server.log.clear()
        got = plugin.fetch_records(make_opts(server.url, failover_assignment="skip"))
        assert [r["failoverGroup"] for r in got if r["kind"] == "recording_server"] == [None] * 3
        assert not [p for p in paths(server) if "recordingServerFailovers" in p]


@pytest.mark.parametrize("bulk", [[{"id": "x", "primaryFailoverGroup": ""}], []])
def test_bulk_list_without_relations_or_empty_is_not_trusted(make_opts, bulk):
    def strip_relations(method, path, headers, body):
        if path == "/api/rest/v1/recordingServerFailovers":
            return reply(200, {"array": bulk})
        return None

    with ApiServer(site_records(recording=2, failover=1), override=strip_relations) as server:
        got = plugin.fetch_records(make_opts(server.url))
    assert [r["failoverGroup"] for r in got] == ["Failover group 1"] * 3
    assert len([p for p in paths(server) if "recordingServers/" in p]) == 2


def test_include_disabled_asks_for_disabled_servers(make_opts):
    records = site_records(recording=2, failover=1)
    records[1]["enabled"] = False
    with ApiServer(records) as server:
        assert [
            r["enabled"] for r in plugin.fetch_records(make_opts(server.url)) if r["kind"] == "recording_server"
        ] == [True]
        got = plugin.fetch_records(make_opts(server.url, include_disabled=True))
        assert [r["enabled"] for r in got if r["kind"] == "recording_server"] == [False, True]
        assert "/api/rest/v1/recordingServers?disabled" in paths(server)


def test_a_server_without_failover_lists(make_opts):
    def no_failover(method, path, headers, body):
        if "failover" in path.lower() and "recordingServerFailovers" not in path:
            return reply(404, {"error": {"httpCode": 404}})
        return None

    warnings = []
    with ApiServer(site_records(recording=2, failover=1), override=no_failover) as server:
        got = plugin.fetch_records(make_opts(server.url), warn=warnings.append)
    assert [r["kind"] for r in got] == ["recording_server"] * 2
    (warning,) = warnings
    assert f"{server.url} has neither failoverGroups nor failoverRecorders (404)" in warning
    assert "xprotect_failover_servers" in warning


def test_token_falls_back_to_the_direct_identity_provider(make_opts):
    def no_gateway_idp(method, path, headers, body):
        return reply(404, raw=b"") if path.startswith("/API/IDP") else None

    with ApiServer(site_records(), override=no_gateway_idp) as server:
        plugin.fetch_records(make_opts(server.url))
    assert paths(server)[:2] == ["/API/IDP/connect/token", "/IDP/connect/token"]


def test_expired_token_is_renewed_once(make_opts):
    state = {"refused": 0}

    def expire_once(method, path, headers, body):
        if path == "/api/rest/v1/failoverGroups" and not state["refused"]:
            state["refused"] += 1
            return reply(401, {"error": {"httpCode": 401}})
        return None

    with ApiServer(site_records(), override=expire_once) as server:
        plugin.fetch_records(make_opts(server.url))
    assert paths(server).count("/API/IDP/connect/token") == 2


def test_windows_user_logs_on_with_ntlm(make_opts):
    pytest.importorskip("requests_ntlm")
    settings = dict(SETTINGS, windows_user="LAB\\svc-inventory", windows_password=WINDOWS_PASSWORD)
    with ApiServer(site_records(), settings) as server:
        got = plugin.fetch_records(
            make_opts(server.url, auth_type="windows", username="LAB\\svc-inventory", password=WINDOWS_PASSWORD)
        )
        assert len(got) == 4
        # NTLM goes straight to the IDP (the gateway does not pass it through): 3 legs.
        assert paths(server)[:3] == ["/IDP/connect/token"] * 3
        text = fetch_error(make_opts(server.url, auth_type="windows", username="LAB\\svc-inventory", password=PASSWORD))
    assert "refused the credentials of Windows user (NTLM) 'LAB\\\\svc-inventory'" in text


# ---- errors: each names the URL and says what to do ----------------------------------------------


def test_bad_password(make_opts):
    with ApiServer(site_records()) as server:
        text = fetch_error(make_opts(server.url, password="not-the-password"))  # noqa: S106
    assert f"{server.url}/API/IDP/connect/token refused the credentials of basic user 'inventory'" in text
    assert "invalid_grant" in text
    assert "not-the-password" not in text


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "refused the access token (401)"),
        (403, "forbids user 'inventory' to read it (403)"),
        (404, "needs XProtect 2021 R2 or later"),
        (500, "answered HTTP 500"),
        (301, "redirects (301)"),
    ],
)
def test_api_status_errors(make_opts, status, says):
    def broken(method, path, headers, body):
        if path.startswith("/api/rest/v1/recordingServers"):
            return reply(
                status,
                {"error": {"httpCode": status, "details": [{"errorText": "Lab says no"}]}},
                {"Location": "https://x/"},
            )
        return None

    with ApiServer(site_records(), override=broken) as server:
        text = fetch_error(make_opts(server.url))
    assert says in text
    assert f"{server.url}/api/rest/v1/recordingServers" in text


def test_no_identity_provider_at_all(make_opts):
    with ApiServer(site_records(), override=lambda *a: reply(404, raw=b"Not Found")) as server:
        text = fetch_error(make_opts(server.url))
    assert f"No identity provider at {server.url}/IDP/connect/token (404)" in text


def test_token_reply_without_access_token(make_opts):
    with ApiServer(
        site_records(), override=lambda m, p, h, b: reply(200, {"token": "x"}) if "IDP" in p else None
    ) as server:
        text = fetch_error(make_opts(server.url))
    assert "has no access_token (keys: token)" in text


@pytest.mark.parametrize(
    ("broken_reply", "says"),
    [
        (reply(200, raw=b"<html>Sign in</html>", headers={"Content-Type": "text/html"}),
         "is not JSON (text/html): '<html>Sign in</html>'"),
        (reply(200, raw=b'{"array": [}'), "is not JSON"),
        (reply(200, {"data": []}), "has no 'array' list (keys: data)"),
        (reply(200, {"array": "nope"}), "not a list of objects"),
    ],
)  # fmt: skip
def test_malformed_replies(make_opts, broken_reply, says):
    def broken(method, path, headers, body):
        return broken_reply if path.startswith("/api/rest/v1/recordingServers") else None

    with ApiServer(site_records(), override=broken) as server:
        text = fetch_error(make_opts(server.url))
    assert says in text
    assert f"{server.url}/api/rest/v1/recordingServers" in text


def test_timeout(make_opts):
    def slow(method, path, headers, body):
        time.sleep(1.5)

    with ApiServer(site_records(), override=slow) as server:
        text = fetch_error(make_opts(server.url, timeout=0.3))
    assert f"{server.url}/API/IDP/connect/token did not answer within 0.3 s. Raise timeout" in text


def test_connection_refused(make_opts):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    text = fetch_error(make_opts(f"http://127.0.0.1:{port}"))
    assert f"Connection to http://127.0.0.1:{port}/API/IDP/connect/token refused" in text


def test_tls_trusted_with_ca_path(make_opts, pki):
    with ApiServer(site_records(), tls=pki["good"]) as server:
        assert server.url.startswith("https://")
        assert len(plugin.fetch_records(make_opts(server.url, ca_path=pki["ca"]))) == 4
        assert len(plugin.fetch_records(make_opts(server.url, validate_certs=False))) == 4


def test_tls_not_trusted_says_which_ca_path_to_set(make_opts, pki):
    with ApiServer(site_records(), tls=pki["good"]) as server:
        text = fetch_error(make_opts(server.url))
        assert f"The certificate of {server.url}/API/IDP/connect/token is not trusted" in text
        assert "set ca_path to that CA's PEM certificate" in text
        wrong_ca = pki["good"][0]  # a server certificate is no CA
        text = fetch_error(make_opts(server.url, ca_path=wrong_ca))
        assert f"not trusted with ca_path {wrong_ca!r}" in text


def test_tls_name_mismatch(make_opts, pki):
    with ApiServer(site_records(), tls=pki["other"]) as server:
        text = fetch_error(make_opts(server.url, ca_path=pki["ca"]))
    assert "is not valid for the host in url" in text
    assert "never an IP address" in text
    assert "set tls_server_name" in text


def test_http_to_a_tls_port_and_tls_to_a_plain_port(make_opts, pki):
    with ApiServer(site_records(), tls=pki["good"]) as server:
        text = fetch_error(make_opts(server.url.replace("https://", "http://")))
    assert "try https:// in url" in text or "Cannot connect" in text
    with ApiServer(site_records()) as server:
        text = fetch_error(make_opts(server.url.replace("http://", "https://"), ca_path=pki["ca"]))
    assert "does not speak TLS" in text


# ---- tls_server_name: the certificate's name when url uses an address ------------------------------


class ConnectProxy:
    """A forward proxy on 127.0.0.1 that tunnels CONNECT, as a corporate HTTPS proxy does."""

    def __init__(self):
        self.targets = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    chunk = self.connection.recv(1)
                    if not chunk:
                        return
                    head += chunk
                method, target, _version = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                proxy.targets.append((method, target))
                host, port = target.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=5) as upstream:
                    self.connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    pair = {self.connection: upstream, upstream: self.connection}
                    while True:
                        readable, _w, _x = select.select(list(pair), [], [], 5)
                        if not readable:
                            return
                        for sock in readable:
                            data = sock.recv(65536)
                            if not data:
                                return
                            pair[sock].sendall(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tls_server_name_verifies_the_certificate_against_that_name(make_opts, pki, no_proxy_env):
    # The certificate names ms.example.test only; url uses 127.0.0.1.
    with ApiServer(site_records(), tls=pki["other"]) as server:
        got = plugin.fetch_records(make_opts(server.url, ca_path=pki["ca"], tls_server_name="ms.example.test"))
        assert len(got) == 4
        # Every handshake of the read sent the name as SNI (keep-alive may reuse one connection).
        assert server.sni and set(server.sni) == {"ms.example.test"}
        assert len(server.log) == 6
        # Without it, the same server fails the host name check: the option is what makes it pass.
        text = fetch_error(make_opts(server.url, ca_path=pki["ca"]))
    assert "is not valid for the host in url" in text
    assert "set tls_server_name to the certificate's name" in text


def test_tls_server_name_that_is_not_on_the_certificate(make_opts, pki, no_proxy_env):
    with ApiServer(site_records(), tls=pki["other"]) as server:
        text = fetch_error(make_opts(server.url, ca_path=pki["ca"], tls_server_name="other.example.test"))
        assert server.sni == ["other.example.test"]
    assert f"The certificate of {server.url}/API/IDP/connect/token is not valid for tls_server_name" in text
    assert "'other.example.test'" in text
    assert "Set tls_server_name to the name the certificate was issued for" in text


def test_tls_server_name_keeps_the_trust_check(make_opts, pki, no_proxy_env):
    with ApiServer(site_records(), tls=pki["other"]) as server:
        # The right name, but no CA that signed the certificate: still refused.
        text = fetch_error(make_opts(server.url, tls_server_name="ms.example.test"))
        assert "is not trusted" in text and "set ca_path to that CA's PEM certificate" in text
        wrong_ca = pki["good"][0]
        text = fetch_error(make_opts(server.url, ca_path=wrong_ca, tls_server_name="ms.example.test"))
        assert f"not trusted with ca_path {wrong_ca!r}" in text
        # Without ca_path the controller's trust store decides, REQUESTS_CA_BUNDLE included.
        no_proxy_env.setenv("REQUESTS_CA_BUNDLE", pki["ca"])
        assert len(plugin.fetch_records(make_opts(server.url, tls_server_name="ms.example.test"))) == 4
        # With ca_path, that file alone decides, whatever REQUESTS_CA_BUNDLE says.
        text = fetch_error(make_opts(server.url, ca_path=wrong_ca, tls_server_name="ms.example.test"))
        assert "not trusted with ca_path" in text


def test_tls_server_name_without_validation_still_sends_the_name(make_opts, pki, no_proxy_env):
    with ApiServer(site_records(), tls=pki["other"]) as server:
        got = plugin.fetch_records(make_opts(server.url, validate_certs=False, tls_server_name="any.example.test"))
        assert len(got) == 4
        assert set(server.sni) == {"any.example.test"}


def test_tls_server_name_is_not_used_for_plain_http(make_opts, no_proxy_env):
    with ApiServer(site_records()) as server:
        assert len(plugin.fetch_records(make_opts(server.url, tls_server_name="ms.example.test"))) == 4


def test_tls_server_name_through_an_https_proxy(make_opts, pki, no_proxy_env):
    with ApiServer(site_records(), tls=pki["other"]) as server, ConnectProxy() as proxy:
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        got = plugin.fetch_records(make_opts(server.url, ca_path=pki["ca"], tls_server_name="ms.example.test"))
        assert len(got) == 4
        # The tunnel goes to the address in url; the TLS inside it names the certificate's host.
        assert proxy.targets and set(proxy.targets) == {("CONNECT", f"127.0.0.1:{server.port}")}
        assert set(server.sni) == {"ms.example.test"}


def test_server_name_adapter_survives_pickling():
    adapter = plugin.ServerNameAdapter("ms.example.test", pool_connections=1, pool_maxsize=3)
    clone = pickle.loads(pickle.dumps(adapter))  # noqa: S301 - our own object
    assert clone.server_name == "ms.example.test"
    assert clone.poolmanager.connection_pool_kw["server_hostname"] == "ms.example.test"
    assert clone.poolmanager.connection_pool_kw["assert_hostname"] == "ms.example.test"
