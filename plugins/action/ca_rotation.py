# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.ca_rotation (documentation in plugins/modules).

The CA folders are the controller's: the module's own backend (module_utils/_backends/ca_rotation.py)
runs here, in the task's worker, instead of a new Python per task (plugin_utils/controller.py)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca_rotation
from ansible_collections.xprotect.encryption.plugins.plugin_utils.controller import ControllerAction


class ActionModule(ControllerAction):
    backend = ca_rotation
