# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab model: paths, transactions, events, renewal pick-up, connectivity, status, locking."""

from __future__ import annotations

import datetime
import json
import os
import threading

import phase_order as plan  # tests/phase_order.py, the test oracle of the order
import pytest
from cryptography import x509
from lab_helpers import CL, FO, MS, RS, adapter, certreq, enable, events, group_state

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn

PFX_PW = {"pw": "pw", "secret": "secret", "wrong": "wrong"}  # test-only PFX passphrases


@pytest.mark.parametrize(
    "path, parts",
    [
        ("C:\\ProgramData\\Milestone", ["C", "ProgramData", "Milestone"]),
        ("c:/programdata/x.txt", ["C", "programdata", "x.txt"]),
        ("%ProgramData%\\Milestone\\", ["C", "ProgramData", "Milestone"]),
        ("%PROGRAMFILES%\\Milestone", ["C", "Program Files", "Milestone"]),
        ("C:\\", ["C"]),
        ("D:\\.\\data", ["D", "data"]),
    ],
)
def test_split_windows_path(path, parts):
    assert model.split_windows_path(path) == parts


@pytest.mark.parametrize("path", ["relative\\x", "\\\\server\\share\\x", "C:\\a\\..\\b", "C:\\a\\b:c", "", "%Nope%\\x"])
def test_split_windows_path_refuses(path):
    with pytest.raises(model.LabError) as info:
        model.split_windows_path(path)
    assert info.value.option == "path"


def test_same_windows_path():
    assert model.same_windows_path("C:\\Program Files\\A.exe", "c:/program files/a.EXE")
    assert not model.same_windows_path("C:\\a", "relative")


def test_site_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "site.json").write_text('{"kind": "something else"}')
    with pytest.raises(model.LabError, match="is not a lab site"):
        model.Site(str(tmp_path))


def test_a_site_is_parsed_again_only_when_its_site_json_changes(lab):
    first, again = model.Site(lab.path), model.Site(lab.path)
    assert again.spec is first.spec and again.settings is first.settings  # unchanged: not parsed again
    spec = json.loads(open(lab.site_json, encoding="utf-8").read())
    spec["settings"] = {"restart_seconds": 7}
    model.write_json(lab.site_json, spec)
    changed = model.Site(lab.path)
    assert changed.spec is not first.spec and changed.settings["restart_seconds"] == 7
    assert first.settings["restart_seconds"] != 7
    os.unlink(lab.site_json)
    with pytest.raises(model.LabError, match="is not a lab site"):
        model.Site(lab.path)


def test_host_path_matches_existing_names_without_case(lab):
    p1 = lab.host_path(RS, "C:\\WINDOWS\\temp\\A.txt")
    assert p1.startswith(os.path.join(lab.host_dir(RS), "fs", "C", "Windows", "Temp"))


def test_transaction_saves_only_on_success(lab):
    with lab.transaction(RS) as tx:
        tx.state["faults"]["x"] = 1
        tx.touch()
        tx.emit("test_event", n=1)
    assert lab.read_state(RS)["faults"]["x"] == 1
    assert events(lab, "test_event")[0]["n"] == 1
    with pytest.raises(RuntimeError):
        with lab.transaction(RS) as tx:
            tx.state["faults"]["x"] = 2
            tx.touch()
            tx.emit("lost_event")
            raise RuntimeError("boom")
    assert lab.read_state(RS)["faults"]["x"] == 1
    assert not events(lab, "lost_event")


