# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.site_report (documentation in plugins/modules/site_report.py).

An action plugin, because it renders on the controller with the collection's template
(plugins/plugin_utils/site_report.html.j2), which a module could not ship.
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.plugin_utils import site_report_flow


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec = dict(
        records=dict(type="list", elements="dict", required=True),
        probes=dict(type="list", elements="dict", default=[]),
        drift=dict(type="list", elements="dict", default=[]),
        # No default: a shared {} would be filled in by the validation of its suboptions.
        ca=dict(
            type="dict",
            options=dict(path=dict(type="path"), cert_content=dict(type="str", default="")),
        ),
        status_file=dict(type="path"),
        playbook=dict(type="str", required=True),
        check_mode=dict(type="bool", default=False),
        dest=dict(type="path"),
        inventory_sources=dict(type="list", elements="str", default=[]),
        playbook_dir=dict(type="path"),
        warn_days=dict(type="int", default=30),
        fail_days=dict(type="int", default=14),
        renew_before=dict(type="int", default=30),
        fail_on_expiry=dict(type="bool", default=False),
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.argument_spec)[1]
        for name in ("warn_days", "fail_days", "renew_before"):
            if args[name] < 0:
                msg = f"{name}: {args[name]} is negative; give a number of days, 0 or more."
                return dict(result, failed=True, changed=False, msg=msg)
        try:
            result.update(site_report_flow.write(args, os.environ))
        except site_report_flow.ReportError as error:
            return dict(result, failed=True, changed=False, msg=str(error))
        # Writing the report changes nothing on the site: a second run still reports no change.
        result["changed"] = False
        if args["fail_on_expiry"] and result["expiry_watch"]["verdict"] == "fail":
            result.update(failed=True, msg="Expiry watch: " + result["expiry_watch"]["message"])
        return result
