# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad arguments, table-driven, against every module and action plugin of the collection.

Each case runs the real plugin in-process - a module through its ``main()`` with patched
arguments, an action plugin through its ``run()`` with a task stub - and asserts that the task
failed, that nothing escaped as an exception (no traceback), and that the message names the
option at fault. ``test_the_table_has_at_least_150_cases`` counts them (issue 12: 0
tracebacks and 0 silently accepted values over at least 150 bad-argument cases).

Action plugin cases use a lab adapter without a site: a value that got past the checks would
fail there with a message about the lab, not the option, so the case would fail too.
"""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail
from ansible.module_utils.testing import patch_module_args

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

GOOD_TP = "A" * 40
HOST = "rs01.example.com"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files the cases name: a PFX with a key, one without, one that is not a PFX, a folder."""
    root = tmp_path_factory.mktemp("bad-args")
    ca = pki.create_ca("Bad Args CA", key_size=3072)
    key = pki.generate_key()
    cert = pki.issue_certificate(ca, key.public_key(), HOST, [HOST])
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12

    (root / "good.pfx").write_bytes(
        pkcs12.serialize_key_and_certificates(b"x", key, cert, None, BestAvailableEncryption(b"pw"))
    )
    (root / "nokey.pfx").write_bytes(pkcs12.serialize_key_and_certificates(b"x", None, cert, None, NoEncryption()))
    (root / "text.pfx").write_text("not a pfx\n")
    (root / "ca.crt").write_text(ca.cert_pem)
    (root / "folder").mkdir()
    return root


def _fill(value, root):
    """``{root}`` in a string (or a list/dict of them) becomes the fixture folder."""
    if isinstance(value, str):
        return value.replace("{root}", str(root))
    if isinstance(value, list):
        return [_fill(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, root) for k, v in value.items()}
    return value


# ---- how a plugin is run ----------------------------------------------------------------


def run_module(name, args, capsys):
    module = importlib.import_module(f"ansible_collections.xprotect.encryption.plugins.modules.{name}")
    with patch_module_args({**args, "_ansible_check_mode": True}), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def run_action(name, args, task_vars=None):
    """An action plugin's run(), as the task executor calls it. AnsibleActionFail is how an
    action plugin fails a task (the executor turns it into a failed result, no traceback)."""
    module = importlib.import_module(f"ansible_collections.xprotect.encryption.plugins.action.{name}")
    task = SimpleNamespace(args=dict(args), async_val=0, check_mode=True, diff=False, action=name)
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"))
    play_context = SimpleNamespace(become=False, become_method=None, become_user=None)
    templar = SimpleNamespace(template=lambda value: value)  # the values here hold no template
    plugin = module.ActionModule(task, connection, play_context, None, templar, None)
    host_vars = {
        "inventory_hostname": HOST,
        "group_names": ["xprotect_recording_servers"],
        "xprotect_host_adapter": "lab",
    }
    try:
        return plugin.run(task_vars={**host_vars, **(task_vars or {})})
    except AnsibleActionFail as e:
        return dict(e.result, failed=True, msg=e.message)


# ---- the table: (plugin, base arguments, bad arguments, option named) -------------------

# Modules whose task runs the action plugin of the same name, in the worker, on the same backend:
# each case runs both ways.
IN_WORKER = {"tls_probe", "ca", "ca_rotation"}

MODULES = {
    "ca": {"path": "{root}/pki", "passphrase": "a passphrase"},
    "server_certificates": {
        "path": "{root}/out",
        "hosts": [{"name": HOST}],
        "ca_cert_path": "{root}/ca.crt",
        "pfx_passphrase": "pw",
    },
    "tls_probe": {"endpoints": [{"host": "127.0.0.1", "port": 9}]},
    "ca_rotation": {"path": "{root}/pki", "new_path": "{root}/pki-new"},
}
ACTIONS = {
    "encryption": {"state": "disabled"},
    "xprotect_info": {},
    "server_certificate": {"ca_cert_path": "{root}/ca.crt"},
    "trusted_ca": {"ca_cert_path": "{root}/ca.crt"},
    "lab_site": {"path": "{root}/site", "state": "status"},
    "lab_fault": {"path": "{root}/site", "host": "rs001", "fault": "clear"},
    "settings": {"playbook": "site"},
    "site_report": {"records": [], "playbook": "site.yml", "dest": "{root}/report"},
}

