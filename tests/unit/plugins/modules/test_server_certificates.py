# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server_certificates module (PFX flow batch), run through main() with patched arguments."""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, fileutil, pki
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import server_certificates as backend
from ansible_collections.xprotect.encryption.plugins.modules import server_certificates as mod

CA_PASS = "ca pass phrase 1"  # noqa: S105 - a test value
PFX_PASS = "pfx pass phrase 2"  # noqa: S105 - a test value
HOSTS = [
    {"name": "ms01.vms.example.com", "dns_names": ["vms.example.com"]},
    {"name": "rs01.vms.example.com", "ip_addresses": ["10.0.10.21"]},
    {"name": "rs02.vms.example.com"},
]


def run(capsys, check=False, diff=False, **args):
    args = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


def listing(folder) -> list:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ca")
    ca = pki.create_ca("Module Test CA", key_size=3072)
    (folder / "ca.crt").write_text(ca.cert_pem)
    (folder / "ca.key").write_bytes(pki.serialize_ca_key(ca, CA_PASS.encode()))
    return folder, ca


@pytest.fixture
def args(ca_dir, tmp_path):
    folder = ca_dir[0]
    return {
        "path": str(tmp_path / "pfx"),
        "hosts": HOSTS,
        "ca_cert_path": str(folder / "ca.crt"),
        "ca_key_path": str(folder / "ca.key"),
        "ca_passphrase": CA_PASS,
        "pfx_passphrase": PFX_PASS,
    }


def openssl(*argv):
    return subprocess.run(["openssl", *argv], capture_output=True, check=False)


