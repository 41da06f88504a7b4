# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.ca (documentation in plugins/modules).

The CA lives on the controller, and its key never leaves it: the module's own backend
(module_utils/_backends/ca.py) runs here, in the task's worker, instead of a new Python per task
(plugin_utils/controller.py). The passphrases and the key given as a value are no_log, as the
module's: no value of theirs is in the result."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca
from ansible_collections.xprotect.encryption.plugins.plugin_utils.controller import ControllerAction


class ActionModule(ControllerAction):
    backend = ca
