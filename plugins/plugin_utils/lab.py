# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab host adapter: the contract of ``adapter.py`` on a simulated XProtect host.

``get_adapter`` builds it from the host vars the lab's inventory sets
(``xprotect_host_adapter: lab``, ``xprotect_lab_site``, ``xprotect_lab_host``). Each method
does what the matching ansible.windows module would do, on the host's state in the site
folder; lab errors become :class:`AdapterError`, the ``unreachable`` fault becomes
:class:`HostUnreachable`.

``run_as`` is the account Server Configurator runs as: the become user (an interactive logon),
or None for a plain network logon, which the lab answers as XProtect does [M].
"""

from __future__ import annotations

import functools
from typing import Optional

from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    CertificateEntry,
    HostAdapter,
    HostUnreachable,
    RunResult,
    ServiceInfo,
)

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.lab import hostops, model, programs

    HAS_LAB = True
    LAB_IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover - cryptography missing
    HAS_LAB = False
    LAB_IMPORT_ERROR = str(e)


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


class LabAdapter(HostAdapter):
    """A host of a lab site, reached through the site folder."""

    kind = "lab"

    def __init__(self, site: str, host: str, run_as: Optional[str] = None):
        super().__init__(host)
        if not HAS_LAB:
            raise AdapterError(f"The lab needs the Python package cryptography on the controller ({LAB_IMPORT_ERROR}).")
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
    def _grant_key_read(self, thumbprint, account, check):
        return hostops.grant_key_read(self.site, self.host, thumbprint, account, check)

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
