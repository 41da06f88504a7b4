# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real servers on 127.0.0.1 for the TLS probe tests, and the certificates they present.

Shared by tests/unit/plugins/module_utils/test_tls_probe.py and tests/unit/plugins/modules/test_tls_probe.py.
Every server is a thread with a listening socket on an ephemeral port: TLS with a given chain,
plain HTTP, a non-TLS banner, a server that accepts and never answers, one that resets.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from pathlib import Path
from typing import List, Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Every certificate is made relative to BASE; the probe is given now=BASE, so days_left is exact.
BASE = datetime.datetime(2026, 3, 2, 12, 0, 0, tzinfo=datetime.timezone.utc)
# The TLS stack of the servers never looks at dates; only the probe's judgement does.
HOST = "rs001.lab.test"
LOOPBACK = "127.0.0.1"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclasses.dataclass
class Issued:
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def make_ca(cn: str, issuer: Optional[Issued] = None, key_usage=True, bc_critical=True, days=3650) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BASE - datetime.timedelta(days=400))
        .not_valid_after(BASE + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=bc_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if key_usage:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def make_leaf(  # noqa: PLR0917 - a test builder with many knobs
    ca: Issued,
    cn: Optional[str] = HOST,
    dns=(HOST, "rs001"),
    ips=(),
    not_before: Optional[datetime.datetime] = None,
    not_after: Optional[datetime.datetime] = None,
    eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
    aki=True,
    rsa_key=False,
) -> Issued:
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn) if cn else x509.Name([]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or BASE - datetime.timedelta(days=1))
        .not_valid_after(not_after or BASE + datetime.timedelta(days=30, hours=12))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
    )
    entries = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=not cn)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def write_chain(directory: Path, name: str, leaf: Issued, *extra: Issued) -> tuple:
    cert_path = directory / f"{name}.crt"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(leaf.pem + b"".join(e.pem for e in extra))
    key_path.write_bytes(leaf.key_pem)
    return str(cert_path), str(key_path)


class Server:
    """One listening socket on 127.0.0.1 and a thread per connection.

    Modes: ``tls`` (handshake with ``cert_file``/``key_file``), ``http`` (answers HTTP/1.1
    400 to anything), ``banner`` (speaks first, not TLS), ``silent`` (accepts and never
    answers), ``reset`` (accepts and resets the connection), ``close`` (reads the hello and
    closes without a word).
    """

    def __init__(self, mode: str, cert_file: Optional[str] = None, key_file: Optional[str] = None, port: int = 0):
        self.mode = mode
        self.ctx = None
        if mode == "tls":
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert_file, key_file)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, port))
        self.listener.listen(64)
        self.listener.settimeout(0.05)  # accept() wakes up to see stop(); close() alone does not wake it
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.accepted = 0
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _addr = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)  # accepted sockets must not inherit the listener's short timeout
        try:
            if self.mode == "tls":
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the probe closes
            elif self.mode == "http":
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            elif self.mode == "banner":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6 lab\r\n")
                conn.recv(4096)
            elif self.mode == "silent":
                conn.settimeout(0.05)
                while not self.stopped.is_set():
                    try:
                        if conn.recv(4096) == b"":
                            break  # the probe gave up and closed
                    except socket.timeout:
                        continue
            elif self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.mode == "close":
                conn.recv(4096)  # read the ClientHello, then close cleanly (FIN, no answer)
        except OSError:
            pass
        finally:
            conn.close()

    @property
    def endpoint(self) -> dict:
        return {"host": LOOPBACK, "port": self.port}

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def openssl(*args: str, input_: bytes = b"", timeout: float = 20) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is installed on the CI image
        import pytest

        pytest.skip("the openssl CLI is not installed")
    return subprocess.run(["openssl", *args], input=input_, capture_output=True, check=False, timeout=timeout)
