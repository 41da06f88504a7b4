# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.trusted_ca (documentation in plugins/modules)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import ca_source
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError


class ActionModule(XProtectAction):
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        retired_thumbprints=dict(type="list", elements="str", default=[]),
        temp_dir=dict(type="str", default="C:\\Windows\\Temp"),
        **ca_source.CA_CERT_ONLY_OPTIONS,
    )
    required_one_of = [["ca_cert_path", "ca_cert_content"]]
    # A typo in a retired thumbprint would silently keep a former CA trusted.
    option_rules = {"retired_thumbprints": validate.list_of(validate.thumbprint), "temp_dir": validate.text}

    def check_arguments(self, args):
        self.ca_cert = ca_source.load_ca_certificate(args)

    def work(self, args, adapter, task_vars):
        ca_cert = self.ca_cert
        thumbprint = pki.thumbprint(ca_cert)
        root = {e.thumbprint for e in adapter.list_certificates("Root")}
        retired = args["retired_thumbprints"]
        present = thumbprint in root
        want_present = args["state"] == "present"
        to_remove = [t for t in retired if t in root and t != thumbprint]
        if not want_present and present:
            to_remove.append(thumbprint)
        reasons = []
        if want_present and not present:
            reasons.append("CA missing from Root")
        reasons += [f"retired CA {t} still in Root" for t in to_remove if t != thumbprint]
        if not want_present and present:
            reasons.append("CA to be removed from Root")
        result = {
            "fqdn": self.host_fqdn(args, task_vars),
            "thumbprint": thumbprint,
            "subject": ca_cert.subject.rfc4514_string(),
            "changed": bool(reasons),
            "reasons": reasons,
            "removed": to_remove,
        }
        if reasons:
            after = (root | ({thumbprint} if want_present else set())) - set(to_remove)
            self.diff(
                result,
                {"root_contains_ca": present, "retired_present": sorted(set(retired) & root)},
                {"root_contains_ca": thumbprint in after, "retired_present": sorted(set(retired) & after)},
            )
        if self.check_mode or not reasons:
            return result
        if want_present and not present:
            path = "{}\\xprotect-ca-{}.crt".format(args["temp_dir"].rstrip("\\"), thumbprint)
            try:
                adapter.write_file(path, pki.cert_pem(ca_cert))
                adapter.import_certificate(path, "Root")
            finally:
                try:
                    adapter.delete_file(path)
                except AdapterError:
                    pass
        for t in to_remove:
            adapter.remove_certificate(t, "Root")
        return result
