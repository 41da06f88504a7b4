# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real TLS handshakes from the controller: what an endpoint presents, and whether it verifies.

:func:`probe` connects to one endpoint with verification off (so that it can report what is
presented even when it is wrong), reads the chain, then decides ``verified`` itself with
``cryptography``: the chain against the given CA, the validity dates, and the host name.
:func:`probe_many` does that for many endpoints with a bounded thread pool.

How a result reads:

- ``reachable`` false: no TCP connection (refused, timed out, name not resolved).
- ``reachable`` true, ``tls`` false: something answered, but no TLS handshake completed (plain
  HTTP, another protocol, a reset, or a server that never answers the handshake).
- ``tls`` true: the handshake completed; ``chain``/``thumbprint``/``days_left`` describe what
  was presented, and ``verified``/``verify_error`` judge it against ``ca_pem``.

The name check follows Windows, since XProtect's clients are Windows programs: a DNS name
matches the subjectAltName DNS entries (one leading ``*.`` label allowed), and the subject CN
only when the certificate has no DNS entries at all. The facts say the host name must be "in
the subject or in the DNS names" [H].
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import ipaddress
import math
import socket
import ssl
import time
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ansible_collections.xprotect.encryption.plugins.module_utils._dns import dns_name_matches
from ansible_collections.xprotect.encryption.plugins.module_utils._text import is_ip

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the module reports missing_required_lib
    HAS_CRYPTOGRAPHY = False

try:
    from cryptography.x509 import verification as _verification

    HAS_VERIFIER = True
except ImportError:  # pragma: no cover - cryptography < 42
    _verification = None
    HAS_VERIFIER = False

# cryptography >= 45 lets us relax the Web PKI profile to what Windows checks; older versions
# verify with the strict profile (see _chain_error).
RELAXED_POLICY = bool(
    HAS_VERIFIER
    and hasattr(_verification.PolicyBuilder, "extension_policies")
    and hasattr(_verification.PolicyBuilder, "build_client_verifier")
)

FAIL_ON_CHOICES = ("unreachable", "untrusted", "expiring")
# What an endpoint must answer before probe_settled stops probing it (see settled).
EXPECT_CHOICES = ("any", "tls", "plain")
SETTLE_PER_CHOICES = ("endpoint", "label")
# Seconds between two probes of an endpoint that has not settled yet.
SETTLE_INTERVAL = 1.0
_NO_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "HTTPS_PROXY_REQUEST",
    "UNEXPECTED_RECORD",
    "BAD_RECORD_TYPE",
    "RECORD_TOO_LARGE",
}


class ProbeError(ValueError):
    """Bad input to the probe (endpoint list, CA). The message names the option."""


def _now(now: Optional[datetime.datetime]) -> datetime.datetime:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=datetime.timezone.utc)


def load_ca_certs(ca_pem: Union[str, bytes, None]) -> list:
    """The certificates of a PEM bundle (the trust anchors). Raises ProbeError on bad input."""
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise ProbeError("the cryptography library is needed to verify against a CA.")
    data = ca_pem.encode() if isinstance(ca_pem, str) else bytes(ca_pem or b"")
    if not data.strip():
        return []
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ProbeError("ca_cert: no PEM certificate found (expected -----BEGIN CERTIFICATE-----).")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise ProbeError(f"ca_cert: the PEM certificate cannot be read ({e}).") from e
    for cert in certs:
        why = _not_a_ca(cert)
        if why:
            raise ProbeError(
                f"ca_cert: {cert.subject.rfc4514_string()} (thumbprint {_thumbprint(cert)}) {why}, so it cannot "
                'be a trust anchor: a server\'s own certificate would "verify" itself and prove nothing. Give the '
                "certificate of the CA that issues the servers' certificates (the site CA's ca.crt)."
            )
    return certs


def _thumbprint(cert) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()  # noqa: S324


