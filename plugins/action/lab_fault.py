# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.lab_fault (documentation in plugins/modules/lab_fault.py)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import spec
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAction, fault_task


class ActionModule(LabAction):
    argument_spec = spec.LAB_FAULT_ARGS

    def task(self, args, check_mode):
        return fault_task(args, check_mode)
