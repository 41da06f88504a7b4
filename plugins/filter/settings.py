# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings gate: every host's settings problems, each said once (see module_utils/settings.py)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import settings


def settings_gate(hostvars, hosts, key="xprotect_settings"):
    """``settings.gate`` over the hosts among ``hosts`` that registered ``key`` (a host outside
    --limit registered nothing and is not counted)."""
    found = {}
    for host in hosts:
        result = hostvars[host].get(key) if host in hostvars else None
        if isinstance(result, dict) and "problems" in result:
            found[host] = list(result["problems"])
    return settings.gate(found)


class FilterModule:
    def filters(self):
        return {"settings_gate": settings_gate}
