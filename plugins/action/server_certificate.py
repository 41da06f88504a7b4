# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.server_certificate (documentation in plugins/modules).

The options and their checks; the flows are plugins/plugin_utils/certificate_flow.py, the
re-issue decision plugins/module_utils/reissue.py."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, pki, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action, adcs_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow as flow

DEFAULT_VALIDITY = 730


class ActionModule(action.XProtectAction):
    argument_spec = dict(
        fqdn=dict(type="str"),
        dns_names=dict(type="list", elements="str", default=[]),
        ip_addresses=dict(type="list", elements="str", default=[]),
        key_source=dict(type="str", choices=["host", "pfx", "adcs"], default="host"),
        key_length=dict(type="int", default=2048),
        provider=dict(type="str", default="Microsoft RSA SChannel Cryptographic Provider"),
        renew_before=dict(type="int", default=30),
        validity_days=dict(type="int"),
        key_readers=dict(type="list", elements="str", default=[]),
        verify_key_access=dict(type="bool", default=False),
        pfx_path=dict(type="path"),
        pfx_passphrase=dict(type="str", no_log=True),
        cert_path=dict(type="path"),
        key_path=dict(type="path"),
        key_passphrase=dict(type="str", no_log=True),
        client_trusted_roots=dict(type="list", elements="str", default=[]),
        pfx_encryption=dict(type="str", choices=["3des", "aes256"], default="3des"),
        temp_dir=dict(type="str", default="C:\\Windows\\Temp"),
        adcs_config=dict(type="str"),
        adcs_template=dict(type="str"),
        **_ca_options.ca_argument_spec(),
        **action.CA_OPTION,
    )
    mutually_exclusive = [[name, "ca"] for name in action.CA_FLAT_OPTIONS] + [["pfx_path", "cert_path"]]
    required_together = [["cert_path", "key_path"]]
    option_rules = {
        "dns_names": validate.list_of(pki.validate_hostname),
        "ip_addresses": validate.list_of(pki.validate_ip),
        "key_length": validate.bounded(validate.whole_number, pki.MIN_RSA_BITS, 16384, "bits"),
        "provider": validate.text,
        "renew_before": validate.days,
        "validity_days": validate.bounded(validate.days, 1),
        "key_readers": validate.list_of(validate.text),
        "temp_dir": validate.text,
        "fqdn": pki.validate_hostname,
        "client_trusted_roots": validate.list_of(validate.thumbprint),
    }

    def check_arguments(self, args):
        self.ca_cert = action.ca_certificate(args)
        self.material = flow.open_brought(args)
        adcs_flow.check_options(args)

    def work(self, args, adapter, task_vars):
        params = dict(args)
        params["fqdn"] = pki.validate_hostname(self.host_fqdn(args, task_vars), option="fqdn")
        params["_clamp_to_ca"] = params["validity_days"] is None
        params["validity_days"] = params["validity_days"] or DEFAULT_VALIDITY
        brought = None
        if self.material is not None:
            mobile = "mobile" in self.host_roles(args, task_vars)
            current, decision, brought = flow.assess_brought(
                adapter, params, self.ca_cert, self.material, mobile=mobile
            )
        else:
            _entries, current, decision = flow.assess(adapter, params, self.ca_cert)
        before = flow.summary(current)
        result = {
            "fqdn": params["fqdn"],
            "names": pki.host_names(params["fqdn"], params["dns_names"]),
            "reasons": list(decision.reasons),
            "days_left": decision.days_left,
            "thumbprint": current.thumbprint if current else None,
            "not_after": before["not_after"] if before else None,
            # What a re-issue replaces (old -> new in the renewal's list and the site report).
            "previous": {k: before[k] for k in ("thumbprint", "not_after")} if before else None,
            "changed": False,
            **(flow.brought_result(brought) or flow.site_ca_chain(self.ca_cert)),
        }
        if decision.action == "keep":
            if params["verify_key_access"]:
                accounts = flow.service_key_readers(adapter, params["key_readers"])
                missing = flow.grant_key_access(adapter, current.thumbprint, accounts, check=self.check_mode)
                if missing:
                    result.update(changed=True, reasons=[f"private key not readable by {a}" for a in missing])
                    self.diff(result, {"key_readers": sorted(set(accounts) - set(missing))}, {"key_readers": accounts})
                result["key_readers"] = accounts
            return result
        result["changed"] = True
        if params["key_source"] == "adcs":  # a brought certificate was checked in assess_brought
            return adcs_flow.run(self, adapter, params, result, before)
        if self.check_mode:
            what = "import the supplied certificate" if brought else "issue a new certificate"
            result["msg"] = f"Would {what}: " + "; ".join(decision.reasons)
            self.diff(result, before or {}, {"reissue": True, "names": result["names"]})
            return result
        accounts = flow.service_key_readers(adapter, params["key_readers"])
        warnings = []
        installed, after = flow.install(
            adapter,
            params,
            signing_ca=lambda: action.signing_ca(args),
            supplied=brought,
            accounts=accounts,
            warnings=warnings,
        )
        result.update(installed)
        if warnings:
            result["warnings"] = warnings
        self.diff(result, before or {}, after)
        return result
