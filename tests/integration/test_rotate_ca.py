"""playbooks/rotate_ca.yml on a lab site: a CA rotation with no disconnection, end to end.

One small encrypted site per module. The rotation is interrupted (an offline client blocks its
preflight), resumed with the client left for later, and finished; trust_clients.yml then cleans
the client; a re-run changes nothing. status.json is sampled in a thread during every rotation
run: no recording server may lose the management server, no online client its video.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model

from .rollout_helpers import changed_hosts, events, fault, hosts_in, lab, playbook, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=1, failover_servers=0, mobile_servers=1, event_servers=0, clients=2)


class Sampler:
    """Reads status.json every 50 ms while a run goes on: the longest time any recording server
    was not connected, or any online client had no video from a recording server."""

    def __init__(self, site: pathlib.Path, offline=()):
        self.site, self.offline = site, set(offline)
        self.down_since: dict = {}
        self.longest: dict = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                hosts = status(self.site)
            except (OSError, ValueError):  # written atomically; a read between renames is retried
                time.sleep(0.01)
                continue
            now = time.monotonic()
            self.samples += 1
            for name, entry in hosts.items():
                links = []
                if "connected" in entry:
                    links.append((name, entry["connected"]))
                if "video" in entry and name not in self.offline:
                    links += [(f"{name}->{rs}", ok) for rs, ok in entry["video"].items()]
                for link, ok in links:
                    if ok:
                        if link in self.down_since:
                            self.longest[link] = max(self.longest.get(link, 0), now - self.down_since.pop(link))
                    else:
                        self.down_since.setdefault(link, now)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        now = time.monotonic()
        for link, since in self.down_since.items():
            self.longest[link] = max(self.longest.get(link, 0), now - since)


def _roots(site: pathlib.Path, host: str) -> set:
    return {e["thumbprint"] for e in model.Site(str(site)).read_state(host)["stores"]["Root"]}


def _thumb(folder: pathlib.Path) -> str:
    return pki.thumbprint(pki.load_certificate((folder / "ca.crt").read_bytes()))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("rotate") / "site"
    # No renewal pick-up: every server then moves to its new certificate through Server
    # Configurator in the switch phases, so the order of the switch is observable (with pick-up,
    # each server takes it by itself in phase 1, which both trusted CAs make harmless too).
    lab(path, settings={"renewal_pickup": False}, **SIZE)
    try:
        # Before the rollout: a CA in the folder, the site not encrypted yet. rotate_ca.yml must
        # refuse and send the operator to site.yml (kept for the test below), then site.yml
        # encrypts the site with that CA.
        passphrase = (_pki(path) / "passphrase").read_text().strip()
        _write_ca(_pki(path), pki.create_ca("XProtect VMS Root CA", 3072, 3650), passphrase.encode())
        NOT_ENCRYPTED.append(playbook("rotate_ca.yml", path, check=False))
        NOT_ENCRYPTED.append((path.parent / "pki-new").exists())
        playbook("site.yml", path)
        yield path
    finally:
        lab(path, state="absent")


NOT_ENCRYPTED: list = []


def _pki(site: pathlib.Path) -> pathlib.Path:
    return site.parent / "pki"


def _write_ca(folder: pathlib.Path, ca, passphrase: bytes = b"new-pass-1234"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.key").write_bytes(pki.serialize_ca_key(ca, passphrase))
    (folder / "ca.crt").write_text(ca.cert_pem)


# ---- bad inputs: a clear error naming the variable, and nothing changed --------------------


def _bad_inputs(site: pathlib.Path, tmp: pathlib.Path):
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = pki.create_ca("Rotation Expired CA", 3072, 30, now - datetime.timedelta(days=60))
    future = pki.create_ca("Rotation Future CA", 3072, 3650, now + datetime.timedelta(days=10))
    _write_ca(tmp / "expired", expired)
    _write_ca(tmp / "future", future)
    _write_ca(tmp / "good", pki.create_ca("Rotation Good CA", 3072, 3650))
    old = _pki(site)
    passphrase = (old / "passphrase").read_text().strip()
    return {
        "the same CA": (
            {
                "xprotect_ca_new_path": str(tmp / "same"),
                "xprotect_ca_new_import_cert_path": str(old / "ca.crt"),
                "xprotect_ca_new_import_key_path": str(old / "ca.key"),
                "xprotect_ca_new_import_passphrase": passphrase,
            },
            "the new CA is the site's CA",
        ),
        "expired": (
            {"xprotect_ca_new_path": str(tmp / "expired"), "xprotect_ca_new_passphrase": "new-pass-1234"},
            "expired on",
        ),
        "not yet valid": (
            {"xprotect_ca_new_path": str(tmp / "future"), "xprotect_ca_new_passphrase": "new-pass-1234"},
            "not valid before",
        ),
        "old CA folder missing": ({"xprotect_ca_path": str(tmp / "nowhere")}, "holds no CA"),
        "wrong passphrase": (
            {"xprotect_ca_new_path": str(tmp / "good"), "xprotect_ca_new_passphrase": "wrong-pass-99"},
            "passphrase",
        ),
    }


def test_bad_inputs_stop_with_a_clear_error_and_change_nothing(site, tmp_path):
    cases = _bad_inputs(site, tmp_path)
    before_events, before_files = len(events(site)), sorted(p.name for p in site.parent.iterdir())
    for name, (extra, message) in cases.items():
        proc = playbook("rotate_ca.yml", site, check=False, extra=extra)
        assert proc.returncode != 0, name
        assert message in proc.stdout, (name, proc.stdout[-3000:])
        assert "Traceback" not in proc.stdout + proc.stderr, name
    assert not (tmp_path / "same").exists()
    assert len(events(site)) == before_events
    assert sorted(p.name for p in site.parent.iterdir()) == before_files


def test_a_site_that_is_not_encrypted_is_sent_to_site_yml(site):
    proc, new_folder_made = NOT_ENCRYPTED
    assert proc.returncode != 0 and "the site is not encrypted" in proc.stdout and "site.yml" in proc.stdout
    assert not new_folder_made


# ---- the rotation ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotated(site):
    """The rotation, interrupted then resumed, then trust_clients.yml: what each step left."""
    seen: dict = {}
    old_pki, new_pki = _pki(site), site.parent / "pki-new"
    seen["old"] = old = _thumb(old_pki)
    clients = hosts_in(site, "xprotect_clients")
    seen["servers"] = [
        h
        for g in ("xprotect_management_servers", "xprotect_recording_servers", "xprotect_mobile_servers")
        for h in hosts_in(site, g)
    ]
    seen["online"], seen["offline"] = clients[:-1], clients[-1]
    offline = seen["offline"]
    fault(site, offline, "unreachable", True)
    # 1. An offline client blocks the preflight (xprotect_clients_must_trust=all): the run stops
    #    after the new CA was created and trusted, before any certificate from it.
    with Sampler(site, offline=[offline]) as first:
        seen["interrupted"] = playbook("rotate_ca.yml", site, check=False)
    seen["new"] = new = _thumb(new_pki)
    seen["record_interrupted"] = json.loads((new_pki / "rotation.json").read_text())
    seen["roots_interrupted"] = {h: _roots(site, h) for h in seen["servers"] + seen["online"]}
    # site.yml in the middle of a rotation would issue from the old CA again: it stops first.
    seen["site_during"] = playbook("site.yml", site, check=False)
    # 2. Resumed, the offline client left for later: it completes.
    start = len(events(site))
    with Sampler(site, offline=[offline]) as second:
        seen["resumed"] = playbook(
            "rotate_ca.yml", site, check=False, extra={"xprotect_clients_must_trust": "reachable"}
        )
    seen["samplers"] = [first, second]
    seen["switches"] = [e for e in events(site)[start:] if e["event"] == "encryption_enabled"]
    seen["record"] = json.loads((old_pki / "rotation.json").read_text())
    seen["roots"] = {h: _roots(site, h) for h in seen["servers"] + clients}
    seen["status"] = status(site)
    # 3. The client comes back; trust_clients.yml reads the record and cleans it.
    fault(site, offline, "unreachable", False)
    playbook("trust_clients.yml", site)
    seen["offline_roots_after"] = _roots(site, offline)
    seen["record_after"] = json.loads((old_pki / "rotation.json").read_text())
    seen["offline_video_after"] = status(site)[offline]["video"]
    assert new != old
    return seen


def test_an_interrupted_rotation_stopped_before_any_certificate_with_both_cas_trusted(rotated):
    proc = rotated["interrupted"]
    assert proc.returncode != 0 and f"{rotated['offline']} do not trust both" in proc.stdout
    assert rotated["record_interrupted"]["step"] == "started"
    for host, roots in rotated["roots_interrupted"].items():
        assert {rotated["old"], rotated["new"]} <= roots, host


def test_the_resumed_rotation_completes_with_the_offline_client_left_for_later(rotated):
    proc = rotated["resumed"]
    # ansible-playbook exits 4 when a host did not answer; the rotation itself completed.
    assert proc.returncode == 4, proc.stdout[-3000:]
    assert "Rotation | done" in proc.stdout and "Run playbooks/trust_clients.yml when they are back" in proc.stdout


def test_site_yml_refuses_to_run_in_the_middle_of_a_rotation(rotated):
    proc = rotated["site_during"]
    assert proc.returncode != 0 and "is under way" in proc.stdout and "run playbooks/rotate_ca.yml" in proc.stdout


def test_every_server_switched_to_the_new_ca_in_the_safe_order(rotated, site):
    roles = {
        "management": hosts_in(site, "xprotect_management_servers"),
        "recording": hosts_in(site, "xprotect_recording_servers"),
        "mobile": hosts_in(site, "xprotect_mobile_servers"),
    }
    switches = rotated["switches"]
    assert {e["host"] for e in switches} == {h for hs in roles.values() for h in hs}
    last = {r: max(e["ts"] for e in switches if e["host"] in hs) for r, hs in roles.items()}
    first = {r: min(e["ts"] for e in switches if e["host"] in hs) for r, hs in roles.items()}
    assert last["management"] < first["recording"] and last["recording"] < first["mobile"]


def test_no_recording_server_lost_the_management_server_and_no_client_its_video(rotated):
    for run in rotated["samplers"]:
        assert run.samples > 20
        assert run.longest == {}, run.longest  # the goal: zero seconds, for every link
    st = rotated["status"]
    assert all(e["connected"] for e in st.values() if "connected" in e)


def test_after_the_rotation_only_the_new_ca_is_trusted_and_it_is_the_site_ca(rotated, site):
    old, new, old_pki = rotated["old"], rotated["new"], _pki(site)
    assert not (site.parent / "pki-new").exists() and _thumb(old_pki) == new
    assert _thumb(old_pki / f"ca-retired-{old}") == old
    assert rotated["record"]["step"] == "complete" and rotated["record"]["clients_pending"] == [rotated["offline"]]
    for host in rotated["servers"] + rotated["online"]:
        assert new in rotated["roots"][host] and old not in rotated["roots"][host], host
    assert old in rotated["roots"][rotated["offline"]]


def test_the_offline_client_is_cleaned_later_by_trust_clients(rotated):
    roots = rotated["offline_roots_after"]
    assert rotated["new"] in roots and rotated["old"] not in roots
    assert rotated["record_after"]["clients_pending"] == []
    assert rotated["offline_video_after"] and all(rotated["offline_video_after"].values())


def test_every_endpoint_verifies_with_the_new_ca_only_and_openssl_agrees(rotated, site):
    old_pki = _pki(site)
    retired = old_pki / f"ca-retired-{rotated['old']}" / "ca.crt"
    for entry in status(site).values():
        for ep in entry["endpoints"]:
            if not ep["tls"]:
                continue
            ctx = ssl.create_default_context(cafile=str(old_pki / "ca.crt"))
            ctx.check_hostname = False
            with ctx.wrap_socket(socket.create_connection((entry["address"], ep["port"]), 5)) as s:
                leaf = ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))
            old_ctx = ssl.create_default_context(cafile=str(retired))
            old_ctx.check_hostname = False
            with pytest.raises(ssl.SSLError):
                old_ctx.wrap_socket(socket.create_connection((entry["address"], ep["port"]), 5))
    leaf_file = old_pki.parent / "leaf.pem"
    leaf_file.write_text(leaf)
    ok = subprocess.run(
        ["openssl", "verify", "-CAfile", str(old_pki / "ca.crt"), str(leaf_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and ": OK" in ok.stdout
    bad = subprocess.run(
        ["openssl", "verify", "-CAfile", str(retired), str(leaf_file)], capture_output=True, text=True, check=False
    )
    assert bad.returncode != 0


def test_a_rerun_changes_nothing(rotated, site):
    start = len(events(site))
    proc = playbook("rotate_ca.yml", site)
    assert changed_hosts(proc.stdout) == set()
    assert "only its retirement is applied again" in proc.stdout
    assert [e for e in events(site)[start:] if e["event"] not in ("configurator_run",)] == []
    assert shutil.which("openssl")
