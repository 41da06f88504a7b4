# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site process: one per lab site, serving every host's endpoints on its own loopback address.

Run as ``python -m ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.server <site>``
(``lab_site state=started`` does it, detached). It:

- listens on each host's endpoints (connectivity.endpoints): plain HTTP, or real TLS with the
  certificate bound on that host and its key, upgraded per connection so that a new binding
  or a renewed certificate is served from the next handshake on;
- serves the Management Server REST API on the management server's endpoint (restapi.handle);
- watches the ``generation`` file the model bumps, reloads changed hosts, opens and closes
  listeners (HTTP 80 <-> HTTPS 443 on the management server), and keeps status.json current;
- recomputes connectivity now and then, so certificates that expire with time are noticed.

It never binds outside 127.0.0.0/8. A port in use at start-up is a clear error naming the
address and port, and the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import os
import resource
import signal
import ssl
import sys
import time
from typing import Any, Dict, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs, jobs, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import site as sitemod

try:
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import restapi
except ImportError:  # pragma: no cover - written by another helper
    restapi = None  # type: ignore[assignment]

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
MAX_HEADER = 64 * 1024
MAX_BODY = 1024 * 1024
# A client that connects and then says nothing, or stops half-way through a TLS handshake or a
# request, is dropped after these many seconds. Without them 600 idle connections held about
# 500 MB until the clients went away (docs/lab.md, "Limits").
HANDSHAKE_TIMEOUT = 5.0
IDLE_TIMEOUT = 10.0
# Connections served at once; one more is reset at once, as an overloaded server does. A TLS
# connection costs about 300 KB while its handshake runs (asyncio's buffer), so this bounds the
# memory a flood of half-open connections can take.
MAX_CONNECTIONS = 1000
# A connection that fails (a handshake that times out or breaks) leaves reference cycles in
# asyncio (the exception, its traceback and the futures that hold it); the cyclic collector would
# free them only at its rare full collection. The site process collects them itself, at most
# this often, after connections have failed.
COLLECT_EVERY = 1.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class StartError(Exception):
    pass


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stdout.write(f"{stamp} {message}\n")
    sys.stdout.flush()