def test_every_event_has_ts_host_event(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    for line in open(lab.file("events.jsonl"), encoding="utf-8"):
        e = json.loads(line)
        assert isinstance(e["ts"], float) and isinstance(e["host"], str) and isinstance(e["event"], str)
    kinds = {e["event"] for e in lab.events()}
    assert {
        "site_created",
        "ca_trusted",
        "certificate_requested",
        "certificate_installed",
        "key_access_granted",
        "encryption_enabled",
        "configurator_run",
        "connectivity_changed",
    } <= kinds


def test_the_generation_moves_only_once_the_connectivity_says_the_change(lab, prepared, monkeypatch):
    """The site process rebuilds status.json when the generation moves, from connectivity.json as it
    is then: at every bump the file must already say what the change did to the links."""
    assert enable(lab, MS, "server", prepared[MS]).rc == 0
    seen = []
    bump = model.Site.bump

    def observed(site):
        seen.append(json.loads(open(site.file("connectivity.json"), encoding="utf-8").read())["connected"].get(RS))
        bump(site)

    monkeypatch.setattr(model.Site, "bump", observed)
    assert enable(lab, RS, "server", prepared[RS]).rc == 0
    assert seen and seen[-1] is True  # the recording server's link, back up when its switch is published


def test_generation_bumps_on_every_change(lab):
    before = lab.generation()
    adapter(lab, RS).list_services()
    assert lab.generation() == before
    with lab.transaction(RS) as tx:
        tx.touch()
    assert lab.generation() != before


def test_status_written_without_a_site_process(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    status = model.read_json(lab.file("status.json"))
    assert status["kind"] == model.STATUS_KIND and status["ready"] is False
    ms = status["hosts"][MS]
    assert ms["encryption"] == {"Server certificate": {"enabled": True, "thumbprint": prepared[MS]}}
    assert ms["endpoints"] == [
        {
            "name": "management",
            "port": 443,
            "default_port": 443,
            "tls": True,
            "thumbprint": prepared[MS],
            "handshake": True,
            "listening": False,
        }
    ]
    assert status["hosts"][RS]["connected"] is False
    assert status["hosts"][CL]["video"] == {RS: True}
    assert status["generation"] == lab.generation()


def test_connectivity_is_written_before_its_event(lab, prepared, monkeypatch):
    """Whoever reads an event of a connectivity change finds connectivity.json already saying it."""
    seen = []
    real = model.Site.append_events

    def spy(self, new):
        on_disk = model.read_json(self.file("connectivity.json"))
        for e in new:
            if e["event"] == "video_changed":
                seen.append((e["video"], on_disk["video"][e["host"]][e["recording_server"]]))
            if e["event"] == "connectivity_changed":
                seen.append((e["connected"], on_disk["connected"][e["host"]]))
        real(self, new)

    monkeypatch.setattr(model.Site, "append_events", spy)
    enable(lab, MS, "server", prepared[MS])
    enable(lab, RS, "server", prepared[RS])
    enable(lab, RS, "streaming", prepared[RS])
    assert seen and all(event == file for event, file in seen)
    assert {event for event, _file in seen} == {True, False}


def test_the_disconnection_window_shows_in_the_event_log(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    enable(lab, RS, "server", prepared[RS])
    enable(lab, FO, "server", prepared[FO])
    rs_events = [
        (e["event"], e.get("connected"))
        for e in events(lab, host=RS)
        if e["event"] in ("connectivity_changed", "encryption_enabled")
    ]
    assert rs_events == [("connectivity_changed", False), ("encryption_enabled", None), ("connectivity_changed", True)]
    enabled = {e["host"]: e["ts"] for e in lab.events() if e["event"] == "encryption_enabled"}
    # Without roles, every host enabling the server group after the first is taken as a follower.
    assert plan.disconnection_window(lab.events()) == pytest.approx(max(enabled[RS], enabled[FO]) - enabled[MS])
    roles = {"management": [MS], "recording": [RS], "failover": [FO]}
    assert plan.disconnection_window(lab.events(), roles) == pytest.approx(enabled[RS] - enabled[MS])
    assert plan.check_order(lab.events(), {"management": [MS], "recording": [RS], "failover": [FO]}) == []


def test_renewal_is_picked_up_without_server_configurator(lab, prepared, ca):
    enable(lab, MS, "server", prepared[MS])
    enable(lab, RS, "server", prepared[RS])
    enable(lab, RS, "streaming", prepared[RS])
    runs = len(events(lab, "configurator_run"))
    new = certreq(lab, RS, ca, days=800)  # same subject, later not_after
    old_after = lab.read_state(RS)["encryption"]["server"]["not_after"]
    assert group_state(lab, RS, "server")["thumbprint"] == new
    assert group_state(lab, RS, "streaming")["thumbprint"] == new
    assert lab.read_state(RS)["encryption"]["server"]["not_after"] >= old_after
    renewed = events(lab, "certificate_renewed", RS)
    assert {e["group"] for e in renewed} == {"Server certificate", "Streaming media certificate"}
    assert renewed[0]["old_thumbprint"] == prepared[RS] and renewed[0]["new_thumbprint"] == new
    assert len(events(lab, "configurator_run")) == runs


def test_renewal_pickup_ignores_other_subjects_and_keyless(lab, prepared, ca):
    enable(lab, MS, "server", prepared[MS])
    a = adapter(lab, MS)
    key = pki.generate_key(2048)
    other = pki.issue_certificate(
        ca, key.public_key(), "x.lab.xprotect.test", ["x.lab.xprotect.test"], days=800, clamp_to_ca=True
    )
    a.write_file("C:\\Windows\\Temp\\o.pfx", pki.write_pfx(key, other, [], b"pw", "x"))
    a.import_certificate("C:\\Windows\\Temp\\o.pfx", "My", password=PFX_PW["pw"])
    same_no_key = pki.issue_certificate(ca, key.public_key(), MS, pki.host_names(MS), days=900, clamp_to_ca=True)
    a.write_file("C:\\Windows\\Temp\\n.crt", pki.cert_pem(same_no_key))
    a.import_certificate("C:\\Windows\\Temp\\n.crt", "My")
    assert group_state(lab, MS, "server")["thumbprint"] == prepared[MS]


def test_renewal_pickup_is_a_setting(lab, prepared, ca):
    spec = json.loads(open(lab.site_json).read())
    spec["settings"]["renewal_pickup"] = False
    open(lab.site_json, "w").write(json.dumps(spec))
    enable(lab, MS, "server", prepared[MS])
    certreq(lab, MS, ca, days=800)
    assert group_state(lab, MS, "server")["thumbprint"] == prepared[MS]


def test_concurrent_changes_of_many_hosts(tmp_path, ca):
    """50 forks at once: per-host locks, atomic state files, one event line per change."""
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import site

    site.ensure_site(str(tmp_path / "s"), counts={"recording_servers": 30, "clients": 3}, port_offset=0)
    lab = model.Site(str(tmp_path / "s"))
    names = lab.names_with("recording")
    errors = []

    def work(name):
        try:
            a = adapter(lab, name)
            for i in range(3):
                a.write_file(f"C:\\Windows\\Temp\\f{i}.txt", name)
                with lab.transaction(name) as tx:
                    tx.state["faults"]["n"] = tx.state["faults"].get("n", 0) + 1
                    tx.touch()
                    tx.emit("counted", i=i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in names for _twice in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(lab.read_state(n)["faults"]["n"] == 6 for n in names)
    assert len(events(lab, "counted")) == 6 * len(names)


def test_flock_times_out_with_a_clear_error(tmp_path):
    lock = str(tmp_path / "lock")
    with model.flock(lock):
        result = {}

        def other():
            try:
                with model.flock(lock, timeout=0.2):
                    result["got"] = True
            except model.LabError as e:
                result["error"] = e.message

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert "Timed out" in result["error"] and lock in result["error"]


def test_atomic_write_mode_and_no_leftovers(tmp_path):
    path = str(tmp_path / "k")
    model.atomic_write(path, b"x", 0o600)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["k"]


def test_merged_settings_and_unknown():
    merged = model.merged_settings({"service_accounts": {"recording": "LAB\\svc-rs"}, "follow_refusal_exit_code": 3})
    assert merged["service_accounts"]["recording"] == "LAB\\svc-rs"
    assert merged["service_accounts"]["failover"] == "LAB\\svc-failover"
    assert merged["follow_refusal_exit_code"] == 3
    assert model.DEFAULT_SETTINGS["follow_refusal_exit_code"] == 0
    assert model.unknown_settings({"nope": 1, "domain": "x"}) == ["nope"]


def test_pid_alive():
    assert model.pid_alive(os.getpid())
    assert not model.pid_alive(None)
    assert not model.pid_alive(2**22 + 12345)


# ---- connectivity (pure) -----------------------------------------------------------------------


def _state(name, roles, enabled=None, *, pem=None, key=True, readers=("NT AUTHORITY\\NetworkService",), roots=()):
    enc = {}
    my = []
    for group in enabled or {}:
        tp = pki.thumbprint(certs.load_pem(pem))
        enc[group] = {"enabled": True, "thumbprint": tp}
        my = [{"thumbprint": tp, "pem": pem, "key": tp if key else None, "acl": list(readers)}]
    return {
        "name": name,
        "roles": roles,
        "stores": {"My": my, "Root": [{"pem": r} for r in roots]},
        "encryption": enc,
        "services": [{"role": r, "username": "NT AUTHORITY\\NetworkService"} for r in roles],
        "faults": {},
    }


@pytest.fixture(scope="module")
def pems():
    ca = pki.create_ca(key_size=3072)
    key = pki.generate_key(2048)
    out = {"ca": ca.cert_pem}
    for name in (MS, RS):
        out[name] = pki.cert_pem(pki.issue_certificate(ca, key.public_key(), name, [name], clamp_to_ca=True))
    now = pki.utcnow()
    out["expired"] = pki.cert_pem(
        pki.issue_certificate(
            ca,
            key.public_key(),
            RS,
            [RS],
            not_before=now - datetime.timedelta(days=9),
            not_after=now - datetime.timedelta(days=1),
        )
    )
    return out


def test_link_up_rules(pems):
    now = pki.utcnow()
    roots = (pems["ca"],)
    ms_off, rs_off = conn.view(_state(MS, ["management"])), conn.view(_state(RS, ["recording"]))
    ms_on = conn.view(_state(MS, ["management"], {"server"}, pem=pems[MS], roots=roots))
    rs_on = conn.view(_state(RS, ["recording"], {"server"}, pem=pems[RS], roots=roots))
    assert conn.link_up(ms_off, rs_off, now)
    assert not conn.link_up(ms_on, rs_off, now) and not conn.link_up(ms_off, rs_on, now)
    assert conn.link_up(ms_on, rs_on, now)
    assert not conn.link_up(None, rs_off, now)
    rs_no_roots = conn.view(_state(RS, ["recording"], {"server"}, pem=pems[RS]))
    assert not conn.link_up(ms_on, rs_no_roots, now)
    rs_expired = conn.view(_state(RS, ["recording"], {"server"}, pem=pems["expired"], roots=roots))
    assert not conn.link_up(ms_on, rs_expired, now)
    ms_wrong = conn.view(_state(MS, ["management"], {"server"}, pem=pems[RS], roots=roots))
    assert not conn.link_up(ms_wrong, rs_on, now)


def test_video_rules(pems):
    now = pki.utcnow()
    client = conn.view(_state(CL, ["client"], roots=(pems["ca"],)))
    bare_client = conn.view(_state(CL, ["client"]))
    rs_plain = conn.view(_state(RS, ["recording"]))
    rs_tls = conn.view(_state(RS, ["recording"], {"streaming"}, pem=pems[RS]))
    rs_no_acl = conn.view(_state(RS, ["recording"], {"streaming"}, pem=pems[RS], readers=()))
    rs_no_key = conn.view(_state(RS, ["recording"], {"streaming"}, pem=pems[RS], key=False))
    assert conn.gets_video(bare_client, rs_plain, now)
    assert conn.gets_video(client, rs_tls, now) and not conn.gets_video(bare_client, rs_tls, now)
    assert not conn.gets_video(client, rs_no_acl, now)
    assert conn.gets_video(client, rs_no_acl, now, require_key_read=False)
    assert not conn.gets_video(client, rs_no_key, now)


def test_endpoints_per_role(pems):
    settings = model.DEFAULT_SETTINGS
    ms = conn.endpoints(conn.view(_state(MS, ["management", "recording"])), settings)
    assert [(e.name, e.default_port, e.tls) for e in ms] == [
        ("management", 80, False),
        ("image-server", 7563, False),
        ("webapi", 9001, False),
    ]
    mob = conn.endpoints(conn.view(_state("mob", ["mobile"], {"mobile"}, pem=pems[MS])), settings)
    assert [(e.name, e.default_port, e.tls) for e in mob] == [
        ("mobile-http", 8081, False),
        ("mobile-https", 8082, True),
    ]
    assert conn.endpoints(conn.view(_state(CL, ["client"])), settings) == []
    assert conn.planned_ports(["management", "mobile"]) == [80, 443, 8081, 8082]


def test_accounts_are_compared_in_every_spelling():
    assert conn.can_read(["NT AUTHORITY\\NETWORK SERVICE"], "NT AUTHORITY\\NetworkService")
    assert conn.can_read([], "LocalSystem")
    assert not conn.can_read(["LAB\\a"], "LAB\\b")
    assert conn.canon_account(" Administrators ") == "builtin\\administrators"


def test_certs_helpers(pems):
    cert = certs.load_pem(pems[RS])
    assert certs.covers(cert, RS.upper()) and not certs.covers(cert, MS)
    wild = x509.load_pem_x509_certificate(pems[RS].encode())
    assert certs.dotnet_name(wild.subject) == f"CN={RS}"
    assert (
        certs.load_any(pems[RS].encode() + pems["ca"].encode())[1].subject.rfc4514_string() == "CN=XProtect VMS Root CA"
    )
    with pytest.raises(ValueError):
        certs.load_any(b"-----BEGIN NOTHING-----\n-----END NOTHING-----\n")
    assert not certs.chain_trusted(pems[RS], [], pki.utcnow())
    assert certs.find_issuer(pems[RS], [pems[MS], pems["ca"]]) == pems["ca"]


def test_wildcard_and_dotnet_names():
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, "*.lab.example"),
        ]
    )
    assert certs.dotnet_name(name) == "CN=*.lab.example, O=Lab, C=DK"
    cert = certs.self_signed(key, "*.lab.example")
    assert certs.covers(cert, "rs1.lab.example") and not certs.covers(cert, "a.b.lab.example")
    assert certs.windows_dns_names(cert) == ("*.lab.example",)
