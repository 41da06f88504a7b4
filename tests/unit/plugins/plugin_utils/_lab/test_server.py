# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site process, run in this process (a thread with its own event loop): real sockets, real TLS."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import socket
import ssl
import threading
import time
import urllib.parse
from asyncio import sslproto

import pytest
from lab_helpers import CL, MOB, MS, RS, adapter, certreq, enable, openssl

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import faults, model, server, site


class Running:
    def __init__(self, lab, **limits):
        self.lab = lab
        self.srv = server.SiteServer(lab.path, poll=0.02, **limits)
        self.loop = None
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            try:
                await self.srv.start()
            except Exception as e:  # noqa: BLE001
                self.error = e
                self.ready.set()
                return
            self.ready.set()
            try:
                await self.srv.watch()
            finally:
                await self.srv.stop()

        asyncio.run(main())

    def __enter__(self):
        self.thread.start()
        self.ready.wait(30)
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc):
        if self.loop and not self.error:
            self.loop.call_soon_threadsafe(self.srv.stopping.set)
        self.thread.join(30)

    def sync(self):
        """Wait until the process has taken in the latest change."""
        return site.wait_current(self.lab.path)

    def addr(self, host, port):
        return self.lab.by_name[host]["address"], self.lab.port(host, port)


def http(address, body=b"", method="GET", *, path="/", headers=None, context=None, server_name=None):
    raw = socket.create_connection(address, timeout=5)
    sock = context.wrap_socket(raw, server_hostname=server_name) if context else raw
    with sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def tls_thumbprint(address, ca_pem, name):
    ctx = ssl.create_default_context(cadata=ca_pem)
    with socket.create_connection(address, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=name) as s:
        return hashlib.sha1(s.getpeercert(True)).hexdigest().upper()  # noqa: S324 - the Windows thumbprint


def test_plain_http_before_encryption(lab):
    with Running(lab) as r:
        status, body = http(r.addr(MS, 80))
        assert status == 200 and json.loads(body)["endpoint"] == "management"
        status, body = http(r.addr(RS, 7563))
        assert json.loads(body) == {
            "host": RS,
            "endpoint": "image-server",
            "port": 7563,
            "tls": False,
            "product": "XProtect (lab)",
        }
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(r.addr(MS, 443), timeout=2)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(r.addr(MOB, 8082), timeout=2)
        st = r.sync()
        assert st["ready"] and st["pid"] and st["hosts"][MS]["endpoints"][0]["listening"]