def test_first_run_then_idempotent(capsys, args, ca_dir):
    ca = ca_dir[1]
    first = run(capsys, diff=True, **args)
    assert first["changed"] and first["issued"] == [h["name"] for h in HOSTS]
    assert first["ca_thumbprint"] == ca.thumbprint
    out = args["path"]
    assert listing(out) == [".lock"] + sorted(f"{h['name']}.{ext}" for h in HOSTS for ext in ("crt", "pfx"))
    for h in HOSTS:
        fqdn = h["name"]
        entry = first["hosts"][fqdn]
        assert entry["changed"] and entry["reasons"] == ["no certificate"] and entry["days_left"] == 730
        pfx_path, crt_path = entry["pfx_path"], entry["crt_path"]
        assert stat.S_IMODE(os.stat(pfx_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(crt_path).st_mode) == 0o644
        key, cert, chain = pki.read_pfx(open(pfx_path, "rb").read(), PFX_PASS.encode())
        assert pki.thumbprint(cert) == entry["thumbprint"] and chain == [ca.cert]
        assert pki.cert_has_private_key_match(cert, key) and key.key_size == 2048
        assert pki.load_certificate(open(crt_path, "rb").read()) == cert
        assert first["diff"]["before"][fqdn] == {} and first["diff"]["after"][fqdn]["thumbprint"] == entry["thumbprint"]
        verify = openssl("verify", "-CAfile", args["ca_cert_path"], "-purpose", "sslserver", crt_path)
        assert verify.returncode == 0, verify.stderr
        info = openssl("pkcs12", "-in", pfx_path, "-info", "-noout", "-passin", "pass:" + PFX_PASS)
        assert "pbeWithSHA1And3-KeyTripleDES-CBC" in info.stderr.decode() and "MAC: sha1" in info.stderr.decode()
    ms = pki.load_certificate(open(first["hosts"]["ms01.vms.example.com"]["crt_path"], "rb").read())
    assert pki.san_names(ms) == (["ms01.vms.example.com", "ms01", "vms.example.com"], [])
    rs = pki.load_certificate(open(first["hosts"]["rs01.vms.example.com"]["crt_path"], "rb").read())
    assert pki.san_names(rs) == (["rs01.vms.example.com", "rs01"], ["10.0.10.21"])
    again = run(capsys, **args)
    assert not again["changed"] and again["issued"] == []
    for fqdn, entry in again["hosts"].items():
        assert entry["thumbprint"] == first["hosts"][fqdn]["thumbprint"] and entry["reasons"] == []


def test_rerun_opens_neither_the_pfx_nor_the_ca_key(capsys, args, monkeypatch):
    run(capsys, **args)

    def forbidden(*a, **k):
        raise AssertionError("an idempotent run must not decrypt this")

    monkeypatch.setattr(pki, "read_pfx", forbidden)
    monkeypatch.setattr(_ca_options, "load_ca_from_options", forbidden)
    res = run(capsys, **args)
    assert not res.get("failed") and not res["changed"]


def test_check_mode_reports_and_writes_nothing(capsys, args):
    res = run(capsys, check=True, diff=True, **args)
    assert res["changed"] and res["issued"] == [h["name"] for h in HOSTS]
    assert all(e["thumbprint"] is None and e["reasons"] == ["no certificate"] for e in res["hosts"].values())
    assert res["diff"]["after"]["rs02.vms.example.com"] == {"thumbprint": "(new)"}
    assert not os.path.exists(args["path"])
    # Without the CA key (an audit), check mode still says what would happen.
    no_key = {k: v for k, v in args.items() if k not in ("ca_key_path", "ca_passphrase")}
    assert run(capsys, check=True, **no_key)["issued"] == [h["name"] for h in HOSTS]


def _later(path):
    """Make ``path`` newer than its .crt, as a copy or an edit behind our back would."""
    future = time.time() + 60
    os.utime(path, (future, future))


def test_pfx_changed_behind_our_back(capsys, args):
    first = run(capsys, **args)
    rs01 = first["hosts"]["rs01.vms.example.com"]
    rs02 = first["hosts"]["rs02.vms.example.com"]
    # rs01: touched but intact -> opened, checked, kept. rs02: replaced by garbage -> re-issued.
    _later(rs01["pfx_path"])
    with open(rs02["pfx_path"], "wb") as f:
        f.write(b"\x30garbage")
    _later(rs02["pfx_path"])
    os.unlink(first["hosts"]["ms01.vms.example.com"]["pfx_path"])
    checked = run(capsys, check=True, **args)
    assert checked["hosts"]["rs01.vms.example.com"]["reasons"] == []
    assert checked["hosts"]["rs02.vms.example.com"]["reasons"] == [
        "rs02.vms.example.com.pfx cannot be opened with pfx_passphrase"
    ]
    assert checked["hosts"]["ms01.vms.example.com"]["reasons"] == ["ms01.vms.example.com.pfx is missing"]
    res = run(capsys, **args)
    assert res["issued"] == ["ms01.vms.example.com", "rs02.vms.example.com"]
    assert res["hosts"]["rs01.vms.example.com"]["thumbprint"] == rs01["thumbprint"]
    assert not run(capsys, **args)["changed"]


def test_pfx_with_another_certificate_or_key(capsys, args, ca_dir):
    ca = ca_dir[1]
    first = run(capsys, **args)
    entry = first["hosts"]["rs01.vms.example.com"]
    other_key = pki.generate_key()
    other = pki.issue_certificate(ca, other_key.public_key(), "rs01.vms.example.com", ["rs01"])
    with open(entry["pfx_path"], "wb") as f:
        f.write(pki.write_pfx(other_key, other, [], PFX_PASS.encode(), "x"))
    _later(entry["pfx_path"])
    res = run(capsys, check=True, **args)
    assert res["hosts"]["rs01.vms.example.com"]["reasons"] == [
        "rs01.vms.example.com.pfx does not hold the certificate of rs01.vms.example.com.crt"
    ]


def test_verify_pfx_catches_a_new_passphrase(capsys, args):
    run(capsys, **args)
    res = run(capsys, check=True, **{**args, "pfx_passphrase": "a new one", "verify_pfx": True})
    assert all(e["reasons"] == [f"{fqdn}.pfx cannot be opened with pfx_passphrase"] for fqdn, e in res["hosts"].items())
    assert not run(capsys, check=True, **{**args, "verify_pfx": True})["changed"]


def test_renew_before_and_names_and_key_size(capsys, args, ca_dir):
    ca = ca_dir[1]
    run(capsys, **args)
    # rs02: a certificate 10 days from expiry (written as the module would: PFX first).
    key = pki.generate_key()
    an_hour_ago = pki.utcnow() - datetime.timedelta(hours=1)
    # Explicit dates: signing "an hour ago" would be refused, the CA was made a minute ago.
    short = pki.issue_certificate(
        ca,
        key.public_key(),
        "rs02.vms.example.com",
        ["rs02"],
        not_before=an_hour_ago,
        not_after=an_hour_ago + datetime.timedelta(days=10),
    )
    base = os.path.join(args["path"], "rs02.vms.example.com")
    fileutil.atomic_write(base + ".pfx", pki.write_pfx(key, short, [ca.cert], PFX_PASS.encode(), "x"), 0o600)
    fileutil.atomic_write(base + ".crt", pki.cert_pem(short).encode(), 0o644)
    hosts = [dict(h) for h in HOSTS]
    hosts[1]["dns_names"] = ["video.vms.example.com"]  # rs01 gets a new alias
    res = run(capsys, check=True, **{**args, "hosts": hosts})
    assert res["hosts"]["rs02.vms.example.com"]["reasons"] == ["certificate expires in 9 days (renew_before 30)"]
    assert res["hosts"]["rs01.vms.example.com"]["reasons"][0].startswith("name missing: video.vms.example.com")
    assert res["hosts"]["ms01.vms.example.com"]["reasons"] == []
    bigger = run(capsys, check=True, **{**args, "key_size": 3072})
    assert all("RSA key is 2048 bits (minimum 3072)" in e["reasons"] for e in bigger["hosts"].values())
    assert bigger["hosts"]["ms01.vms.example.com"]["reasons"] == ["RSA key is 2048 bits (minimum 3072)"]


def test_force_aes_and_no_chain(capsys, args):
    run(capsys, **args)
    res = run(capsys, **{**args, "force": True, "pfx_encryption": "aes256", "include_ca": False, "workers": 1})
    assert res["issued"] == [h["name"] for h in HOSTS]
    assert all(e["reasons"] == ["force: true"] for e in res["hosts"].values())
    pfx = res["hosts"]["rs02.vms.example.com"]["pfx_path"]
    info = openssl("pkcs12", "-in", pfx, "-info", "-noout", "-passin", "pass:" + PFX_PASS).stderr.decode()
    assert "AES-256-CBC" in info and "MAC: sha256" in info
    assert pki.read_pfx(open(pfx, "rb").read(), PFX_PASS.encode())[2] == []


def test_default_validity_is_clamped_to_the_ca(capsys, args, tmp_path):
    short = pki.create_ca("Short CA", key_size=3072, days=100)
    (tmp_path / "s.crt").write_text(short.cert_pem)
    (tmp_path / "s.key").write_bytes(pki.serialize_ca_key(short, None))
    short_args = {**args, "ca_cert_path": str(tmp_path / "s.crt"), "ca_key_path": str(tmp_path / "s.key")}
    short_args.pop("ca_passphrase")
    res = run(capsys, **short_args)
    assert all(e["not_after"] == pki.iso_z(pki.not_after(short.cert)) for e in res["hosts"].values())
    explicit = run(capsys, **{**short_args, "validity_days": 200, "force": True})
    assert explicit["failed"] and explicit["option"] == "validity_days"


def test_content_mode_ca(capsys, args, ca_dir):
    folder, ca = ca_dir
    content = {k: v for k, v in args.items() if k not in ("ca_cert_path", "ca_key_path")}
    content["ca_cert_content"] = ca.cert_pem
    content["ca_key_content"] = open(folder / "ca.key").read()
    res = run(capsys, **content)
    assert res["changed"] and res["ca_thumbprint"] == ca.thumbprint


def test_a_host_that_cannot_be_written_fails_alone(capsys, args, monkeypatch):
    real = fileutil.atomic_write

    def flaky(path, data, file_mode):
        if "rs01" in os.path.basename(path):
            raise OSError(28, "No space left on device")
        real(path, data, file_mode)

    monkeypatch.setattr(fileutil, "atomic_write", flaky)
    res = run(capsys, **args)
    assert res["failed"] and "1 host(s) could not be issued: rs01.vms.example.com" in res["msg"]
    assert "No space left" in res["hosts"]["rs01.vms.example.com"]["error"]
    assert sorted(res["issued"]) == ["ms01.vms.example.com", "rs02.vms.example.com"]
    assert not any(n.startswith("rs01") for n in listing(args["path"]))


def test_unreadable_crt_is_reissued(capsys, args):
    os.makedirs(args["path"])
    with open(os.path.join(args["path"], "rs02.vms.example.com.crt"), "w") as f:
        f.write("not a certificate")
    res = run(capsys, check=True, **args)
    assert res["hosts"]["rs02.vms.example.com"]["reasons"] == ["rs02.vms.example.com.crt is not a readable certificate"]


# ---- bad input: the option is named, nothing is written ------------------------------------------


def _bad(args, tmp_path, ca_dir):
    folder, ca = ca_dir
    server_key = pki.generate_key()
    server = pki.issue_certificate(ca, server_key.public_key(), "x.example.com", [])
    (tmp_path / "server.crt").write_text(pki.cert_pem(server))
    (tmp_path / "notafile").mkdir()
    return [
        ("wrong CA passphrase", {"ca_passphrase": "wrong"}, "ca_passphrase"),
        ("no CA passphrase", {"ca_passphrase": None}, "ca_passphrase"),
        ("non-CA certificate as CA", {"ca_cert_path": str(tmp_path / "server.crt")}, "ca_cert_path"),
        ("CA key path unreadable", {"ca_key_path": str(tmp_path / "notafile")}, "ca_key_path"),
        ("CA certificate missing", {"ca_cert_path": str(tmp_path / "absent.crt")}, "ca_cert_path"),
        ("host name with invalid characters", {"hosts": [{"name": "rs_01.example.com"}]}, "hosts"),
        ("IP address as host name", {"hosts": [{"name": "10.0.0.1"}]}, "hosts"),
        ("bad alias", {"hosts": [{"name": "rs01.example.com", "dns_names": ["a b"]}]}, "hosts"),
        ("bad IP", {"hosts": [{"name": "rs01.example.com", "ip_addresses": ["10.0.0.999"]}]}, "hosts"),
        ("host listed twice", {"hosts": [{"name": "rs01.example.com"}, {"name": "RS01.example.com"}]}, "hosts"),
        ("validity past the CA's", {"validity_days": 5000}, "validity_days"),
        ("validity 0", {"validity_days": 0}, "validity_days"),
        ("key size 1024", {"key_size": 1024}, "key_size"),
        ("negative renew_before", {"renew_before": -5}, "renew_before"),
        ("empty PFX passphrase", {"pfx_passphrase": ""}, "pfx_passphrase"),
        ("path is a file", {"path": str(tmp_path / "server.crt")}, "path"),
        (
            "CA key missing in content mode",
            {"ca_cert_path": None, "ca_key_path": None, "ca_cert_content": ca.cert_pem},
            "ca_key_content",
        ),
        ("no CA key at all", {"ca_key_path": None}, "ca_key_path"),
    ]


def test_bad_input_cases(capsys, args, tmp_path, ca_dir):
    cases = _bad(args, tmp_path, ca_dir)
    assert len(cases) >= 15
    for name, change, option in cases:
        # Reading a CA takes its folder's lock (a .lock file there): no change to the folder's content.
        top = [n for n in listing(tmp_path) if n != fileutil.LOCK_NAME]
        merged = {k: v for k, v in {**args, **change}.items() if v is not None}  # None: option not given
        res = run(capsys, **merged)
        assert res.get("failed"), name
        assert res.get("option") == option, (name, res)
        assert option in res["msg"], (name, res["msg"])
        assert not os.path.exists(args["path"]), name
        assert [n for n in listing(tmp_path) if n != fileutil.LOCK_NAME] == top, name


def test_missing_cryptography(capsys, args, monkeypatch):
    monkeypatch.setattr(pki, "HAS_CRYPTOGRAPHY", False)
    res = run(capsys, **args)
    assert res["failed"] and "cryptography" in res["msg"]


def test_lock_error(capsys, args, monkeypatch):
    real = fileutil.locked

    def busy(path, timeout=60.0, poll=0.1, shared=False):
        if shared:  # reading the CA
            return real(path, timeout, poll, shared=True)
        raise fileutil.LockError(f"{path} is locked by another run")

    monkeypatch.setattr(fileutil, "locked", busy)
    res = run(capsys, **args)
    assert res["failed"] and res["option"] == "path" and "locked" in res["msg"]


def test_unwritable_folder(capsys, args, monkeypatch):
    def refuse(path, mode=0o700):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(fileutil, "ensure_dir", refuse)
    res = run(capsys, **args)
    assert res["failed"] and res["option"] == "path" and "Permission denied" in res["msg"]


def test_run_without_ansible_takes_now(ca_dir, tmp_path):
    folder, ca = ca_dir
    params = {k: v.get("default") for k, v in mod.ARGUMENT_SPEC.items()}
    params.update(
        path=str(tmp_path / "out"),
        hosts=[{"name": "rs09.example.com", "dns_names": [], "ip_addresses": []}],
        ca_cert_path=str(folder / "ca.crt"),
        ca_key_path=str(folder / "ca.key"),
        ca_passphrase=CA_PASS,
        pfx_passphrase=PFX_PASS,
    )
    res = backend.run(params, check_mode=False)
    later = pki.utcnow() + datetime.timedelta(days=720, hours=1)
    again = backend.run(params, check_mode=True, now=later)
    assert again["hosts"]["rs09.example.com"]["reasons"] == ["certificate expires in 9 days (renew_before 30)"]
    assert res["hosts"]["rs09.example.com"]["changed"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ca_key_path": None, "ca_key_content": "a key value"}, "mutually exclusive: ca_cert_path|ca_key_content"),
        ({"ca_cert_path": None, "ca_cert_content": "a cert value"}, "mutually exclusive: ca_key_path|ca_cert_content"),
        ({"ca_cert_content": "a cert value"}, "mutually exclusive: ca_cert_path|ca_cert_content"),
        ({"ca_cert_path": None}, "one of the following is required: ca_cert_path, ca_cert_content"),
    ],
)
def test_the_ca_comes_from_files_or_values_never_both(capsys, args, change, message):
    """Declared in the argument spec: ansible-core names the options, and nothing is read or written."""
    merged = {k: v for k, v in {**args, **change}.items() if v is not None}
    res = run(capsys, **merged)
    assert res["failed"] and message in res["msg"], res["msg"]
    assert not os.path.exists(args["path"])