TOO_MANY_DAYS = [10000000, 36501, 2**63]
NOT_NUMBERS = ["abc", "5 days", [], {"a": 1}]


def _cases():
    c = []

    def add(plugin, option, values, extra=None, named=None):
        for v in values:
            c.append((plugin, dict(extra or {}, **{option: v}), named or option))

    # ca_rotation (module)
    rec = {"state": "record", "step": "started", "old_thumbprint": GOOD_TP, "new_thumbprint": "B" * 40}
    add("ca_rotation", "state", ["rotate", "", "promote"])
    add("ca_rotation", "state", ["record"], named="step")  # required_if: step and both thumbprints
    add("ca_rotation", "step", ["halfway", ""], rec)
    add("ca_rotation", "old_thumbprint", ["not hex", "A" * 39], rec)
    add("ca_rotation", "new_thumbprint", ["B" * 41], rec)
    add("ca_rotation", "min_days", [-1, *TOO_MANY_DAYS, "soon"])
    add("ca_rotation", "new_path", ["{root}/pki", "{root}/pki/"], named="xprotect_ca_new_path")
    add("ca_rotation", "path", ["bad\npath"])
    # ca (module)
    add("ca", "validity_days", [0, -1, -3650, *TOO_MANY_DAYS, *NOT_NUMBERS])
    add("ca", "renew_before", [-1, -365, *TOO_MANY_DAYS, "soon"])
    add("ca", "key_size", [1024, 2048, 8192, 0, -4096, "big"])
    add("ca", "common_name", ["", "   ", "CA\nname", "CA\x00", "tab\there", "x" * 65, "\x1b[31mred"])
    add("ca", "passphrase", [""], {"allow_unencrypted_key": False})
    add("ca", "allow_unencrypted_key", ["maybe", "sometimes"])
    add("ca", "import_pfx_path", ["{root}/missing.pfx", "{root}/text.pfx", "{root}/folder"])
    add("ca", "import_cert_path", ["{root}/missing.crt"], {"import_key_path": "{root}/missing.key"})
    add("ca", "import_key_path", ["{root}/ca.crt"], {"import_cert_path": None})
    add("ca", "path", ["{root}/ca.crt"])
    add("ca", "cert_content", ["not a certificate"], {"path": None, "key_content": "x"})
    add("ca", "bogus_option", ["x"])
    # server_certificates (module)
    add("server_certificates", "validity_days", [0, -5, *TOO_MANY_DAYS, "long"])
    add("server_certificates", "renew_before", [-1, -30, *TOO_MANY_DAYS])
    add("server_certificates", "key_size", [1024, 512, 32768, "x"])
    add("server_certificates", "workers", [0, -1, -64, 257, 10**6, "many"])
    add("server_certificates", "pfx_passphrase", [""])
    add("server_certificates", "pfx_encryption", ["des", "AES256", ""])
    add("server_certificates", "path", ["{root}/ca.crt"])
    add(
        "server_certificates",
        "hosts",
        [
            [{"name": "10.0.0.1"}],
            [{"name": "bad_name.example.com"}],
            [{"name": "a..b"}],
            [{"name": HOST}, {"name": HOST}],
            [{"name": HOST, "ip_addresses": ["not-an-ip"]}],
            [{"name": HOST, "dns_names": ["*.example.com"]}],
            [{"name": "x" * 64 + ".example.com"}],
            [{"dns_names": ["a"]}],
            "rs01",
        ],
    )
    add("server_certificates", "ca_cert_path", ["{root}/missing.crt", "{root}/text.pfx"])
    add("server_certificates", "include_ca", ["perhaps"])
    # tls_probe (module)
    add("tls_probe", "timeout", [0, -1, -0.5, 601, 1e9, "slow", "nan", "inf"])
    add("tls_probe", "workers", [0, -1, 257, "x"])
    add("tls_probe", "expiring_days", [-1, -30, *TOO_MANY_DAYS])
    add(
        "tls_probe",
        "endpoints",
        [
            [{"host": "127.0.0.1", "port": 0}],
            [{"host": "127.0.0.1", "port": -1}],
            [{"host": "127.0.0.1", "port": 65536}],
            [{"host": "", "port": 443}],
            [{"host": "bad host", "port": 443}],
            [{"host": "127.0.0.1", "port": 443, "server_name": "a\nb"}],
            [{"host": "127.0.0.1"}],
            [{"port": 443}],
            [{"host": "127.0.0.1", "port": "https"}],
        ],
    )
    add("tls_probe", "fail_on", [["everything"], ["untrusted"]])
    add("tls_probe", "ca_cert_path", ["{root}/missing.crt", "{root}/text.pfx"])
    add("tls_probe", "ca_cert", ["not a certificate"])
    # encryption (action)
    add("encryption", "retries", [-1, -100, 101, 10**9, "abc", "3 times"])
    add("encryption", "retry_delay", [-1, -0.1, 3601, "soon"])
    add("encryption", "probe_timeout", [-1, 0, 601, "fast"])
    add("encryption", "settle_timeout", [-1, -180, 3601, "later"])
    add("encryption", "settle_interval", [0, -2, 601])
    add("encryption", "port_offset", [-1, 65536, "x"])
    add("encryption", "thumbprint", ["abc", "G" * 40, "A" * 39, "A" * 41, "A" * 40 + "x"], {"state": "enabled"})
    add("encryption", "state", ["on", "Enabled", ""])
    add("encryption", "groups", [["bogus"], ["server", "all"]])
    add("encryption", "roles", [["bogus"], ["recording", "nvr"], ["client", 3]])
    add("encryption", "override_markers", [["("], ["[a-"], ["(?P<x"], [""], ["*"]])
    add("encryption", "fqdn", ["", "has space.example.com", "a\nb"])
    add("encryption", "address", ["", "1.2.3.4 5"])
    add("encryption", "configurator_path", ["", "C:\\x\n.exe"])
    add(
        "encryption",
        "configurator",
        [
            {"path": "C:\\x\n.exe"},
            {"group_ids": {"server": "not-a-guid"}},
            {"group_ids": {"bogus": "84430eb7-847c-422d-aa00-7915cd0d7a65"}},
            {"version": 24.2},
            "C:\\x.exe",
        ],
    )
    add("encryption", "config_paths", [{"bogus": "C:\\x.xml"}, {"recording": ""}, {"recording": "a\x00b"}])
    add("encryption", "stop_stale_configurator", ["maybe"])
    add("encryption", "readings", ["perhaps", [["server"]]])
    add("encryption", "unknown_option", [1])
    # xprotect_info (action)
    add("xprotect_info", "probe_timeout", [-1, 0, -0.001, 601, "x"])
    add("xprotect_info", "roles", [["bogus"], ["Recording"]])
    add("xprotect_info", "override_markers", [["("], ["a{2,1}"]])
    add("xprotect_info", "port_offset", [-5, 70000])
    add("xprotect_info", "config_paths", [{"nope": "x"}, "C:\\x"])
    add("xprotect_info", "fqdn", ["a b"])
    add("xprotect_info", "certificate_groups", ["sometimes"])
    add("xprotect_info", "ca_cert_path", ["{root}/missing.crt", "{root}/good.pfx"])
    # server_certificate (action)
    add("server_certificate", "validity_days", [0, -1, *TOO_MANY_DAYS])
    add("server_certificate", "renew_before", [-1, -30, *TOO_MANY_DAYS, "x"])
    add("server_certificate", "key_length", [1024, 0, -2048, 32768, "x"])
    add("server_certificate", "key_source", ["file", ""])
    add("server_certificate", "pfx_path", ["{root}/missing.pfx", "{root}/folder"], {"key_source": "pfx"})
    add("server_certificate", "pfx_path", ["{root}/text.pfx", "{root}/nokey.pfx"], {"key_source": "pfx"})
    add("server_certificate", "pfx_path", ["{root}/good.pfx"], {"key_source": "host"})
    add(
        "server_certificate",
        "pfx_passphrase",
        ["wrong", ""],
        {"key_source": "pfx", "pfx_path": "{root}/good.pfx"},
    )
    # Bring your own certificate as PEM: a file that is no certificate, a missing key file, a key
    # that is no key, the two forms together, a thumbprint that is none.
    pem = {"key_source": "pfx", "key_path": "{root}/ca.crt"}
    add("server_certificate", "cert_path", ["{root}/text.pfx", "{root}/missing.pem", "{root}/folder"], pem)
    add(
        "server_certificate",
        "key_path",
        ["{root}/text.pfx", "{root}/missing.key"],
        {**pem, "cert_path": "{root}/ca.crt"},
    )
    add("server_certificate", "cert_path", ["{root}/ca.crt"], {**pem, "pfx_path": "{root}/good.pfx"})
    add("server_certificate", "key_path", [None], {"key_source": "pfx", "cert_path": "{root}/ca.crt"})
    add("server_certificate", "client_trusted_roots", [["not a thumbprint"], ["AB" * 19]])
    add("server_certificate", "pfx_encryption", ["rc2"])
    add("server_certificate", "dns_names", [["bad name"], ["10.1.1.1"], ["*.example.com"], ["a..b"], [""]])
    add("server_certificate", "ip_addresses", [["rs01"], ["300.1.1.1"], ["1.2.3.4/24"]])
    add("server_certificate", "key_readers", [[""], ["LAB\\svc\n"]])
    add("server_certificate", "provider", ["", "Provider\x00"])
    add("server_certificate", "temp_dir", ["", "C:\\Temp\r"])
    add("server_certificate", "fqdn", ["10.0.0.5", "bad_name", "a..example.com", "x" * 254])
    add("server_certificate", "verify_key_access", ["maybe"])
    adcs = {"key_source": "adcs", "adcs_config": "ca01.example.com\\Example CA", "adcs_template": "WebServer"}
    add("server_certificate", "adcs_config", ["", "ca01.example.com", "\\CA", "ca01\\a\\b", "ca 01\\CA"], adcs)
    add("server_certificate", "adcs_template", ["", "  ", "CertificateTemplate:WebServer", 'Web"Server'], adcs)
    add("server_certificate", "adcs_config", ["ca01.example.com\\Example CA"], {"key_source": "host"})
    add("server_certificate", "adcs_template", ["WebServer"], {"key_source": "pfx"})
    # trusted_ca (action)
    add(
        "trusted_ca",
        "retired_thumbprints",
        [
            ["abc"],
            ["A" * 39],
            ["A" * 41],
            ["Z" * 40],
            [GOOD_TP, "typo"],
            ["AA:BB"],
            [""],
            ["A" * 40 + "x"],
        ],
    )
    add("trusted_ca", "state", ["gone", "Present"])
    add("trusted_ca", "install", ["perhaps"])
    add("trusted_ca", "temp_dir", ["", "C:\\x\ny"])
    add("trusted_ca", "ca_cert_path", ["{root}/missing.crt", "{root}/text.pfx", "{root}/folder"])
    add("trusted_ca", "ca_cert_content", ["not a certificate"], {"ca_cert_path": None})
    # the CA in one option, as the roles pass it
    add("trusted_ca", "ca", [{"path": "{root}/folder"}, {"cert_content": "not a certificate"}], {"ca_cert_path": None})
    add("trusted_ca", "ca", [{}, {"path": ""}, {"bogus": 1}], {"ca_cert_path": None})
    add("trusted_ca", "ca", [{"path": "{root}"}], named="mutually exclusive")
    add("server_certificate", "ca", [{"cert_content": "{root}"}, {"path": "{root}/folder"}], {"ca_cert_path": None})
    add("xprotect_info", "ca", [{"path": "{root}/folder"}, {"cert_content": "x"}])
    # lab_site and lab_fault (action)
    add("lab_site", "timeout", [0, -1, 3601, "x"])
    add("lab_site", "state", ["running", ""])
    add("lab_site", "recording_servers", [-1, 10000, "x"], {"state": "present"})
    add("lab_site", "port_offset", [-1, 50001], {"state": "present"})
    add("lab_site", "address_range", ["not-a-network", "10.0.0.0/8"], {"state": "present"})
    add("lab_site", "timeout", [float("nan"), "nan", float("inf"), 1e20, "-5"])
    add(
        "lab_site",
        "settings",
        [
            {"restart_seconds": "nan"},
            {"restart_seconds": float("nan")},
            {"restart_seconds": 1e20},
            {"restart_seconds": -1},
            {"connectivity_poll_seconds": 0},
            {"connectivity_poll_seconds": float("inf")},
            {"not_in_store_exit_code": 2**40},
            {"not_in_store_exit_code": 1.5},
            {"renewal_pickup": "maybe"},
            {"domain": "lab\nx"},
            {"group_ids": "server"},
            {"nonesuch": 1},
        ],
        {"state": "present"},
    )
    add("lab_fault", "fault", ["explode", ""])
    add("lab_fault", "value", ["nan", float("nan"), float("inf"), 1e20, -1, "-0.5", "soon"], {"fault": "slow_restart"})
    add("lab_fault", "value", [1e20, 2**40, "x", 1.5, None], {"fault": "configurator_exit"})
    add("lab_fault", "value", [0, -3, 10**9, "nan"], {"fault": "stale_configurator"})
    add("lab_fault", "value", ["perhaps"], {"fault": "unreachable"})
    # settings (action)
    add("settings", "playbook", ["site.yml", "", "deploy"])
    add("settings", "fail_on_problems", ["maybe"])
    # site_report (action)
    add("site_report", "warn_days", [-1, "soon", []])
    add("site_report", "fail_days", [-1, "x", 31])
    add("site_report", "renew_before", [-5, "later"])
    add("site_report", "status_file", ["{root}/missing.json", "{root}/folder", "{root}/text.pfx"])
    add("site_report", "ca", [{"cert_content": "not a certificate"}], named="ca.cert_content")
    add("site_report", "records", ["hosts", [1, 2]])
    add("site_report", "dest", ["{root}/text.pfx/sub"])
    return c


