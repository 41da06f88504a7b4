# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ca module, run through its main() with patched arguments (as ansible-core tests modules)."""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args
from cryptography.hazmat.primitives import serialization

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca as backend
from ansible_collections.xprotect.encryption.plugins.modules import ca as ca_module

PASS = "ca pass phrase 1"  # noqa: S105 - a test value
PFX_PHRASE = "pfx phrase"  # noqa: S105 - a test value


def run(capsys, check=False, diff=False, **args):
    """main() with ``args``; returns the JSON result (``failed`` set on fail_json)."""
    args = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        ca_module.main()
    return json.loads(capsys.readouterr().out)


def params(**kw) -> dict:
    """Every option at its default, for backend.run() (which returns its warnings as a list).

    Warnings are checked through run(): once controller code is imported in the same process
    (other tests do), ansible-core 2.19 sends module warnings to the display instead of the result.
    """
    base = {k: v.get("default") for k, v in backend.ARGUMENT_SPEC.items()}
    base.update(kw)
    return base


def listing(folder) -> list:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def existing_ca():
    return pki.create_ca("Imported CA", key_size=3072)


@pytest.fixture(scope="module")
def server():
    key = pki.generate_key()
    issuer = pki.create_ca("Server Issuer", key_size=3072)
    return key, pki.issue_certificate(issuer, key.public_key(), "rs01.example.com", ["rs01.example.com"])


def write_ca(folder, ca, passphrase=PASS):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ca.crt"), "w") as f:
        f.write(ca.cert_pem)
    with open(os.path.join(folder, "ca.key"), "wb") as f:
        f.write(pki.serialize_ca_key(ca, passphrase.encode() if passphrase else None))


# ---- create, re-run, check mode ---------------------------------------------------------------


def test_create_writes_encrypted_key_and_is_idempotent(tmp_path, capsys):
    folder = str(tmp_path / "pki")
    first = run(capsys, path=folder, passphrase=PASS, diff=True)
    assert first["changed"] and first["created"] and not first["renewed"] and not first["imported"]
    assert first["reasons"] == ["no CA yet; a new one is created"]
    assert first["subject"] == "CN=XProtect VMS Root CA"
    assert listing(folder) == [".lock", "ca.crt", "ca.key"]
    assert mode(folder) == 0o700
    assert mode(os.path.join(folder, "ca.key")) == 0o600 and mode(os.path.join(folder, "ca.crt")) == 0o644
    key_pem = open(os.path.join(folder, "ca.key"), "rb").read()
    assert b"ENCRYPTED PRIVATE KEY" in key_pem
    opened = subprocess.run(
        ["openssl", "pkey", "-in", os.path.join(folder, "ca.key"), "-noout", "-passin", "pass:" + PASS],
        check=False,
        capture_output=True,
    )
    assert opened.returncode == 0, opened.stderr
    ca = pki.load_ca(open(os.path.join(folder, "ca.crt"), "rb").read(), key_pem, PASS.encode())
    assert ca.key.key_size == 4096
    assert first["thumbprint"] == ca.thumbprint and first["certificate"] == ca.cert_pem
    assert first["diff"]["before"] == {} and first["diff"]["after"]["thumbprint"] == ca.thumbprint
    assert first["cert_path"] == os.path.join(folder, "ca.crt")
    again = run(capsys, path=folder, passphrase=PASS)
    assert not again["changed"] and again["reasons"] == [] and again["thumbprint"] == first["thumbprint"]
    assert "diff" not in again


def test_check_mode_create_writes_nothing(tmp_path, capsys):
    folder = str(tmp_path / "pki")
    res = run(capsys, check=True, diff=True, path=folder, passphrase=PASS)
    assert res["changed"] and res["created"] and res["certificate"] is None and res["thumbprint"] is None
    assert res["diff"]["after"]["subject"] == "CN=XProtect VMS Root CA"
    assert not os.path.exists(folder)


