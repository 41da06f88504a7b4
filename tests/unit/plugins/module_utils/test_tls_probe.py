# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS probe against real servers on 127.0.0.1, cross-checked with the openssl CLI."""

from __future__ import annotations

import datetime
import hashlib
import re
import socket
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tls_servers import (  # noqa: E402
    BASE,
    HOST,
    LOOPBACK,
    Issued,
    Server,
    closed_port,
    make_ca,
    make_leaf,
    openssl,
    write_chain,
)

from ansible_collections.xprotect.encryption.plugins.module_utils import tls_probe  # noqa: E402

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    root = make_ca("Test Root CA")
    other = make_ca("Other Root CA")
    intermediate = make_ca("Test Issuing CA", issuer=root)
    loose_ca = make_ca("Loose Root CA", key_usage=False, bc_critical=False)
    leaves = {
        "good": make_leaf(root, rsa_key=True),
        "wrong_name": make_leaf(root, cn="mgmt01.lab.test", dns=("mgmt01.lab.test", "mgmt01")),
        "expired": make_leaf(
            root, not_before=BASE - datetime.timedelta(days=400), not_after=BASE - datetime.timedelta(days=2)
        ),
        "future": make_leaf(root, not_before=BASE + datetime.timedelta(days=3)),
        "untrusted": make_leaf(other),
        "via_intermediate": make_leaf(intermediate),
        "loose": make_leaf(loose_ca, aki=False),
        "client_only": make_leaf(root, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),
        "no_eku": make_leaf(root, eku=()),
    }
    files = {name: write_chain(d, name, leaf) for name, leaf in leaves.items()}
    files["via_intermediate"] = write_chain(d, "via_intermediate", leaves["via_intermediate"], intermediate)
    ca_file = d / "ca.pem"
    ca_file.write_bytes(root.pem)
    return {
        "root": root,
        "other": other,
        "loose_ca": loose_ca,
        "leaves": leaves,
        "files": files,
        "ca_pem": root.pem.decode(),
        "ca_file": str(ca_file),
    }


@pytest.fixture(scope="module")
def servers(pki):
    started = {name: Server("tls", *files) for name, files in pki["files"].items()}
    for mode in ("http", "banner", "silent", "reset", "close"):
        started[mode] = Server(mode)
    yield started
    for server in started.values():
        server.stop()


def run(server, pki, name=HOST, ca=None, timeout=TIMEOUT):
    return tls_probe.probe(
        LOOPBACK, server.port, server_name=name, ca_pem=pki["ca_pem"] if ca is None else ca, timeout=timeout, now=BASE
    )


