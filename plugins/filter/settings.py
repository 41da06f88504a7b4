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
        if not isinstance(result, dict):
            continue
        if "problems" in result:
            found[host] = list(result["problems"])
        elif result.get("failed") or result.get("unreachable"):
            # The check itself failed (ignore_errors kept the host in): not a pass.
            found[host] = [f"its settings could not be checked: {result.get('msg', 'no message')}"]
    return settings.gate(found)


class FilterModule:
    def filters(self):
        return {"settings_gate": settings_gate}
