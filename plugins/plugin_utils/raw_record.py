# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The raw record: every call an action made to a host through its adapter, and what came back.

The "first contact" audit of a real site (``playbooks/audit.yml -e xprotect_audit_raw=true``)
passes ``raw_record_file`` to each task; the action then attaches a :class:`RawRecorder` to its
adapter. The recorder wraps every method of the adapter contract (any public method of
:class:`HostAdapter` with a ``_<name>`` implementation, so a method added to the contract is
recorded without a change here) and keeps the arguments and the raw result: netsh output,
``/listcertificategroups``, configuration files, registry values, store listings, services.
At the end of the task the record, with the task's outcome (changed, failed, msg), is appended
to the host's JSON file, atomically.

What the record leaves out: passwords (``password`` arguments), file contents written to a host
(a PFX; only the size is kept), PEM private key blocks, and password-like values in the text read
(XML attributes and elements, ``<add key=... value=...>`` settings, connection-string parts).
Certificates (DER), thumbprints and public keys are kept: they are public.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import inspect
import json
import os
import re
from typing import Any, Callable, List, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import HostAdapter

FORMAT = 1
LEFT_OUT = "[left out]"

# Arguments never written: passwords, and the bytes written to a host (a PFX carries a private key).
_SECRET_ARGS = {"password", "passphrase", "pfx_passphrase"}
_CONTENT_ARGS = {"content"}

_SECRETLIKE_NAME = r"[\w.:-]*(?:password|passwd|pwd|secret|token|apikey|api_key)[\w.:-]*"
_REDACTIONS = (
    # PEM private keys, whatever their kind.
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
        "[private key left out]",
    ),
    # <add key="SmtpPassword" value="..."/> (.NET appSettings)
    (
        re.compile(r"""(<add\s+key\s*=\s*["']""" + _SECRETLIKE_NAME + r"""["']\s+value\s*=\s*)(["'])[^"']*\2""", re.I),
        r"\1\2" + LEFT_OUT + r"\2",
    ),
    # <Password>...</Password>, <SmtpPwd>...</SmtpPwd>
    (re.compile(r"(<(" + _SECRETLIKE_NAME + r")(?:\s[^>]*)?>)[^<]*(</\2>)", re.I), r"\1" + LEFT_OUT + r"\3"),
    # password="..." as an XML attribute
    (re.compile(r"(\b" + _SECRETLIKE_NAME + r"""\s*=\s*)(["'])[^"']*\2""", re.I), r"\1\2" + LEFT_OUT + r"\2"),
    # Password=...; in a connection string
    (re.compile(r"(\b(?:password|pwd)\s*=\s*)[^;\"'<\r\n]*", re.I), r"\1" + LEFT_OUT),
)


def redact(text: str) -> str:
    """``text`` without private keys and password-like values."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def plain(value: Any) -> Any:
    """A JSON-ready copy of an adapter result, with secrets left out of its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")  # DER of a certificate: public
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


def plain_arguments(arguments: dict) -> dict:
    out = {}
    for name, value in arguments.items():
        if name == "self":
            continue
        if name in _SECRET_ARGS:
            out[name] = None if value is None else LEFT_OUT
        elif name in _CONTENT_ARGS:
            size = len(value.encode("utf-8") if isinstance(value, str) else bytes(value or b""))
            out[name] = f"[left out: {size} bytes]"
        else:
            out[name] = plain(value)
    return out


def contract_methods(cls: type = HostAdapter) -> List[str]:
    """The adapter contract: every public method of ``cls`` with a ``_<name>`` implementation."""
    return sorted(
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and callable(getattr(cls, "_" + name, None))
    )


class RawRecorder:
    """Records the adapter calls of one task; :meth:`save` appends them to the host's file."""

    def __init__(self, path: str, host: str, task: str, action: str, check_mode: bool):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.host = host
        self.record = {
            "task": task,
            "action": action,
            "check_mode": bool(check_mode),
            "started": _now(),
            "calls": [],
        }

    def attach(self, adapter: HostAdapter) -> HostAdapter:
        """Route every contract method of ``adapter`` through the recorder (on this instance only)."""
        for name in contract_methods(type(adapter)):
            setattr(adapter, name, self._wrap(name, getattr(adapter, name)))
        return adapter

    def _wrap(self, name: str, method: Callable) -> Callable:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def recorded(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                arguments = plain_arguments(dict(bound.arguments))
            except TypeError:
                arguments = {"args": LEFT_OUT}
            call = {"method": name, "arguments": arguments}
            self.record["calls"].append(call)
            try:
                result = method(*args, **kwargs)
            except Exception as error:
                call["error"] = redact(str(getattr(error, "message", None) or error))
                raise
            call["result"] = plain(result)
            return result

        return recorded

    def save(self, result: Optional[dict] = None) -> Optional[str]:
        """Append this task's record, with the task's outcome from ``result``, to the host's file
        (atomically, 0600). Returns a problem, or None."""
        self.record["finished"] = _now()
        if result is not None:
            self.record["outcome"] = {
                key: plain(result[key])
                for key in ("changed", "failed", "unreachable", "skipped", "msg")
                if key in result
            }
        try:
            document = {"format": FORMAT, "host": self.host, "tasks": []}
            if os.path.exists(self.path):
                with open(self.path, encoding="utf-8") as handle:
                    earlier = json.load(handle)
                if isinstance(earlier, dict) and earlier.get("host") == self.host:
                    document["tasks"] = list(earlier.get("tasks") or [])
            document["tasks"].append(self.record)
            fileutil.ensure_dir(os.path.dirname(self.path), 0o700)
            data = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
            fileutil.atomic_write(self.path, data, 0o600, durable=False)
        except (OSError, ValueError) as error:
            return (
                f"raw_record_file: the raw record of {self.host} could not be written to {self.path} ({error}). "
                "Give a writable path on the controller; the task itself was not affected."
            )
        return None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
