# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.tls_probe (documentation in plugins/modules).

The probes always run from the controller: here, in the task's worker, with the module's own
backend (module_utils/_backends/tls_probe.py), instead of a new Python per task
(plugin_utils/controller.py). The rollout probes about ten times a run."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils._backends import tls_probe
from ansible_collections.xprotect.encryption.plugins.plugin_utils.controller import ControllerAction


class ActionModule(ControllerAction):
    backend = tls_probe
