# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe: options, check mode, fail_on, bad input - against real local servers. Every case runs
twice: through the action plugin, as a task runs it (in its worker on the controller), and through
the module's main(), the same backend as a module."""

from __future__ import annotations

import datetime
import json
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))

from tls_servers import HOST, LOOPBACK, Server, closed_port, make_ca, make_leaf, write_chain  # noqa: E402

from ansible_collections.xprotect.encryption.plugins.action import tls_probe as action  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.modules import tls_probe as module  # noqa: E402

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    now = datetime.datetime.now(datetime.timezone.utc)
    root = make_ca("Module Root CA")
    good = make_leaf(root, not_before=now - datetime.timedelta(days=1), not_after=now + datetime.timedelta(days=90))
    ca_file = d / "ca.crt"
    ca_file.write_bytes(root.pem)
    server = Server("tls", *write_chain(d, "good", good))
    yield {"port": server.port, "ca_pem": root.pem.decode(), "ca_file": str(ca_file), "dir": d}
    server.stop()


def run_module(args: dict, capsys, check_mode: bool = False) -> dict:
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # pragma: no cover - ansible-core < 2.19
        import contextlib

        from ansible.module_utils import basic

        @contextlib.contextmanager
        def patch_module_args(values):
            old = basic._ANSIBLE_ARGS
            basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": values}).encode()
            try:
                yield
            finally:
                basic._ANSIBLE_ARGS = old

    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def run_action(args: dict, check_mode: bool = False) -> dict:
    """The action plugin's run(), as the task executor calls it (AnsibleActionFail fails the task)."""
    task = SimpleNamespace(args=dict(args), async_val=0, check_mode=check_mode, diff=False, action="tls_probe")
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"))
    play_context = SimpleNamespace(become=False, become_method=None, become_user=None)
    plugin = action.ActionModule(task, connection, play_context, None, SimpleNamespace(template=lambda v: v), None)
    try:
        return plugin.run(task_vars={"inventory_hostname": "localhost"})
    except AnsibleActionFail as e:  # pragma: no cover - the plugin returns its failures
        return dict(e.result, failed=True, msg=e.message)


@pytest.fixture(params=["action", "module"])
def probe(request, capsys):
    """``probe(args, check_mode=False)`` -> the task's result, through the action or the module."""

    def run(args: dict, check_mode: bool = False) -> dict:
        if request.param == "module":
            return run_module(args, capsys, check_mode)
        return run_action(args, check_mode)

    return run


def good(site):
    return {"host": LOOPBACK, "port": site["port"], "server_name": HOST}


def test_check_mode_probes_and_changes_nothing(site, probe):
    out = probe(
        {"endpoints": [good(site), {"host": LOOPBACK, "port": closed_port()}], "ca_cert": site["ca_pem"]},
        check_mode=True,
    )
    assert out["changed"] is False and not out.get("failed")
    first, second = out["endpoints"]
    assert first["verified"] is True and first["expiring"] is False and first["days_left"] >= 88
    assert second["reachable"] is False and second["error"] == "connection refused"
    assert out["counts"]["total"] == 2 and out["counts"]["unreachable"] == 1 and out["counts"]["verified"] == 1


def test_ca_cert_path_and_fail_on_untrusted_passes(site, probe):
    out = probe({"endpoints": [good(site)], "ca_cert_path": site["ca_file"], "fail_on": ["untrusted"]})
    assert not out.get("failed") and out["endpoints"][0]["verified"] is True


def test_fail_on_unreachable_names_the_endpoint(site, probe):
    port = closed_port()
    out = probe(
        {"endpoints": [good(site), {"host": LOOPBACK, "port": port}], "fail_on": ["unreachable"]},
    )
    assert out["failed"] is True
    assert out["msg"] == (
        "1 of 2 endpoint(s) failed the fail_on checks (unreachable): "
        f"{LOOPBACK}:{port} unreachable (connection refused)"
    )
    assert len(out["endpoints"]) == 2 and out["counts"]["unreachable"] == 1


def test_fail_on_expiring(site, probe):
    out = probe({"endpoints": [good(site)], "fail_on": ["expiring"], "expiring_days": 400})
    assert out["failed"] is True and f"{HOST}:{site['port']} expiring" in out["msg"]
    assert out["endpoints"][0]["expiring"] is True
    quiet = probe({"endpoints": [good(site)], "expiring_days": 400})
    assert not quiet.get("failed") and quiet["counts"]["expiring"] == 1


def test_wrong_name_fails_untrusted(site, probe):
    endpoint = dict(good(site), server_name="mgmt01.lab.test")
    out = probe({"endpoints": [endpoint], "ca_cert": site["ca_pem"], "fail_on": ["untrusted"]})
    assert out["failed"] is True
    assert "mgmt01.lab.test" in out["msg"] and "wrong name" in out["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"fail_on": ["untrusted"]},
            "fail_on: 'untrusted' needs the CA to verify against - set ca_cert or ca_cert_path.",
        ),
        ({"ca_cert": "garbage"}, "ca_cert: no PEM certificate found"),
        ({"ca_cert_path": "/nonexistent/ca.crt"}, "ca_cert_path: cannot read /nonexistent/ca.crt"),
        ({"timeout": 0}, "timeout: 0.0 is not allowed; give a number greater than 0"),
        ({"workers": 0}, "workers: 0"),
        ({"fail_on": ["sometimes"]}, "fail_on"),
        ({"ca_cert": "x", "ca_cert_path": "/x"}, "mutually exclusive: ca_cert|ca_cert_path"),
    ],
)
def test_bad_input_names_the_option(site, probe, args, message):
    out = probe({"endpoints": [good(site)], **args})
    assert out["failed"] is True
    assert message in out["msg"]


