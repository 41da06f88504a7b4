# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every per-host action plugin of the collection shares.

An action plugin here is short: an argument spec, then one call to ``work()``, which talks
to the host only through the adapter and leaves every decision to ``module_utils``. This
base class validates the arguments, builds the adapter, turns adapter and PKI errors into
failed (or unreachable) results, and reports how many module round-trips the task took.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, hoststate, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow, raw_record
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    HostUnreachable,
    get_adapter,
)

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.pki import PkiError
except ImportError:  # pragma: no cover - cryptography missing; pki import guarded

    class PkiError(Exception):  # type: ignore[no-redef]
        option = None


# Every action of this template takes this option (doc fragment xprotect.encryption.raw_record).
RAW_RECORD_OPTIONS = {"raw_record_file": dict(type="path")}

# The site CA as the roles hold it (the ca role's variables), in one option: the values when
# cert_content is not empty (an AWX credential), else ca.crt and ca.key in the folder path. So
# a role writes the CA in one line, and the choice between files and values is made here once.
CA_OPTION = {
    "ca": dict(
        type="dict",
        options=dict(
            path=dict(type="path"),
            cert_content=dict(type="str"),
            key_content=dict(type="str", no_log=True),
            passphrase=dict(type="str", no_log=True),
        ),
    )
}
CA_FLAT_OPTIONS = ("ca_cert_path", "ca_key_path", "ca_cert_content", "ca_key_content", "ca_passphrase")


def ca_options(args: dict) -> dict:
    """The ``ca_*`` options of pki's loaders: from ``ca`` when it is given, else as given."""
    ca = args.get("ca")
    if not ca:
        return {k: args.get(k) for k in CA_FLAT_OPTIONS}
    if ca.get("cert_content"):
        out = {"ca_cert_content": ca["cert_content"], "ca_key_content": ca.get("key_content")}
    elif ca.get("path"):
        folder = ca["path"].rstrip("/")
        out = {"ca_cert_path": f"{folder}/ca.crt", "ca_key_path": f"{folder}/ca.key"}
    else:
        raise validate.refuse("ca", "{}", "give path (the CA folder on the controller) or cert_content")
    out["ca_passphrase"] = ca.get("passphrase") or None
    return out


def _named_by_ca(load, args: dict, **kwargs):
    """``load(options)``; an error about a CA given as ``ca`` names ``ca`` too."""
    try:
        return load(ca_options(args), **kwargs)
    except PkiError as e:
        if not args.get("ca"):
            raise
        raise PkiError(f"ca: {e}", "ca") from e


def ca_certificate(args: dict):
    """The CA certificate only (enough to check signatures and to distribute trust)."""

    return _named_by_ca(_ca_options.load_ca_certificate_from_options, args)


def ca_chain(args: dict, ca_cert, now):
    """The chain above an intermediate site CA, up to the enterprise root (``[]`` for a root CA)."""

    return _named_by_ca(_ca_options.load_ca_chain_from_options, args, ca_cert=ca_cert, now=now)


def signing_ca(args: dict):
    """Certificate and key, to sign; read on the controller only, the key never goes to a host.
    OpenSSL's slow consistency check of a large key is skipped: its public half is still
    matched to the certificate (``trusted_key``)."""

    return _named_by_ca(_ca_options.load_ca_from_options, args, trusted_key=True)


class XProtectAction(ActionBase):
    """Template: ``argument_spec`` (+ ``option_rules``, ``check_arguments``) + ``work(args, adapter, task_vars)``."""

    TRANSFERS_FILES = False
    argument_spec: dict = {}
    mutually_exclusive: list = []
    required_one_of: list = []
    required_if: list = []
    required_together: list = []
    # Ranges and patterns the argument spec cannot express: ``{option: check(value, option)}``
    # with the checks of module_utils/validate.py. They run before the host is touched.
    option_rules: dict = {}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(
            argument_spec=dict(self.argument_spec, **RAW_RECORD_OPTIONS),
            mutually_exclusive=self.mutually_exclusive,
            required_one_of=self.required_one_of,
            required_if=self.required_if,
            required_together=self.required_together,
        )[1]
        try:
            validate.apply(args, self.option_rules)
            self.check_arguments(args)
        except (validate.ArgumentError, PkiError) as e:
            host = task_vars.get("inventory_hostname", "")
            msg = f"{host}: {e}" if host else str(e)
            result.update(failed=True, msg=msg, option=e.option, changed=False)
            return result
        adapter = recorder = None
        try:
            adapter = get_adapter(self, task_vars)
            if args.get("raw_record_file"):
                recorder = self.raw_recorder(args["raw_record_file"], task_vars)
                recorder.attach(adapter)
            result.update(self.work(args, adapter, task_vars))
        except HostUnreachable as e:
            result.update(e.result)
            result.update(unreachable=True, msg=e.message)
        except AdapterError as e:
            result.update(e.result)
            result.update(failed=True, msg=e.message)
        except PkiError as e:
            result.update(failed=True, msg=str(e), option=e.option)
        except AnsibleActionFail:
            raise
        if recorder is not None:
            problem = recorder.save(result)
            if problem:
                result["warnings"] = list(result.get("warnings") or []) + [problem]
        if adapter is not None:
            result["round_trips"] = adapter.calls
        result.setdefault("changed", False)
        return result

    def raw_recorder(self, path: str, task_vars: dict) -> raw_record.RawRecorder:
        """The recorder of ``raw_record_file``: every adapter call of this task, for a bug report."""
        return raw_record.RawRecorder(
            path,
            host=task_vars.get("inventory_hostname", ""),
            task=self._task.get_name(),
            action=self._task.action,
            check_mode=self.check_mode,
        )

    def check_arguments(self, args: dict) -> None:
        """Checks between options, or of files on the controller, before the host is touched;
        raise :class:`validate.ArgumentError` (or ``PkiError``) naming the option."""

    # -- helpers for subclasses ---------------------------------------------------------
    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._task.diff)

    def diff(self, result: dict, before: dict, after: dict) -> None:
        """Attach a diff (in diff mode) whose header carries the reasons, so that
        ``--check --diff`` says per host what differs and why."""
        if self.diff_mode and result.get("changed"):
            result["diff"] = {
                "before": before,
                "after": after,
                "before_header": result.get("fqdn") or "current state",
                "after_header": "; ".join(result.get("reasons") or []) or "desired state",
            }

    def host_fqdn(self, args: dict, task_vars: dict) -> str:
        """The host's name: ``fqdn``, else the inventory's (``xprotect_fqdn`` or the inventory name,
        the inventory contract in docs/getting-started.md)."""
        return (args.get("fqdn") or task_vars.get("xprotect_fqdn") or task_vars.get("inventory_hostname", "")).lower()

    def host_context(self, args: dict, task_vars: dict) -> dict:
        """Where and how to read the host's encryption state (``encryption_flow.context``): at
        ``address``, else the host's connection address."""
        fqdn = self.host_fqdn(args, task_vars)
        address = args.get("address") or task_vars.get("ansible_host") or fqdn
        return encryption_flow.context(args, fqdn, address)

    def host_roles(self, args: dict, task_vars: dict) -> list:
        """The host's XProtect roles: ``roles``, else ``xprotect_roles``, else from its groups."""
        return hoststate.roles_from_groups(
            task_vars.get("group_names", []), args.get("roles") or task_vars.get("xprotect_roles")
        )

    def work(self, args: dict, adapter, task_vars: dict) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError
