# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend of the ``xprotect.encryption.tls_probe`` module: read the CA, probe, count, judge.

The handshakes, the verification and the verdict are ``module_utils/tls_probe.py``'s (pure
but for the sockets). This reads the CA file the module names and turns a ``ProbeError`` into an
``ArgumentError`` naming the option, so that ``common.run_module`` fails the task the way it does
for the other controller modules. The probe only reads, so check mode changes nothing here.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import tls_probe, validate

# The options a ProbeError's message starts with.
_OPTIONS = ("ca_cert", "endpoints", "fail_on")


# The options, as the module (plugins/modules/tls_probe.py) and the action plugin of the same
# name (plugins/action/tls_probe.py, what a task runs) both check them.
ARGUMENT_SPEC = {
    "endpoints": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "server_name": {"type": "str"},
            "label": {"type": "str"},
        },
    },
    "ca_cert": {"type": "str"},
    "ca_cert_path": {"type": "path"},
    "ca": {"type": "dict", "options": {"path": {"type": "path"}, "cert_content": {"type": "str"}}},
    "extra_ca_certs": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "float", "default": 5.0},
    "workers": {"type": "int", "default": 32},
    "fail_on": {"type": "list", "elements": "str", "choices": list(tls_probe.FAIL_ON_CHOICES), "default": []},
    "expiring_days": {"type": "int", "default": 30},
    "expect": {"type": "str", "choices": list(tls_probe.EXPECT_CHOICES), "default": "any"},
    "settle_timeout": {"type": "float", "default": 0.0},
    "settle_per": {"type": "str", "choices": list(tls_probe.SETTLE_PER_CHOICES), "default": "endpoint"},
}
RELATIONS = {"mutually_exclusive": [("ca_cert", "ca_cert_path", "ca")]}


def _endpoint(value: dict, option: str) -> dict:
    value["host"] = validate.text(value["host"], f"{option}.host", spaces=False)
    value["port"] = validate.whole_number(value["port"], f"{option}.port", 1, 65535)
    for key in ("server_name", "label"):
        if value.get(key) is not None:
            value[key] = validate.text(value[key], f"{option}.{key}", spaces=key == "label")
    return value


RULES = {
    "endpoints": validate.list_of(_endpoint),
    "timeout": validate.bounded(validate.number, above=0, maximum=600),
    "workers": validate.bounded(validate.whole_number, 1, 256),
    "expiring_days": validate.days,
    "settle_timeout": validate.bounded(validate.number, 0, 3600),
}


def write_error(e: OSError) -> str:
    """The message of an OSError the probe meets: it writes nothing, so it is the CA file's."""
    return f"ca_cert_path: cannot read the CA ({e})."


def _ca_file(p: dict) -> Tuple[str, Optional[str]]:
    """The option that names the CA file, and the file: ``ca_cert_path``, or ``ca.crt`` under ``ca.path``."""
    ca = p.get("ca") or {}
    if ca.get("path") and not ca.get("cert_content"):
        return "ca.path", os.path.join(ca["path"], "ca.crt")
    return "ca_cert_path", p["ca_cert_path"]


def read_ca(p: dict) -> Optional[str]:
    """The CA bundle (PEM text) from ``ca_cert_path``, ``ca_cert`` or ``ca``; None when none is given."""
    option, path = _ca_file(p)
    if not path:
        return (p.get("ca") or {}).get("cert_content") or p["ca_cert"]
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise validate.ArgumentError(
            f"{option}: cannot read {path} ({e}). Give the path of the CA certificate (PEM).", option
        ) from e


def _argument_error(e: tls_probe.ProbeError, p: dict) -> validate.ArgumentError:
    msg = str(e)
    option = next((o for o in _OPTIONS if msg.startswith((f"{o}:", f"{o}["))), None)
    file_option, path = _ca_file(p)
    if option == "ca_cert" and path:
        # The text came from the file: name the file, not the value option the user did not set.
        option, msg = file_option, msg.replace("ca_cert:", f"{file_option} ({path}):", 1)
    elif option == "ca_cert" and (p.get("ca") or {}).get("cert_content"):
        option, msg = "ca.cert_content", msg.replace("ca_cert:", "ca.cert_content:", 1)
    return validate.ArgumentError(msg, option)


def extra_anchors(pems: list) -> list:
    """The anchors of ``extra_ca_certs`` (roots of brought certificates); an error names the entry."""
    anchors = []
    for number, pem in enumerate(pems):
        try:
            anchors += tls_probe.load_ca_certs(pem)
        except tls_probe.ProbeError as e:
            msg = str(e).replace("ca_cert:", f"extra_ca_certs[{number}]:", 1)
            raise validate.ArgumentError(msg, "extra_ca_certs") from e
    return anchors


def run(p: dict, check_mode: bool) -> dict:
    """Probe every endpoint; ``failure`` is the task's failure message when a ``fail_on`` category is hit."""
    if p["settle_timeout"] and p["expect"] == "any":
        raise validate.ArgumentError(
            "settle_timeout: waiting needs something to wait for - set expect to tls or plain, or settle_timeout to 0.",
            "settle_timeout",
        )
    ca_text = read_ca(p)
    try:
        cas = tls_probe.load_ca_certs(ca_text) + extra_anchors(p.get("extra_ca_certs") or [])
        if "untrusted" in p["fail_on"] and not cas:
            raise tls_probe.ProbeError(
                "fail_on: 'untrusted' needs the CA to verify against - set ca_cert or ca_cert_path."
            )
        probed = tls_probe.probe_settled(
            p["endpoints"],
            p["expect"],
            p["settle_timeout"],
            p["settle_per"],
            ca_pem=cas,
            timeout=p["timeout"],
            workers=p["workers"],
        )
    except tls_probe.ProbeError as e:
        raise _argument_error(e, p) from e
    results, have_ca = probed["endpoints"], bool(cas)
    for res in results:
        res["expiring"] = res.get("days_left") is not None and res["days_left"] < p["expiring_days"]
    return {
        "changed": False,
        "endpoints": results,
        "settle": probed["settle"],
        "counts": tls_probe.summarize(results, p["expiring_days"], have_ca),
        "failure": tls_probe.failure_message(results, p["fail_on"], p["expiring_days"], have_ca),
    }