class SiteServer:
    """Holds every host's state in memory and one listener per (host, endpoint port)."""

    def __init__(
        self,
        path: str,
        poll: float = 0.1,
        *,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ):
        self.site = model.Site(path)
        self.poll = poll
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.connections = 0  # open now
        self.failed = 0  # connections that ended in an error since the last collection
        self.refused = 0  # reset at once, over max_connections
        self._collected = 0.0
        self._again = False
        self.states: Dict[str, Dict[str, Any]] = {}
        self.stamps: Dict[str, Tuple[int, int, int]] = {}
        self.plans: Dict[str, Dict[int, conn.Endpoint]] = {}
        # Hosts whose endpoints changed, closed until this monotonic time (endpoint_return_seconds).
        self.returning: Dict[str, float] = {}
        self.listeners: Dict[Tuple[str, int], asyncio.AbstractServer] = {}
        self.contexts: Dict[Tuple[str, str], ssl.SSLContext] = {}
        self.generation = ""
        self.errors: Dict[str, str] = {}
        self.records = sitemod.api_records(self.site)
        self.api_settings = sitemod.api_settings(self.site)
        self.stopping = asyncio.Event()
        self.requests = 0
        self.handshakes = 0
        self.tasks: set = set()
        self.spawner: Optional[asyncio.AbstractServer] = None

    # -- state ---------------------------------------------------------------------------------
    def _stamp(self, name: str) -> Tuple[int, int, int]:
        st = os.stat(self.site.state_path(name))
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def _load(self, name: str) -> bool:
        stamp = self._stamp(name)
        if self.stamps.get(name) == stamp:
            return False
        self.states[name] = self.site.read_state(name)
        self.stamps[name] = stamp
        hv = conn.view(self.states[name])
        self.plans[name] = {ep.default_port: ep for ep in conn.endpoints(hv, self.site.settings)}
        return True

    def runtime(self) -> Dict[str, Any]:
        listening: Dict[str, Dict[str, bool]] = {}
        for (name, default), _server in self.listeners.items():
            listening.setdefault(name, {})[str(self.site.port(name, default))] = True
        return {
            "ready": True,
            "pid": os.getpid(),
            "listening": listening,
            "error": "; ".join(self.errors.values()) or None,
        }

    def write_status(self) -> None:
        self.site.write_status(self.runtime(), states=self.states)

    # -- listeners ------------------------------------------------------------------------------
    async def _listen(self, name: str, default: int) -> None:
        host = self.site.by_name[name]
        address = host["address"]
        if ipaddress.IPv4Address(address) not in LOOPBACK:
            raise StartError(f"{name}: {address} is outside 127.0.0.0/8; the lab only binds loopback.")
        port = self.site.port(name, default)

        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: _Accept(self, name, default), address, port, reuse_address=True, backlog=128
            )
        except OSError as e:
            raise StartError(f"cannot listen on {address}:{port} for {name} ({e.strerror or e})") from e
        self.listeners[(name, default)] = server

    async def reconcile(self, name: str, strict: bool = False) -> None:
        """Open and close this host's listeners to match its endpoint plan."""
        want = set() if name in self.returning else set(self.plans.get(name, {}))
        have = {d for (n, d) in self.listeners if n == name}
        for default in sorted(have - want):
            server = self.listeners.pop((name, default))
            server.close()
        for default in sorted(want - have):
            try:
                await self._listen(name, default)
                self.errors.pop(f"{name}:{default}", None)
            except StartError as e:
                if strict:
                    raise
                self.errors[f"{name}:{default}"] = str(e)
                log(f"ERROR: {e}")

    async def start(self) -> float:
        t0 = time.monotonic()
        with contextlib.suppress(ValueError, OSError):
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.generation = self.site.generation()
        for h in self.site.hosts:
            self._load(h["name"])
        try:
            for h in self.site.hosts:
                await self.reconcile(h["name"], strict=True)
        except StartError:
            for server in self.listeners.values():
                server.close()
            self.listeners.clear()
            raise
        # Certificates may have expired while the site was stopped.
        await asyncio.to_thread(self.site.update_connectivity, None)
        # The hosts' side of an asynchronous start (jobs.py): before server.pid names this process.
        address = jobs.spawner_address(self.site.path, os.getpid())
        self.spawner = await asyncio.start_unix_server(self.spawn, path=address)
        model.atomic_write(self.site.file("server.pid"), str(os.getpid()).encode("ascii"))
        self.write_status()
        took = time.monotonic() - t0
        self.site.emit(
            "",
            "site_started",
            pid=os.getpid(),
            hosts=len(self.site.hosts),
            listeners=len(self.listeners),
            startup_seconds=round(took, 3),
        )
        log(f"ready: {len(self.listeners)} listeners for {len(self.site.hosts)} hosts in {took:.2f} s")
        return took

    async def spawn(self, reader, writer) -> None:
        """A worker's asynchronous start (jobs.start): check the request, write the job's record,
        answer ``ok``, then fork the run."""
        try:
            request = json.loads(await asyncio.wait_for(reader.readline(), self.handshake_timeout))
            if not isinstance(request, dict) or not set(jobs.REQUEST_KEYS) <= set(request):
                raise ValueError(f"not a start request: {request!r}")
            self.site.require_host(request["host"])
            if request["path"] != jobs.job_path(self.site, request["host"], request["jid"]):
                raise ValueError(f"not this site's job record: {request['path']!r}")
            # Before the answer: the worker's next step (collect) reads it.
            jobs.record_start(request)
        except model.LabError as e:
            return await self._answer(writer, f"error: {e.message}")
        except (ValueError, TypeError, OSError, asyncio.TimeoutError) as e:
            return await self._answer(writer, f"error: {e}")
        # The answer first: the worker waits for it, not for the fork (a worker on a real site
        # waits for the host to take the job, not for the program to start).
        await self._answer(writer, "ok")
        try:
            jobs.spawn(self.site.path, request)
        except OSError as e:
            log(f"ERROR: spawner: cannot start job {request['jid']} on {request['host']}: {e}")
            jobs.failed_to_start(request, f"the lab could not start the run: {e}")

    @staticmethod
    async def _answer(writer, line: str) -> None:
        if line != "ok":
            log(f"ERROR: spawner: {line}")
        with contextlib.suppress(Exception):
            writer.write(line.encode("utf-8") + b"\n")
            await writer.drain()
            writer.close()

    async def refresh(self) -> None:
        changed = []
        for h in self.site.hosts:
            before = self.plans.get(h["name"])
            try:
                if self._load(h["name"]):
                    changed.append(h["name"])
                    self._hold(h["name"], before)
            except (OSError, ValueError) as e:  # a state file mid-replace cannot happen; a removed one can
                log(f"WARNING: cannot read the state of {h['name']}: {e}")
        for name in changed:
            await self.reconcile(name)
        self.write_status()

    def _hold(self, name: str, before: Optional[Dict[int, conn.Endpoint]]) -> None:
        """Keep ``name``'s ports closed for ``endpoint_return_seconds`` when its endpoints come
        back changed (from down during a run, or from another plan)."""
        seconds = float(self.site.settings.get("endpoint_return_seconds") or 0)
        plan = self.plans.get(name)
        if seconds > 0 and before is not None and plan and plan != before:
            self.returning[name] = time.monotonic() + seconds

    async def release(self, now: float) -> bool:
        """Open the ports of the hosts whose endpoint_return_seconds have passed."""
        due = [name for name, until in self.returning.items() if until <= now]
        for name in due:
            del self.returning[name]
            await self.reconcile(name)
        return bool(due)

    def collect(self, now: float) -> bool:
        """Free what failed connections left in reference cycles (see COLLECT_EVERY).

        Again after a collection that follows a failure, for as long as a collection finds
        something: a connection that failed just before it may still have been closing (its
        transport's callbacks not yet run, which takes longer on a loaded machine), so not yet
        garbage. Once a collection finds nothing and no connection has failed since, it stops.
        """
        if not (self.failed or self._again) or now - self._collected < COLLECT_EVERY:
            return False
        failed, self.failed = self.failed, 0
        self._collected = now
        found = gc.collect()
        self._again = bool(failed) or found > 0
        return True

    async def watch(self) -> None:
        period = float(self.site.settings.get("connectivity_poll_seconds") or 30)
        next_check = time.monotonic() + period
        self._collected = time.monotonic()
        while not self.stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.poll)
            if self.stopping.is_set():
                break
            self.collect(time.monotonic())
            jobs.reap()
            gen = self.site.generation()
            if gen != self.generation:
                self.generation = gen
                await self.refresh()
            if await self.release(time.monotonic()):
                self.write_status()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + period
                events = await asyncio.to_thread(self.site.update_connectivity, None)
                if events:
                    self.write_status()

    async def stop(self) -> None:
        if self.spawner is not None:
            self.spawner.close()
        for server in self.listeners.values():
            server.close()
        for server in self.listeners.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self.listeners.clear()

    # -- TLS ------------------------------------------------------------------------------------
    def context(self, name: str, ep: conn.Endpoint) -> Optional[ssl.SSLContext]:
        """The server context for the certificate bound on ``name`` (cached per thumbprint)."""
        state = self.states[name]
        entry = model.find(state, "My", ep.thumbprint or "")
        if entry is None or not entry.get("key"):
            return None
        key = (name, entry["thumbprint"] + ":" + entry["key"])
        ctx = self.contexts.get(key)
        if ctx is not None:
            return ctx
        roots = [e["pem"] for e in model.store(state, "Root")]
        # As SChannel: the certificate, the intermediates from LocalMachine\CA, and the root.
        path = certs.chain_path(entry["pem"], roots, [e["pem"] for e in model.store(state, "CA")])
        chain = "".join(path) if path else entry["pem"]
        folder = os.path.join(self.site.host_dir(name), "tls")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        chain_path = os.path.join(folder, entry["thumbprint"] + ".pem")
        model.atomic_write(chain_path, chain.encode("ascii"), 0o600)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(chain_path, self.site.key_path(name, entry["key"]))
        self.contexts[key] = ctx
        return ctx

    # -- connections -----------------------------------------------------------------------------
    async def accept(self, transport, name: str, default: int) -> None:
        """Serve one connection: plain, or TLS with the context current at this moment.

        Reading was paused when the connection was made, so the ClientHello is still unread
        when the TLS layer is put in place (asyncio streams would have buffered it).
        """
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_HEADER, loop=loop)
        proto = asyncio.StreamReaderProtocol(reader, loop=loop)
        self.connections += 1
        try:
            ep = self.plans.get(name, {}).get(default)
            if ep is None:
                transport.abort()
                return
            if self.connections > self.max_connections:
                self.refused += 1
                transport.abort()
                return
            if ep.tls:
                ctx = self.context(name, ep) if ep.ok else None
                if ctx is None:
                    # No usable certificate or key (or the service cannot read it [L]): the
                    # handshake fails, as it does on Windows.
                    transport.abort()
                    return
                transport = await loop.start_tls(
                    transport, proto, ctx, server_side=True, ssl_handshake_timeout=self.handshake_timeout
                )
                self.handshakes += 1
                proto.connection_made(transport)
            else:
                transport.set_protocol(proto)
                proto.connection_made(transport)
                transport.resume_reading()
            writer = asyncio.StreamWriter(transport, proto, reader, loop)
            await self.serve_http(name, ep, reader, writer)
        except (
            asyncio.TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ssl.SSLError,
        ):
            self.failed += 1  # a client that goes away, stalls or speaks something else
        except Exception as e:  # noqa: BLE001 - one bad connection must not end the site
            self.failed += 1
            log(f"WARNING: {name}:{default}: {e!r}")
        finally:
            self.connections -= 1
            with contextlib.suppress(Exception):
                transport.close()

    async def serve_http(self, name: str, ep: conn.Endpoint, reader, writer) -> None:
        first = await asyncio.wait_for(reader.readexactly(1), self.idle_timeout)
        if not first.isalpha():
            # A TLS ClientHello (0x16) or other binary on a plain port: HTTP.sys answers 400 at once.
            await self.reply(writer, 400, {"Content-Type": "text/html"}, b"<h1>Bad Request</h1>")
            return
        head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
        if len(head) > MAX_HEADER:
            return
        lines = head.decode("iso-8859-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            await self.reply(writer, 400, {"Content-Type": "text/plain"}, b"Bad Request")
            return
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip()] = v.strip()
        length = content_length(lines[1:])
        if length is None:
            # As HTTP.sys does: a malformed length is answered, not a dropped connection.
            await self.reply(writer, 400, {"Content-Type": "text/plain"}, b"Bad Request: Content-Length")
            return
        if length > MAX_BODY:
            await self.reply(writer, 413, {"Content-Type": "text/plain"}, b"Payload Too Large")
            return
        body = await asyncio.wait_for(reader.readexactly(length), self.idle_timeout) if length else b""
        self.requests += 1
        path = target.split("?", 1)[0].lower()
        if ep.name == "management" and (path.startswith(("/api/", "/idp/")) or path in ("/api", "/idp")):
            if restapi is None:
                status, rheaders, rbody = 503, {"Content-Type": "application/json"}, b'{"error":"no REST API"}'
            else:
                try:
                    status, rheaders, rbody = restapi.handle(
                        self.records, self.api_settings, method, target, headers, body
                    )
                except Exception as e:  # noqa: BLE001 - a handler bug must not kill the site
                    log(f"ERROR: REST API handler failed on {method} {target}: {e!r}")
                    status, rheaders, rbody = 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        else:
            status, rheaders = 200, {"Content-Type": "application/json; charset=utf-8"}
            rbody = json.dumps(
                {"host": name, "endpoint": ep.name, "port": ep.default_port, "tls": ep.tls, "product": "XProtect (lab)"}
            ).encode("utf-8")
        await self.reply(writer, status, rheaders, rbody)

    async def reply(self, writer, status: int, headers: Dict[str, str], body: bytes) -> None:
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection"):
                out.append(f"{k}: {v}")
        out += ["Server: Microsoft-HTTPAPI/2.0 (XProtect lab)", f"Content-Length: {len(body)}", "Connection: close"]
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("iso-8859-1") + body)
        await asyncio.wait_for(writer.drain(), self.idle_timeout)


