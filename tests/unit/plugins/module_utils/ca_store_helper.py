# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A separate process for test__ca_store.py: the ca module's backend, killed or slowed at a step.

``python ca_store_helper.py kill <folder> <step>``: create a CA in ``folder``; SIGKILL itself at
``step`` (a name passed to ``_ca_store._step``, or ``mid_key_write``: inside the write of the
staged key, after its temporary file holds half the bytes).
``python ca_store_helper.py slow <folder> <seconds>``: create a CA, pausing at every step.
``python ca_store_helper.py read <folder> <seconds>``: check-mode runs for that long; prints one
JSON line per run (created, thumbprint, reasons, or the error).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_store, fileutil, pki
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca as backend

PASS = "a long enough CA passphrase"  # noqa: S105 - a test value


def params(folder: str) -> dict:
    return {
        "path": folder,
        "cert_path": None,
        "key_path": None,
        "passphrase": PASS,
        "allow_unencrypted_key": False,
        "cert_content": None,
        "key_content": None,
        "common_name": "Crash Test CA",
        "key_size": 3072,
        "validity_days": 3650,
        "renew_before": 365,
        "import_cert_path": None,
        "import_key_path": None,
        "import_pfx_path": None,
        "import_passphrase": None,
        "import_chain_path": None,
        "rewrap_key": False,
    }


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(step: str) -> None:
    if step == "mid_key_write":
        real = fileutil.atomic_write

        def half(path, data, mode, **kw):
            if path.endswith(".key" + _ca_store.STAGED):
                folder = os.path.dirname(path)
                tmp = os.path.join(folder, f".{os.path.basename(path)}.crash{fileutil.TEMP_SUFFIX}")
                with open(tmp, "wb") as f:
                    f.write(data[: len(data) // 2])
                die()
            real(path, data, mode, **kw)

        fileutil.atomic_write = half
    else:
        _ca_store._step = lambda name: die() if name == step else None


def main() -> None:
    mode, folder, arg = sys.argv[1:4]
    if mode == "kill":
        kill_at(arg)
    elif mode == "slow":
        _ca_store._step = lambda name: time.sleep(float(arg))
    if mode in ("kill", "slow"):
        backend.run(params(folder), check_mode=False)
        return
    end = time.monotonic() + float(arg)
    while time.monotonic() < end:
        try:
            res = backend.run(params(folder), check_mode=True)
            out = {"created": res["created"], "thumbprint": res["thumbprint"], "reasons": res["reasons"]}
        except (pki.PkiError, fileutil.LockError) as e:
            out = {"error": str(e)}
        print(json.dumps(out), flush=True)
        time.sleep(0.01)


if __name__ == "__main__":
    main()