# ---------------------------------------------------------------- the cases of the issue
def test_good_certificate(servers, pki):
    res = run(servers["good"], pki)
    leaf = pki["leaves"]["good"]
    assert res["reachable"] is True and res["tls"] is True
    assert res["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert res["verified"] is True, res["verify_error"]
    assert res["verify_error"] is None and res["error"] is None
    assert res["thumbprint"] == hashlib.sha1(leaf.der).hexdigest().upper()  # noqa: S324
    assert re.fullmatch(r"[0-9A-F]{40}", res["thumbprint"])
    assert res["days_left"] == 30
    assert res["not_after"] == "2026-04-02T00:00:00Z"
    (entry,) = res["chain"]
    assert entry["subject"] == f"CN={HOST}"
    assert entry["issuer"] == "CN=Test Root CA"
    assert entry["dns_names"] == [HOST, "rs001"]
    assert entry["thumbprint"] == res["thumbprint"]
    assert (res["host"], res["port"], res["server_name"]) == (LOOPBACK, servers["good"].port, HOST)


def test_short_name_in_san_verifies_too(servers, pki):
    assert run(servers["good"], pki, name="RS001")["verified"] is True


def test_wrong_name(servers, pki):
    res = run(servers["wrong_name"], pki)
    assert res["tls"] is True and res["verified"] is False
    assert res["verify_error"] == f"wrong name: the certificate is for mgmt01.lab.test, mgmt01, not {HOST}"


def test_expired(servers, pki):
    res = run(servers["expired"], pki)
    assert res["verified"] is False
    assert res["days_left"] == -2
    assert res["verify_error"] == "the certificate expired on 2026-02-28T12:00:00Z (2 days ago)"


def test_not_yet_valid(servers, pki):
    res = run(servers["future"], pki)
    assert res["verified"] is False
    assert res["verify_error"].startswith("the certificate is not valid before 2026-03-05")


def test_untrusted_ca(servers, pki):
    res = run(servers["untrusted"], pki)
    assert res["tls"] is True and res["verified"] is False
    # Both CAs are named: the one that issued the certificate, and the one given.
    given = f"CN=Test Root CA (thumbprint {hashlib.sha1(pki['root'].der).hexdigest().upper()})"  # noqa: S324
    assert res["verify_error"] == f"issued by CN=Other Root CA, not by the given CA {given}"
    assert res["chain"][0]["issuer"] == "CN=Other Root CA"


def test_same_issuer_name_but_other_key_is_untrusted(servers, pki):
    impostor = make_ca("Test Root CA")  # same name as the real root, different key
    res = run(servers["good"], pki, ca=impostor.pem.decode())
    assert res["verified"] is False
    # Not "signature does not match" alone: the reason says that another CA of that name issued it.
    assert res["verify_error"] == (
        "issued by another CA named CN=Test Root CA: its signature does not verify with the key of the given CA "
        f"CN=Test Root CA (thumbprint {hashlib.sha1(impostor.der).hexdigest().upper()})"  # noqa: S324
    )


def test_a_leaf_certificate_is_refused_as_the_trust_anchor(servers, pki):
    # Given its own certificate as "CA", a self-signed server would verify itself.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    selfsigned = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BASE - datetime.timedelta(days=1))
        .not_valid_after(BASE + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = selfsigned.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(tls_probe.ProbeError) as info:
        tls_probe.load_ca_certs(pem)
    message = str(info.value)
    assert message.startswith(f"ca_cert: CN={HOST} (thumbprint ")
    assert "is not a CA certificate (basicConstraints CA:FALSE), so it cannot be a trust anchor" in message
    # A leaf next to the right CA in a bundle is refused too, and the probe never runs with it.
    with pytest.raises(tls_probe.ProbeError, match="is not a CA certificate"):
        tls_probe.probe(LOOPBACK, servers["good"].port, HOST, pki["root"].pem + pki["leaves"]["good"].pem, TIMEOUT)
    no_bc = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(BASE)
        .not_valid_after(BASE + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(tls_probe.ProbeError, match="it has no basicConstraints extension"):
        tls_probe.load_ca_certs(no_bc.public_bytes(serialization.Encoding.PEM))


def test_a_self_signed_server_given_its_own_certificate_as_ca_is_not_verified(tmp_path):
    # The case of the issue, over a real handshake: before, this answered verified: true.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(BASE - datetime.timedelta(days=1))
        .not_valid_after(BASE + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    own = Issued(cert, key)
    server = Server("tls", *write_chain(tmp_path, "self", own))
    try:
        with pytest.raises(tls_probe.ProbeError, match="cannot be a trust anchor"):
            tls_probe.probe_many([{"host": LOOPBACK, "port": server.port, "server_name": HOST}], own.pem, TIMEOUT)
        res = tls_probe.probe(LOOPBACK, server.port, HOST, pki_root_only(), TIMEOUT, now=BASE)
        assert res["verified"] is False and res["verify_error"].startswith(f"issued by CN={HOST}, not by the given CA")
    finally:
        server.stop()


def pki_root_only():
    return make_ca("Test Root CA").pem


def test_plain_http(servers, pki):
    res = run(servers["http"], pki)
    assert res["reachable"] is True and res["tls"] is False
    assert res["error"] == "no TLS: the port answers plain HTTP (HTTP/1.1 400 Bad Request)"
    assert res["verified"] is False and res["thumbprint"] is None and res["chain"] == []


def test_plain_tcp_banner(servers, pki):
    res = run(servers["banner"], pki)
    assert res["reachable"] is True and res["tls"] is False
    assert res["error"].startswith("no TLS: the port answers with something that is not TLS")


def test_closed_port(pki):
    res = tls_probe.probe(LOOPBACK, closed_port(), server_name=HOST, ca_pem=pki["ca_pem"], timeout=TIMEOUT)
    assert res["reachable"] is False and res["tls"] is False
    assert res["error"] == "connection refused"


def test_server_that_never_answers_the_handshake(servers, pki):
    res = run(servers["silent"], pki, timeout=0.5)
    assert res["reachable"] is True and res["tls"] is False
    assert res["error"] == "TLS handshake timed out after 0.5s"


def test_connection_reset(servers, pki):
    res = run(servers["reset"], pki)
    assert res["reachable"] is True and res["tls"] is False
    assert "no TLS on this port" in res["error"]


def test_server_that_closes_during_the_handshake(servers, pki):
    res = run(servers["close"], pki)
    assert res["reachable"] is True and res["tls"] is False
    assert res["error"].startswith("the server closed the connection during the TLS handshake")


def test_peer_chain_reads_the_public_api_of_python_3_13():
    class Fake:
        def get_unverified_chain(self):
            return [b"leaf-der", bytearray(b"ca-der")]

    assert tls_probe._peer_chain(Fake()) == [b"leaf-der", b"ca-der"]


# ---------------------------------------------------------------- chains and Windows-like checks
def test_chain_with_intermediate(servers, pki):
    res = run(servers["via_intermediate"], pki)
    assert res["verified"] is True, res["verify_error"]
    assert [c["subject"] for c in res["chain"]] == [f"CN={HOST}", "CN=Test Issuing CA"]


def test_an_intermediate_site_ca_is_verified_to_its_root(pki, tmp_path):
    """The ca.crt the ca module keeps for an intermediate site CA (the CA, then its chain): the root
    is the only anchor, the site CA helps build the path, whether or not the server sends it."""
    site = make_ca("XProtect Site CA", issuer=pki["root"])
    leaf = make_leaf(site)
    sends_chain = Server("tls", *write_chain(tmp_path, "chain", leaf, site))
    leaf_only = Server("tls", *write_chain(tmp_path, "leaf", leaf))
    bundle = (site.pem + pki["root"].pem).decode()
    anchors, extra = tls_probe.split_anchors(tls_probe.load_ca_certs(bundle))
    assert anchors == [pki["root"].cert] and extra == [site.cert]
    try:
        for server in (sends_chain, leaf_only):
            res = run(server, pki, ca=bundle)
            assert res["verified"] is True, res["verify_error"]
        # The site CA with another root: its chain does not reach that root, so nothing verifies;
        # before, an intermediate given as the CA was an anchor by itself.
        other = (site.pem + pki["other"].pem).decode()
        res = run(sends_chain, pki, ca=other)
        assert res["verified"] is False and "CN=Other Root CA" in res["verify_error"]
        # The root alone verifies a server that sends its chain, not one that sends its leaf only.
        assert run(sends_chain, pki)["verified"] is True
        assert run(leaf_only, pki)["verified"] is False
    finally:
        sends_chain.stop()
        leaf_only.stop()


def test_loose_ca_and_leaf_without_aki_verify_like_windows(servers, pki):
    res = run(servers["loose"], pki, ca=pki["loose_ca"].pem.decode())
    if tls_probe.RELAXED_POLICY:
        assert res["verified"] is True, res["verify_error"]
    else:  # pragma: no cover - cryptography < 45 applies the Web PKI profile
        assert res["verified"] is False


def test_eku_without_server_auth_is_refused_and_no_eku_is_fine(servers, pki):
    res = run(servers["client_only"], pki)
    assert res["verified"] is False
    assert "serverAuth" in res["verify_error"]
    assert run(servers["no_eku"], pki)["verified"] is True


def test_expired_and_untrusted_report_both():
    other = make_ca("Foreign CA")
    old = make_leaf(other, not_after=BASE - datetime.timedelta(days=10), not_before=BASE - datetime.timedelta(days=90))
    root = make_ca("Test Root CA")
    result = tls_probe._blank(LOOPBACK, 1, HOST)
    tls_probe._judge(result, [old.der], [root.cert], HOST, BASE)
    assert result["verify_error"] == (
        "the certificate expired on 2026-02-20T12:00:00Z (10 days ago); "
        f"issued by CN=Foreign CA, not by the given CA CN=Test Root CA (thumbprint {tls_probe._thumbprint(root.cert)})"
    )


def test_no_ca_given(servers, pki):
    res = run(servers["good"], pki, ca=b"")
    assert res["tls"] is True and res["verified"] is False
    assert res["verify_error"] == "not checked: no CA was given (ca_cert or ca_cert_path)"
    res = tls_probe.probe(LOOPBACK, servers["good"].port, timeout=TIMEOUT, now=BASE)
    assert res["server_name"] == LOOPBACK and res["verify_error"].startswith("not checked")


# ---------------------------------------------------------------- cross-check with openssl
def test_thumbprint_matches_openssl_s_client(servers, pki):
    port = servers["good"].port
    shown = openssl("s_client", "-connect", f"{LOOPBACK}:{port}", "-servername", HOST, input_=b"")
    assert b"-----BEGIN CERTIFICATE-----" in shown.stdout, shown.stderr
    fingerprint = openssl("x509", "-noout", "-fingerprint", "-sha1", input_=shown.stdout)
    expected = fingerprint.stdout.decode().strip().split("=", 1)[1].replace(":", "")
    assert run(servers["good"], pki)["thumbprint"] == expected


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Certificates valid on the real clock, since openssl verifies against it."""
    d = tmp_path_factory.mktemp("live")
    now = datetime.datetime.now(datetime.timezone.utc)
    window = {"not_before": now - datetime.timedelta(days=1), "not_after": now + datetime.timedelta(days=90)}
    root, other = make_ca("Live Root CA"), make_ca("Live Other CA")
    leaves = {
        "good": make_leaf(root, **window),
        "wrong_name": make_leaf(root, cn="mgmt01.lab.test", dns=("mgmt01.lab.test",), **window),
        "untrusted": make_leaf(other, **window),
    }
    (d / "ca.pem").write_bytes(root.pem)
    started = {name: Server("tls", *write_chain(d, name, leaf)) for name, leaf in leaves.items()}
    yield {"servers": started, "ca_file": str(d / "ca.pem"), "ca_pem": root.pem.decode()}
    for server in started.values():
        server.stop()


@pytest.mark.parametrize(("name", "verified"), [("good", True), ("wrong_name", False), ("untrusted", False)])
def test_verified_agrees_with_openssl_verify(live, name, verified):
    port = live["servers"][name].port
    args = ["-connect", f"{LOOPBACK}:{port}", "-servername", HOST, "-CAfile", live["ca_file"]]
    out = openssl("s_client", *args, "-verify_hostname", HOST, input_=b"")
    assert (b"Verify return code: 0 (ok)" in out.stdout) is verified, out.stdout[-400:]
    res = tls_probe.probe(LOOPBACK, port, server_name=HOST, ca_pem=live["ca_pem"], timeout=TIMEOUT)
    assert res["verified"] is verified


# ---------------------------------------------------------------- name matching
def test_name_matching_rules():
    root = make_ca("Name Root")
    wildcard = make_leaf(root, cn="x", dns=("*.lab.test",))
    assert tls_probe.name_matches(wildcard.cert, "rs009.lab.test")
    assert not tls_probe.name_matches(wildcard.cert, "lab.test")
    assert not tls_probe.name_matches(wildcard.cert, "a.b.lab.test")
    cn_only = make_leaf(root, cn="legacy.lab.test", dns=())
    assert tls_probe.name_matches(cn_only.cert, "LEGACY.lab.test.")
    san_wins = make_leaf(root, cn="cn.lab.test", dns=("san.lab.test",))
    assert not tls_probe.name_matches(san_wins.cert, "cn.lab.test")
    with_ip = make_leaf(root, cn="ip.lab.test", dns=("ip.lab.test",), ips=("10.0.0.5",))
    assert tls_probe.name_matches(with_ip.cert, "10.0.0.5")
    assert not tls_probe.name_matches(with_ip.cert, "10.0.0.6")
    assert not tls_probe.name_matches(cn_only.cert, "10.0.0.5")
    no_names = make_leaf(root, cn=None, dns=())
    assert not tls_probe.name_matches(no_names.cert, "x.lab.test")
    assert tls_probe._names_of(no_names.cert) == ["no names"]


# ---------------------------------------------------------------- older cryptography paths
def test_strict_web_pki_path(monkeypatch, pki):
    monkeypatch.setattr(tls_probe, "RELAXED_POLICY", False)
    root, leaves = pki["root"], pki["leaves"]
    assert tls_probe._chain_error(leaves["good"].cert, [], [root.cert], BASE) is None
    loose = tls_probe._chain_error(leaves["loose"].cert, [], [pki["loose_ca"].cert], BASE)
    assert loose.startswith("the chain does not verify against the given CA")


def test_direct_signature_path(monkeypatch, pki):
    monkeypatch.setattr(tls_probe, "RELAXED_POLICY", False)
    monkeypatch.setattr(tls_probe, "HAS_VERIFIER", False)
    root, leaves = pki["root"], pki["leaves"]
    assert tls_probe._chain_error(leaves["good"].cert, [], [root.cert], BASE) is None
    impostor = make_ca("Test Root CA")
    bad = tls_probe._chain_error(leaves["good"].cert, [], [impostor.cert], BASE)
    assert bad.startswith("issued by another CA named CN=Test Root CA")
    late = tls_probe._chain_error(leaves["good"].cert, [], [root.cert], BASE + datetime.timedelta(days=4000))
    assert late.endswith("the CA certificate is not valid now")
    assert tls_probe._chain_error_legacy(leaves["good"].cert, [], [], BASE).startswith("not issued by")


# ---------------------------------------------------------------- errors before any handshake
@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (socket.gaierror(-2, "Name or service not known"), "cannot resolve host name 'rs404.lab.test'"),
        (socket.timeout("timed out"), "TCP connect timed out after 2s"),
        (OSError(113, "No route to host"), "cannot connect: No route to host"),
        (ConnectionResetError(104, "Connection reset by peer"), "the connection was reset"),
    ],
)
def test_connect_errors(monkeypatch, exc, message):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(tls_probe.socket, "create_connection", fail)
    res = tls_probe.probe("rs404.lab.test", 7563, timeout=TIMEOUT)
    assert res["reachable"] is isinstance(exc, ConnectionResetError)
    assert res["error"].startswith(message)


def test_handshake_error_texts():
    e = tls_probe._handshake_error
    assert "reset during the TLS handshake" in e(ConnectionResetError(104, "reset"), LOOPBACK, 1, 0.1)
    assert e(ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE"), LOOPBACK, 1, 0.1) == (
        "TLS handshake failed: sslv3 alert handshake failure"
    )
    assert e(OSError("odd"), LOOPBACK, 1, 0.1) == "TLS handshake failed: odd"


def ssl_error(reason):
    import ssl

    err = ssl.SSLError(1, reason)
    err.reason = reason
    return err


def test_unreadable_certificate_is_reported():
    result = tls_probe._blank(LOOPBACK, 1, HOST)
    tls_probe._judge(result, [b"\x30\x03\x02\x01\x00"], [], HOST, BASE)
    assert result["verify_error"].startswith("the presented certificate cannot be read")
    assert result["thumbprint"] == hashlib.sha1(b"\x30\x03\x02\x01\x00").hexdigest().upper()  # noqa: S324


# ---------------------------------------------------------------- CA input
@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("not a certificate", "no PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be read"),
    ],
)
def test_bad_ca_input(data, match):
    with pytest.raises(tls_probe.ProbeError, match=match):
        tls_probe.load_ca_certs(data)


def test_ca_bundle_and_none(pki):
    bundle = pki["root"].pem + pki["other"].pem
    assert len(tls_probe.load_ca_certs(bundle)) == 2
    assert tls_probe.load_ca_certs(None) == []


# ---------------------------------------------------------------- many endpoints
def test_probe_many_real_servers_in_order(servers, pki):
    endpoints = [
        {"host": LOOPBACK, "port": servers["good"].port, "server_name": HOST},
        {"host": LOOPBACK, "port": closed_port()},
        {"host": LOOPBACK, "port": str(servers["http"].port), "server_name": ""},
        {"host": LOOPBACK, "port": servers["untrusted"].port, "server_name": HOST},
    ]
    results = tls_probe.probe_many(endpoints, ca_pem=pki["ca_pem"], timeout=TIMEOUT, workers=3, now=BASE)
    assert [r["port"] for r in results] == [int(e["port"]) for e in endpoints]
    assert [r["verified"] for r in results] == [True, False, False, False]
    assert [r["reachable"] for r in results] == [True, False, True, True]
    assert results[2]["server_name"] == LOOPBACK
    counts = tls_probe.summarize(results)
    assert counts == {
        "total": 4,
        "reachable": 3,
        "unreachable": 1,
        "tls": 2,
        "no_tls": 1,
        "verified": 1,
        "untrusted": 2,
        "expiring": 0,
        "expired": 0,
    }


def test_probe_many_bounds_its_pool(monkeypatch):
    workers, lock, state = 3, threading.Lock(), {"active": 0, "max": 0}
    barrier = threading.Barrier(workers, timeout=10)

    def fake_probe(host, port, server_name, cas, timeout, now=None):  # noqa: PLR0917 - probe's signature
        with lock:
            state["active"] += 1
            state["max"] = max(state["max"], state["active"])
        barrier.wait()  # every batch really runs `workers` probes at once
        with lock:
            state["active"] -= 1
        return {"host": host, "port": port}

    monkeypatch.setattr(tls_probe, "probe", fake_probe)
    endpoints = [{"host": f"h{i}", "port": 1000 + i} for i in range(workers * 4)]
    results = tls_probe.probe_many(endpoints, workers=workers)
    assert state["max"] == workers
    assert [r["port"] for r in results] == [1000 + i for i in range(workers * 4)]


def test_probe_many_one_crash_does_not_fail_the_batch(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tls_probe, "probe", crash)
    (res,) = tls_probe.probe_many([{"host": "h", "port": 1}])
    assert res["error"] == "probe failed: boom" and res["reachable"] is False
    assert tls_probe.probe_many([]) == []


@pytest.mark.parametrize(
    ("endpoints", "match"),
    [
        (["h:1"], r"endpoints\[0\]: expected a dict"),
        ([{"port": 1}], r"endpoints\[0\]: 'host'"),
        ([{"host": "a", "port": 1}, {"host": "b"}], r"endpoints\[1\] \(b\): 'port' must be a number"),
        ([{"host": "a", "port": 70000}], "out of range"),
    ],
)
def test_probe_many_refuses_bad_endpoints(endpoints, match):
    with pytest.raises(tls_probe.ProbeError, match=match):
        tls_probe.probe_many(endpoints)


# ---------------------------------------------------------------- fail_on and counts
def result(**kw):
    base = {"host": "h", "port": 1, "server_name": "h", "reachable": True, "tls": True, "verified": True}
    base.update({"days_left": 100, "error": None, "verify_error": None})
    base.update(kw)
    return base


def test_problems_of():
    assert tls_probe.problems_of(result()) == []
    assert tls_probe.problems_of(result(reachable=False, tls=False, verified=False, days_left=None)) == ["unreachable"]
    assert tls_probe.problems_of(result(tls=False, verified=False, days_left=None)) == ["untrusted"]
    assert tls_probe.problems_of(result(tls=False, verified=False), have_ca=False) == []
    assert tls_probe.problems_of(result(days_left=29)) == ["expiring"]
    assert tls_probe.problems_of(result(days_left=30)) == []
    assert tls_probe.problems_of(result(days_left=-3, verified=False)) == ["untrusted", "expiring"]
    assert tls_probe.problems_of(result(days_left=45), expiring_days=60) == ["expiring"]


def test_failure_message_names_endpoints_and_truncates():
    results = [
        result(),
        result(server_name="rs002", port=7563, reachable=False, verified=False, error="connection refused"),
        result(server_name="mgmt01", port=443, verified=False, verify_error="wrong name: x"),
        result(server_name="mob01", port=8082, days_left=5),
    ]
    msg = tls_probe.failure_message(results, ["unreachable", "expiring"])
    assert msg.startswith("2 of 4 endpoint(s) failed the fail_on checks (unreachable, expiring): ")
    assert "rs002:7563 unreachable (connection refused)" in msg
    assert "mob01:8082 expiring (5 days left)" in msg
    assert "mgmt01" not in msg
    assert tls_probe.failure_message(results, []) is None
    many = [result(server_name=f"rs{i:03d}", reachable=False, error="connection refused") for i in range(25)]
    long = tls_probe.failure_message(many, ["unreachable"], limit=20)
    assert long.endswith("; and 5 more") and "rs019" in long and "rs020" not in long


class _Clock:
    """A clock that moves only when the probe sleeps, and a probe that answers from a script."""

    def __init__(self, script):
        self.now, self.script, self.asked = 0.0, script, []

    def sleep(self, seconds):
        self.now += seconds

    def probe(self, items, **_args):
        keys = [i.get("key", i["label"]) for i in items]
        self.asked.append(keys)
        return [dict(self.script[k](self.now), label=i["label"]) for k, i in zip(keys, items)]


_REFUSED = {"reachable": False, "tls": False}
_PLAIN = {"reachable": True, "tls": False}
_TLS = {"reachable": True, "tls": True}


@pytest.mark.parametrize(
    ("expect", "answer", "settled"),
    [
        ("tls", _TLS, True),
        ("tls", _PLAIN, False),
        ("tls", _REFUSED, False),
        ("plain", _PLAIN, True),
        ("plain", _TLS, False),
        ("plain", _REFUSED, False),
        ("any", _REFUSED, True),
    ],
)
def test_settled(expect, answer, settled):
    assert tls_probe.settled([answer], expect) is settled


@pytest.mark.parametrize(
    ("expect", "answers", "settled"),
    [
        # A management server: HTTPS and HTTP ports, settling together.
        ("tls", [_TLS, _REFUSED], True),
        ("tls", [_REFUSED, _REFUSED], False),
        ("plain", [_REFUSED, _PLAIN], True),
        ("plain", [_PLAIN, _REFUSED], True),
        ("plain", [_TLS, _PLAIN], False),
        ("plain", [_REFUSED, _REFUSED], False),
    ],
)
def test_the_ports_of_one_label_settle_together(expect, answers, settled):
    assert tls_probe.settled(answers, expect) is settled


def test_probe_settled_per_label_probes_the_whole_label_again():
    # The management server being switched back: 443 stays closed, 80 answers plain from 2 s on;
    # the recording server answers plain at once and is not probed again.
    script = {
        "ms:443": lambda t: _REFUSED,
        "ms:80": lambda t: _PLAIN if t >= 2 else _REFUSED,
        "rs:9001": lambda t: _PLAIN,
    }
    clock = _Clock(script)
    endpoints = [{"label": "ms", "key": "ms:443"}, {"label": "ms", "key": "ms:80"}, {"label": "rs", "key": "rs:9001"}]
    out = tls_probe.probe_settled(
        endpoints, "plain", 10, "label", probe=clock.probe, clock=lambda: clock.now, sleep=clock.sleep
    )
    assert clock.asked == [["ms:443", "ms:80", "rs:9001"], ["ms:443", "ms:80"], ["ms:443", "ms:80"]]
    assert out["settle"] == {"expect": "plain", "rounds": 3, "seconds": 2.0, "pending": []}
    # Each endpoint on its own, 443 never answers plain: it is the one left pending.
    clock = _Clock(script)
    out = tls_probe.probe_settled(endpoints, "plain", 3, probe=clock.probe, clock=lambda: clock.now, sleep=clock.sleep)
    assert out["settle"]["pending"] == ["ms"] and clock.asked[-1] == ["ms:443"]


def test_probe_settled_probes_again_only_what_has_not_settled():
    clock = _Clock({"ms": lambda t: _TLS if t >= 3 else _REFUSED, "rs": lambda t: _TLS})
    out = tls_probe.probe_settled(
        [{"label": "ms"}, {"label": "rs"}], "tls", 10, probe=clock.probe, clock=lambda: clock.now, sleep=clock.sleep
    )
    assert clock.asked == [["ms", "rs"], ["ms"], ["ms"], ["ms"]]
    assert [e["tls"] for e in out["endpoints"]] == [True, True]
    assert out["settle"] == {"expect": "tls", "rounds": 4, "seconds": 3.0, "pending": []}


def test_probe_settled_gives_up_at_the_timeout_and_names_what_is_pending():
    clock = _Clock({"ms": lambda t: _TLS})
    out = tls_probe.probe_settled(
        [{"label": "ms"}], "plain", 2.5, probe=clock.probe, clock=lambda: clock.now, sleep=clock.sleep
    )
    # Probes at 0, 1, 2 and, the last one, at the timeout.
    assert len(clock.asked) == 4 and out["settle"]["pending"] == ["ms"] and out["settle"]["seconds"] == 2.5


def test_probe_settled_without_a_timeout_probes_once():
    clock = _Clock({"ms": lambda t: _REFUSED})
    out = tls_probe.probe_settled(
        [{"label": "ms"}], "tls", 0, probe=clock.probe, clock=lambda: clock.now, sleep=clock.sleep
    )
    assert len(clock.asked) == 1 and out["settle"]["pending"] == ["ms"]


def test_probe_settled_refuses_an_unknown_expectation_or_grouping():
    with pytest.raises(tls_probe.ProbeError, match="expect: 'sometimes'"):
        tls_probe.probe_settled([], "sometimes")
    with pytest.raises(tls_probe.ProbeError, match="settle_per: 'host'"):
        tls_probe.probe_settled([], "tls", 1, "host")