def test_tls_follows_the_binding_and_renewal(lab, prepared, ca, tmp_path):
    with Running(lab) as r:
        enable(lab, MS, "server", prepared[MS])
        enable(lab, RS, "server", prepared[RS])
        enable(lab, RS, "streaming", prepared[RS])
        enable(lab, MOB, "mobile", prepared[MOB])
        r.sync()
        assert tls_thumbprint(r.addr(MS, 443), ca.cert_pem, MS) == prepared[MS]
        assert tls_thumbprint(r.addr(RS, 7563), ca.cert_pem, RS) == prepared[RS]
        assert tls_thumbprint(r.addr(RS, 9001), ca.cert_pem, RS) == prepared[RS]
        assert tls_thumbprint(r.addr(MOB, 8082), ca.cert_pem, MOB) == prepared[MOB]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(r.addr(MS, 80), timeout=2)
        assert http(r.addr(MOB, 8081))[0] == 200  # the plain mobile port stays
        # The chain: leaf + the CA, as Windows sends it; openssl verifies it.
        (tmp_path / "ca.pem").write_text(ca.cert_pem)
        host, port = r.addr(RS, 7563)
        out = openssl(
            "s_client",
            "-connect",
            f"{host}:{port}",
            "-servername",
            RS,
            "-showcerts",
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-verify_return_error",
            input_=b"",
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.count(b"-----BEGIN CERTIFICATE-----") == 2
        assert b"Verify return code: 0 (ok)" in out.stdout
        # A renewed certificate (same subject, later expiry) is served from the next handshake on.
        new = certreq(lab, RS, ca, days=900)
        r.sync()
        assert tls_thumbprint(r.addr(RS, 7563), ca.cert_pem, RS) == new
        # Switching the management server off brings HTTP 80 back.
        faults.inject(lab, MS, "disable_encryption")
        r.sync()
        assert http(r.addr(MS, 80))[0] == 200


def test_handshake_fails_when_the_service_cannot_read_the_key(lab, prepared, ca):
    enable(lab, RS, "streaming", prepared[RS])
    faults.inject(lab, RS, "remove_key_acl")
    with Running(lab) as r:
        ctx = ssl.create_default_context(cadata=ca.cert_pem)
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with socket.create_connection(r.addr(RS, 7563), timeout=5) as raw:
                ctx.wrap_socket(raw, server_hostname=RS)
        st = r.sync()
        image = st["hosts"][RS]["endpoints"][0]
        assert image["tls"] and not image["handshake"] and image["listening"]


def test_changed_endpoints_answer_only_after_endpoint_return_seconds(lab, prepared, ca):
    # Services still starting after Server Configurator returned: the ports stay closed, then
    # answer the new way. A host whose endpoints did not change keeps answering throughout.
    spec = lab.spec
    site.ensure_site(lab.path, hosts=spec["hosts"], port_offset=0, settings={"endpoint_return_seconds": 1.5})
    lab = model.Site(lab.path)
    with Running(lab) as r:
        assert http(r.addr(MS, 80))[0] == 200
        enable(lab, MS, "server", prepared[MS])
        changed = time.monotonic()
        r.sync()
        for port in (80, 443):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(r.addr(MS, port), timeout=2)
        assert http(r.addr(RS, 9001))[0] == 200
        deadline = changed + 10
        while time.monotonic() < deadline:
            try:
                thumbprint = tls_thumbprint(r.addr(MS, 443), ca.cert_pem, MS)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        assert time.monotonic() - changed >= 1.5
        assert thumbprint == prepared[MS]


def test_unreachable_host_stops_listening(lab):
    with Running(lab) as r:
        assert http(r.addr(RS, 9001))[0] == 200
        faults.inject(lab, RS, "unreachable")
        r.sync()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(r.addr(RS, 9001), timeout=2)
        faults.inject(lab, RS, "clear")
        r.sync()
        assert http(r.addr(RS, 9001))[0] == 200


def test_rest_api_on_the_management_server(lab):
    api = lab.spec["api"]
    with Running(lab) as r:
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "username": api["user"],
                "password": api["password"],
                "client_id": "GrantValidatorClient",
            }
        ).encode()
        status, body = http(
            r.addr(MS, 80),
            form,
            "POST",
            path="/API/IDP/connect/token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200
        token = json.loads(body)["access_token"]
        status, body = http(
            r.addr(MS, 80), path="/api/rest/v1/recordingServers", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200
        names = sorted(x["hostName"] for x in json.loads(body)["array"])
        assert names == [RS]
        assert http(r.addr(MS, 80), path="/api/rest/v1/recordingServers")[0] == 401
        # The API is served by the management server only.
        assert json.loads(http(r.addr(RS, 9001), path="/api/rest/v1/recordingServers")[1])["host"] == RS


def test_bad_requests(lab):
    with Running(lab) as r:
        with socket.create_connection(r.addr(MS, 80), timeout=5) as s:
            s.sendall(b"NONSENSE\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400")
        # http() sends its own Content-Length: 0; a second one that disagrees is a bad request.
        assert http(r.addr(MS, 80), headers={"Content-Length": "99999999"})[0] == 400
        with socket.create_connection(r.addr(MS, 80), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 413")
        # A TLS client on a plain port and a plain client that hangs up do no harm.
        ctx = ssl.create_default_context()
        with pytest.raises(ssl.SSLError):
            with socket.create_connection(r.addr(MS, 80), timeout=5) as raw:
                ctx.wrap_socket(raw, server_hostname=MS)
        socket.create_connection(r.addr(MS, 80), timeout=5).close()
        assert http(r.addr(MS, 80))[0] == 200


def test_a_port_in_use_is_a_clear_start_error(lab):
    address, port = lab.by_name[RS]["address"], lab.port(RS, 9001)
    with socket.socket() as s:
        s.bind((address, port))
        s.listen()
        with pytest.raises(server.StartError, match=f"cannot listen on {address}:{port} for {RS}"):
            with Running(lab):
                pass


def test_the_process_exits_2_and_says_why(lab, capsys):
    address, port = lab.by_name[MS]["address"], lab.port(MS, 80)
    with socket.socket() as s:
        s.bind((address, port))
        s.listen()
        assert server.main([lab.path]) == 2
    out = capsys.readouterr().out
    assert f"{address}:{port}" in out
    assert model.read_json(lab.file("status.json"))["ready"] is False
    assert not lab.server_pid()
    assert server.main([]) == 2
    assert server.main(["/nonexistent/site"]) == 2


def test_periodic_connectivity_check_notices_time(lab, prepared, monkeypatch):
    spec = json.loads(open(lab.site_json).read())
    spec["settings"]["connectivity_poll_seconds"] = 0.05
    open(lab.site_json, "w").write(json.dumps(spec))
    lab = model.Site(lab.path)
    enable(lab, RS, "streaming", prepared[RS])
    assert model.read_json(lab.file("connectivity.json"))["video"][CL][RS] is True
    with Running(lab) as r:
        # Make the recorded value stale (as time passing would): the process recomputes it on its own.
        data = model.read_json(lab.file("connectivity.json"))
        data["video"][CL][RS] = False
        model.write_json(lab.file("connectivity.json"), data)

        # The process writes connectivity.json before it appends the event (the lab's guarantee,
        # test_model.test_connectivity_is_written_before_its_event): the event is enough to wait for.
        deadline = time.monotonic() + 5
        while not [e for e in lab.events() if e["event"] == "video_changed"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e["video"] for e in lab.events() if e["event"] == "video_changed"][-1] is True
        assert model.read_json(lab.file("connectivity.json"))["video"][CL][RS] is True
        assert r.srv.requests == 0


def test_only_loopback(lab):
    spec = json.loads(open(lab.site_json).read())
    spec["hosts"][0]["address"] = "10.1.2.3"
    open(lab.site_json, "w").write(json.dumps(spec))
    with pytest.raises(server.StartError, match="outside 127.0.0.0/8"):
        with Running(model.Site(lab.path)):
            pass


def test_single_address_mode(tmp_path):
    path = str(tmp_path / "s")
    site.ensure_site(
        path,
        hosts=[{"name": "m", "roles": ["management"]}, {"name": "r", "roles": ["recording"]}],
        address_range="127.0.0.1/32",
        port_offset=0,
    )
    lab = model.Site(path)
    assert {h["address"] for h in lab.hosts} == {"127.0.0.1"}
    assert lab.port("m.lab.xprotect.test", 80) == 20000 and lab.port("r.lab.xprotect.test", 9001) == 20011
    with Running(lab) as r:
        assert json.loads(http(r.addr("r.lab.xprotect.test", 9001))[1])["host"] == "r.lab.xprotect.test"


def test_client_connections_counted(lab, prepared, ca):
    enable(lab, MS, "server", prepared[MS])
    with Running(lab) as r:
        tls_thumbprint(r.addr(MS, 443), ca.cert_pem, MS)
        time.sleep(0.05)
        assert r.srv.handshakes >= 1
    assert adapter(lab, MS).list_services()


@pytest.mark.parametrize("length", ["abc", "-5", "+5", "1.5", "0x10", "", "5, 6", "\u0665"])
def test_a_bad_content_length_is_answered_400(lab, length):
    with Running(lab) as r, socket.create_connection(r.addr(MS, 80), timeout=5) as s:
        s.sendall(f"POST /api/rest/v1/recordingServers HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode())
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 400") and b"Content-Length" in answer


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([], 0),
        (["Host: x"], 0),
        (["content-length: 12"], 12),
        (["Content-Length: 3, 3"], 3),
        (["Content-Length: 3", "Content-Length: 4"], None),
    ],
)
def test_content_length(lines, expected):
    assert server.content_length(lines) == expected


def _closed_by_peer(sock, deadline):
    """True when the server closes the connection before ``deadline`` (monotonic)."""
    sock.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _ssl_protocols(loop):
    """TLS connection objects of this server's event loop still in memory (other tests' garbage
    is not counted)."""
    return sum(1 for o in gc.get_objects() if isinstance(o, sslproto.SSLProtocol) and o._loop is loop)


def test_idle_and_stalled_connections_are_closed_within_the_timeouts(lab, prepared):
    """Clients that connect and never finish the handshake (or the request) are dropped, and what
    their connections held is freed by the site process itself (no gc.collect() here)."""
    enable(lab, MS, "server", prepared[MS])
    with Running(lab, handshake_timeout=0.5, idle_timeout=0.5) as r:
        r.sync()
        baseline = _ssl_protocols(r.loop)
        idle_tls = [socket.create_connection(r.addr(MS, 443), timeout=5) for _i in range(40)]
        idle_plain = [socket.create_connection(r.addr(RS, 7563), timeout=5) for _i in range(20)]
        stalled = socket.create_connection(r.addr(MS, 443), timeout=5)
        stalled.sendall(b"\x16\x03\x01\x02\x00")  # the start of a ClientHello, and no more
        half_request = socket.create_connection(r.addr(RS, 7563), timeout=5)
        half_request.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        socks = [*idle_tls, *idle_plain, stalled, half_request]
        deadline = time.monotonic() + 5
        try:
            # Every connection is accepted first (on a loaded machine that takes a moment), and
            # the idle timeout (0.5 s) is short enough that some may already be gone by then.
            accepted = time.monotonic() + 2
            while r.srv.connections < len(socks) and r.srv.refused == 0 and time.monotonic() < accepted:
                time.sleep(0.01)
            assert r.srv.refused == 0
            assert all(_closed_by_peer(s, deadline) for s in socks)
        finally:
            for s in socks:
                s.close()
        # The site process collects what failed connections left (its schedule is
        # test_collections_after_failed_connections); wait for it a while.
        while (r.srv.connections or _ssl_protocols(r.loop) > baseline) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        assert r.srv.connections == 0
        # Nothing is kept: what is left is garbage a collection frees (on a loaded machine the
        # transports close after the site's last collection), never a live reference.
        if _ssl_protocols(r.loop) > baseline:
            gc.collect()
        assert _ssl_protocols(r.loop) <= baseline
        # The site still serves.
        assert http(r.addr(RS, 7563))[0] == 200


def test_connections_over_the_limit_are_reset_at_once(lab):
    with Running(lab, max_connections=3, idle_timeout=5) as r:
        held = [socket.create_connection(r.addr(RS, 7563), timeout=5) for _i in range(3)]
        try:
            time.sleep(0.1)
            extra = socket.create_connection(r.addr(RS, 7563), timeout=5)
            with extra:
                assert _closed_by_peer(extra, time.monotonic() + 1)
            assert r.srv.refused == 1
            assert r.srv.connections == 3
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 3
        while r.srv.connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert http(r.addr(RS, 7563))[0] == 200


def test_collections_after_failed_connections(lab, monkeypatch):
    """At most every COLLECT_EVERY seconds while connections fail, then again while a collection
    still finds garbage, then not at all."""
    found = []  # what each collection "finds", in turn
    runs = []

    def collect():
        runs.append(1)
        return found.pop(0) if found else 0

    monkeypatch.setattr(server.gc, "collect", collect)
    srv = server.SiteServer(lab.path)
    step = server.COLLECT_EVERY
    assert not srv.collect(10 * step)  # nothing failed: nothing to do
    srv.failed = 3
    found[:] = [40]
    assert srv.collect(10 * step) and srv.failed == 0
    srv.failed = 1
    assert not srv.collect(10.5 * step)  # not again so soon
    found[:] = [7, 2]
    assert srv.collect(11 * step)  # the new failure; found 7
    assert srv.collect(12 * step)  # again: the last one found something (found 2)
    assert srv.collect(13 * step)  # again: found 2 last time; this one finds nothing
    assert not srv.collect(14 * step)  # nothing failed, nothing found: done
    assert not srv.collect(20 * step)
    assert len(runs) == 4
