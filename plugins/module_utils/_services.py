# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host's Milestone services tell: where their executables are, and from that where
Server Configurator and the mobile server's configuration file are.

``services``: objects or dicts with ``name``, ``display_name`` and ``path`` (the adapter's
ServiceInfo, or win_service_info's result).
"""

from __future__ import annotations

import ntpath
import re
from typing import Dict, List, Mapping, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils._configfiles import mobile_config_path
from ansible_collections.xprotect.encryption.plugins.module_utils._server_configurator import DEFAULT_CONFIGURATOR_PATH

_EXE_RE = re.compile(r"^\s*(?:\"(?P<quoted>[^\"]+)\"|(?P<plain>.+?\.exe)(?=\s|$))", re.IGNORECASE)


def service_executable(path: Optional[str]) -> Optional[str]:
    """The executable of a service command line: quoted or not, with or without arguments."""
    if not path:
        return None
    match = _EXE_RE.match(path.strip())
    if match:
        return match.group("quoted") or match.group("plain")
    return path.strip().split(" -")[0].split(" /")[0].strip() or None


def _svc(service, attr: str) -> str:
    if isinstance(service, Mapping):
        return str(service.get(attr) or "")
    return str(getattr(service, attr, "") or "")


def _is_milestone(service) -> bool:
    label = f"{_svc(service, 'name')}\n{_svc(service, 'display_name')}".lower()
    return "milestone xprotect" in label


def configurator_path_from_services(services) -> Optional[str]:
    """Where ServerConfigurator.exe is, from the host's services; None when no XProtect service.

    [H]: take the folder above the install folder of any ``Milestone XProtect*`` service and
    add ``Server Configurator\\ServerConfigurator.exe``. When several services disagree (a
    service nested deeper), the folder most of them point to wins. A Milestone service whose
    path cannot be read gives the documented default path.
    ``services``: objects or dicts with ``name``, ``display_name`` and ``path``.
    """
    votes: Dict[str, int] = {}
    order: List[str] = []
    found_any = False
    for service in services or ():
        if not _is_milestone(service):
            continue
        found_any = True
        exe = service_executable(_svc(service, "path"))
        if not exe or "\\" not in exe:
            continue
        install_dir = ntpath.dirname(exe)
        parent = ntpath.dirname(install_dir)
        if not parent or parent == install_dir:
            continue
        candidate = ntpath.join(parent, "Server Configurator", "ServerConfigurator.exe")
        key = candidate.lower()
        if key not in votes:
            order.append(candidate)
            votes[key] = 0
        votes[key] += 1
    if order:
        return max(order, key=lambda c: (votes[c.lower()], -order.index(c)))
    return DEFAULT_CONFIGURATOR_PATH if found_any else None


def mobile_config_path_from_services(services) -> str:
    """``<exe>.config`` of the installed Milestone mobile server service, or the default path."""
    for service in services or ():
        label = f"{_svc(service, 'name')} {_svc(service, 'display_name')}".lower()
        if "milestone" in label and "mobile" in label:
            exe = service_executable(_svc(service, "path"))
            if exe:
                return mobile_config_path(exe)
    return mobile_config_path()
