# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ca_options.py: the CA options' argument spec, and the CA read from files or from values."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.xprotect.encryption.plugins.doc_fragments.ca import ModuleDocFragment
from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, pki

PASS = b"correct horse battery"


def test_ca_argument_spec_matches_doc_fragment():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = _ca_options.ca_argument_spec()
    assert set(doc) == set(spec)
    for name, opt in doc.items():
        assert spec[name]["type"] == opt["type"]
    assert spec["ca_passphrase"]["no_log"] and spec["ca_key_content"]["no_log"]


def _files(tmp_path, ca, passphrase=PASS):
    (tmp_path / "ca.crt").write_text(ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(pki.serialize_ca_key(ca, passphrase))
    return {"ca_cert_path": str(tmp_path / "ca.crt"), "ca_key_path": str(tmp_path / "ca.key")}


def test_load_ca_from_options_files_and_content(site_ca, tmp_path):
    opts = _files(tmp_path, site_ca)
    assert _ca_options.load_ca_from_options({**opts, "ca_passphrase": PASS.decode()}).thumbprint == site_ca.thumbprint
    assert _ca_options.load_ca_certificate_from_options(opts) == site_ca.cert
    content = {"ca_cert_content": site_ca.cert_pem, "ca_key_content": pki.serialize_ca_key(site_ca, None).decode()}
    assert _ca_options.load_ca_from_options(content).thumbprint == site_ca.thumbprint
    assert _ca_options.load_ca_certificate_from_options(content) == site_ca.cert


@pytest.mark.parametrize(
    ("params", "option"),
    [
        ({}, "ca_cert_path"),
        ({"ca_cert_content": "x", "ca_key_path": "/x"}, "ca_cert_content"),
        ({"ca_cert_content": "CERT"}, "ca_key_content"),
        ({"ca_key_content": "KEY"}, "ca_cert_content"),
        ({"ca_cert_path": "CERT"}, "ca_key_path"),
    ],
)
def test_load_ca_from_options_refuses(params, option, site_ca):
    params = {k: (site_ca.cert_pem if v == "CERT" else v) for k, v in params.items()}
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_from_options(params)
    assert e.value.option == option and option in str(e.value)


def test_load_ca_certificate_from_options_refuses(tmp_path, server_cert):
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_certificate_from_options({})
    assert e.value.option == "ca_cert_path"
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_certificate_from_options({"ca_cert_content": pki.cert_pem(server_cert)})
    assert e.value.option == "ca_cert_content" and "not a CA" in str(e.value)
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_certificate_from_options({"ca_cert_path": str(tmp_path / "nope.crt")})
    assert e.value.option == "ca_cert_path" and "does not exist" in str(e.value)


def test_load_ca_from_options_wrong_passphrase(site_ca, tmp_path):
    opts = _files(tmp_path, site_ca)
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_from_options({**opts, "ca_passphrase": "wrong"})
    assert e.value.option == "ca_passphrase"


def test_signing_readers_wait_for_a_writer_and_name_a_staged_ca(site_ca, tmp_path):
    """The action plugins and server_certificates read the CA under the folder's shared lock."""
    import threading
    import time

    from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil

    opts = {**_files(tmp_path, site_ca), "ca_passphrase": PASS.decode()}
    held, release, done = threading.Event(), threading.Event(), []

    def writer():
        with fileutil.locked(str(tmp_path)):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(10)
    reader = threading.Thread(target=lambda: done.append(_ca_options.load_ca_from_options(opts).thumbprint))
    reader.start()
    time.sleep(0.3)
    assert done == []  # still waiting for the writer
    release.set()
    reader.join(10)
    thread.join(10)
    assert done == [site_ca.thumbprint]
    # A CA left staged by an interrupted ca run: the message says how to complete it.
    (tmp_path / "ca.crt").rename(tmp_path / "ca.crt.new")
    with pytest.raises(pki.PkiError) as e:
        _ca_options.load_ca_certificate_from_options(opts)
    assert e.value.option == "ca_cert_path" and "ca.crt.new" in str(e.value) and "Run the ca module" in str(e.value)
