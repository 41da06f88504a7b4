# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size and render time of the site report.

With ``--report <report.json>`` (written by a playbook run, for example on the 273-host lab site
of docs/lab.md), re-renders that document; without it, builds a report of the same shape from
synthetic results (1 management + 200 recording + 20 failover + 2 mobile servers + 50 clients).
Prints the sizes of report.json and report.html and the median time of ``--repeat`` renders.

Run: ``python benchmarks/bench_report.py [--report path/report.json] [--repeat 5]``.
Last line: ``report hosts=<n> json_kb=<size> html_kb=<size> render_ms=<median>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))

from ansible_collections.xprotect.encryption.plugins.module_utils import site_report  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.plugin_utils import report_html  # noqa: E402

NOW = dt.datetime.now(dt.timezone.utc)


def synthetic() -> dict:
    shape = [("mgmt", "xprotect_management_servers", 1, (443,))]
    shape += [
        ("rs", "xprotect_recording_servers", 200, (7563, 9001)),
        ("fo", "xprotect_failover_servers", 20, (7563, 9001)),
    ]
    shape += [("mob", "xprotect_mobile_servers", 2, (8081, 8082)), ("cl", "xprotect_clients", 50, ())]
    hv, probes, status = {}, [], {"hosts": {}}
    for prefix, group, count, ports in shape:
        for i in range(1, count + 1):
            host = f"{prefix}{i:03d}.lab.xprotect.test"
            tp = f"{abs(hash(host)):040X}"[-40:]
            end = (NOW + dt.timedelta(days=700 + i % 30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            hv[host] = {"group_names": [group], "xprotect_fqdn": host}
            if group == "xprotect_clients":
                hv[host]["trust"] = {"changed": False, "reasons": []}
                status["hosts"][host] = {"video": {f"rs{j:03d}.lab.xprotect.test": True for j in range(1, 201)}}
                continue
            hv[host]["cert"] = {"thumbprint": tp, "not_after": end, "names": [host, host.split(".", maxsplit=1)[0]]}
            hv[host]["state"] = {"groups": {"Server certificate": f"enabled ({tp})"}}
            status["hosts"][host] = {"connected": True}
            for port in ports:
                tls = port != 8081
                probes.append(
                    {
                        "label": host,
                        "port": port,
                        "reachable": True,
                        "tls": tls,
                        "verified": tls,
                        "tls_version": "TLSv1.3" if tls else None,
                        "thumbprint": tp if tls else None,
                        "not_after": end if tls else None,
                        "days_left": 700,
                        "chain": [{"issuer": "CN=XProtect VMS Root CA"}],
                    }
                )
    keys = {"certificate": "cert", "state": "state", "trust": "trust"}
    ca = {
        "subject": "CN=XProtect VMS Root CA",
        "thumbprint": "A" * 40,
        "not_before": "2026-01-01T00:00:00Z",
        "not_after": "2036-01-01T00:00:00Z",
    }
    thresholds = {"warn_days": 30, "fail_days": 14, "renew_before": 30}
    records = site_report.host_records(list(hv), hv, keys)
    return site_report.build(records, probes, ca, status, [], "site.yml", False, thresholds, NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--report", type=Path, help="a report.json to re-render")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8")) if args.report else synthetic()
    times, page = [], ""
    for _round in range(args.repeat):
        start = time.perf_counter()
        page = report_html.render(report, NOW)
        times.append(time.perf_counter() - start)
    hosts = len(report["servers"]) + len(report["clients"])
    json_kb = len(json.dumps(report, indent=1, sort_keys=True)) / 1024
    html_kb = len(page.encode()) / 1024
    print(f"source: {args.report or 'synthetic 273-host site'}")
    render_ms = statistics.median(times) * 1000
    print(f"report hosts={hosts} json_kb={json_kb:.0f} html_kb={html_kb:.0f} render_ms={render_ms:.0f}")


if __name__ == "__main__":
    main()
