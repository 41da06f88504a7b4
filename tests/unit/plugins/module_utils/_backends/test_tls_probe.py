# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_probe backend: where the CA comes from, and which option an error names."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import tls_probe as backend


def params(**kw) -> dict:
    base = {
        "endpoints": [],
        "ca_cert": None,
        "ca_cert_path": None,
        "timeout": 1.0,
        "workers": 1,
        "fail_on": [],
        "expiring_days": 30,
        "expect": "any",
        "settle_timeout": 0.0,
        "settle_per": "endpoint",
    }
    base.update(kw)
    return base


def test_the_ca_comes_from_the_value_or_the_file(tmp_path):
    assert backend.read_ca(params()) is None
    assert backend.read_ca(params(ca_cert="PEM")) == "PEM"
    (tmp_path / "ca.crt").write_text("FROM FILE")
    assert backend.read_ca(params(ca_cert_path=str(tmp_path / "ca.crt"))) == "FROM FILE"


def test_an_unreadable_ca_file_names_ca_cert_path(tmp_path):
    with pytest.raises(validate.ArgumentError) as e:
        backend.read_ca(params(ca_cert_path=str(tmp_path / "absent.crt")))
    assert e.value.option == "ca_cert_path" and str(e.value).startswith(f"ca_cert_path: cannot read {tmp_path}")


@pytest.mark.parametrize(
    ("args", "option", "start"),
    [
        ({"ca_cert": "garbage"}, "ca_cert", "ca_cert: no PEM certificate found"),
        ({"fail_on": ["untrusted"]}, "fail_on", "fail_on: 'untrusted' needs the CA"),
        ({"endpoints": [{"host": "h", "port": 70000}]}, "endpoints", "endpoints[0] (h): port 70000 is out of range"),
    ],
)
def test_a_probe_error_names_its_option(args, option, start):
    with pytest.raises(validate.ArgumentError) as e:
        backend.run(params(**args), check_mode=True)
    assert e.value.option == option and str(e.value).startswith(start)


def test_bad_content_in_the_ca_file_names_the_file(tmp_path):
    path = tmp_path / "ca.crt"
    path.write_text("hello")
    with pytest.raises(validate.ArgumentError) as e:
        backend.run(params(ca_cert_path=str(path)), check_mode=True)
    assert e.value.option == "ca_cert_path" and str(e.value).startswith(f"ca_cert_path ({path}): no PEM")


def test_nothing_to_probe_is_an_empty_unchanged_result():
    result = backend.run(params(), check_mode=False)
    assert result["changed"] is False and result["endpoints"] == [] and result["failure"] is None
    assert result["counts"]["total"] == 0


def test_the_site_ca_option_takes_content_first_then_the_folder(tmp_path):
    (tmp_path / "ca.crt").write_text("FROM FOLDER")
    assert backend.read_ca(params(ca={"path": str(tmp_path), "cert_content": "FROM AWX"})) == "FROM AWX"
    assert backend.read_ca(params(ca={"path": str(tmp_path), "cert_content": ""})) == "FROM FOLDER"
    assert backend.read_ca(params(ca={"path": None, "cert_content": None})) is None


def test_a_missing_ca_folder_names_ca_path(tmp_path):
    with pytest.raises(validate.ArgumentError) as e:
        backend.read_ca(params(ca={"path": str(tmp_path / "nowhere"), "cert_content": ""}))
    assert e.value.option == "ca.path" and "ca.crt" in str(e.value)


def test_a_bad_ca_file_in_the_folder_names_ca_path(tmp_path):
    (tmp_path / "ca.crt").write_text("not a certificate")
    with pytest.raises(validate.ArgumentError) as e:
        backend.run(params(ca={"path": str(tmp_path), "cert_content": ""}), check_mode=True)
    assert e.value.option == "ca.path" and str(e.value).startswith("ca.path (")


def test_bad_ca_content_names_ca_cert_content():
    with pytest.raises(validate.ArgumentError) as e:
        backend.run(params(ca={"path": "/unused", "cert_content": "garbage"}), check_mode=True)
    assert e.value.option == "ca.cert_content" and str(e.value).startswith("ca.cert_content: no PEM")
