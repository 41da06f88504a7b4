# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA continuity check's filter: hostvars and probes in, the decision of module_utils out."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import continuity


def ca_continuity(hosts, hostvars, probes, common_names, ca_path=""):
    found = continuity.evidence(hosts, hostvars, probes or [], common_names)
    found["message"] = continuity.stop_message(found, ca_path) if found["found"] else ""
    return found


class FilterModule:
    def filters(self):
        return {"ca_continuity": ca_continuity}
