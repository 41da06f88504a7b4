# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.site_servers (documentation in plugins/modules/site_servers.py).

An action plugin, because it reads the API from the controller with the inventory plugin's own
client (plugins/inventory/xprotect.py), which a module could not import.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv
from ansible_collections.xprotect.encryption.plugins.plugin_utils import site_servers


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec = dict(
        source=dict(type="path"),
        url=dict(type="list", elements="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        auth_type=dict(type="str", choices=list(inv.AUTH_TYPES)),
        validate_certs=dict(type="bool"),
        ca_path=dict(type="path"),
        tls_server_name=dict(type="str"),
        timeout=dict(type="float"),
        management_server_name=dict(type="str"),
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.argument_spec)[1]
        try:
            data = self._source(args["source"]) if args["source"] else None
            merged = site_servers.settings(data, args, args["source"] or "")
            from ansible_collections.xprotect.encryption.plugins.inventory.xprotect import fetch_records

            result.update(site_servers.read(merged, fetch_records))
        except site_servers.SiteServersError as error:
            result.update(failed=True, msg=str(error))
        result["changed"] = False
        return result

    def _source(self, path):
        """The inventory plugin's config file, its option values templated as the plugin does."""
        if not os.path.isfile(path):
            raise site_servers.SiteServersError(
                f"The inventory check's source {path!r} is not a file: give the inventory plugin's config file "
                "(site.xprotect.yml), or unset it and give url, username and password."
            )
        try:
            data = self._loader.load_from_file(path, cache="none", trusted_as_template=True)
        except TypeError:  # ansible-core before 2.19 has no trusted_as_template
            data = self._loader.load_from_file(path, cache=False)
        except AnsibleError as error:
            raise site_servers.SiteServersError(f"The inventory check's source {path!r} cannot be read: {error}")
        if not isinstance(data, dict) or data.get("plugin") not in ("xprotect.encryption.xprotect", "xprotect"):
            raise site_servers.SiteServersError(
                f"The inventory check's source {path!r} is not a config file of the xprotect.encryption.xprotect "
                "inventory plugin (plugin: xprotect.encryption.xprotect)."
            )
        out = {}
        for name in site_servers.API_OPTIONS:
            value = data.get(name)
            if isinstance(value, str) and ("{{" in value or "{%" in value):
                value = self._templar.template(value)
            out[name] = value
        return out