def test_options_of_a_new_ca(tmp_path, capsys, fast_create):
    res = run(
        capsys,
        cert_path=str(tmp_path / "a" / "root.pem"),
        key_path=str(tmp_path / "b" / "root.key"),
        passphrase=PASS,
        common_name="Site West CA",
        validity_days=400,
        renew_before=30,
    )
    assert res["changed"] and res["subject"] == "CN=Site West CA" and res["days_left"] == 400
    assert listing(tmp_path / "a") == [".lock", "root.pem"] and listing(tmp_path / "b") == ["root.key"]


def test_allow_unencrypted_key(tmp_path, capsys, fast_create):
    folder = str(tmp_path / "pki")
    res = run(capsys, path=folder, allow_unencrypted_key=True)
    assert res["changed"]
    assert not pki.is_key_encrypted(open(os.path.join(folder, "ca.key"), "rb").read())
    assert not run(capsys, path=folder, allow_unencrypted_key=True)["changed"]


# ---- renewal ------------------------------------------------------------------------------------


def test_renew_before_keeps_key_and_subject(tmp_path, capsys):
    folder = str(tmp_path / "pki")
    old = pki.create_ca("Old Site CA", key_size=3072, days=100, now=pki.utcnow() - datetime.timedelta(hours=1))
    write_ca(folder, old)
    key_before = open(os.path.join(folder, "ca.key"), "rb").read()
    checked = run(capsys, check=True, diff=True, path=folder, passphrase=PASS, renew_before=365)
    assert checked["changed"] and checked["renewed"] and checked["trust_redistribution_required"]
    assert checked["thumbprint"] == old.thumbprint and checked["diff"]["after"]["thumbprint"] == "(new)"
    assert open(os.path.join(folder, "ca.crt")).read() == old.cert_pem  # check mode wrote nothing
    res = run(capsys, diff=True, path=folder, passphrase=PASS, renew_before=365)
    assert res["changed"] and res["renewed"] and res["trust_redistribution_required"]
    assert res["previous_thumbprint"] == old.thumbprint and res["thumbprint"] != old.thumbprint
    assert res["reasons"] == ["CA certificate expires in 99 days (renew_before 365)"]
    assert res["diff"]["before"]["thumbprint"] == old.thumbprint
    assert res["days_left"] == 3650 and res["subject"] == "CN=Old Site CA"
    assert open(os.path.join(folder, "ca.key"), "rb").read() == key_before  # same key, untouched
    new = pki.load_certificate(open(os.path.join(folder, "ca.crt"), "rb").read())
    assert new.subject == old.cert.subject and pki.cert_has_private_key_match(new, old.key)
    assert not run(capsys, path=folder, passphrase=PASS, renew_before=365)["changed"]


def test_renew_in_content_mode_returns_the_new_certificate(capsys):
    old = pki.create_ca("Content CA", key_size=3072, days=10)
    args = {"cert_content": old.cert_pem, "key_content": pki.serialize_ca_key(old, PASS.encode()).decode()}
    res = run(capsys, passphrase=PASS, renew_before=30, **args)
    assert res["changed"] and res["renewed"] and res["thumbprint"] != old.thumbprint
    warned = backend.run(params(passphrase=PASS, renew_before=30, **args), check_mode=False)["warnings"]
    assert "Store the returned certificate" in " ".join(warned)
    new = pki.load_certificate(res["certificate"].encode())
    assert pki.verify_issued_by(new, old.cert) and "cert_path" not in res
    checked = run(capsys, check=True, passphrase=PASS, renew_before=30, **args)
    assert checked["changed"] and checked["thumbprint"] == old.thumbprint


