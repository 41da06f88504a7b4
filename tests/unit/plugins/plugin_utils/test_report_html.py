"""report.html (plugin_utils/report_html.py) and the writing of both files (site_report_flow.py)."""

from __future__ import annotations

import datetime as dt
import html.parser
import json
import os
import pathlib
import stat
import sys

import jsonschema
import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, site_report
from ansible_collections.xprotect.encryption.plugins.plugin_utils import report_html, site_report_flow

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "module_utils"))
import site_report_data as data  # noqa: E402

NOW = data.NOW


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text):
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_the_page_is_self_contained():
    page = report_html.render(data._report(), NOW)
    tags = _tags(page)
    assert not [t for t, a in tags if t in ("link", "img", "iframe", "object", "embed")]
    assert not [a for t, a in tags if a.get("src") or (a.get("href") or "").startswith(("http", "//"))]
    assert "@import" not in page and "url(" not in page
    assert "@media print" in page


def test_one_timeline_mark_per_certificate_and_the_ca():
    report = data._report()
    tags = _tags(report_html.render(report, NOW))
    marks = [a for t, a in tags if t == "g" and "mark" in a.get("class", "").split()]
    assert len(marks) == len(report["servers"]) + 1
    assert {a["data-host"] for a in marks} == {s["host"] for s in report["servers"]} | {"CA"}
    assert [a for t, a in tags if a.get("id") in ("today", "renew-before")]


def test_every_host_has_a_row_and_every_server_an_edge_coloured_by_its_state():
    report = data._report()
    tags = _tags(report_html.render(report, NOW))
    rows = {a["data-host"] for t, a in tags if t == "tr" and "data-host" in a}
    assert rows == {s["host"] for s in report["servers"]} | {c["host"] for c in report["clients"]}
    edges = {a["data-host"]: a["class"].split()[1] for t, a in tags if t == "path" and "edge" in a.get("class", "")}
    assert edges["rs1"] == "encrypted"
    assert edges["cl2"] == "broken"  # the site is encrypted and this client lacks the CA


def test_a_server_whose_certificate_could_not_be_read_renders_with_dashes():
    hv = data._site()
    hv["rs1"]["cert"] = {"failed": True, "msg": "ca: ca_cert_path: /x/ca.crt does not exist"}
    report = data._report(hv=hv, probes=[], ca=None)
    assert {s["host"]: s["certificate"] for s in report["servers"]}["rs1"] is None
    tags = _tags(report_html.render(report, NOW))
    assert "rs1" in {a.get("data-host") for t, a in tags if t == "tr"}


def test_an_event_server_has_its_own_column():
    report = data._report()
    event = dict(report["servers"][0], host="ev1", roles=["event"])
    report["servers"].append(event)
    diagram = report_html.diagram(report)
    titles = [c["title"] for c in diagram["columns"]] if "columns" in diagram else []
    tags = _tags(report_html.render(report, NOW))
    assert "ev1" in {a.get("data-host") for t, a in tags if t == "tr"}
    assert "ev1" in {a.get("data-host") for t, a in tags if t == "path" and "edge" in a.get("class", "")}
    assert not titles or "Event servers" in titles


def test_a_large_site_wraps_its_columns():
    hv = data._site()
    for i in range(60):
        name = f"rs{i:03d}"
        data.TP[name] = f"{i:040X}"
        hv[name] = data._hv(["xprotect_recording_servers"], host=name)
    diagram = report_html.diagram(data._report(hv=hv))
    xs = {n["x"] for c in diagram["columns"] if c["key"] == "recording" for n in c["nodes"]}
    assert len(xs) == 4  # 62 recording servers, 18 a sub-column
    assert diagram["height"] < 600
    for i in range(60, 200):
        name = f"rs{i:03d}"
        data.TP[name] = f"{i:040X}"
        hv[name] = data._hv(["xprotect_recording_servers"], host=name)
    diagram = report_html.diagram(data._report(hv=hv))
    xs = {n["x"] for c in diagram["columns"] if c["key"] == "recording" for n in c["nodes"]}
    assert len(xs) == report_html.MAX_SUBCOLUMNS  # 202: 34 a sub-column, 6 sub-columns


