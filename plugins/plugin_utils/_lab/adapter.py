# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab host adapter: the contract of ``adapter.py`` on a simulated XProtect host.

:func:`from_task_vars` builds it, for ``get_adapter``, from the host vars the lab's inventory sets
(``xprotect_host_adapter: lab``, ``xprotect_lab_site``, ``xprotect_lab_host``). Each method
does what the matching ansible.windows module would do, on the host's state in the site
folder; lab errors become :class:`AdapterError`, the ``unreachable`` fault becomes
:class:`HostUnreachable`.

``run_as`` is the account Server Configurator runs as: the become user (an interactive logon),
or None for a plain network logon, which the lab answers as XProtect does [M].

The ``lab_site`` and ``lab_fault`` action plugins are :class:`LabAction` with :func:`site_task`
and :func:`fault_task`, which share the lab's import guard and its error mapping with the adapter.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
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

try:
    from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import (
        faults,
        hostops,
        jobs,
        model,
        programs,
        site,
    )

    HAS_LAB = True
    LAB_IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover - cryptography missing
    HAS_LAB = False
    LAB_IMPORT_ERROR = str(e)


def _missing_lab() -> str:
    return f"The lab needs the Python package cryptography on the controller ({LAB_IMPORT_ERROR})."


def default_site_path() -> str:
    """``.lab/site`` under the current directory (where ansible-playbook was started).

    Never inside the installed collection, which is read-only in an execution environment and
    shared by every user of the controller.
    """
    return os.path.join(os.getcwd(), ".lab", "site")


def lab_task(call: Callable[[], Mapping[str, Any]]) -> Dict[str, Any]:
    """An action plugin's result of one lab operation: a missing library or a lab error becomes
    ``failed`` with ``msg`` (and ``option`` when one is at fault), as a module failure reads."""
    if not HAS_LAB:
        return {"failed": True, "msg": _missing_lab()}
    try:
        return dict(call())
    except model.LabError as e:
        out: Dict[str, Any] = {"failed": True, "msg": e.message}
        if e.option:
            out["option"] = e.option
        return out


