# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html from report.json: the drawing's geometry in Python, the page in a Jinja2 template
(site_report.html.j2 beside this file). One self-contained file: inline CSS, inline SVG, a few
lines of inline JavaScript for sorting the table; nothing is loaded from anywhere."""

from __future__ import annotations

import datetime as _dt
import os
from typing import List, Mapping

import jinja2

from ansible_collections.xprotect.encryption.plugins.module_utils import site_report

TEMPLATE = os.path.join(os.path.dirname(__file__), "site_report.html.j2")
COLUMNS = (
    ("management", "Management server"),
    ("recording", "Recording servers"),
    ("failover", "Failover servers"),
    ("mobile", "Mobile servers"),
    ("event", "Event servers"),
    ("client", "Clients"),
)
# A larger column wraps into sub-columns; the largest one into at most MAX_SUBCOLUMNS, so that a
# site of hundreds of hosts keeps its labels legible at 1366 px and stays about a screen high.
ROWS_PER_COLUMN = 18
MAX_SUBCOLUMNS = 6
NODE_W, NODE_H, GAP_Y, SUB_W, COL_GAP = 150, 20, 6, 160, 60


def _column(entry: Mapping) -> str:
    roles = entry.get("roles") or ["client"]
    for key, _title in COLUMNS:
        if key in roles:
            return key
    return "client"


def _client_edge(client: Mapping, mgmt_edge: str) -> str:
    if client["unreachable"] or client["ca_trusted"] is None:
        return "unknown"
    if client["video"] and not all(client["video"].values()):
        return "broken"
    if mgmt_edge == "encrypted":
        return "encrypted" if client["ca_trusted"] else "broken"
    return mgmt_edge


def diagram(report: Mapping) -> dict:
    """Boxes per column (management -> recording -> failover -> mobile, clients) and one edge
    per host from the management server, coloured by the host's measured state."""
    groups = {key: [] for key, _title in COLUMNS}
    for server in report["servers"]:
        groups[_column(server)].append({"host": server["host"], "state": server["state"], "edge": server["edge"]})
    mgmt = next(iter(groups["management"]), None)
    mgmt_edge = mgmt["edge"] if mgmt else "unknown"
    for client in report["clients"]:
        edge = _client_edge(client, mgmt_edge)
        groups["client"].append({"host": client["host"], "state": edge, "edge": edge})
    columns, x, height = [], 10, 0
    rows = max(ROWS_PER_COLUMN, -(-max(len(n) for n in groups.values()) // MAX_SUBCOLUMNS))
    for key, title in COLUMNS:
        nodes = groups[key]
        subs = max(1, -(-len(nodes) // rows))
        for i, node in enumerate(nodes):
            node.update(x=x + (i // rows) * SUB_W, y=40 + (i % rows) * (NODE_H + GAP_Y))
        columns.append({"key": key, "title": title, "x": x, "nodes": nodes})
        height = max(height, 40 + min(len(nodes), rows) * (NODE_H + GAP_Y))
        x += (subs - 1) * SUB_W + NODE_W + COL_GAP
    edges = []
    if mgmt:
        for column in columns[1:]:
            for node in column["nodes"]:
                edges.append(
                    {
                        "x1": mgmt["x"] + NODE_W,
                        "y1": mgmt["y"] + NODE_H / 2,
                        "x2": node["x"],
                        "y2": node["y"] + NODE_H / 2,
                        "state": node["edge"],
                        "host": node["host"],
                    }
                )
    return {"columns": columns, "edges": edges, "width": x, "height": height + 10, "node_w": NODE_W, "node_h": NODE_H}


def timeline(report: Mapping, now: _dt.datetime) -> dict:
    """One mark per certificate (every server's, and the CA's) on one time axis, with today and
    the renew-before date."""
    items = []
    ca = report["site"].get("ca")
    if ca and ca.get("not_after"):
        items.append({"label": "CA", "kind": "ca", "when": site_report.parse_time(ca["not_after"]), "cert": ca})
    for server in report["servers"]:
        cert = server.get("certificate") or {}
        when = site_report.parse_time(cert.get("not_after"))
        if when:
            items.append({"label": server["host"], "kind": "server", "when": when, "cert": cert})
    renew = now + _dt.timedelta(days=report["thresholds"]["renew_before"])
    points = [i["when"] for i in items] + [now, renew]
    start, end = min(points) - _dt.timedelta(days=15), max(points) + _dt.timedelta(days=30)
    width, left, right = 1200, 20, 20
    span = (end - start).total_seconds() or 1.0

    def xpos(when):
        return round(left + (when - start).total_seconds() / span * (width - left - right), 1)

    marks = []
    for index, item in enumerate(sorted(items, key=lambda i: i["when"])):
        marks.append(dict(item, x=xpos(item["when"]), y=50 + (index % 6) * 14, date=item["when"].strftime("%Y-%m-%d")))
    ticks = []
    year = start.year
    while _dt.datetime(year, 1, 1, tzinfo=_dt.timezone.utc) <= end:
        when = _dt.datetime(year, 1, 1, tzinfo=_dt.timezone.utc)
        if when >= start:
            ticks.append({"x": xpos(when), "label": str(year)})
        year += 1
    return {
        "marks": marks,
        "width": width,
        "height": 150,
        "today": xpos(now),
        "renew": xpos(renew),
        "today_label": now.strftime("%Y-%m-%d"),
        "renew_label": renew.strftime("%Y-%m-%d"),
        "ticks": ticks,
    }


def render(report: Mapping, now: _dt.datetime) -> str:
    with open(TEMPLATE, encoding="utf-8") as handle:
        source = handle.read()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    rows: List[dict] = []
    for server in report["servers"]:
        # A server whose certificate could not be read has none: every cell says "-".
        cert = dict(
            dict.fromkeys(("thumbprint", "expiry_date", "days_left", "expiry")), **(server.get("certificate") or {})
        )
        rows.append(
            {
                "host": server["host"],
                "kind": ", ".join(server["roles"]),
                "state": server["state"],
                "connected": server["connected"],
                "enabled": sorted(g for g, s in server["groups"].items() if s.startswith("enabled")),
                "cert": cert,
            }
        )
    return env.from_string(source).render(
        report=report, diagram=diagram(report), timeline=timeline(report, now), rows=rows
    )
