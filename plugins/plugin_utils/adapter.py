# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host adapter contract: the one way an action plugin touches a host.

Two implementations share this interface:

- ``WindowsAdapter`` (``windows.py``): each method is exactly one call to an
  ansible.windows or ansible.builtin module through the action plugin's
  ``_execute_module``. It is the only code in the collection that names an
  ansible.windows module.
- ``LabAdapter`` (``_lab/adapter.py``): the simulated XProtect host of the lab, loaded only
  when a host's ``xprotect_host_adapter`` is ``lab``.

Action plugins get an adapter from :func:`get_adapter` and never learn which one it is.
Every public method counts as one module round-trip in :attr:`HostAdapter.calls`, so
tests can assert what a run cost.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Optional, Sequence

ADAPTER_VAR = "xprotect_host_adapter"
ADAPTER_KINDS = ("windows", "lab")


class AdapterError(Exception):
    """A module call on the host failed. ``message`` says what to do."""

    def __init__(self, message: str, result: Optional[dict] = None):
        super().__init__(message)
        self.message = message
        self.result = result or {}


class HostUnreachable(AdapterError):
    """The host could not be reached (as Ansible's ``unreachable``)."""


@dataclasses.dataclass(frozen=True)
class RunResult:
    rc: int
    stdout: str
    stderr: str


@dataclasses.dataclass(frozen=True)
class CertificateEntry:
    """One certificate in a LocalMachine store, as win_certificate_info reports it."""

    thumbprint: str  # uppercase hex SHA-1 of the DER
    subject: str
    issuer: str
    dns_names: tuple
    not_after: datetime.datetime  # timezone-aware UTC
    has_private_key: bool
    der: bytes


@dataclasses.dataclass(frozen=True)
class ServiceInfo:
    """One Windows service, as win_service_info reports it."""

    name: str
    display_name: str
    username: str  # the account it runs as (StartName), e.g. 'NT AUTHORITY\\NetworkService'
    path: str  # the full command line of the service binary
    state: str  # 'started', 'stopped', ...


@dataclasses.dataclass(frozen=True)
class RegistryValue:
    """One registry value, as win_reg_stat reports it.

    ``exists`` is False when the key or the value is absent (win_reg_stat does not tell the two
    apart). ``type`` is ``REG_BINARY``, ``REG_SZ``, ...; ``value`` is as the module returns it:
    a list of byte values for REG_BINARY, a string or an int otherwise.
    """

    key: str
    name: str
    exists: bool
    type: Optional[str] = None
    value: object = None


@dataclasses.dataclass(frozen=True)
class JobStatus:
    """A program started with :meth:`HostAdapter.start`, as async_status reports it: ``finished``,
    and when it is, the program's ``result``."""

    job: str
    finished: bool
    result: Optional[RunResult] = None


class HostAdapter:
    """Base class: the contract table of design.md. Subclasses implement the ``_`` methods."""

    kind = "abstract"

    def __init__(self, host: str):
        self.host = host
        self.calls = 0
        self.call_log: list = []

    def _count(self, method: str) -> None:
        self.calls += 1
        self.call_log.append(method)

    # -- the contract -------------------------------------------------------------------
    def run(self, argv: Sequence[str]) -> RunResult:
        """Run a program with an argv list (win_command ``argv``)."""
        self._count("run")
        return self._run(list(argv))

    def read_file(self, path: str) -> str:
        """Read a text file (slurp). Raises AdapterError when it does not exist."""
        self._count("read_file")
        return self._read_file(path)

    def write_file(self, path: str, content) -> bool:
        """Write ``content`` (str or bytes) to ``path`` (win_copy). Returns changed."""
        self._count("write_file")
        return self._write_file(path, content)

    def delete_file(self, path: str) -> bool:
        """Delete a file if present (win_file state=absent). Returns changed."""
        self._count("delete_file")
        return self._delete_file(path)

    def list_certificates(self, store: str) -> list:
        """Certificates of ``LocalMachine\\<store>`` (win_certificate_info)."""
        self._count("list_certificates")
        return self._list_certificates(store)

    def import_certificate(
        self, path: str, store: str, password: Optional[str] = None, key_exportable: bool = False
    ) -> list:
        """Import a PEM/DER/PFX file into ``LocalMachine\\<store>`` (win_certificate_store).

        Returns the thumbprints imported.
        """
        self._count("import_certificate")
        return self._import_certificate(path, store, password, key_exportable)

    def remove_certificate(self, thumbprint: str, store: str) -> bool:
        """Remove a certificate from ``LocalMachine\\<store>`` (win_certificate_store absent)."""
        self._count("remove_certificate")
        return self._remove_certificate(thumbprint, store)

    def grant_key_read(self, thumbprint: str, account: str, check: bool = False, store: str = "My") -> bool:
        """Allow ``account`` to read the private key of ``<store>\\<thumbprint>`` (win_acl).

        With ``check`` nothing changes; the return value says whether a change is needed.
        ``store`` is ``My``, or ``REQUEST`` for the pending key of a certreq request: the right
        belongs to the key, so it is set before ``certreq -accept`` makes the certificate visible.
        """
        self._count("grant_key_read")
        return self._grant_key_read(thumbprint, account, check, store)

    def list_services(self, name: str = "Milestone*") -> list:
        """Services matching a name or wildcard (win_service_info)."""
        self._count("list_services")
        return self._list_services(name)

    def file_version(self, path: str) -> Optional[str]:
        """The file version of an executable, or None when it does not exist."""
        self._count("file_version")
        return self._file_version(path)

    def read_registry(self, key: str, value: str) -> RegistryValue:
        """One value of a registry key (win_reg_stat), ``key`` in the ``HKLM:\\...`` form."""
        self._count("read_registry")
        return self._read_registry(key, value)

    def start(self, argv: Sequence[str], timeout: float) -> str:
        """Start a program without waiting for it (win_command with ansible-core's ``async``,
        under the task's become): the connection is given back at once. Returns the job id.
        The job is ended after ``timeout`` seconds, as ansible-core's async watchdog does."""
        self._count("start")
        return self._start(list(argv), timeout)

    def status(self, job: str) -> JobStatus:
        """Whether a started program has finished, and its result (async_status). A job that
        timed out or could not run raises AdapterError."""
        self._count("status")
        return self._status(job)

    # -- to implement -------------------------------------------------------------------
    def _run(self, argv):  # pragma: no cover - abstract
        raise NotImplementedError

    def _start(self, argv, timeout):  # pragma: no cover - abstract
        raise NotImplementedError

    def _status(self, job):  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_file(self, path):  # pragma: no cover - abstract
        raise NotImplementedError

    def _write_file(self, path, content):  # pragma: no cover - abstract
        raise NotImplementedError

    def _delete_file(self, path):  # pragma: no cover - abstract
        raise NotImplementedError

    def _list_certificates(self, store):  # pragma: no cover - abstract
        raise NotImplementedError

    def _import_certificate(self, path, store, password, key_exportable):  # pragma: no cover
        raise NotImplementedError

    def _remove_certificate(self, thumbprint, store):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grant_key_read(self, thumbprint, account, check, store):  # pragma: no cover - abstract
        raise NotImplementedError

    def _list_services(self, name):  # pragma: no cover - abstract
        raise NotImplementedError

    def _file_version(self, path):  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_registry(self, key, value):  # pragma: no cover - abstract
        raise NotImplementedError