def test_renewing_an_intermediate_is_refused(tmp_path, capsys):
    root = pki.create_ca("Root", key_size=3072)
    key = pki.generate_key(3072)
    now = pki.utcnow()
    inter = (
        pki.x509.CertificateBuilder()
        .subject_name(pki.x509.Name([pki.x509.NameAttribute(pki.NameOID.COMMON_NAME, "Issuing")]))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(5)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=20))
        .add_extension(pki.x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(pki.x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(root.key, pki.hashes.SHA256())
    )
    folder = str(tmp_path / "pki")
    write_ca(folder, pki.CA(cert=inter, key=key))
    res = run(capsys, path=folder, passphrase=PASS, renew_before=30)
    assert res["failed"] and res["option"] == "renew_before" and "issuing CA" in res["msg"]
    assert listing(folder) == [".lock", "ca.crt", "ca.key"]
    assert res["msg"] and pki.load_certificate(open(os.path.join(folder, "ca.crt"), "rb").read()) == inter


# ---- import and content mode ------------------------------------------------------------------


def test_import_pem_reencrypts_the_key(tmp_path, capsys, existing_ca):
    src = tmp_path / "src"
    old_phrase = "old phrase"
    write_ca(str(src), existing_ca, passphrase=old_phrase)
    folder = str(tmp_path / "pki")
    args = {
        "path": folder,
        "passphrase": PASS,
        "import_cert_path": str(src / "ca.crt"),
        "import_key_path": str(src / "ca.key"),
        "import_passphrase": old_phrase,
    }
    res = run(capsys, **args)
    assert res["changed"] and res["imported"] and not res["created"]
    assert res["thumbprint"] == existing_ca.thumbprint
    key = open(os.path.join(folder, "ca.key"), "rb").read()
    assert pki.load_ca(open(os.path.join(folder, "ca.crt"), "rb").read(), key, PASS.encode()).thumbprint == (
        existing_ca.thumbprint
    )
    again = run(capsys, **args)
    assert not again["changed"] and not again["imported"]


def test_import_pfx(tmp_path, capsys, existing_ca):
    pfx = tmp_path / "ca.pfx"
    pfx.write_bytes(pki.write_pfx(existing_ca.key, existing_ca.cert, [], PFX_PHRASE.encode(), "CA"))
    folder = str(tmp_path / "pki")
    res = run(capsys, path=folder, passphrase=PASS, import_pfx_path=str(pfx), import_passphrase=PFX_PHRASE)
    assert res["imported"] and res["thumbprint"] == existing_ca.thumbprint
    assert listing(folder) == [".lock", "ca.crt", "ca.key"]


def test_content_mode_writes_nothing(tmp_path, capsys, existing_ca, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run(
        capsys,
        cert_content=existing_ca.cert_pem,
        key_content=pki.serialize_ca_key(existing_ca, PASS.encode()).decode(),
        passphrase=PASS,
    )
    assert not res["changed"] and res["thumbprint"] == existing_ca.thumbprint
    assert res["certificate"] == existing_ca.cert_pem and "key_path" not in res
    assert listing(tmp_path) == []
    plain = run(capsys, cert_content=existing_ca.cert_pem, key_content=pki.serialize_ca_key(existing_ca, None).decode())
    assert not plain.get("failed") and plain["thumbprint"] == existing_ca.thumbprint


def test_small_imported_ca_key_warns(capsys):
    small = pki.create_ca("Small", key_size=3072)
    key2048 = pki.generate_key(2048)
    cert = pki._self_sign(key2048, small.cert.subject, pki.utcnow(), 3000, None)
    key_pem = pki.serialize_ca_key(pki.CA(cert, key2048), None).decode()
    res = run(capsys, cert_content=pki.cert_pem(cert), key_content=key_pem)
    assert not res.get("failed") and res["thumbprint"] == pki.thumbprint(cert)
    warned = backend.run(params(cert_content=pki.cert_pem(cert), key_content=key_pem), check_mode=True)["warnings"]
    assert warned == ["The CA key is 2048 bits; 3072 or more is recommended."]


# ---- bad input: the option is named, nothing is left behind ------------------------------------


def _bad_cases(tmp, existing, server):
    """(name, setup(tmp) -> args, expected option)."""
    src = tmp / "src"
    write_ca(str(src), existing)
    key_pem = pki.serialize_ca_key(existing, PASS.encode()).decode()
    server_key, server_cert = server
    (tmp / "server.crt").write_text(pki.cert_pem(server_cert))
    (tmp / "server.key").write_bytes(pki.serialize_ca_key(pki.CA(server_cert, server_key), None))
    (tmp / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    other = tmp / "other"
    write_ca(str(other), pki.create_ca("Other", key_size=3072))
    (tmp / "ca.pfx").write_bytes(pki.write_pfx(existing.key, existing.cert, [], b"right", "CA"))
    dest = str(tmp / "dest")
    imp = {"path": dest, "passphrase": PASS}
    return [
        ("wrong CA passphrase", {"path": str(src), "passphrase": "wrong"}, "passphrase"),
        (
            "cert/key mismatch",
            {
                **imp,
                "import_cert_path": str(src / "ca.crt"),
                "import_key_path": str(other / "ca.key"),
                "import_passphrase": PASS,
            },
            "import_key_path",
        ),
        (
            "non-CA cert as CA",
            {**imp, "import_cert_path": str(tmp / "server.crt"), "import_key_path": str(tmp / "server.key")},
            "import_cert_path",
        ),
        (
            "garbage PEM",
            {
                **imp,
                "import_cert_path": str(tmp / "garbage.pem"),
                "import_key_path": str(src / "ca.key"),
                "import_passphrase": PASS,
            },
            "import_cert_path",
        ),
        (
            "unreadable path",
            {**imp, "import_cert_path": str(tmp), "import_key_path": str(src / "ca.key")},
            "import_cert_path",
        ),
        (
            "missing import file",
            {**imp, "import_pfx_path": str(tmp / "absent.pfx")},
            "import_pfx_path",
        ),
        (
            "PFX wrong passphrase",
            {**imp, "import_pfx_path": str(tmp / "ca.pfx"), "import_passphrase": "bad"},
            "import_passphrase",
        ),
        ("key size 2048 for the CA", {**imp, "key_size": 2048}, "key_size"),
        ("key size 1024 for the CA", {**imp, "key_size": 1024}, "key_size"),
        ("no passphrase, encrypted key refused", {"path": dest}, "passphrase"),
        (
            "content mode wrong passphrase",
            {"cert_content": existing.cert_pem, "key_content": key_pem, "passphrase": "nope"},
            "passphrase",
        ),
        ("path is a file", {"path": str(tmp / "garbage.pem"), "passphrase": PASS}, "path"),
        ("validity_days 0", {**imp, "validity_days": 0}, "validity_days"),
        ("negative renew_before", {**imp, "renew_before": -1}, "renew_before"),
        (
            "import different CA over existing",
            {
                "path": str(other),
                "passphrase": PASS,
                "import_cert_path": str(src / "ca.crt"),
                "import_key_path": str(src / "ca.key"),
                "import_passphrase": PASS,
            },
            "import_cert_path",
        ),
        ("common name too long", {**imp, "common_name": "x" * 80}, "common_name"),
    ]


def test_bad_input_cases(tmp_path, capsys, existing_ca, server, monkeypatch):
    cases = _bad_cases(tmp_path, existing_ca, server)
    assert len(cases) >= 10
    monkeypatch.chdir(tmp_path)

    def content(folder):
        # Reading takes the folder lock too (its .lock file): that is no change to the CA.
        return [n for n in listing(folder) if n != fileutil.LOCK_NAME]

    for name, args, option in cases:
        before = {d: content(tmp_path / d) for d in ("src", "other", "dest")}
        top = content(tmp_path)
        res = run(capsys, **args)
        assert res.get("failed"), name
        assert res["option"] == option, (name, res)
        assert option in res["msg"], (name, res["msg"])
        assert content(tmp_path) == top, name
        assert {d: content(tmp_path / d) for d in before} == before, name
        assert not os.path.exists(tmp_path / "dest"), name


# The relations between options are declared in the argument spec; ansible-core's message names them.
RELATIONS = [
    ({"cert_content": "not a certificate"}, "parameters are required together: cert_content, key_content"),
    ({"key_content": "not a key", "passphrase": PASS}, "parameters are required together: cert_content, key_content"),
    (
        {"cert_content": "not a certificate", "key_content": "not a key", "path": "pki"},
        "parameters are mutually exclusive: cert_content|path, key_content|path",
    ),
    (
        {"cert_content": "not a certificate", "key_content": "not a key", "import_pfx_path": "x.pfx"},
        "cert_content|import_pfx_path",
    ),
    (
        {"cert_content": "not a certificate", "key_content": "not a key", "cert_path": "a", "key_path": "b"},
        "cert_content|cert_path",
    ),
    ({"passphrase": PASS}, "one of the following is required: path, cert_path, cert_content"),
    ({"cert_path": "x.crt", "passphrase": PASS}, "one of the following is required: path, key_path, key_content"),
    (
        {"path": "pki", "import_pfx_path": "ca.pfx", "import_cert_path": "ca.crt", "import_key_path": "ca.key"},
        "parameters are mutually exclusive: import_pfx_path|import_cert_path, import_pfx_path|import_key_path",
    ),
    (
        {"path": "pki", "import_cert_path": "ca.crt"},
        "parameters are required together: import_cert_path, import_key_path",
    ),
]


@pytest.mark.parametrize(("args", "message"), RELATIONS)
def test_declared_relations_name_the_options(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = run(capsys, **args)
    assert res["failed"] and message in res["msg"], res["msg"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        {"path": "pki"},
        {"cert_path": "pki/my.crt", "key_path": "pki/my.key"},
        {"path": "pki", "key_path": "pki/other.key"},
    ],
)
def test_every_file_mode_the_relations_allow_creates_a_ca(tmp_path, capsys, monkeypatch, fast_create, args):
    monkeypatch.chdir(tmp_path)
    res = run(capsys, passphrase=PASS, **args)
    assert res["created"] and os.path.isfile(res["cert_path"]) and os.path.isfile(res["key_path"]), res


def test_unencrypted_key_on_disk_refused(tmp_path, capsys, existing_ca):
    folder = tmp_path / "pki"
    write_ca(str(folder), existing_ca, passphrase=None)
    res = run(capsys, path=str(folder), passphrase=PASS)
    assert res["failed"] and res["option"] == "allow_unencrypted_key" and "not encrypted" in res["msg"]
    assert listing(folder) == [".lock", "ca.crt", "ca.key"]
    assert not run(capsys, path=str(folder), passphrase=PASS, allow_unencrypted_key=True)["changed"]


@pytest.mark.parametrize("missing", ["ca.key", "ca.crt"])
def test_half_a_ca_is_refused(tmp_path, capsys, existing_ca, missing):
    folder = tmp_path / "pki"
    write_ca(str(folder), existing_ca)
    os.unlink(folder / missing)
    res = run(capsys, path=str(folder), passphrase=PASS)
    assert res["failed"] and res["option"] == "path" and missing in res["msg"] and "Restore" in res["msg"]
    # The remaining half is never removed: its certificate may be trusted somewhere.
    assert listing(folder) == sorted([".lock", {"ca.key": "ca.crt", "ca.crt": "ca.key"}[missing]])


def test_failed_certificate_write_removes_the_new_key(tmp_path, capsys, fast_create, monkeypatch):
    real = fileutil.atomic_write

    def flaky(path, data, file_mode):
        if ".crt" in os.path.basename(path):
            raise OSError(28, "No space left on device")
        real(path, data, file_mode)

    monkeypatch.setattr(fileutil, "atomic_write", flaky)
    folder = tmp_path / "pki"
    res = run(capsys, path=str(folder), passphrase=PASS)
    assert res["failed"] and res["option"] == "path" and "No space left" in res["msg"]
    assert listing(folder) == [".lock"]


def test_lock_error_is_reported(tmp_path, capsys, fast_create, monkeypatch):
    def busy(path, timeout=60.0, poll=0.1, shared=False):
        raise fileutil.LockError(f"{path} is locked by another run")

    monkeypatch.setattr(fileutil, "locked", busy)
    res = run(capsys, path=str(tmp_path / "pki"), passphrase=PASS)
    assert res["failed"] and res["option"] == "path" and "locked by another run" in res["msg"]


def test_missing_cryptography(capsys, monkeypatch):
    monkeypatch.setattr(pki, "HAS_CRYPTOGRAPHY", False)
    res = run(capsys, path="/nonexistent", passphrase=PASS)
    assert res["failed"] and "cryptography" in res["msg"]


def test_run_without_ansible(tmp_path, existing_ca):
    """run() is usable on its own, e.g. by the lab, and takes a fixed 'now'."""
    args = params(cert_content=existing_ca.cert_pem, key_content=pki.serialize_ca_key(existing_ca, None).decode())
    late = pki.not_after(existing_ca.cert) - datetime.timedelta(days=10)
    res = backend.run(args, check_mode=True, now=late)
    assert res["renewed"] and res["reasons"] == ["CA certificate expires in 10 days (renew_before 365)"]
    assert res["diff"]["after"]["not_after"] == pki.iso_z(late + datetime.timedelta(days=3650))
    assert existing_ca.cert.public_bytes(serialization.Encoding.PEM).decode() == res["certificate"]


# ---- protecting the CA (issue 17, item 5) ------------------------------------------------------


def test_a_folder_others_can_write_is_refused_with_the_chmod(tmp_path, capsys, existing_ca):
    folder = tmp_path / "pki"
    write_ca(str(folder), existing_ca)
    os.chmod(folder, 0o775)  # noqa: S103 - the refused case
    res = run(capsys, path=str(folder), passphrase=PASS)
    assert res["failed"] and res["option"] == "path"
    assert str(folder) in res["msg"] and "0775" in res["msg"] and f"chmod go-w '{folder}'" in res["msg"]
    os.chmod(folder, 0o755)  # noqa: S103 - no group or other write: accepted
    assert not run(capsys, path=str(folder), passphrase=PASS)["changed"]
    # The folder of cert_path is checked too, named by its option.
    other = tmp_path / "shared"
    other.mkdir()
    os.chmod(other, 0o777)  # noqa: S103 - the refused case
    res = run(capsys, cert_path=str(other / "ca.crt"), key_path=str(folder / "ca.key"), passphrase=PASS)
    assert res["failed"] and res["option"] == "cert_path" and "0777" in res["msg"]


def test_a_short_passphrase_is_warned_about(tmp_path, fast_create):
    short = backend.run(params(path=str(tmp_path / "a"), passphrase="fifteen chars!!"), check_mode=True)
    assert any(w.startswith("passphrase: the CA passphrase has 15 characters; use 16") for w in short["warnings"])
    long_enough = backend.run(params(path=str(tmp_path / "b"), passphrase="x" * 16), check_mode=True)
    assert not any(w.startswith("passphrase:") for w in long_enough["warnings"])


def test_an_older_key_loads_warns_and_is_rewrapped_on_request(tmp_path, existing_ca):
    from ansible_collections.xprotect.encryption.plugins.module_utils import _pkcs8

    folder = tmp_path / "pki"
    write_ca(str(folder), existing_ca)
    old_pem = existing_ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASS.encode()),
    )
    (folder / "ca.key").write_bytes(old_pem)
    plain = backend.run(params(path=str(folder), passphrase=PASS), check_mode=False)
    assert not plain["changed"] and plain["thumbprint"] == existing_ca.thumbprint
    assert any(w.startswith("rewrap_key:") and "2,048 iterations" in w for w in plain["warnings"])
    assert (folder / "ca.key").read_bytes() == old_pem
    audit = backend.run(params(path=str(folder), passphrase=PASS, rewrap_key=True), check_mode=True)
    assert audit["changed"] and "re-encrypts the CA key" in audit["reasons"][-1]
    assert (folder / "ca.key").read_bytes() == old_pem
    done = backend.run(params(path=str(folder), passphrase=PASS, rewrap_key=True), check_mode=False)
    assert done["changed"] and done["thumbprint"] == existing_ca.thumbprint and not done["warnings"]
    new_pem = (folder / "ca.key").read_bytes()
    assert _pkcs8.key_protection(new_pem)["iterations"] == _pkcs8.PBKDF2_ITERATIONS and mode(folder / "ca.key") == 0o600
    assert pki.load_ca(existing_ca.cert_pem, new_pem, PASS.encode()).key.private_numbers() == (
        existing_ca.key.private_numbers()
    )
    assert not backend.run(params(path=str(folder), passphrase=PASS, rewrap_key=True), check_mode=False)["changed"]


@pytest.mark.parametrize(("shift", "days", "said"), [(-40, 30, "expired on"), (20, 365, "is not valid until")])
def test_an_imported_ca_outside_its_validity_is_refused(tmp_path, capsys, shift, days, said):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = pki.create_ca("Out Of Time", key_size=3072, days=days, now=now + datetime.timedelta(days=shift))
    src = tmp_path / "src"
    write_ca(str(src), ca)
    args = {"import_cert_path": str(src / "ca.crt"), "import_key_path": str(src / "ca.key"), "import_passphrase": PASS}
    res = run(capsys, path=str(tmp_path / "dest"), passphrase=PASS, **args)
    assert res["failed"] and res["option"] == "import_cert_path" and said in res["msg"] and "import" in res["msg"]
    boundary = pki.not_after(ca.cert) if shift < 0 else pki.not_before(ca.cert)
    assert pki.iso_z(boundary) in res["msg"]
    assert not (tmp_path / "dest").exists()


# ---- an intermediate CA (issue 17, item 4) -----------------------------------------------------


@pytest.fixture(scope="module")
def enterprise():
    """An enterprise root, and the site CA it signed (an intermediate), as a PKI team hands them over."""
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

    now = pki.utcnow()
    root = certs.enterprise_root("Enterprise Root", now)
    key = pki.generate_key(3072)
    site = pki.CA(cert=certs.issue_ca_certificate(root, key.public_key(), "XProtect Site CA", now), key=key)
    return root, site


def test_an_intermediate_is_imported_with_its_chain_and_trust_goes_to_the_root(tmp_path, capsys, enterprise):
    root, site = enterprise
    src = tmp_path / "src"
    write_ca(str(src), site)
    (src / "root.pem").write_text(root.cert_pem)
    folder = tmp_path / "pki"
    args = {
        "path": str(folder),
        "passphrase": PASS,
        "import_cert_path": str(src / "ca.crt"),
        "import_key_path": str(src / "ca.key"),
        "import_passphrase": PASS,
        "import_chain_path": str(src / "root.pem"),
    }
    res = run(capsys, **args)
    assert res["imported"] and res["thumbprint"] == site.thumbprint
    assert res["chain"] == [root.cert_pem] and res["root_thumbprint"] == root.thumbprint
    assert res["root_certificate"] == root.cert_pem
    assert listing(folder) == [".lock", "ca.crt", "ca.key"]
    # ca.crt: the CA, then its chain, so that a TLS client given ca.crt verifies to the root.
    assert (folder / "ca.crt").read_text() == site.cert_pem + root.cert_pem
    # Again: nothing changes, the chain is read back from the folder (also without the import options).
    again = run(capsys, path=str(folder), passphrase=PASS)
    assert not again["changed"] and again["root_thumbprint"] == root.thumbprint and again["chain"] == [root.cert_pem]
    # Years later the root has expired: refused before anything is signed or trusted.
    late = pki.not_after(root.cert) + datetime.timedelta(days=1)
    with pytest.raises(pki.PkiError) as e:
        backend.run(params(path=str(folder), passphrase=PASS, renew_before=0), check_mode=True, now=late)
    assert e.value.option == "path" and "expired on" in str(e.value)


def test_an_intermediate_from_a_pfx_with_its_chain(tmp_path, capsys, enterprise):
    root, site = enterprise
    pfx = pki.write_pfx(site.key, site.cert, [root.cert], PFX_PHRASE.encode(), "site", "aes256")
    (tmp_path / "site.pfx").write_bytes(pfx)
    res = run(
        capsys,
        path=str(tmp_path / "pki"),
        passphrase=PASS,
        import_pfx_path=str(tmp_path / "site.pfx"),
        import_passphrase=PFX_PHRASE,
    )
    assert res["imported"] and res["root_thumbprint"] == root.thumbprint


def test_an_intermediate_in_content_mode_carries_its_chain_in_the_bundle(enterprise):
    root, site = enterprise
    key_pem = pki.serialize_ca_key(site, None).decode()
    res = backend.run(params(cert_content=site.cert_pem + root.cert_pem, key_content=key_pem), check_mode=True)
    assert res["thumbprint"] == site.thumbprint and res["root_thumbprint"] == root.thumbprint
    alone = backend.run(params(cert_content=site.cert_pem, key_content=key_pem), check_mode=True)
    assert alone["root_thumbprint"] == site.thumbprint
    assert any("not self-signed and no chain" in w for w in alone["warnings"])


def test_intermediate_bad_inputs(tmp_path, capsys, enterprise):
    """Each refused with the option at fault, nothing written."""
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

    root, site = enterprise
    now = pki.utcnow()
    src = tmp_path / "src"
    write_ca(str(src), site)
    other = certs.enterprise_root("Unrelated Root", now)
    old_root = certs.enterprise_root("Old Root", now - datetime.timedelta(days=40), days=30)
    key = pki.generate_key(3072)
    under_old = certs.issue_ca_certificate(
        old_root, key.public_key(), "Site CA", now, not_before=now - datetime.timedelta(days=39)
    )
    write_ca(str(tmp_path / "old"), pki.CA(cert=under_old, key=key))
    (src / "old-root.pem").write_text(old_root.cert_pem)
    future = certs.issue_ca_certificate(
        root, key.public_key(), "Site CA", now, not_before=now + datetime.timedelta(days=5)
    )
    write_ca(str(tmp_path / "future"), pki.CA(cert=future, key=key))
    not_ca = certs.issue_ca_certificate(root, key.public_key(), "Site CA", now, ca=False)
    write_ca(str(tmp_path / "notca"), pki.CA(cert=not_ca, key=key))
    no_sign = certs.issue_ca_certificate(root, key.public_key(), "Site CA", now, key_cert_sign=False)
    write_ca(str(tmp_path / "nosign"), pki.CA(cert=no_sign, key=key))
    (src / "root.pem").write_text(root.cert_pem)
    (src / "other.pem").write_text(other.cert_pem)
    (src / "garbage.pem").write_text("no certificate here")

    def imp(folder="src", chain="root.pem"):
        out = {
            "path": str(tmp_path / "dest"),
            "passphrase": PASS,
            "import_cert_path": str(tmp_path / folder / "ca.crt"),
            "import_key_path": str(tmp_path / folder / "ca.key"),
            "import_passphrase": PASS,
        }
        if chain:
            out["import_chain_path"] = str(src / chain)
        return out

    wrong_key = {**imp(), "import_key_path": str(tmp_path / "old" / "ca.key")}
    cases = [
        ("chain missing", imp(chain=None), "import_chain_path", "is not self-signed"),
        ("chain not linking", imp(chain="other.pem"), "import_chain_path", "does not link"),
        ("chain file without certificates", imp(chain="garbage.pem"), "import_chain_path", "no certificate found"),
        ("chain file missing", imp(chain="nothing.pem"), "import_chain_path", "does not exist"),
        ("root expired", imp("old", "old-root.pem"), "import_chain_path", "expired on"),
        ("CA not yet valid", imp("future"), "import_cert_path", "is not valid until"),
        ("CA without CA:TRUE", imp("notca"), "import_cert_path", "not a CA certificate"),
        ("CA without keyCertSign", imp("nosign"), "import_cert_path", "keyCertSign"),
        ("key not matching the CA", wrong_key, "import_key_path", "does not belong"),
        ("chain without a CA to import", {"path": str(tmp_path / "dest"), "passphrase": PASS,
                                          "import_chain_path": str(src / "root.pem")}, "import_chain_path", "give"),
    ]  # fmt: skip
    for name, args, option, said in cases:
        res = run(capsys, **args)
        assert res.get("failed"), name
        assert res["option"] == option and said in res["msg"], (name, res)
        assert "Traceback" not in res["msg"]
        assert not os.path.exists(tmp_path / "dest"), name
