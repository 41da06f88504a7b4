"""The site report on a lab site: report.json validates against its schema after a rollout, a
renewal, a drift (lab faults) and a rollback; report.html is loaded in headless Chromium.

One site for the file. Each test that changes it starts from the site encrypted (site.yml, which
is idempotent, brings back whatever an earlier test left), so the tests do not depend on their order.
"""

from __future__ import annotations

import html.parser
import json
import pathlib
import shutil
import subprocess
import tempfile

import jsonschema
import pytest

from .rollout_helpers import REPO, fault, hosts_in, lab, playbook

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=0, clients=2)
SCHEMA = json.loads((REPO / "plugins" / "module_utils" / "report_schema.json").read_text(encoding="utf-8"))
CHROMIUM = shutil.which("chromium")
# What Chromium needs on this kind of machine (docs/report.md, "Tests").
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,1400",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "site"
    lab(path, **SIZE)
    proc = playbook("site.yml", path, extra={"xprotect_report_dir": str(path.parent / "rollout")})
    yield path, proc
    lab(path, state="absent")


@pytest.fixture
def rolled_out(site, tmp_path):
    """The module's site encrypted again, and the folder of that run's report."""
    path, _proc = site
    folder = tmp_path / "converged"
    playbook("site.yml", path, extra={"xprotect_report_dir": str(folder)})
    return path, folder


def _load(folder: pathlib.Path) -> dict:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    return report


def _all_hosts(path):
    servers = set()
    for group in (
        "xprotect_management_servers",
        "xprotect_recording_servers",
        "xprotect_failover_servers",
        "xprotect_mobile_servers",
    ):
        servers |= set(hosts_in(path, group))
    return servers, set(hosts_in(path, "xprotect_clients"))


def test_01_rollout_report_validates_and_shows_every_host(site):
    path, proc = site
    report = _load(path.parent / "rollout")
    servers, clients = _all_hosts(path)
    assert {s["host"] for s in report["servers"]} == servers
    assert {c["host"] for c in report["clients"]} == clients
    assert {s["state"] for s in report["servers"]} == {"encrypted"}
    links = [s["connected"] for s in report["servers"] if {"recording", "failover"} & set(s["roles"])]
    assert links and all(c == {"value": True, "source": "status"} for c in links)
    assert all(c["ca_trusted"] for c in report["clients"])
    assert report["site"]["ca"]["subject"].startswith("CN=")
    # The console: the CA line, expiry dates, the clients, the paths.
    assert "CA CN=" in proc.stdout and "Clients: 2 trust the CA" in proc.stdout
    assert report["servers"][0]["certificate"]["expiry_date"] in proc.stdout
    assert str(path.parent / "rollout" / "report.html") in proc.stdout
    assert (path.parent / "rollout" / "report.html").stat().st_mode & 0o777 == 0o644


class _Dom(html.parser.HTMLParser):
    """Rows of the host table (cells' text) and the timeline's marks, from the DOM Chromium dumps."""

    def __init__(self):
        super().__init__()
        self.rows, self.marks, self._row, self._cell = {}, [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-host" in attrs:
            self._row = attrs["data-host"]
            self.rows[self._row] = []
        elif tag == "td" and self._row:
            self._cell = []
        elif tag == "g" and "mark" in (attrs.get("class") or "").split():
            self.marks.append(attrs)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: scripts/browser.sh installs Debian's (apt-get, as root)")
def test_02_the_page_in_headless_chromium(site, tmp_path):
    path, _proc = site
    page = path.parent / "rollout" / "report.html"
    report = _load(path.parent / "rollout")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*argv, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    parsed = _Dom()
    parsed.feed(dom.stdout)
    servers, clients = _all_hosts(path)
    assert set(parsed.rows) == servers | clients
    for server in report["servers"]:
        cells = parsed.rows[server["host"]]
        assert cells[2] == "encrypted", cells
        assert server["certificate"]["expiry_date"] in cells, cells
    for client in clients:
        assert parsed.rows[client][2] == "CA trusted"
    # One mark per certificate: every server's and the CA's.
    assert len(parsed.marks) == len(report["servers"]) + 1
    assert {m["data-host"] for m in parsed.marks} == servers | {"CA"}
    shot = tmp_path / "report.png"
    subprocess.run([*argv, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_03_renewal_lists_old_and_new(rolled_out):
    path, converged = rolled_out
    before = {s["host"]: s["certificate"]["thumbprint"] for s in _load(converged)["servers"]}
    # Every certificate (two years) is due with renew_before 800.
    proc = playbook(
        "renew.yml", path, extra={"xprotect_renew_before": 800, "xprotect_report_dir": str(path.parent / "renew")}
    )
    report = _load(path.parent / "renew")
    renewed = {c["host"]: c for c in report["changes"] if c["what"] == "renewed"}
    assert set(renewed) == set(before)
    for host, change in renewed.items():
        assert change["old_thumbprint"] == before[host] != change["new_thumbprint"]
        assert f"Renewed {host}: {before[host]}" in proc.stdout
    assert {s["host"]: s["certificate"]["thumbprint"] for s in report["servers"]} == {
        h: c["new_thumbprint"] for h, c in renewed.items()
    }
    # The final TLS check covers the failover server too.
    gate = proc.stdout.split("Renew phase 2", 1)[1].split("PLAY [", 1)[0]
    assert any(h in gate for h in hosts_in(path, "xprotect_failover_servers"))


def test_04_drift_and_the_expiry_watch(rolled_out):
    path, _converged = rolled_out
    rs = hosts_in(path, "xprotect_recording_servers")[0]
    client = hosts_in(path, "xprotect_clients")[0]
    fault(path, rs, "disable_encryption")
    fault(path, client, "remove_trusted_ca")
    folder = path.parent / "audit"
    # Certificates have about 730 days: warn within 1000, fail within 900.
    proc = playbook(
        "audit.yml",
        path,
        check=False,
        extra={"xprotect_report_dir": str(folder), "xprotect_expiry_warn_days": 1000, "xprotect_expiry_fail_days": 900},
    )
    assert proc.returncode != 0
    assert "Expiry watch: fail" in proc.stdout and "xprotect_expiry_fail_days" in proc.stdout
    report = _load(folder)
    assert report["check_mode"] is True and report["expiry_watch"]["verdict"] == "fail"
    assert {i["host"] for i in report["expiry_watch"]["fail"]} == {s["host"] for s in report["servers"]}
    servers = {s["host"]: s for s in report["servers"]}
    assert servers[rs]["state"] == "plain" and servers[rs]["connected"]["value"] is False
    assert servers[rs]["edge"] == "broken"
    assert {c["host"]: c["ca_trusted"] for c in report["clients"]}[client] is False
    assert rs in {d["host"] for d in report["drift"]} and client in {d["host"] for d in report["drift"]}
    # Without the thresholds the same audit passes (drift alone does not fail it by default) and
    # still prints its table.
    relaxed = playbook("audit.yml", path, extra={"xprotect_report_dir": str(folder)})
    assert "Expiry watch: ok" in relaxed.stdout and "CA CN=" in relaxed.stdout


def test_05_rollback_report(rolled_out):
    path, _converged = rolled_out
    playbook("rollback.yml", path, extra={"xprotect_report_dir": str(path.parent / "rollback")})
    report = _load(path.parent / "rollback")
    assert {s["state"] for s in report["servers"]} == {"plain"}
    links = [s["connected"]["value"] for s in report["servers"] if {"recording", "failover"} & set(s["roles"])]
    assert links and all(links)
    assert {s["edge"] for s in report["servers"]} == {"plain"}
