# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HTTP(S) server on 127.0.0.1 that serves the lab's REST API handler, for the tests.

``override(method, path, headers, body)`` may return a reply (status, headers, body) to break the
server on purpose; returning None lets ``restapi.handle`` answer.
"""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import restapi

Reply = Tuple[int, Dict[str, str], bytes]
SETTINGS = {"api_user": "inventory", "api_password": "S3cret-pass!", "token_secret": "lab-secret"}


def site_records(recording: int = 3, failover: int = 1, domain: str = "lab.xprotect.test") -> List[Dict[str, Any]]:
    """Records as the lab hands them to restapi.handle: one management, N recording, M failover."""

    def gid(name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))

    group = "Failover group 1" if failover else None
    records = [
        {"name": f"mgmt01.{domain}", "roles": ["management"], "address": "127.0.0.2", "id": gid("mgmt01"),
         "enabled": True, "failover_group": None, "hot_standby": None},
    ]  # fmt: skip
    for n in range(1, recording + 1):
        records.append(
            {"name": f"rs{n:03d}.{domain}", "roles": ["recording"], "address": f"127.0.1.{n % 250 + 1}",
             "id": gid(f"rs{n:03d}"), "enabled": True, "failover_group": group, "hot_standby": None}
        )  # fmt: skip
    for n in range(1, failover + 1):
        records.append(
            {"name": f"fo{n:02d}.{domain}", "roles": ["failover"], "address": f"127.0.2.{n % 250 + 1}",
             "id": gid(f"fo{n:02d}"), "enabled": True, "failover_group": group, "hot_standby": None}
        )  # fmt: skip
    return records


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) breaks the pipe: not a test failure.
        return


class ApiServer:
    """Serve restapi.handle on 127.0.0.1:<free port>, over TLS when given a cert and key."""

    def __init__(
        self,
        records: List[Dict[str, Any]],
        settings: Optional[Dict[str, Any]] = None,
        tls: Optional[Tuple[str, str]] = None,
        override: Optional[Callable[[str, str, Dict[str, str], bytes], Optional[Reply]]] = None,
    ) -> None:
        self.records = records
        self.settings = dict(settings or SETTINGS)
        self.override = override
        self.log: List[Tuple[str, str]] = []
        self.sni: List[Optional[str]] = []  # the server name of each TLS handshake (None: no SNI sent)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without NODELAY each keep-alive request
                # waits for the peer's delayed ACK (about 40 ms).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                server.log.append((self.command, self.path))
                reply = server.override(self.command, self.path, headers, body) if server.override else None
                status, out_headers, payload = reply or restapi.handle(
                    server.records, server.settings, self.command, self.path, headers, body
                )
                self.send_response(status)
                for key, value in out_headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
