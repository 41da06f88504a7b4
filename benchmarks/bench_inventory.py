# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the xprotect inventory plugin on a generated site of 2,000 recording servers.

A local HTTP server on 127.0.0.1 answers with the lab's REST API handler (replies memoised, so
the server's own cost stays out of the figures). Measured, median of --runs:

- anchor: ``ansible-inventory --list`` of a static YAML file with the same hosts and groups;
- ``ansible-inventory --list`` through the plugin, failover settings read in one request (auto);
- the same, one request per recording server (per_server, 8 workers);
- the same with the inventory cache warm;
- the plugin's own work in-process: HTTP + JSON (fetch_records) and building hosts (pure).

Goal (issue 6): under 5 s end to end. Run: ``python benchmarks/bench_inventory.py [--latency-ms 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.xprotect.encryption.plugins.inventory import xprotect as plugin  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import restapi  # noqa: E402

SETTINGS = {"api_user": "bench", "api_password": "bench-pass", "token_secret": "bench-secret"}
GOAL_S = 5.0


def generate(recording: int, failover: int, groups: int) -> List[Dict[str, Any]]:
    """Lab records: one management server, N recording servers, M failover servers in G groups."""

    def rec(name: str, roles: List[str], **extra: Any) -> Dict[str, Any]:
        base = {"name": f"{name}.bench.xprotect.test", "roles": roles, "address": "127.0.0.1"}
        base.update(id=str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), enabled=True, failover_group=None, hot_standby=None)
        base.update(extra)
        return base

    records = [rec("mgmt01", ["management"])]
    for n in range(1, recording + 1):
        group = f"Failover group {n % groups + 1}" if groups else None
        standby = f"fo{n:04d}.bench.xprotect.test" if n <= failover // 10 else None  # a few hot standbys
        records.append(rec(f"rs{n:04d}", ["recording"], failover_group=group, hot_standby=standby))
    for n in range(1, failover + 1):
        group = None if n <= failover // 10 else f"Failover group {n % groups + 1}"
        records.append(rec(f"fo{n:04d}", ["failover"], failover_group=group))
    return records


class MemoServer:
    """restapi.handle behind a keep-alive HTTP server; GET replies memoised per path."""

    def __init__(self, records: List[Dict[str, Any]], settings: Dict[str, Any], latency: float = 0.0) -> None:
        memo: Dict[str, Tuple[int, Dict[str, str], bytes]] = {}
        lock = threading.Lock()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if latency:
                    time.sleep(latency)  # a WAN / busy management server
                headers = dict(self.headers.items())
                with lock:
                    outer.requests += 1
                    cached = memo.get(self.path) if self.command == "GET" else None
                if cached is None:
                    cached = restapi.handle(records, settings, self.command, self.path, headers, body)
                    if self.command == "GET" and cached[0] == 200:
                        with lock:
                            memo[self.path] = cached
                status, out, payload = cached
                self.send_response(status)
                for key, value in out.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def timed(fn: Callable[[], Any], runs: int) -> Tuple[float, Any]:
    samples, result = [], None
    for _run in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def cli(source: Path, *extra: str) -> Dict[str, Any]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list", *extra],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)


def write_config(folder: Path, name: str, url: str, **extra: Any) -> Path:
    options = {"plugin": "xprotect.encryption.xprotect", "url": url, "username": SETTINGS["api_user"]}
    options.update(password=SETTINGS["api_password"], **extra)
    path = folder / name
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in options.items()))
    return path