def _not_a_ca(cert) -> Optional[str]:
    """Why a certificate given as a trust anchor is not a CA certificate; None when it is one."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "is not a CA certificate (it has no basicConstraints extension)"
    if not bc.ca:
        return "is not a CA certificate (basicConstraints CA:FALSE)"
    return None


def _probe_context() -> ssl.SSLContext:
    # Verification is off on purpose: the probe must see and report what a wrong endpoint
    # presents. Trust is decided afterwards, in _judge, against the CA the caller gives.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        # Accept old protocol versions so that an old server is reported (tls_version), not
        # hidden behind a handshake error. Nothing secret is sent over these connections.
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):  # pragma: no cover - depends on the OpenSSL build
        pass
    return ctx


def _blank(host: str, port: int, server_name: str) -> dict:
    return {
        "host": host,
        "port": port,
        "server_name": server_name,
        "reachable": False,
        "tls": False,
        "tls_version": None,
        "chain": [],
        "thumbprint": None,
        "not_after": None,
        "days_left": None,
        "verified": False,
        "verify_error": None,
        "error": None,
    }


def _peer_chain(ssock: ssl.SSLSocket) -> List[bytes]:
    """DER of every certificate the server sent: public on 3.13+, private on 3.10-3.12."""
    for obj in (ssock, getattr(ssock, "_sslobj", None)):
        getter = getattr(obj, "get_unverified_chain", None)
        if getter is None:
            continue
        try:
            items = getter() or []
        except (ssl.SSLError, ValueError, AttributeError):  # pragma: no cover
            continue
        ders = []
        for item in items:
            if isinstance(item, (bytes, bytearray)):
                ders.append(bytes(item))
            else:
                import _ssl

                ders.append(item.public_bytes(_ssl.ENCODING_DER))
        if ders:
            return ders
    return []  # pragma: no cover - only the leaf is known then


def _sniff_http(host: str, port: int, timeout: float) -> Optional[str]:
    """The status line if the port answers plain HTTP, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(f"HEAD / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii", "replace"))
            data = sock.recv(256)
    except OSError:
        return None
    if data.startswith(b"HTTP/"):
        return data.split(b"\r\n", 1)[0].decode("ascii", "replace").strip()
    return None


