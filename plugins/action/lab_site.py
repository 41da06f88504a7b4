# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.lab_site (documentation in plugins/modules/lab_site.py).

An action plugin, because it runs on the controller and starts the site process from the
collection's real files.
"""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import spec
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAction, site_task


class ActionModule(LabAction):
    argument_spec = spec.LAB_SITE_ARGS
    mutually_exclusive = spec.LAB_SITE_MUTUALLY_EXCLUSIVE

    def task(self, args, check_mode):
        return site_task(args, check_mode)