def content_length(header_lines) -> Optional[int]:
    """The request's Content-Length (0 without one), or None when it is not one decimal number:
    letters, a sign, a negative value, or two headers that disagree (RFC 9110, 8.6)."""
    values = set()
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "content-length":
            values.update(v.strip() for v in value.split(","))
    if not values:
        return 0
    if len(values) != 1:
        return None
    (value,) = values
    return int(value) if value.isascii() and value.isdigit() else None


class _Accept(asyncio.Protocol):
    """Accepts a connection with reading paused and hands it to :meth:`SiteServer.accept`."""

    def __init__(self, server: SiteServer, name: str, default: int):
        self.server, self.name, self.default = server, name, default

    def connection_made(self, transport) -> None:
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self.server.accept(transport, self.name, self.default))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    def data_received(self, data: bytes) -> None:  # pragma: no cover - reading is paused
        pass


async def serve(path: str) -> int:
    server = SiteServer(path)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stopping.set)
    try:
        await server.start()
    except StartError as e:
        message = (
            f"Cannot start the lab site {server.site.path}: {e}. Stop what uses that port, or recreate "
            "the site with another address_range or port_offset."
        )
        log("ERROR: " + message)
        with contextlib.suppress(Exception):
            server.site.write_status({"ready": False, "pid": os.getpid(), "listening": {}, "error": message})
        return 2
    try:
        await server.watch()
    finally:
        await server.stop()
        with contextlib.suppress(Exception):
            if model.read_ascii(server.site.file("server.pid")).strip() == str(os.getpid()):
                os.unlink(server.site.file("server.pid"))
        with contextlib.suppress(Exception):
            server.site.write_status(None, states=server.states)
            server.site.emit(
                "", "site_stopped", pid=os.getpid(), requests=server.requests, handshakes=server.handshakes
            )
        log("stopped")
    return 0


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m ...lab.server <site folder>\n")
        return 2
    try:
        return asyncio.run(serve(args[0]))
    except model.LabError as e:
        log(f"ERROR: {e.message}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