def _handshake_error(e: BaseException, host: str, port: int, timeout: float) -> str:
    if isinstance(e, ssl.SSLError):
        reason = getattr(e, "reason", None) or ""
        if reason in _NO_TLS_REASONS:
            status = _sniff_http(host, port, timeout)
            if status:
                return f"no TLS: the port answers plain HTTP ({status})"
            return f"no TLS: the port answers with something that is not TLS ({reason.lower()})"
        if isinstance(e, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
            return (
                "the server closed the connection during the TLS handshake: no TLS on this port, or no "
                "certificate bound to it"
            )
        return f"TLS handshake failed: {reason.lower().replace('_', ' ') if reason else e}"
    if isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return (
            "the connection was reset during the TLS handshake: no TLS on this port, or no certificate bound "
            "to it (netsh http show sslcert)"
        )
    return f"TLS handshake failed: {e}"


def probe(
    host: str,
    port: int,
    server_name: Optional[str] = None,
    ca_pem: Union[str, bytes, Sequence, None] = None,
    timeout: float = 5.0,
    *,
    now: Optional[datetime.datetime] = None,
) -> dict:
    """Probe one endpoint. Never raises for what the endpoint does; see the module docstring.

    ``ca_pem``: PEM text of the CA(s) to verify against, or certificates already loaded; None
    leaves ``verified`` false with ``verify_error`` saying no CA was given.
    """
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise ProbeError("the cryptography library is needed for the TLS probe.")
    port = int(port)
    name = server_name or host
    cas = ca_pem if isinstance(ca_pem, (list, tuple)) else load_ca_certs(ca_pem)
    result = _blank(host, port, name)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as e:
        result["error"] = f"cannot resolve host name {host!r}: {e.strerror or e}"
        return result
    except ConnectionRefusedError:
        result["error"] = "connection refused"
        return result
    except (socket.timeout, TimeoutError):
        result["error"] = f"TCP connect timed out after {timeout:g}s"
        return result
    except ConnectionResetError as e:
        # The port accepted and reset at once (seen on loopback before connect() returns):
        # something listens, and it refuses to talk - as with no TLS at all.
        result["reachable"] = True
        result["error"] = _handshake_error(e, host, port, timeout)
        return result
    except OSError as e:
        result["error"] = f"cannot connect: {e.strerror or e}"
        return result
    result["reachable"] = True
    try:
        sock.settimeout(timeout)
        ssock = _context().wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
        try:
            ssock.do_handshake()
            result["tls_version"] = ssock.version()
            leaf = ssock.getpeercert(binary_form=True)
            ders = _peer_chain(ssock) or ([leaf] if leaf else [])
        finally:
            ssock.close()
    except (socket.timeout, TimeoutError):
        result["error"] = f"TLS handshake timed out after {timeout:g}s"
        return result
    except OSError as e:  # ssl.SSLError is an OSError too
        result["error"] = _handshake_error(e, host, port, timeout)
        return result
    finally:
        sock.close()
    result["tls"] = True
    if not ders:  # pragma: no cover - anonymous ciphers are not offered
        result["error"] = "the server presented no certificate"
        return result
    _judge(result, ders, cas, name, _now(now))
    return result


_CONTEXT: Optional[ssl.SSLContext] = None


def _context() -> ssl.SSLContext:
    global _CONTEXT  # noqa: PLW0603 - one context for all threads (SSLContext is thread-safe)
    if _CONTEXT is None:
        _CONTEXT = _probe_context()
    return _CONTEXT


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert) -> datetime.datetime:
    return _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def _not_before(cert) -> datetime.datetime:
    return _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _san(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _cn(cert) -> Optional[str]:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def cert_info(cert, der: bytes) -> dict:
    """What the probe reports of one certificate."""
    san = _san(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": _iso(_not_before(cert)),
        "not_after": _iso(_not_after(cert)),
        # Windows shows and takes the SHA-1 of the DER, uppercase, no separators [H].
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - an identifier, not security
        "dns_names": list(san.get_values_for_type(x509.DNSName)) if san else [],
        "ip_addresses": [str(i) for i in san.get_values_for_type(x509.IPAddress)] if san else [],
    }


def name_matches(cert, name: str) -> bool:
    """Does ``cert`` cover ``name``, as a Windows client decides (see the module docstring)."""
    san = _san(cert)
    if is_ip(name):
        want = ipaddress.ip_address(name)
        return bool(san) and any(ip == want for ip in san.get_values_for_type(x509.IPAddress))
    dns = list(san.get_values_for_type(x509.DNSName)) if san else []
    if not dns:
        cn = _cn(cert)
        dns = [cn] if cn else []
    return any(dns_name_matches(pattern, name) for pattern in dns)


def _names_of(cert) -> List[str]:
    san = _san(cert)
    names = list(san.get_values_for_type(x509.DNSName)) if san else []
    names += [str(i) for i in san.get_values_for_type(x509.IPAddress)] if san else []
    return names or ([f"CN={_cn(cert)}"] if _cn(cert) else ["no names"])


def _judge(result: dict, ders: List[bytes], cas: list, name: str, now: datetime.datetime) -> None:
    try:
        certs = [x509.load_der_x509_certificate(d) for d in ders]
    except ValueError as e:
        result["thumbprint"] = hashlib.sha1(ders[0]).hexdigest().upper()  # noqa: S324
        result["verify_error"] = f"the presented certificate cannot be read: {e}"
        return
    result["chain"] = [cert_info(c, d) for c, d in zip(certs, ders)]
    leaf = certs[0]
    result["thumbprint"] = result["chain"][0]["thumbprint"]
    result["not_after"] = result["chain"][0]["not_after"]
    result["days_left"] = math.floor((_not_after(leaf) - now).total_seconds() / 86400)
    if not cas:
        result["verify_error"] = "not checked: no CA was given (ca_cert or ca_cert_path)"
        return
    problems = []
    at = now
    if now > _not_after(leaf):
        problems.append(f"the certificate expired on {_iso(_not_after(leaf))} ({-result['days_left']} days ago)")
        at = _not_after(leaf) - datetime.timedelta(seconds=1)
    elif now < _not_before(leaf):
        problems.append(f"the certificate is not valid before {_iso(_not_before(leaf))}")
        at = _not_before(leaf) + datetime.timedelta(seconds=1)
    # The chain is judged at a time inside the leaf's validity, so that an expired certificate
    # from a foreign CA is reported as both.
    anchors, extra = split_anchors(cas)
    chain_error = _chain_error(leaf, certs[1:] + extra, anchors, at)
    if chain_error:
        problems.append(chain_error)
    if not name_matches(leaf, name):
        problems.append(f"wrong name: the certificate is for {', '.join(_names_of(leaf))}, not {name}")
    result["verified"] = not problems
    result["verify_error"] = "; ".join(problems) or None


def _clean(e: Exception) -> str:
    text = str(e)
    for prefix in ("validation failed: ", "candidates exhausted: "):
        text = text.replace(prefix, "")
    return text.split(" (encountered processing", maxsplit=1)[0].strip()


def _ca_bc(policy, cert, ext) -> None:
    if not ext.ca:
        raise ValueError("basicConstraints CA:FALSE on a CA certificate")


def _ee_eku(policy, cert, ext) -> None:
    # Windows refuses a TLS server certificate whose EKU lacks serverAuth [L: EKU serverAuth].
    if (
        ext is not None
        and ExtendedKeyUsageOID.SERVER_AUTH not in ext
        and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ext
    ):
        raise ValueError("the extended key usage lacks serverAuth")


def _policies():
    # Windows does not apply the Web PKI profile (it accepts a CA without keyUsage, a
    # non-critical basicConstraints, a leaf without AKI): check what it checks - a CA that is
    # a CA, a server EKU when there is one, signatures and dates.
    ext = _verification.ExtensionPolicy
    crit = _verification.Criticality
    ca_policy = ext.permit_all().require_present(x509.BasicConstraints, crit.AGNOSTIC, _ca_bc)
    ee_policy = ext.permit_all().may_be_present(x509.ExtendedKeyUsage, crit.AGNOSTIC, _ee_eku)
    return ca_policy, ee_policy


def split_anchors(cas: list) -> tuple:
    """``(trust anchors, intermediates)`` of a CA bundle: an intermediate site CA comes with its
    chain, and trust goes to the root. When the bundle holds a self-signed root and CA certificates
    that are not, only the roots are anchors; the others help build the path (a server that sends
    no chain is still verified to the root). Otherwise every certificate is an anchor."""
    roots = [c for c in cas if c.issuer == c.subject and _signed_by(c, c)]
    if not roots or len(roots) == len(cas):
        return list(cas), []
    return roots, [c for c in cas if c not in roots]


def _given(cas: list) -> str:
    return "; ".join(f"{c.subject.rfc4514_string()} (thumbprint {_thumbprint(c)})" for c in cas)


def _signed_by(cert, issuer) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - InvalidSignature, or an algorithm cryptography refuses here
        return False
    return True


def _chain_error(leaf, intermediates: list, cas: list, at: datetime.datetime) -> Optional[str]:
    """None when ``leaf`` chains to one of ``cas`` at time ``at``; else why not, naming both CAs."""
    issuers = [c.subject for c in list(cas) + list(intermediates)]
    issuer = leaf.issuer.rfc4514_string()
    if leaf.issuer not in issuers:
        return f"issued by {issuer}, not by the given CA {_given(cas)}"
    namesakes = [c for c in cas if c.subject == leaf.issuer]
    if namesakes and not any(c.subject == leaf.issuer for c in intermediates):
        if not any(_signed_by(leaf, c) for c in namesakes):
            # The continuity case: another CA of the same name (a second controller's, a re-created one).
            return (
                f"issued by another CA named {issuer}: its signature does not verify with the key of the given CA "
                f"{_given(namesakes)}"
            )
    if RELAXED_POLICY:
        ca_policy, ee_policy = _policies()
        builder = (
            _verification.PolicyBuilder()
            .store(_verification.Store(list(cas)))
            .time(at)
            .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        )
        try:
            builder.build_client_verifier().verify(leaf, list(intermediates))
            return None
        except _verification.VerificationError as e:
            return f"the chain does not verify against the given CA {_given(cas)}: {_clean(e)}"
    return _chain_error_legacy(leaf, intermediates, cas, at)


def _chain_error_legacy(leaf, intermediates: list, cas: list, at: datetime.datetime) -> Optional[str]:
    """cryptography 42-44: the strict Web PKI server verifier, or a direct signature check."""
    san = _san(leaf)
    dns = list(san.get_values_for_type(x509.DNSName)) if san else []
    if HAS_VERIFIER and dns:
        # Judge only the chain here: verify for a name the certificate has; the name is checked apart.
        subject = _verification.DNSName(dns[0].lstrip("*."))
        builder = _verification.PolicyBuilder().store(_verification.Store(list(cas))).time(at)
        try:
            builder.build_server_verifier(subject).verify(leaf, list(intermediates))
            return None
        except _verification.VerificationError as e:
            return f"the chain does not verify against the given CA: {_clean(e)}"
    for ca in cas:
        if ca.subject == leaf.issuer:
            try:
                leaf.verify_directly_issued_by(ca)
            except (ValueError, TypeError, Exception) as e:  # noqa: BLE001 - InvalidSignature and kin
                return f"the chain does not verify against the given CA: {e or 'signature does not match'}"
            if not _not_before(ca) <= at <= _not_after(ca):
                return "the chain does not verify against the given CA: the CA certificate is not valid now"
            return None
    return f"not issued by the given CA (issued by {leaf.issuer.rfc4514_string()})"


def normalize_endpoints(endpoints: Iterable) -> List[dict]:
    """``[{host, port, server_name}]`` from the option value. Raises ProbeError naming the item."""
    out = []
    for i, item in enumerate(endpoints or ()):
        if not isinstance(item, Mapping):
            raise ProbeError(f"endpoints[{i}]: expected a dict with host and port, got {type(item).__name__}.")
        host = str(item.get("host") or "").strip()
        if not host:
            raise ProbeError(f"endpoints[{i}]: 'host' is missing or empty.")
        try:
            port = int(item.get("port"))
        except (TypeError, ValueError):
            raise ProbeError(f"endpoints[{i}] ({host}): 'port' must be a number, got {item.get('port')!r}.")
        if not 1 <= port <= 65535:
            raise ProbeError(f"endpoints[{i}] ({host}): port {port} is out of range 1-65535.")
        server_name = str(item.get("server_name") or "").strip() or host
        entry = {"host": host, "port": port, "server_name": server_name}
        if item.get("label") is not None:
            entry["label"] = str(item["label"])
        out.append(entry)
    return out


def probe_many(
    endpoints: Iterable[Mapping],
    ca_pem: Union[str, bytes, Sequence, None] = None,
    timeout: float = 5.0,
    workers: int = 32,
    now: Optional[datetime.datetime] = None,
) -> List[dict]:
    """Probe every endpoint concurrently (at most ``workers`` at a time); results keep order."""
    items = normalize_endpoints(endpoints)
    cas = ca_pem if isinstance(ca_pem, (list, tuple)) else load_ca_certs(ca_pem)
    if not items:
        return []
    at = _now(now)

    def one(item: dict) -> dict:
        try:
            res = probe(item["host"], item["port"], item["server_name"], cas, timeout, now=at)
        except Exception as e:  # noqa: BLE001 - one endpoint must never fail the batch
            res = _blank(item["host"], item["port"], item["server_name"])
            res["error"] = f"probe failed: {e}"
        if "label" in item:
            res["label"] = item["label"]
        return res

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(int(workers), len(items)))) as pool:
        return list(pool.map(one, items))


