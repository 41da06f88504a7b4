# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.trusted_ca (documentation in plugins/modules).

Reads LocalMachine\\Root once; module_utils/trust.py decides what to add and remove."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, trust, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action
from ansible_collections.xprotect.encryption.plugins.plugin_utils.certificate_flow import import_file

INTERMEDIATE_STORE = trust.INTERMEDIATE_STORE


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
        # An intermediate site CA: its chain (checked, in date) goes to CA, and trust to the root.
        self.chain = action.ca_chain(args, self.ca_cert, pki.utcnow())
        if args["state"] == "present":
            # An expired or not-yet-valid CA in Root validates nothing, and hides the real problem.
            option = next(o for o in ("ca", "ca_cert_path", "ca_cert_content") if args.get(o))
            pki.check_ca_validity(self.ca_cert, pki.utcnow(), option, "trust (LocalMachine\\Root)")

    def work(self, args, adapter, task_vars):
        present = args["state"] == "present"
        anchor = self.chain[-1] if self.chain else self.ca_cert
        thumbprint = pki.thumbprint(anchor)
        root = [e.thumbprint for e in adapter.list_certificates("Root")]
        # state absent with an intermediate CA takes out our intermediates, never the enterprise root.
        plan = trust.decide(root, thumbprint if present or not self.chain else "", present, args["retired_thumbprints"])
        middle = {pki.thumbprint(c): c for c in ([self.ca_cert, *self.chain[:-1]] if self.chain else [])}
        store = [e.thumbprint for e in adapter.list_certificates(INTERMEDIATE_STORE)] if middle else []
        steps = trust.decide_intermediates(store, list(middle), present)
        result = {
            "fqdn": self.host_fqdn(args, task_vars),
            "thumbprint": thumbprint,
            "subject": anchor.subject.rfc4514_string(),
            "intermediates": list(middle),
            "changed": plan.changed or bool(steps.reasons),
            "reasons": plan.reasons + steps.reasons,
            "removed": plan.remove + steps.remove,
        }
        before, after = dict(plan.before), dict(plan.after)
        if middle:
            before["intermediates_missing"] = [t for t in middle if t not in store]
            after["intermediates_missing"] = [] if present else list(middle)
        self.diff(result, before, after)
        if plan.add and not args["install"]:
            return dict(
                result,
                failed=True,
                changed=False,
                msg=trust.not_trusted_message(result["fqdn"], result["subject"], thumbprint),
            )
        if self.check_mode or not result["changed"]:
            return result
        temp = args["temp_dir"].rstrip("\\")
        if plan.add:
            import_file(adapter, f"{temp}\\xprotect-ca-{thumbprint}.crt", pki.cert_pem(anchor), "Root")
        for t in plan.remove:
            adapter.remove_certificate(t, "Root")
        for t in steps.add:
            import_file(adapter, f"{temp}\\xprotect-ca-{t}.crt", pki.cert_pem(middle[t]), INTERMEDIATE_STORE)
        for t in steps.remove:
            adapter.remove_certificate(t, INTERMEDIATE_STORE)
        return result
