# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the PKI core against the community.crypto chain, measured in the same run.

(a) ``xprotect.encryption.server_certificates``: key, certificate and PFX for N hosts in ONE task,
    through ``ansible-playbook`` on localhost (a one-task playbook, so Ansible's own start-up is
    counted as it is for the chain), against ``../shared/bench/community_crypto_chain/run.sh N F``
    (openssl_privatekey, openssl_csr, x509_certificate ownca, openssl_pkcs12 per host);
(b) the idempotent re-run of both;
(c) ``pki.sign_csrs`` on 1,000 CSRs in one batch (the CSRs are made first, untimed).

Both sides use a 4096-bit CA made untimed beforehand. The last line reads
``speedup first=<chain_first/ours_first> rerun=<chain_rerun/ours_rerun>``; the goal is >= 20 on both.

Ours is run ``--repeat`` times (median), the chain once (it takes minutes).

Run: ``python benchmarks/bench_pki.py [--hosts 50] [--forks 5] [--csrs 1000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CHAIN = SHARED / "bench" / "community_crypto_chain" / "run.sh"
sys.path.insert(0, str(REPO / ".collections"))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from ansible_collections.xprotect.encryption.plugins.module_utils import pki  # noqa: E402
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.winformats import build_csr  # noqa: E402

CA_PASS = "bench ca phrase"  # noqa: S105 - a throwaway CA in a temporary folder
PFX_PASS = "changeit"  # noqa: S105 - the chain's own PFX passphrase
GOAL = 20.0


def env(own_config: bool = True) -> dict:
    """Our runs use the repository's ansible.cfg; the chain runs with Ansible's defaults, as its users do."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    e.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="False",
        PATH=f"{Path(sys.executable).parent}:{e.get('PATH', '')}",
    )
    if own_config:
        e["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    return e


def playbook(hosts: int, work: Path) -> Path:
    names = "\n".join(f"          - name: rs{i:03d}.vms.example.com" for i in range(hosts))
    path = work / "server_certificates.yml"
    path.write_text(
        f"""- name: One task for every server's key, certificate and PFX
  hosts: localhost
  gather_facts: false
  tasks:
    - name: PFX flow batch
      xprotect.encryption.server_certificates:
        path: {work}/servers
        ca_cert_path: {work}/ca.crt
        ca_key_path: {work}/ca.key
        ca_passphrase: "{CA_PASS}"
        pfx_passphrase: "{PFX_PASS}"
        hosts:
{names}
"""
    )
    return path


def run_ours(book: Path, expect_changed: int) -> float:
    argv = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
            f"ansible_python_interpreter={sys.executable}", str(book)]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or f"changed={expect_changed}" not in proc.stdout:
        sys.exit(f"server_certificates run failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def run_chain(hosts: int, forks: int, work: Path) -> tuple[float, float]:
    if not CHAIN.exists():
        sys.exit(f"the anchor {CHAIN} is missing; it lives in the shared folder beside the repository")
    chain_env = dict(env(own_config=False), N=str(hosts))
    # Prove the chain really gets N hosts (an unparsed inventory would make it fast and wrong).
    listed = subprocess.run(["ansible-inventory", "-i", str(CHAIN.parent / "inventory.py"), "--graph", "recording"],
                            cwd=work, env=chain_env, capture_output=True, text=True, check=False)  # fmt: skip
    if listed.stdout.count(".vms.example.com") != hosts:
        sys.exit(f"the chain's inventory does not list {hosts} hosts:\n{listed.stdout}\n{listed.stderr}")
    proc = subprocess.run(["bash", str(CHAIN), str(hosts), str(forks)], cwd=work, env=chain_env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    m = re.search(r"first run ([\d.]+) s, idempotent re-run ([\d.]+) s", proc.stdout)
    if proc.returncode != 0 or not m:
        sys.exit(f"community.crypto chain failed:\n{proc.stdout}\n{proc.stderr}")
    return float(m.group(1)), float(m.group(2))


def bench_sign(count: int) -> float:
    ca = pki.create_ca("Bench CA", key_size=4096)
    keys = [pki.generate_key() for _key in range(8)]  # the signing cost does not depend on key reuse
    requests = []
    for i in range(count):
        fqdn = f"rs{i:04d}.vms.example.com"
        csr = build_csr(keys[i % len(keys)], fqdn).public_bytes(serialization.Encoding.PEM)
        requests.append(pki.SignRequest(fqdn, csr, fqdn, tuple(pki.host_names(fqdn))))
    t0 = time.perf_counter()
    results = pki.sign_csrs(ca, requests)
    elapsed = time.perf_counter() - t0
    bad = [r for r in results if r.error]
    if bad:
        sys.exit(f"{len(bad)} CSRs failed, first: {bad[0].error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--forks", type=int, default=5)
    parser.add_argument("--csrs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (median); the chain runs once")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, cryptography {cryptography.__version__}")

    ca = pki.create_ca("Bench Root CA", key_size=4096)  # untimed, as ca.yml is for the chain
    firsts, reruns = [], []
    for _attempt in range(args.repeat):  # each repetition in a fresh folder; the median resists a busy machine
        with tempfile.TemporaryDirectory(prefix="bench-pki-") as tmp:
            work = Path(tmp)
            (work / "ca.crt").write_text(ca.cert_pem)
            (work / "ca.key").write_bytes(pki.serialize_ca_key(ca, CA_PASS.encode()))
            book = playbook(args.hosts, work)
            firsts.append(run_ours(book, expect_changed=1))
            reruns.append(run_ours(book, expect_changed=0))
            made = len(list((work / "servers").glob("*.pfx")))
            if made != args.hosts:
                sys.exit(f"expected {args.hosts} PFX files, found {made}")
    ours_first, ours_rerun = statistics.median(firsts), statistics.median(reruns)
    print(
        f"server_certificates, N={args.hosts}, one task, median of {args.repeat}: first run {ours_first:.2f} s, "
        f"re-run {ours_rerun:.2f} s (runs: {' '.join(f'{t:.2f}' for t in firsts)} / "
        f"{' '.join(f'{t:.2f}' for t in reruns)})"
    )

    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        chain_first, chain_rerun = run_chain(args.hosts, args.forks, Path(tmp))
    print(
        f"community.crypto chain, N={args.hosts} forks={args.forks}: first run {chain_first:.1f} s, "
        f"re-run {chain_rerun:.1f} s"
    )
    first, rerun = chain_first / ours_first, chain_rerun / ours_rerun
    print(f"(a) first run: {first:.1f}x faster (goal {GOAL:.0f}x)")
    print(f"(b) idempotent re-run: {rerun:.1f}x faster (goal {GOAL:.0f}x)")

    elapsed = bench_sign(args.csrs)
    print(f"(c) sign_csrs: {args.csrs} CSRs in {elapsed:.2f} s = {args.csrs / elapsed:.0f} CSRs/s (4096-bit CA)")
    print(f"speedup first={first:.1f} rerun={rerun:.1f}")


if __name__ == "__main__":
    main()
