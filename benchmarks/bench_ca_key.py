# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the stronger CA key protection costs (issue 17, item 5): writing and opening the
encrypted CA key, PBKDF2-HMAC-SHA256 at 600,000 iterations (now) against 2,048 (before).

Opening is what every signing task pays once (the ca module, server_certificate per host,
server_certificates per batch); it is timed as they do it (``trusted_key``: OpenSSL's RSA
consistency check skipped). Median of ``--repeat`` on one 4096-bit key made untimed.

Run: ``python benchmarks/bench_ca_key.py [--repeat 15]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from ansible_collections.xprotect.encryption.plugins.module_utils import _pkcs8, pki  # noqa: E402

PHRASE = b"a long enough CA passphrase"


def median_ms(fn, repeat: int) -> float:
    times = []
    for _round in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ca = pki.create_ca("Bench CA", key_size=4096)
    old = ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(PHRASE)
    )
    new = pki.serialize_ca_key(ca, PHRASE)
    for name, pem, write in (
        ("before (PBKDF2 2,048)", old, lambda: ca.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PHRASE))),
        (f"now (PBKDF2 {_pkcs8.PBKDF2_ITERATIONS:,})", new, lambda: pki.serialize_ca_key(ca, PHRASE)),
    ):  # fmt: skip
        opened = median_ms(lambda pem=pem: pki.load_ca(ca.cert_pem, pem, PHRASE, trusted_key=True), args.repeat)
        written = median_ms(write, args.repeat)
        print(f"{name}: open {opened:.1f} ms, write {written:.1f} ms (median of {args.repeat})")


if __name__ == "__main__":
    main()
