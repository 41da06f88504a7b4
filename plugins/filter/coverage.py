# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory_coverage filter: hands the inventory to the coverage decision in module_utils."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import coverage


def inventory_coverage(site, groups, hostvars, exclude=None):
    """``site``: the result of xprotect.encryption.site_servers; ``groups``, ``hostvars``: the magic variables."""
    names = {}
    for host in (groups or {}).get("all") or []:
        try:
            names[host] = coverage.host_names(host, hostvars[host])
        except KeyError:
            names[host] = [coverage.normalize_name(host)]
    plain_groups = {name: list(members or []) for name, members in (groups or {}).items()}
    return coverage.check_coverage(
        (site or {}).get("servers") or [], plain_groups, names, exclude or [], (site or {}).get("management") or []
    )


class FilterModule:
    def filters(self):
        return {"inventory_coverage": inventory_coverage}