def settled(results: Sequence[Mapping], expect: str) -> bool:
    """Whether endpoints that settle together (one, or a server's ports) answer as ``expect``
    says: ``tls``, one of them completed a TLS handshake (whatever the certificate, which the
    caller judges); ``plain``, one of them answered without TLS and none with TLS; ``any``,
    whatever they answered. A service that Server Configurator restarted is refused, or still
    answers the old way, for a while after the run [L]."""
    if expect == "tls":
        return any(r.get("tls") for r in results)
    if expect == "plain":
        return any(r.get("reachable") for r in results) and not any(r.get("tls") for r in results)
    return True


def probe_settled(
    endpoints: Iterable[Mapping],
    expect: str = "any",
    settle_timeout: float = 0.0,
    per: str = "endpoint",
    *,
    probe=None,
    clock=time.monotonic,
    sleep=time.sleep,
    interval: float = SETTLE_INTERVAL,
    **probe_args,
) -> Dict[str, object]:
    """``probe_many``, then again every ``interval`` seconds on what has not ``settled`` as
    ``expect`` says, until everything has or ``settle_timeout`` seconds have passed (the last
    probe then comes at the timeout). ``per``:
    ``endpoint``, each endpoint on its own; ``label``, the endpoints of one label together.

    Returns ``endpoints`` (the last result of each, in order) and ``settle``: ``expect``,
    ``rounds`` (probes of what was probed most), ``seconds`` (how long it waited) and
    ``pending`` (the labels, or host:port, of what never settled).
    """
    probe = probe or probe_many
    if expect not in EXPECT_CHOICES:
        raise ProbeError(f"expect: {expect!r} is not one of {', '.join(EXPECT_CHOICES)}.")
    if per not in SETTLE_PER_CHOICES:
        raise ProbeError(f"settle_per: {per!r} is not one of {', '.join(SETTLE_PER_CHOICES)}.")
    items = list(endpoints or ())
    groups: Dict[str, List[int]] = {}
    for i, item in enumerate(items):
        key = item.get("label") if per == "label" and item.get("label") is not None else f"#{i}"
        groups.setdefault(key, []).append(i)
    start = clock()
    results = probe(items, **probe_args)
    rounds = 1

    def unsettled() -> List[str]:
        return [key for key, idx in groups.items() if not settled([results[i] for i in idx], expect)]

    pending = unsettled()
    while pending and clock() - start < settle_timeout:
        sleep(min(interval, settle_timeout - (clock() - start)))
        again = [i for key in pending for i in groups[key]]
        for i, res in zip(again, probe([items[i] for i in again], **probe_args)):
            results[i] = res
        rounds += 1
        pending = unsettled()
    names = []
    for key in pending:
        first = results[groups[key][0]]
        names.append(first.get("label") or f"{first.get('host')}:{first.get('port')}")
    return {
        "endpoints": results,
        "settle": {"expect": expect, "rounds": rounds, "seconds": round(clock() - start, 3), "pending": names},
    }


