# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.server_certificate (documentation in plugins/modules)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import ca_source
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

DEFAULT_VALIDITY = 730


class ActionModule(XProtectAction):
    argument_spec = dict(
        fqdn=dict(type="str"),
        dns_names=dict(type="list", elements="str", default=[]),
        ip_addresses=dict(type="list", elements="str", default=[]),
        key_source=dict(type="str", choices=["host", "pfx"], default="host"),
        key_length=dict(type="int", default=2048),
        provider=dict(type="str", default="Microsoft RSA SChannel Cryptographic Provider"),
        renew_before=dict(type="int", default=30),
        validity_days=dict(type="int"),
        key_readers=dict(type="list", elements="str", default=[]),
        verify_key_access=dict(type="bool", default=False),
        pfx_path=dict(type="path"),
        pfx_passphrase=dict(type="str", no_log=True),
        pfx_encryption=dict(type="str", choices=["3des", "aes256"], default="3des"),
        temp_dir=dict(type="str", default="C:\\Windows\\Temp"),
        **ca_source.CA_OPTIONS,
    )

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
    }

    def check_arguments(self, args):
        self.ca_cert = ca_source.load_ca_certificate(args)
        if args["pfx_path"] and args["key_source"] != "pfx":
            raise validate.refuse("pfx_path", args["pfx_path"], "it is only read with key_source: pfx; set that too")
        if args["pfx_path"]:
            # Read and opened now, so that a wrong file or passphrase stops before the host is touched.
            password = (args.get("pfx_passphrase") or "").encode() or None
            key, cert, _others = pki.read_pfx(
                pki.read_input_file(args["pfx_path"], "pfx_path"), password, pfx_option="pfx_path"
            )
            if key is None or cert is None:
                raise pki.PkiError(
                    f"pfx_path: {args['pfx_path']} holds no {'private key' if key is None else 'certificate'}; "
                    "export the server certificate with its private key.",
                    "pfx_path",
                )

    def work(self, args, adapter, task_vars):
        params = dict(args)
        params["fqdn"] = pki.validate_hostname(self.host_fqdn(args, task_vars), option="fqdn")
        params["_clamp_to_ca"] = params["validity_days"] is None
        params["validity_days"] = params["validity_days"] or DEFAULT_VALIDITY
        ca_cert = self.ca_cert

        entries, current, decision = flow.assess(adapter, params, ca_cert)
        before = flow.summary(current)
        result = {
            "fqdn": params["fqdn"],
            "names": pki.host_names(params["fqdn"], params["dns_names"]),
            "reasons": list(decision.reasons),
            "days_left": decision.days_left,
            "thumbprint": current.thumbprint if current else None,
            "not_after": before["not_after"] if before else None,
            "changed": False,
        }
        if decision.action == "keep":
            if params["verify_key_access"]:
                accounts = flow.service_key_readers(adapter, params["key_readers"])
                missing = flow.grant_key_access(adapter, current.thumbprint, accounts, check=self.check_mode)
                if missing:
                    result["changed"] = True
                    result["reasons"] = [f"private key not readable by {a}" for a in missing]
                    self.diff(result, {"key_readers": sorted(set(accounts) - set(missing))}, {"key_readers": accounts})
                result["key_readers"] = accounts
            return result

        result["changed"] = True
        supplied = None
        if params["key_source"] == "pfx" and params["pfx_path"]:
            # Checked before anything happens, in check mode too: a PFX for the wrong host, bound
            # by the switch, would cut every recording server off.
            supplied = flow.supplied_pfx(params, ca_cert)
        if self.check_mode:
            result["msg"] = "Would issue a new certificate: " + "; ".join(decision.reasons)
            self.diff(result, before or {}, {"reissue": True, "names": result["names"]})
            return result

        accounts = flow.service_key_readers(adapter, params["key_readers"])
        if params["key_source"] == "host":
            # The key's Read right is set on the pending request, before the certificate appears.
            thumbprint = flow.issue_on_host(adapter, params, ca_source.load_signing_ca(args), accounts)
            warnings = []
            result["removed_requests"] = flow.clean_pending_requests(adapter, params["fqdn"], warnings=warnings)
            if warnings:
                result["warnings"] = warnings
        else:
            if supplied:
                # Checked above; imported without a self-signed root, which would land in My.
                cert, pfx, password = flow.user_pfx(params, supplied[1])
            else:
                cert, pfx, password = flow.make_pfx(params, ca_source.load_signing_ca(args))
            flow.import_pfx(adapter, params, pfx, password)
            thumbprint = pki.thumbprint(cert)

        installed = {e.thumbprint: e for e in adapter.list_certificates("My")}.get(thumbprint)
        if installed is None or not installed.has_private_key:
            raise AdapterError(
                f"{params['fqdn']}: certificate {thumbprint} is not in LocalMachine\\My with its private key after "
                "the install. Nothing was switched; re-run the task, and check the host's certificate store."
            )
        # Certreq: confirms the right set before -accept (no change). PFX: win_certificate_store
        # brings certificate and key in one step, so the right can only follow (docs/certificates.md).
        flow.grant_key_access(adapter, thumbprint, accounts, check=False)
        after = flow.summary(installed)
        result.update(thumbprint=thumbprint, not_after=after["not_after"], key_readers=accounts)
        self.diff(result, before or {}, after)
        return result