def test_bad_ca_file_content_names_the_path(site, probe):
    path = site["dir"] / "not-a-ca.txt"
    path.write_text("hello")
    out = probe({"endpoints": [good(site)], "ca_cert_path": str(path)})
    assert out["failed"] is True
    assert out["msg"].startswith(f"ca_cert_path ({path}): no PEM certificate found")


def test_the_servers_own_certificate_as_ca_cert_path_is_refused_and_named(site, probe):
    # The server's own leaf as the trust anchor: the task fails naming the file and why, and
    # never reports that endpoint as verified.
    path = site["dir"] / "good.crt"
    out = probe({"endpoints": [good(site)], "ca_cert_path": str(path)})
    assert out["failed"] is True and "endpoints" not in out
    assert out["msg"].startswith(f"ca_cert_path ({path}): CN={HOST} (thumbprint ")
    assert "is not a CA certificate (basicConstraints CA:FALSE), so it cannot be a trust anchor" in out["msg"]


def test_endpoint_without_port_is_refused(probe):
    out = probe({"endpoints": [{"host": "rs001"}]})
    assert out["failed"] is True and "port" in out["msg"]


def test_an_extra_root_verifies_a_server_of_another_ca(site, probe):
    """The root of a brought certificate (extra_ca_certs) is an anchor beside the site CA."""
    other = make_ca("Some Site CA")
    alone = probe({"endpoints": [good(site)], "ca_cert": other.pem.decode(), "fail_on": ["untrusted"]})
    assert alone["failed"] is True
    args = {"endpoints": [good(site)], "ca_cert": other.pem.decode(), "extra_ca_certs": [site["ca_pem"]]}
    out = probe(dict(args, fail_on=["untrusted"]))
    assert not out.get("failed") and out["endpoints"][0]["verified"] is True
    bad = probe(dict(args, extra_ca_certs=[site["ca_pem"], "garbage"]))
    assert bad["failed"] is True and bad["msg"].startswith("extra_ca_certs[1]: no PEM certificate found")


def test_settle_waits_for_a_service_that_comes_back_in_tls(site, probe):
    """As after Server Configurator: the port refuses for a while, then serves TLS; the probe
    waits for it (expect=tls) and reports the endpoint as it finally answered."""
    port = closed_port()
    cert, key = site["dir"] / "good.crt", site["dir"] / "good.key"
    started = []
    timer = threading.Timer(1.2, lambda: started.append(Server("tls", str(cert), str(key), port=port)))
    timer.start()
    try:
        endpoint = {"host": LOOPBACK, "port": port, "server_name": HOST, "label": "rs001"}
        out = probe({"endpoints": [endpoint], "ca_cert": site["ca_pem"], "expect": "tls", "settle_timeout": 30})
    finally:
        timer.join()
        for server in started:
            server.stop()
    assert not out.get("failed")
    assert out["endpoints"][0]["verified"] is True
    assert out["settle"]["expect"] == "tls" and out["settle"]["pending"] == []
    assert out["settle"]["rounds"] >= 2 and out["settle"]["seconds"] >= 1.0


def test_settle_reports_an_endpoint_that_never_answers_as_expected(site, probe):
    plain = Server("http")
    try:
        endpoint = {"host": LOOPBACK, "port": plain.port, "label": "rs002"}
        out = probe({"endpoints": [endpoint, good(site)], "expect": "tls", "settle_timeout": 1.5})
        # Plain HTTP is what a disabled endpoint answers: expect=plain has nothing to wait for.
        again = probe({"endpoints": [endpoint], "expect": "plain", "settle_timeout": 30})
    finally:
        plain.stop()
    assert not out.get("failed")
    # Probed at 0 s, 1 s and, the last time, at the timeout.
    assert out["settle"]["pending"] == ["rs002"] and out["settle"]["rounds"] == 3
    assert 1.5 <= out["settle"]["seconds"] < 30
    assert out["endpoints"][0]["tls"] is False and out["endpoints"][1]["tls"] is True
    assert again["settle"] == {"expect": "plain", "rounds": 1, "seconds": again["settle"]["seconds"], "pending": []}
    assert again["settle"]["seconds"] < 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"settle_timeout": 5}, "settle_timeout: waiting needs something to wait for - set expect to tls or plain"),
        ({"settle_timeout": -1, "expect": "tls"}, "settle_timeout: -1"),
        ({"settle_timeout": 4000, "expect": "tls"}, "settle_timeout: 4000"),
        ({"settle_timeout": "soon", "expect": "tls"}, "settle_timeout"),
        ({"expect": "sometimes"}, "expect"),
        ({"expect": "tls", "settle_timeout": 1, "settle_per": "host"}, "settle_per"),
    ],
)
def test_bad_settle_input_names_the_option(site, probe, args, message):
    out = probe({"endpoints": [good(site)], **args})
    assert out["failed"] is True and "endpoints" not in out
    assert message in out["msg"]