def problems_of(result: Mapping, expiring_days: int = 30, have_ca: bool = True) -> List[str]:
    """The ``fail_on`` categories an endpoint result falls in.

    ``unreachable``: no TCP connection. ``untrusted`` (only when a CA was given): not verified,
    which includes an endpoint without TLS. ``expiring``: the certificate has fewer than
    ``expiring_days`` days left (expired included).
    """
    found = []
    if not result.get("reachable"):
        found.append("unreachable")
    elif have_ca and not result.get("verified"):
        found.append("untrusted")
    days = result.get("days_left")
    if days is not None and days < expiring_days:
        found.append("expiring")
    return found


def summarize(results: Sequence[Mapping], expiring_days: int = 30, have_ca: bool = True) -> Dict[str, int]:
    """Counts over the results, for the module's return value."""
    counts = {
        "total": len(results),
        "reachable": 0,
        "unreachable": 0,
        "tls": 0,
        "no_tls": 0,
        "verified": 0,
        "untrusted": 0,
        "expiring": 0,
        "expired": 0,
    }
    for res in results:
        found = problems_of(res, expiring_days, have_ca)
        counts["reachable" if res.get("reachable") else "unreachable"] += 1
        if res.get("reachable"):
            counts["tls" if res.get("tls") else "no_tls"] += 1
        counts["verified"] += 1 if res.get("verified") else 0
        counts["untrusted"] += 1 if "untrusted" in found else 0
        counts["expiring"] += 1 if "expiring" in found else 0
        days = res.get("days_left")
        counts["expired"] += 1 if days is not None and days < 0 else 0
    return counts


def failure_message(
    results: Sequence[Mapping], fail_on: Sequence[str], expiring_days: int = 30, have_ca: bool = True, limit: int = 20
) -> Optional[str]:
    """The task's failure message when an endpoint falls in a ``fail_on`` category, else None."""
    bad = []
    for res in results:
        hits = [p for p in problems_of(res, expiring_days, have_ca) if p in fail_on]
        if hits:
            why = res.get("error") or res.get("verify_error") or ""
            if "expiring" in hits and res.get("days_left") is not None and not why:
                why = f"{res['days_left']} days left"
            bad.append(f"{res.get('server_name') or res.get('host')}:{res.get('port')} {'/'.join(hits)} ({why})")
    if not bad:
        return None
    shown = "; ".join(bad[:limit]) + (f"; and {len(bad) - limit} more" if len(bad) > limit else "")
    return f"{len(bad)} of {len(results)} endpoint(s) failed the fail_on checks ({', '.join(fail_on)}): {shown}"
