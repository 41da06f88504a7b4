# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows host adapter: every host touch is one ansible.windows (or builtin) module call.

This is the only code in the collection that names an ansible.windows module. Each public
method of :class:`HostAdapter` maps to exactly one module, run through the calling action
plugin's ``_execute_module`` (the habit of ansible.windows' own ``win_reboot`` /
``win_updates`` action plugins), except ``write_file``, which runs the ``win_copy`` *action*
(see :meth:`WindowsAdapter._write_file`).

Behaviour of ansible.windows 3.3 that this module accounts for (read in the modules' .ps1):

- ``win_command`` declares ``supports_check_mode = $false``: in check mode it returns
  ``skipped`` without running anything. :meth:`run` therefore runs it with the task's check
  mode off, like ``check_mode: false`` on a task. **Callers must only pass read-only
  programs to run() in check mode** (netsh show, ``/listcertificategroups``).
- ``win_command`` reports the exit code as an unsigned DWORD (``GetExitCodeProcess``):
  Server Configurator's -4 arrives as 4294967292, certreq's 0x80070002 as 2147942402.
  :meth:`run` returns the signed 32-bit value, so exit-code tables can use -1..-4.
- ``win_command`` fails with ``msg: non-zero return code`` when rc != 0; that is a normal
  RunResult here. It fails *without* stdout when the program cannot be started (missing
  executable): that is an AdapterError.
- ``win_acl`` parses its arguments with ``Parse-Args $args`` (no ``-supports_check_mode``): in
  check mode it is skipped and cannot say whether a right is missing. In check mode
  :meth:`grant_key_read` reads the key's DACL with a read-only ``win_powershell`` snippet.
- ``win_certificate_info`` returns the DER as ``raw`` (its documentation says ``cert_data``);
  both are accepted. Its ``dns_names`` are the subject's simple name followed by SAN entries
  parsed from ``X509Extension.Format()``, which is localised ("DNS-Name=" on German Windows):
  the SAN names are therefore read from the DER when ``cryptography`` is available.
- ``win_service_info`` reports ``username`` as the raw service StartName
  (``NT AUTHORITY\\NetworkService``), which account lookups do not always resolve; well-known
  service accounts are passed to ``win_acl`` as SIDs.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import math
import os
import re
import shutil
import tempfile
from typing import Any, Iterator, Optional

from ansible.errors import AnsibleConnectionFailure, AnsibleError

try:  # psrp does not wrap every transport error as AnsibleConnectionFailure (see ansible.windows _reboot.py)
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - requests comes with pywinrm/pypsrp
    RequestException = AnsibleConnectionFailure

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the PKI core needs it anyway
    HAS_CRYPTOGRAPHY = False

from ansible_collections.xprotect.encryption.plugins.module_utils import _accounts, _text
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    CertificateEntry,
    HostAdapter,
    HostUnreachable,
    JobStatus,
    RegistryValue,
    RunResult,
    ServiceInfo,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils.powershell import FILE_VERSION, KEY_READ_GRANTED

# The modules, by FQCN. ansible.builtin.slurp runs ansible.windows' slurp.ps1 on a Windows host
# (ansible-core's builtin routing redirects slurp.ps1 to ansible.windows.slurp).
WIN_COMMAND = "ansible.windows.win_command"
SLURP = "ansible.builtin.slurp"
WIN_COPY = "ansible.windows.win_copy"
WIN_FILE = "ansible.windows.win_file"
WIN_CERTIFICATE_INFO = "ansible.windows.win_certificate_info"
WIN_CERTIFICATE_STORE = "ansible.windows.win_certificate_store"
WIN_ACL = "ansible.windows.win_acl"
WIN_SERVICE_INFO = "ansible.windows.win_service_info"
WIN_POWERSHELL = "ansible.windows.win_powershell"
WIN_REG_STAT = "ansible.windows.win_reg_stat"
# ansible-core's async_status action: it adds the shell's async_dir and runs async_status, which
# on a Windows host is ansible.windows' async_status.ps1 (ansible-core's builtin routing).
ASYNC_STATUS = "ansible.builtin.async_status"

STORE_LOCATION = "LocalMachine"


# Module failure text -> what the operator should do.
_HINTS = (
    (
        "specified network password is not correct",
        "The PFX password is wrong, or the PFX is encrypted with AES-256, which Windows Server 2016 "
        "cannot read: write it with PBE-SHA1-3DES (the default of this collection's PFX writer).",
    ),
    (
        "is not a valid user or group",
        "The account does not exist on this host or its domain: check the service account "
        "or the accounts listed for private-key access.",
    ),
    (
        "is not a valid account",
        "The account does not exist on this host or its domain: check the service account "
        "or the accounts listed for private-key access.",
    ),
    (
        "could not be translated",
        "The account does not exist on this host or its domain: check the service account "
        "or the accounts listed for private-key access.",
    ),
    (
        "access is denied",
        "Connect as a local administrator of the host (ansible_user), or use become.",
    ),
)


# -- pure helpers ------------------------------------------------------------------------------
def signed_exit_code(rc: Any) -> int:
    """The signed 32-bit exit code of a Windows process, from win_command's unsigned ``rc``."""
    value = int(rc)
    if 0x80000000 <= value <= 0xFFFFFFFF:
        return value - 0x100000000
    return value


def decode_text(data: bytes) -> str:
    """Decode a file read from Windows: UTF-8 (with or without BOM), UTF-16 LE/BE, UTF-32 with BOM.

    Windows tools (netsh redirected, certreq -v, PowerShell 5.1 ``Out-File``) write UTF-16 LE
    with a BOM; .NET writes the XProtect XML config files as UTF-8 with a BOM. A BOM-less
    UTF-16 file is recognised by its NUL bytes. Anything else that is not UTF-8 is read as
    Windows-1252, the ANSI code page of Western systems, with undecodable bytes replaced.
    """
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if len(data) >= 2 and len(data) % 2 == 0:
        sample = data[:512]
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.4 and even_nuls == 0:
            return data.decode("utf-16-le", errors="replace")
        if even_nuls > half * 0.4 and odd_nuls == 0:
            return data.decode("utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def normalize_thumbprint(value: str) -> str:
    """Uppercase hex without separators (``_text.normalize_thumbprint``, the collection's one
    normaliser); raises ValueError when it is not a SHA-1 thumbprint."""
    try:
        return _text.normalize_thumbprint(value)
    except _text.XProtectError as error:
        raise ValueError(str(error)) from None


def acl_principal(account: str) -> str:
    """The name to give win_acl for a service account: a SID for the well-known service accounts,
    in any spelling or language (``_accounts.well_known_sid``), which resolves on every host."""
    return _accounts.well_known_sid(account) or str(account).strip()


def _epoch_to_utc(value: Any) -> Optional[datetime.datetime]:
    try:
        seconds = round(float(value))
    except (TypeError, ValueError):
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _iso_to_utc(value: Any) -> Optional[datetime.datetime]:
    if not value:
        return None
    try:
        parsed = datetime.datetime.strptime(str(value).replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return parsed.astimezone(datetime.timezone.utc)


def _dedupe(names) -> tuple:
    seen = set()
    out = []
    for name in names:
        text = str(name or "").strip()
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return tuple(out)


def _names_from_der(der: bytes) -> Optional[tuple]:
    """CN values then SAN DNS names, from the certificate itself; None when it cannot be read."""
    if not HAS_CRYPTOGRAPHY:
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names.extend(san.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            pass
    except ValueError:
        return None
    return _dedupe(names)


def certificate_entry(info: dict) -> CertificateEntry:
    """Map one ``win_certificate_info`` ``certificates`` item to a CertificateEntry."""
    thumbprint = _text.clean_thumbprint(info.get("thumbprint")) or ""
    encoded = info.get("raw") or info.get("cert_data")
    if not encoded:
        raise ValueError(f"certificate {thumbprint} has neither 'raw' nor 'cert_data' (DER) in the module result")
    der = base64.b64decode(encoded)
    not_after = _epoch_to_utc(info.get("valid_to")) or _iso_to_utc(info.get("valid_to_iso8601"))
    if not_after is None:
        raise ValueError(f"certificate {thumbprint} has no readable 'valid_to' in the module result")
    names = _names_from_der(der)
    if names is None:
        names = _dedupe(info.get("dns_names") or [])
    return CertificateEntry(
        thumbprint=thumbprint or hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - Windows' thumbprint is SHA-1
        subject=str(info.get("subject") or ""),
        issuer=str(info.get("issuer") or ""),
        dns_names=names,
        not_after=not_after,
        has_private_key=bool(info.get("has_private_key")),
        der=der,
    )


def service_info(info: dict) -> ServiceInfo:
    """Map one ``win_service_info`` ``services`` item to a ServiceInfo."""
    return ServiceInfo(
        name=str(info.get("name") or ""),
        display_name=str(info.get("display_name") or ""),
        username=str(info.get("username") or ""),
        path=str(info.get("path") or ""),
        state=str(info.get("state") or ""),
    )


def failure_message(result: dict) -> str:
    """The reason a module result failed: ``msg``, else win_powershell's first error."""
    msg = str(result.get("msg") or "").strip()
    errors = result.get("error") or []
    if errors and isinstance(errors[0], dict):
        exception = errors[0].get("exception") or {}
        detail = str(exception.get("message") or errors[0].get("output") or "").strip()
        if detail:
            msg = f"{msg}: {detail}" if msg else detail
    stderr = str(result.get("module_stderr") or "").strip()
    if stderr:
        msg = f"{msg}: {stderr.splitlines()[-1]}" if msg else stderr
    return msg.rstrip(" .\r\n") or "the module failed without a message"


def _hint(message: str) -> str:
    lowered = message.lower()
    for needle, hint in _HINTS:
        if needle in lowered:
            return " " + hint
    return ""


def _windows_basename(path: str) -> str:
    return re.split(r"[\\/]", str(path).rstrip("\\/"))[-1]


class WindowsAdapter(HostAdapter):
    """A Windows host reached over WinRM/PSRP through the calling action plugin."""

    kind = "windows"

    def __init__(self, action, task_vars: dict):
        super().__init__(task_vars.get("inventory_hostname") or "the Windows host")
        self._action = action
        self._task_vars = task_vars

    # -- plumbing --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _check_mode(self, value: Optional[bool]) -> Iterator[None]:
        """Run one call with the task's check mode forced to ``value`` (None: leave it)."""
        task = self._action._task
        if value is None or bool(task.check_mode) == value:
            yield
            return
        saved = task.check_mode
        task.check_mode = value
        try:
            yield
        finally:
            task.check_mode = saved

    def _unreachable(self, module: str, error: Exception) -> HostUnreachable:
        return HostUnreachable(
            f"Host {self.host} became unreachable during {module}: {str(error).rstrip(' .')}. "
            "Check WinRM/PSRP connectivity and credentials, then run again: nothing after this step was done.",
            {"unreachable": True, "msg": str(error)},
        )

    def _checked(self, module: str, result: Any, allow_rc: bool = False, what: str = "") -> dict:
        if not isinstance(result, dict):
            raise AdapterError(f"{module} on {self.host} returned no result.", {})
        if result.get("unreachable"):
            raise self._unreachable(module, Exception(result.get("msg") or "unreachable"))
        if result.get("failed") and not (allow_rc and "rc" in result and "stdout" in result):
            message = failure_message(result)
            doing = f" ({what})" if what else ""
            raise AdapterError(f"{module}{doing} failed on {self.host}: {message}.{_hint(message)}", result)
        if result.get("skipped"):
            # Only a module that does not support check mode does this (we never pass creates/removes).
            raise AdapterError(
                f"{module} was skipped on {self.host}: {result.get('msg') or 'no reason given'}.", result
            )
        return result

    @contextlib.contextmanager
    def _async(self, seconds: Optional[float]) -> Iterator[None]:
        """Run one call as an ``async`` task of ``seconds`` (None: as the task says). ansible-core
        builds the Windows async wrapper and watchdog from ``task.async_val``
        (executor/powershell/module_manifest.py), inside the become wrapper of the task (runas)."""
        task = self._action._task
        if seconds is None:
            yield
            return
        saved = getattr(task, "async_val", 0)
        task.async_val = max(1, int(math.ceil(seconds)))
        try:
            yield
        finally:
            task.async_val = saved

    def _call(
        self,
        module: str,
        args: dict,
        *,
        check_mode: Optional[bool] = None,
        allow_rc: bool = False,
        what: str = "",
        async_seconds: Optional[float] = None,
    ) -> dict:
        """One module round-trip. ``args`` is a fresh dict: _execute_module adds _ansible_* keys to it."""
        try:
            with self._check_mode(check_mode), self._async(async_seconds):
                extra = {"wrap_async": True} if async_seconds is not None else {}
                result = self._action._execute_module(
                    module_name=module, module_args=args, task_vars=self._task_vars, **extra
                )
        except (AnsibleConnectionFailure, RequestException) as error:
            raise self._unreachable(module, error)
        except AnsibleError as error:
            hint = ""
            if "was not found" in str(error) or "could not be loaded" in str(error):
                hint = " Install the ansible.windows collection (>= 2.6.0) on the controller or execution environment."
            raise AdapterError(f"{module} could not run on {self.host}: {error}.{hint}", {})
        return self._checked(module, result, allow_rc=allow_rc, what=what)

    def _run_action(self, name: str, args: dict, allow_rc: bool = False) -> dict:
        """Run another action plugin (win_copy) for this host, as ansible.windows' win_template does.

        The task is a copy whose args are *only* ``args``: the calling task's own options must
        not reach win_copy, whose action forwards its task args to the module.
        """
        action = self._action
        task = action._task.copy()
        task.args = dict(args)
        handler = action._shared_loader_obj.action_loader.get(
            name,
            task=task,
            connection=action._connection,
            play_context=action._play_context,
            loader=action._loader,
            templar=action._templar,
            shared_loader_obj=action._shared_loader_obj,
        )
        if handler is None:
            raise AdapterError(
                f"The {name} action is not installed on the controller: install the ansible.windows collection.", {}
            )
        try:
            result = handler.run(task_vars=self._task_vars)
        except (AnsibleConnectionFailure, RequestException) as error:
            raise self._unreachable(name, error)
        except AnsibleError as error:
            raise AdapterError(f"{name} failed on {self.host}: {error}.", {})
        return self._checked(name, result, allow_rc=allow_rc)

    def _thumbprint(self, value: str) -> str:
        try:
            return normalize_thumbprint(value)
        except ValueError as error:
            raise AdapterError(f"Host {self.host}: {error}. Give the thumbprint as Windows shows it.", {})

    # -- the contract ----------------------------------------------------------------------
    def _run(self, argv):
        """win_command ``argv``; runs in check mode too (see the module docstring).

        argv items are passed verbatim (win_command escapes them with the C rules); unlike the
        ``path`` options of other modules, %VARS% are not expanded.
        """
        if not argv:
            raise AdapterError(f"Host {self.host}: run() needs a program to run.", {})
        result = self._call(WIN_COMMAND, {"argv": [str(a) for a in argv]}, check_mode=False, allow_rc=True)
        return RunResult(
            rc=signed_exit_code(result.get("rc") or 0),
            stdout=str(result.get("stdout") or ""),
            stderr=str(result.get("stderr") or ""),
        )

    def _start(self, argv, timeout):
        """win_command ``argv`` as an async job (``wrap_async``, ``async_val`` = ``timeout``): the
        module returns ``ansible_job_id`` as soon as the async wrapper has started the program."""
        if not argv:
            raise AdapterError(f"Host {self.host}: start() needs a program to run.", {})
        result = self._call(WIN_COMMAND, {"argv": [str(a) for a in argv]}, check_mode=False, async_seconds=timeout)
        job = str(result.get("ansible_job_id") or "")
        if not job:
            raise AdapterError(f"win_command on {self.host} started no async job: {failure_message(result)}.", result)
        return job

    def _status(self, job):
        """async_status ``jid`` (mode status). Until the job ends it says ``finished: 0``; then the
        job file holds win_command's result (``failed`` with ``rc`` for a non-zero exit, which is a
        normal result here). A failure without ``rc`` (the watchdog's time limit, a program that
        could not start) is an AdapterError."""
        result = self._run_action(ASYNC_STATUS, {"jid": str(job), "mode": "status"}, allow_rc=True)
        if not result.get("finished"):
            return JobStatus(job=str(job), finished=False)
        return JobStatus(
            job=str(job),
            finished=True,
            result=RunResult(
                rc=signed_exit_code(result.get("rc") or 0),
                stdout=str(result.get("stdout") or ""),
                stderr=str(result.get("stderr") or ""),
            ),
        )

    def _read_file(self, path):
        result = self._call(SLURP, {"src": path})
        try:
            data = base64.b64decode(result.get("content") or "")
        except (TypeError, ValueError) as error:
            raise AdapterError(f"slurp of {path} on {self.host} returned content that is not base64: {error}.", result)
        return decode_text(data)

    def _write_file(self, path, content):
        """Write ``content`` to ``path`` on the host with the ``ansible.windows.win_copy`` action.

        Why the action and not the module: win_copy's *module* never receives ``content`` and
        cannot transfer a file; its action plugin does that (checksum query, put_file into the
        remote tmp, then the module in ``single`` mode). Calling ``_execute_module`` directly
        cannot write anything, and ``content`` (text only) cannot carry a PFX. So the bytes (text
        is encoded as UTF-8 without BOM) go to a 0600 file in a private 0700 directory under
        Ansible's local tmp, the win_copy action copies it as ``src`` -> ``dest`` (one task, the
        way ansible.windows' win_template calls it), and the local file is removed in every case.

        Idempotent: when the host file already has the same SHA-1, nothing is transferred and the
        result is not changed. In check mode nothing is transferred. The parent folder must exist.
        """
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        local_dir = tempfile.mkdtemp(prefix="xprotect-", dir=_local_tmp())
        try:
            local = os.path.join(local_dir, _windows_basename(path) or "content")
            fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            # decrypt: false -> the bytes are copied as they are, even if they look like a vault file.
            result = self._run_action(WIN_COPY, {"src": local, "dest": path, "decrypt": False})
        finally:
            shutil.rmtree(local_dir, ignore_errors=True)
        return bool(result.get("changed"))

    def _delete_file(self, path):
        text = str(path or "").strip()
        # win_file state=absent deletes a folder recursively: refuse the obviously wrong paths.
        if not text or text.endswith(("\\", "/")) or re.match(r"^[A-Za-z]:[\\/]?$", text):
            raise AdapterError(f"Host {self.host}: refusing to delete {path!r}; give the full path of a file.", {})
        return bool(self._call(WIN_FILE, {"path": text, "state": "absent"}).get("changed"))

    def _list_certificates(self, store):
        result = self._call(WIN_CERTIFICATE_INFO, {"store_name": store, "store_location": STORE_LOCATION})
        entries = []
        for info in result.get("certificates") or []:
            try:
                entries.append(certificate_entry(info))
            except ValueError as error:
                raise AdapterError(
                    f"win_certificate_info on {self.host} ({STORE_LOCATION}\\{store}): {error}. "
                    "Use ansible.windows >= 2.6.0.",
                    result,
                )
        return entries

    def _import_certificate(self, path, store, password, key_exportable):
        args = {
            "path": path,
            "state": "present",
            "store_name": store,
            "store_location": STORE_LOCATION,
            # MachineKeySet: the key belongs to the computer, so services can be granted access to it.
            "key_storage": "machine",
            "key_exportable": bool(key_exportable),
        }
        if password is not None:
            args["password"] = password  # no_log in the module's own spec
        result = self._call(WIN_CERTIFICATE_STORE, args)
        return [tp for tp in (_text.clean_thumbprint(t) for t in result.get("thumbprints") or []) if tp]

    def _remove_certificate(self, thumbprint, store):
        args = {
            "thumbprint": self._thumbprint(thumbprint),
            "state": "absent",
            "store_name": store,
            "store_location": STORE_LOCATION,
        }
        return bool(self._call(WIN_CERTIFICATE_STORE, args).get("changed"))

    def _grant_key_read(self, thumbprint, account, check, store):
        """win_acl Read on ``Cert:\\LocalMachine\\<store>\\<thumbprint>``; in check mode a read-only probe.

        ``check`` (or the task's own check mode) reads the key's DACL with KEY_READ_GRANTED
        through win_powershell, because win_acl is skipped in check mode. Returns True when
        Read was (or would be) granted. win_acl handles any path of the Certificate provider
        (its ``_CertACLHelper`` opens the key through the certificate), so ``REQUEST`` works as
        ``My`` does: the pending key of a certreq request gets its right before ``-accept``.
        """
        tp = self._thumbprint(thumbprint)
        principal = acl_principal(account)
        store_name = _store_name(store)
        if check or self._action._task.check_mode:
            args = {
                "script": KEY_READ_GRANTED,
                "parameters": {"Thumbprint": tp, "Account": principal, "Store": store_name},
                "error_action": "stop",
            }
            result = self._call(WIN_POWERSHELL, args, what=f"reading whether {account} can read the key of {tp}")
            return not bool((result.get("result") or {}).get("granted"))
        args = {
            "path": f"Cert:\\LocalMachine\\{store_name}\\{tp}",
            "user": principal,
            "rights": "Read",
            "type": "allow",
            "state": "present",
        }
        return bool(self._call(WIN_ACL, args, what=f"granting {account} Read on the key of {tp}").get("changed"))

    def _list_services(self, name):
        result = self._call(WIN_SERVICE_INFO, {"name": name})
        return [service_info(s) for s in result.get("services") or []]

    def _file_version(self, path):
        args = {"script": FILE_VERSION, "parameters": {"Path": path}, "error_action": "stop"}
        answer = self._call(WIN_POWERSHELL, args, what=f"reading the file version of {path}").get("result") or {}
        if not answer.get("exists"):
            return None
        return str(answer.get("version") or "") or None

    def _read_registry(self, key, value):
        """win_reg_stat ``path``/``name``: read-only, supports check mode.

        win_reg_stat answers ``exists: false`` both for a missing key and a missing value, and
        returns REG_BINARY as a list of byte values (``value``) and of ``0x..`` strings
        (``raw_value``). It refuses a path that does not start with a hive drive (``HKLM:\\``).
        """
        result = self._call(WIN_REG_STAT, {"path": key, "name": value}, what=f"reading {key}\\{value}")
        exists = bool(result.get("exists"))
        return RegistryValue(
            key=key,
            name=value,
            exists=exists,
            type=str(result.get("type")) if exists and result.get("type") else None,
            value=result.get("value") if exists else None,
        )


def _store_name(store: str) -> str:
    """A LocalMachine store name for a ``Cert:`` path; refuses anything that would change the path."""
    if not isinstance(store, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,31}", store):
        raise AdapterError(f"store: {store!r} is not a certificate store name (e.g. My, REQUEST).")
    return store


def _local_tmp() -> Optional[str]:
    """Ansible's per-process local tmp (removed when ansible-playbook exits), else the system tmp."""
    try:
        from ansible import constants as C

        path = C.DEFAULT_LOCAL_TMP
    except Exception:  # outside a configured Ansible run
        return None
    return path if path and os.path.isdir(path) else None