def get_adapter(action, task_vars: dict) -> HostAdapter:
    """Pick the adapter for the current host from ``xprotect_host_adapter``.

    ``action`` is the ActionBase instance (the Windows adapter calls its
    ``_execute_module``); ``task_vars`` are the host's variables.
    """
    kind = task_vars.get(ADAPTER_VAR, "windows")
    host = task_vars.get("inventory_hostname", "")
    if kind == "windows":
        from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

        return WindowsAdapter(action, task_vars)
    if kind == "lab":
        # The only import of the lab from production code, made here and lazily so that a
        # Windows run never loads it (tests/unit/plugins/test_layout.py holds this line to that).
        # The lab reads its own host variables; production reads none of them.
        from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adapter as lab

        # The lab models who runs Server Configurator: the become user of a runas task, as on
        # Windows; without become it behaves as a plain network logon.
        run_as = runas_user(action) if become_plugin_name(action) == RUNAS else None
        return lab.from_task_vars(host, task_vars, run_as)
    raise AdapterError(
        f"Host {host}: {ADAPTER_VAR}={kind!r} is not one of {', '.join(ADAPTER_KINDS)}. "
        "Leave it unset for Windows hosts; the lab inventory sets 'lab'."
    )


# The become plugin that gives Server Configurator an interactive logon [M].
RUNAS = "ansible.builtin.runas"


def become_plugin_name(action) -> Optional[str]:
    """The fully qualified name of the become plugin in effect for the task, or None without become.

    Decided as ansible-core decides, by the plugin it loaded, not by how ``become_method`` is
    spelled: the task executor loads the plugin (``become_loader.get``, which resolves ``runas``,
    ``ansible.builtin.runas`` and any redirect alike) and hands it to the connection
    (``connection.set_become_plugin``, None when become is off), and the Windows exec wrapper
    then accepts it only when it is an instance of ``ansible.plugins.become.runas.BecomeModule``.
    A plugin that subclasses runas is runas too. A connection without ``become`` (a plugin
    older than ``set_become_plugin``) falls back to the play context's method, resolved through
    the same loader.
    """
    from ansible.plugins.become.runas import BecomeModule as Runas

    connection = getattr(action, "_connection", None)
    if connection is not None and hasattr(connection, "become"):
        plugin = connection.become
    else:
        pc = getattr(action, "_play_context", None)
        if pc is None or not pc.become:
            return None
        from ansible.plugins.loader import become_loader

        plugin = become_loader.get(pc.become_method or "")
        if plugin is None:
            return str(pc.become_method)
    if plugin is None:
        return None
    if isinstance(plugin, Runas):
        return RUNAS
    names = getattr(plugin, "ansible_aliases", None) or []
    return str(names[0] if names else getattr(plugin, "_load_name", None) or getattr(plugin, "name", "unknown"))


def runas_user(action) -> Optional[str]:
    """The become user of the task (who Server Configurator runs as under runas)."""
    pc = getattr(action, "_play_context", None)
    user = getattr(pc, "become_user", None) if pc is not None else None
    if not user:
        become = getattr(getattr(action, "_connection", None), "become", None)
        try:
            user = become.get_option("become_user") if become is not None else None
        except (AttributeError, KeyError):  # options not set: no user named
            user = None
    return user or None