def site_task(args: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """``lab_site``: bring the site at ``args['path']`` (default :func:`default_site_path`) to its state."""
    result = lab_task(lambda: site.apply(args["path"] or default_site_path(), args, check_mode=check_mode))
    warning = result.pop("warning", None)
    if warning:
        result["warnings"] = [warning]
    return result


def fault_task(args: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """``lab_fault``: inject a fault into one host of the site (check mode only names the host)."""

    def inject() -> Dict[str, Any]:
        faults.check_value(args["fault"], args["value"])  # bad input is refused before the site is read
        lab = model.Site(args["path"] or default_site_path())
        name = lab.require_host(args["host"])["name"]
        if check_mode:
            return {
                "changed": True,
                "host": name,
                "fault": args["fault"],
                "value": args["value"],
                "detail": "not injected: check mode",
            }
        return faults.inject(lab, name, args["fault"], args["value"], applied=args.get("applied"))

    return lab_task(inject)


def from_task_vars(host: str, task_vars: Mapping[str, Any], run_as: Optional[str]) -> LabAdapter:
    """The adapter of ``host`` from the variables the lab's inventory gives it.

    ``xprotect_lab_site`` (the site folder) and ``xprotect_lab_host`` (the host's name in the
    site, ``host`` when unset) are read here, in the lab, so that no production code knows them.
    """
    site = task_vars.get("xprotect_lab_site")
    if not site:
        raise AdapterError(
            f"Host {host} uses the lab adapter but has no 'xprotect_lab_site'. "
            "Use the inventory.yml that the lab writes into its site folder."
        )
    return LabAdapter(site, task_vars.get("xprotect_lab_host") or host, run_as=run_as)


def _lab_call(method):
    """Map lab errors to the adapter's errors, as a Windows module failure would be reported."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except hostops.LabUnreachable as e:
            raise HostUnreachable(e.message, {"unreachable": True, "msg": e.message})
        except model.LabError as e:
            raise AdapterError(
                f"{self.host}: {e.message}" if self.host not in e.message else e.message, {"msg": e.message}
            )

    return wrapper


class LabAction(ActionBase):
    """Template of the lab's action plugins: they run on the controller only, without a connection.

    Subclasses set ``argument_spec`` (and ``mutually_exclusive``) and ``task(args, check_mode) -> dict``.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    argument_spec: Dict[str, Any] = {}
    mutually_exclusive: List[Any] = []
    option_rules: Dict[str, Any] = {"timeout": validate.bounded(validate.number, above=0, maximum=3600)}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validated, args = self.validate_argument_spec(
            argument_spec=self.argument_spec, mutually_exclusive=self.mutually_exclusive
        )
        try:
            validate.apply(args, self.option_rules)
        except validate.ArgumentError as e:
            result.update(failed=True, msg=e.message, option=e.option)
            return result
        result.update(self.task(args, bool(self._task.check_mode)))
        return result

    def task(self, args: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


class LabAdapter(HostAdapter):
    """A host of a lab site, reached through the site folder."""

    kind = "lab"

    def __init__(self, site: str, host: str, run_as: Optional[str] = None):
        super().__init__(host)
        if not HAS_LAB:
            raise AdapterError(_missing_lab())
        try:
            self.site = model.Site(site)
            self.host = self.site.require_host(host)["name"]
        except model.LabError as e:
            raise AdapterError(e.message)
        self.run_as = run_as

    @_lab_call
    def _run(self, argv):
        hostops.check_reachable(self.site, self.host)
        out = programs.run(self.site, self.host, argv, self.run_as)
        return RunResult(rc=out.rc, stdout=out.stdout, stderr=out.stderr)

    @_lab_call
    def _start(self, argv, timeout):
        hostops.check_reachable(self.site, self.host)
        return jobs.start(self.site, self.host, argv, self.run_as, timeout)

    @_lab_call
    def _status(self, job):
        hostops.check_reachable(self.site, self.host)
        out = jobs.status(self.site, self.host, job)
        if not out["finished"]:
            return JobStatus(job=job, finished=False)
        run = RunResult(rc=out["rc"], stdout=out["stdout"], stderr=out["stderr"])
        return JobStatus(job=job, finished=True, result=run)

    @_lab_call
    def _read_file(self, path):
        return hostops.read_file(self.site, self.host, path)

    @_lab_call
    def _write_file(self, path, content):
        return hostops.write_file(self.site, self.host, path, content)

    @_lab_call
    def _delete_file(self, path):
        return hostops.delete_file(self.site, self.host, path)

    @_lab_call
    def _list_certificates(self, store):
        return [CertificateEntry(**e) for e in hostops.list_certificates(self.site, self.host, store)]

    @_lab_call
    def _import_certificate(self, path, store, password, key_exportable):
        return hostops.import_certificate(
            self.site, self.host, path, store, password=password, key_exportable=key_exportable
        )

    @_lab_call
    def _remove_certificate(self, thumbprint, store):
        return hostops.remove_certificate(self.site, self.host, thumbprint, store)

    @_lab_call
    def _grant_key_read(self, thumbprint, account, check, store):
        return hostops.grant_key_read(self.site, self.host, thumbprint, account, check, store_name=store)

    @_lab_call
    def _list_services(self, name):
        return [
            ServiceInfo(
                name=s["name"], display_name=s["display_name"], username=s["username"], path=s["path"], state=s["state"]
            )
            for s in hostops.list_services(self.site, self.host, name)
        ]

    @_lab_call
    def _file_version(self, path):
        return hostops.file_version(self.site, self.host, path)

    @_lab_call
    def _read_registry(self, key, value):
        result = hostops.read_registry(self.site, self.host, key, value)
        exists = bool(result.get("exists"))
        return RegistryValue(
            key=key,
            name=value,
            exists=exists,
            type=result.get("type") if exists else None,
            value=result.get("value") if exists else None,
        )
