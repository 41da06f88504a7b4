# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the lab (issue 3 part 9): a site of 1 + 200 recording + 20 failover + 2 mobile + 50 clients.

Prints, in one run:

- the site's creation time and the site process's start-up time (until status.json says ready),
  against an anchor: the time the same Python takes to import the site process's module;
- the resident memory of the site process, against the anchor of a bare Python interpreter;
- TLS handshakes per second the process sustains on its own loopback endpoints (openssl s_time
  clients, new session each time, a bounded time), against the anchor of ``openssl s_server``
  serving the same certificate on this machine;
- the resident memory of the site process while clients connect to a TLS endpoint and never
  start the handshake (``--idle`` connections, held ``--hold`` seconds, closed, ``--rounds``
  times): it must stay flat from round to round.

Goals: start-up under 10 s, under 300 MB, also with the idle clients.

    python benchmarks/bench_lab.py [--seconds 5] [--clients 4] [--idle 600 --rounds 4 --hold 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"
sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.xprotect.encryption.plugins.module_utils import _server_configurator, pki  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter  # noqa: E402

SIZE = {
    "management_servers": 1,
    "recording_servers": 200,
    "failover_servers": 20,
    "mobile_servers": 2,
    "event_servers": 0,
    "clients": 50,
}
ADMIN = "LAB\\milestone-admin"
TLS_HOSTS = 20  # recording servers given a certificate and switched to TLS for the handshake test


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def anchor_import_seconds() -> float:
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", f"import {site.SERVER_MODULE}"], env=env, check=True)
    return time.monotonic() - t0


def anchor_rss_mb() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    time.sleep(0.5)
    try:
        return rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def s_time(targets, seconds: int, clients: int):
    """Total handshakes/s of ``clients`` parallel openssl s_time runs, spread over ``targets``."""
    procs = []
    for i in range(clients):
        host, port, name = targets[i % len(targets)]
        procs.append(
            subprocess.Popen(
                ["openssl", "s_time", "-connect", f"{host}:{port}", "-new", "-time", str(seconds)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    total, wall = 0, 0.0
    for p in procs:
        out = p.communicate(timeout=seconds * 10 + 30)[0]
        m = re.search(r"(\d+) connections in (\d+) real seconds", out)
        if m:
            total += int(m.group(1))
            wall = max(wall, float(m.group(2)))
    return total / wall if wall else 0.0


def setup_tls(lab: model.Site, ca, count: int):
    """Trust the CA on the management server and ``count`` recording servers, give them a certificate
    (one shared key: key generation is not what is measured) and switch them to TLS the safe way."""
    key = pki.generate_key(2048)
    hosts = [lab.management_name(), *lab.names_with("recording")[:count]]
    guid = model.DEFAULT_GROUP_IDS
    for host in hosts:
        a = LabAdapter(lab.path, host, run_as=ADMIN)
        cert = pki.issue_certificate(ca, key.public_key(), host, pki.host_names(host), clamp_to_ca=True)
        a.write_file("C:\\Windows\\Temp\\ca.crt", ca.cert_pem)
        a.import_certificate("C:\\Windows\\Temp\\ca.crt", "Root")
        a.write_file("C:\\Windows\\Temp\\c.pfx", pki.write_pfx(key, cert, [], b"bench", host))
        tp = a.import_certificate("C:\\Windows\\Temp\\c.pfx", "My", password="bench")[0]  # noqa: S106
        for svc in a.list_services():
            a.grant_key_read(tp, svc.username)
        exe = model.CONFIGURATOR_PATH
        groups = ["server"] if host == lab.management_name() else ["server", "streaming"]
        for g in groups:
            res = a.run(_server_configurator.enable_argv(exe, guid[g], tp))
            assert res.rc == 0, (host, g, res)
    return hosts, key


def idle_rounds(pid: int, address, count: int, rounds: int, hold: float) -> list:
    """RSS (MB) of the site process after each round of ``count`` idle TLS connections."""
    after = []
    for _round in range(rounds):
        socks = []
        try:
            for _i in range(count):
                socks.append(socket.create_connection(address, timeout=5))
            time.sleep(hold)
        finally:
            for s in socks:
                s.close()
        time.sleep(1.5)  # the process notices the closed connections and frees what they held
        after.append(rss_mb(pid))
    return after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle", type=int, default=600, help="idle TLS connections per round (0: skip)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each round holds its connections")
    parser.add_argument("--keep", action="store_true", help="leave the site folder and process")
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        print("openssl CLI is needed for the handshake test")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    path = work / "site"
    n_hosts = sum(SIZE.values())
    print(f"lab benchmark: {n_hosts} hosts ({json.dumps(SIZE)}), {os.cpu_count()} CPU(s)")
    try:
        t0 = time.monotonic()
        site.ensure_site(str(path), counts=SIZE)
        create = time.monotonic() - t0
        started = site.start(str(path))
        startup = started["startup_seconds"]
        pid = started["pid"]
        time.sleep(0.5)
        rss = rss_mb(pid)
        anchor_start, anchor_rss = anchor_import_seconds(), anchor_rss_mb()
        print(f"create site:        {create:6.2f} s")
        print(
            f"start-up (to ready):{startup:6.2f} s   anchor (import the module) {anchor_start:.2f} s, "
            f"ratio {startup / anchor_start:.1f}x   goal < 10 s: {'PASS' if startup < 10 else 'FAIL'}"
        )
        print(
            f"site process RSS:   {rss:6.1f} MB  anchor (bare python) {anchor_rss:.1f} MB, "
            f"ratio {rss / anchor_rss:.1f}x   goal < 300 MB: {'PASS' if rss < 300 else 'FAIL'}"
        )

        lab = model.Site(str(path))
        ca = pki.create_ca(key_size=3072)
        t0 = time.monotonic()
        hosts, key = setup_tls(lab, ca, TLS_HOSTS)
        switch = time.monotonic() - t0
        status = site.wait_current(str(path))
        targets = [(status["hosts"][h]["address"], lab.port(h, 7563), h) for h in hosts[1:]]
        print(
            f"switch {len(hosts)} hosts to TLS through the adapter: {switch:.2f} s "
            f"({switch / len(hosts) * 1000:.0f} ms per host, certificate import included)"
        )
        rate = s_time(targets, args.seconds, args.clients)

        # Anchor: openssl s_server with the same kind of certificate, same clients.
        cert = pki.issue_certificate(ca, key.public_key(), "anchor", ["anchor"], clamp_to_ca=True)
        (work / "a.crt").write_text(pki.cert_pem(cert) + ca.cert_pem)
        (work / "a.key").write_bytes(pki.private_key_pem(key))
        anchor_port = 29443
        server = subprocess.Popen(
            [
                "openssl",
                "s_server",
                "-accept",
                f"127.0.0.1:{anchor_port}",
                "-cert",
                str(work / "a.crt"),
                "-key",
                str(work / "a.key"),
                "-quiet",
                "-naccept",
                "1000000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        try:
            anchor_rate = s_time([("127.0.0.1", anchor_port, "anchor")], args.seconds, args.clients)
        finally:
            server.kill()
            server.wait()
        rss_after = rss_mb(pid)
        print(
            f"TLS handshakes/s:   {rate:8.0f}  ({args.clients} openssl s_time clients, {args.seconds} s, "
            f"{len(targets)} endpoints)  anchor openssl s_server {anchor_rate:.0f}/s, "
            f"ratio {rate / anchor_rate if anchor_rate else float('nan'):.2f}"
        )
        print(f"site process RSS after the handshakes: {rss_after:.1f} MB")
        idle = idle_rounds(pid, targets[0][:2], args.idle, args.rounds, args.hold) if args.idle else []
        if idle:
            print(
                f"site process RSS after {args.rounds} rounds of {args.idle} idle TLS connections held "
                f"{args.hold:g} s: {', '.join(f'{v:.0f}' for v in idle)} MB   goal < 300 MB and flat: "
                f"{'PASS' if max(idle) < 300 and idle[-1] - idle[0] < 50 else 'FAIL'}"
            )
        print(f"lab startup={startup:.2f}s rss={rss:.0f}MB handshakes={rate:.0f}/s idle_rss={max(idle or [0]):.0f}MB")
        return 0 if startup < 10 and rss < 300 and (not idle or max(idle) < 300) else 1
    finally:
        if not args.keep:
            site.destroy(str(path))
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