CASES = _cases()


def test_the_table_has_at_least_150_cases():
    print(f"{len(CASES)} bad-argument cases")
    assert len(CASES) >= 150


@pytest.mark.parametrize(
    ("plugin", "args", "option"), CASES, ids=[f"{p}-{o}-{i}" for i, (p, _a, o) in enumerate(CASES)]
)
def test_a_bad_argument_fails_naming_its_option(plugin, args, option, files, capsys):
    merged = _fill({**MODULES.get(plugin, ACTIONS.get(plugin, {})), **args}, files)
    given = {k: v for k, v in merged.items() if v is not None}
    results = [run_module(plugin, given, capsys)] if plugin in MODULES else []
    if plugin not in MODULES or plugin in IN_WORKER:
        results.append(run_action(plugin, given))
    for result in results:
        text = json.dumps(result)
        assert result.get("failed") is True, result
        assert "Traceback" not in text and "exception" not in result, result
        assert option in result["msg"], result["msg"]


# ---- no plugin reads a role variable: the roles pass them as arguments ------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("xprotect_encryption_retries", -1),
        ("xprotect_override_markers", ["("]),
        ("xprotect_server_configurator", {"group_ids": {"server": "x"}}),
        ("xprotect_preflight_encryption", "not a reading"),
        ("xprotect_port_offset", -5),
    ],
)
def test_a_role_variable_is_not_read_by_the_plugin(variable, value, files):
    """A bad value in a role variable reaches no check: the task's arguments alone count (the lab
    adapter without a site is the first thing to fail)."""
    result = run_action("encryption", {"state": "disabled"}, {variable: value, "xprotect_lab_site": str(files / "x")})
    assert result["failed"] and "lab site" in result["msg"] and variable not in result["msg"], result