def static_inventory(folder: Path, data: Dict[str, Any]) -> Path:
    """The same hosts, groups and host variables as a static YAML (JSON) file: the anchor."""
    hostvars = data["_meta"]["hostvars"]
    children = {}
    for group, body in data.items():
        if group in ("_meta", "all", "ungrouped"):
            continue
        children[group] = {"hosts": {h: _plain(hostvars.get(h, {})) for h in body.get("hosts", [])}}
    path = folder / "static.yml"
    path.write_text(json.dumps({"all": {"children": children}}))
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=int, default=2000)
    parser.add_argument("--failover", type=int, default=100)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request by the server")
    args = parser.parse_args()

    records = generate(args.recording, args.failover, args.groups)
    latency = args.latency_ms / 1000
    server = MemoServer(records, SETTINGS, latency)
    slow_server = MemoServer(records, dict(SETTINGS, bulk_failover_settings=False), latency)
    rows: List[Tuple[str, float, str]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            auto = write_config(folder, "auto.xprotect.yml", server.url)
            data = cli(auto)  # warm-up (and the source of the anchor's hosts)
            hosts = len(data["_meta"]["hostvars"])
            anchor, _result = timed(lambda: cli(static_inventory(folder, data)), args.runs)
            rows.append(("anchor: static YAML, same hosts/groups/vars", anchor, ""))

            before = server.requests
            t_auto, _result = timed(lambda: cli(auto), args.runs)
            auto_requests = (server.requests - before) // args.runs
            rows.append(("plugin --list, failover settings in 1 request", t_auto, f"{auto_requests} req/run"))

            per = write_config(folder, "per.xprotect.yml", server.url, failover_assignment="per_server", workers=8)
            before = server.requests
            t_per, _result = timed(lambda: cli(per), args.runs)
            per_requests = (server.requests - before) // args.runs
            rows.append(("plugin --list, 1 request per recording server", t_per, f"{per_requests} req/run"))

            fallback = write_config(folder, "fallback.xprotect.yml", slow_server.url)
            t_fb, _result = timed(lambda: cli(fallback), args.runs)
            rows.append(("plugin --list, auto without the bulk list", t_fb, "falls back to per server"))

            cache_dir = folder / "cache"
            cached = write_config(
                folder, "cached.xprotect.yml", server.url, cache=True, cache_plugin="ansible.builtin.jsonfile"
            )
            cached.write_text(cached.read_text() + f"cache_connection: {json.dumps(str(cache_dir))}\n")
            cli(cached)
            t_cache, _result = timed(lambda: cli(cached), args.runs)
            rows.append(("plugin --list, inventory cache warm", t_cache, ""))

            opts = {
                "url": server.url,
                "auth_type": "basic",
                "username": SETTINGS["api_user"],
                "password": SETTINGS["api_password"],
                "validate_certs": True,
                "ca_path": None,
                "timeout": 30.0,
                "include_disabled": False,
                "query": None,
                "management_server_name": None,
                "failover_assignment": "auto",
                "workers": 8,
                "include_record": False,
            }
            t_fetch, fetched = timed(lambda: plugin.fetch_records(opts), args.runs)
            rows.append(("in-process: fetch_records (HTTP + JSON)", t_fetch, f"{len(fetched)} records"))

            def build() -> inv.Inventory:
                chosen = inv.select_records(fetched, False, "[?enabled]")
                return inv.build_inventory(chosen, "mgmt01.bench.xprotect.test")

            t_build, built = timed(build, args.runs)
            rows.append(("in-process: query + hosts/groups (pure)", t_build, f"{len(built.hosts)} hosts"))
    finally:
        server.close()
        slow_server.close()

    print(
        f"Inventory benchmark: {args.recording} recording + {args.failover} failover servers, {hosts} hosts, "
        f"{args.latency_ms:g} ms added per request"
    )
    print(f"{'measure':50} {'median s':>9} {'x anchor':>9}  note")
    for name, seconds, note in rows:
        print(f"{name:50} {seconds:9.3f} {seconds / anchor:9.2f}  {note}")
    verdict = "met" if t_auto < GOAL_S else "MISSED"
    print(f"goal: plugin --list under {GOAL_S:.0f} s: {verdict} ({t_auto:.2f} s)")
    return 0 if t_auto < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
