# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.trusted_ca (documentation in plugins/modules).

Reads LocalMachine\\Root once; module_utils/trust.py decides what to add and remove."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, trust, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action
from ansible_collections.xprotect.encryption.plugins.plugin_utils.certificate_flow import import_file


class ActionModule(action.XProtectAction):
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        retired_thumbprints=dict(type="list", elements="str", default=[]),
        install=dict(type="bool", default=True),
        temp_dir=dict(type="str", default="C:\\Windows\\Temp"),
        ca_cert_path=dict(type="path"),
        ca_cert_content=dict(type="str"),
        **action.CA_OPTION,
    )
    required_one_of = [["ca_cert_path", "ca_cert_content", "ca"]]
    mutually_exclusive = [["ca_cert_path", "ca_cert_content", "ca"]]
    # A typo in a retired thumbprint would silently keep a former CA trusted.
    option_rules = {"retired_thumbprints": validate.list_of(validate.thumbprint), "temp_dir": validate.text}

    def check_arguments(self, args):
        self.ca_cert = action.ca_certificate(args)

    def work(self, args, adapter, task_vars):
        thumbprint = pki.thumbprint(self.ca_cert)
        root = [e.thumbprint for e in adapter.list_certificates("Root")]
        plan = trust.decide(root, thumbprint, args["state"] == "present", args["retired_thumbprints"])
        result = {
            "fqdn": self.host_fqdn(args, task_vars),
            "thumbprint": thumbprint,
            "subject": self.ca_cert.subject.rfc4514_string(),
            "changed": plan.changed,
            "reasons": plan.reasons,
            "removed": plan.remove,
        }
        self.diff(result, plan.before, plan.after)
        if plan.add and not args["install"]:
            return dict(
                result,
                failed=True,
                changed=False,
                msg=trust.not_trusted_message(result["fqdn"], result["subject"], thumbprint),
            )
        if self.check_mode or not plan.changed:
            return result
        if plan.add:
            path = "{}\\xprotect-ca-{}.crt".format(args["temp_dir"].rstrip("\\"), thumbprint)
            import_file(adapter, path, pki.cert_pem(self.ca_cert), "Root")
        for t in plan.remove:
            adapter.remove_certificate(t, "Root")
        return result