def _args(tmp_path, **over):
    hv = data._site()
    args = {
        "records": site_report.host_records(list(hv), hv, data.KEYS),
        "probes": data.PROBES,
        "drift": [],
        "ca": {},
        "status_file": None,
        "playbook": "audit.yml",
        "check_mode": True,
        "dest": str(tmp_path / "out"),
        "inventory_sources": [],
        "playbook_dir": str(tmp_path),
        "warn_days": 30,
        "fail_days": 14,
        "renew_before": 30,
    }
    args.update(over)
    return args


def test_write_both_files_0644_valid_and_without_secrets(tmp_path):
    out = site_report_flow.write(_args(tmp_path), {}, NOW)
    for path in out["paths"].values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        assert "PRIVATE KEY" not in open(path, encoding="utf-8").read()
    report = json.loads(open(out["paths"]["json"], encoding="utf-8").read())
    jsonschema.validate(report, data.SCHEMA)
    assert out["html_bytes"] == os.path.getsize(out["paths"]["html"])
    assert out["expiry_watch"]["verdict"] == "fail"
    assert not [n for n in os.listdir(tmp_path / "out") if n.startswith(".")]  # no temporary file left


def test_the_default_folder_is_the_runners_artifacts(tmp_path):
    out = site_report_flow.write(_args(tmp_path, dest=None), {"AWX_ISOLATED_DATA_DIR": str(tmp_path / "art")}, NOW)
    assert out["paths"]["json"] == str(tmp_path / "art" / "report.json")


def test_the_ca_from_its_folder_and_a_missing_one(tmp_path):
    ca = pki.create_ca("Site CA", key_size=3072, days=365)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text(pki.cert_pem(ca.cert))
    read = site_report_flow.read_ca({"path": str(tmp_path / "pki")})
    assert read["subject"] == "CN=Site CA" and read["thumbprint"] == pki.thumbprint(ca.cert)
    assert site_report_flow.read_ca({"path": str(tmp_path / "none")}) is None


@pytest.mark.parametrize(
    ("over", "option"),
    [
        ({"ca": {"cert_content": "not a pem"}}, "ca.cert_content"),
        ({"status_file": "/nonexistent/status.json"}, "status_file"),
        ({"fail_days": 40}, "fail_days"),
    ],
)
def test_bad_input_names_the_option(tmp_path, over, option):
    with pytest.raises(site_report_flow.ReportError, match=option):
        site_report_flow.write(_args(tmp_path, **over), {}, NOW)


def test_a_status_file_without_hosts_is_refused(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("[]")
    with pytest.raises(site_report_flow.ReportError, match="status_file: .* no 'hosts'"):
        site_report_flow.read_status(str(path))


def test_an_unwritable_folder_names_dest(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(site_report_flow.ReportError, match="dest: cannot write"):
        site_report_flow.write(_args(tmp_path, dest=str(tmp_path / "file" / "sub")), {}, NOW)


def test_a_secret_in_the_report_is_refused_before_writing(tmp_path):
    hv = data._site()
    hv["rs1"]["cert"]["names"] = ["-----BEGIN " + "PRIVATE" + " KEY-----"]
    args = _args(tmp_path, records=site_report.host_records(list(hv), hv, data.KEYS))
    with pytest.raises(site_report_flow.ReportError, match="nothing was written"):
        site_report_flow.write(args, {}, NOW)
    assert not (tmp_path / "out").exists()


def test_render_time_is_used_for_today():
    tl = report_html.timeline(data._report(), dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc))
    assert tl["today_label"] == "2026-06-01" and tl["renew_label"] == "2026-07-01"