def test_good_values_pass_the_checks_and_reach_the_host(files):
    """The control case: the same base arguments with good values get past the checks (and
    then fail at the lab adapter, which has no site here)."""
    result = run_action(
        "encryption",
        {"state": "disabled", "retries": "3", "settle_timeout": 0, "override_markers": ["x"]},
        {"xprotect_lab_site": str(files / "no-site")},
    )
    assert result["failed"] and "lab site" in result["msg"] and "retries" not in result["msg"], result


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("xprotect_recording_batch", "abc", '"20%"'),
        ("xprotect_event_server_place", "foo", "before_management, after_mobile"),
        ("xprotect_mobile_encryption", "maybe", "not a valid boolean"),
        ("xprotect_encryption_retries", -1, "from 0 to 100"),
        ("xprotect_trust_retired_thumbprints", ["typo"], "40 hex digits"),
        ("xprotect_ca_validity_days", 10000000, "from 1 to 36500"),
        ("xprotect_rollback_order", ["xprotect_nvr"], "Got no match for: xprotect_nvr"),
    ],
)
def test_the_settings_action_names_the_variable_its_value_and_what_is_allowed(variable, value, words):
    playbook = "rollback" if variable == "xprotect_rollback_order" else "site"
    result = run_action("settings", {"playbook": playbook}, {variable: value})
    assert result["failed"] and variable in result["msg"] and words in result["msg"], result
    assert len(result["problems"]) == 1
    quiet = run_action("settings", {"playbook": playbook, "fail_on_problems": False}, {variable: value})
    assert not quiet.get("failed") and quiet["problems"] == result["problems"]
