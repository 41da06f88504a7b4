# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every variable a playbook of the collection reads, and what each may hold.

One entry per variable: its argument spec (type, choices, elements - what
``ansible.builtin.validate_argument_spec`` checks), the range or pattern check of
``validate.py`` an argument spec cannot express, and the playbooks that read it. The
``xprotect.encryption.settings`` action plugin checks them for every host in the first play of
each playbook, before anything is created or switched. To add a setting, add its entry here.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import _adcs, _roles, validate

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.pki import validate_hostname, validate_ip
except ImportError:  # pragma: no cover - cryptography missing; the CA play says so
    validate_hostname = validate_ip = None  # type: ignore[assignment]

PLAYBOOKS = ("site", "audit", "renew", "rollback", "rotate", "awx")
# rotate_ca.yml runs site.yml inside: it reads every setting of site.yml, and its own (below).
INCLUDES = {"rotate": ("site",)}
SERVER_GROUPS = _roles.SERVER_GROUPS


class Setting(NamedTuple):
    spec: Dict[str, Any]
    check: Optional[Callable[[Any, str], Any]]
    playbooks: Tuple[str, ...]


def _s(kind: str, check=None, playbooks="site", **spec) -> Setting:
    return Setting(dict(type=kind, **spec), check, tuple(playbooks.split()))


_DAYS = validate.days
_DAYS_1 = validate.bounded(validate.days, 1)
_RETRIES = validate.bounded(validate.whole_number, 0, 100)
_TEXT = validate.text
_TEXTS = validate.list_of(validate.text)
_ALL = "site audit renew rollback"
_CA = "site audit renew rollback"  # every playbook reads the CA certificate (the gates verify against it)
_CERT = "site renew"  # the ca and certificates roles
_SWITCH = "site audit rollback"  # the encryption module, which takes these from host variables
_BROUGHT = "site audit renew"  # a brought certificate: phase 1, the preflight and the audit check it


def _hostname(value, option):
    return validate_hostname(value, option) if validate_hostname else _TEXT(value, option)


def _adcs_or_empty(check):
    """An AD CS value, checked when set (empty: not the AD CS mode), its error naming the variable."""

    def checked(value, option):
        if value in (None, ""):
            return value
        try:
            return check(value, option)
        except _adcs.XProtectError as e:
            raise validate.ArgumentError(str(e), option) from e

    return checked


def _ip(value, option):
    return validate_ip(value, option) if validate_ip else _TEXT(value, option)


def _lock_break(value, option):
    """``true``/``false``, or the id of the one lock to break (docs/runbook.md, the site lock)."""
    if isinstance(value, bool):
        return value
    try:
        return validate.boolean(value, option)
    except validate.ArgumentError:
        return validate.text(value, option, spaces=False)


def _pem_certificate(value, option):
    """A certificate as PEM text (a root of a brought certificate)."""
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        raise validate.refuse(
            option, value, "give a CA certificate as PEM text (lookup('ansible.builtin.file', 'root.crt'))"
        )
    return value


def _management_site(value, option):
    """``xprotect_management_server``: where the order guard finds the management server when the
    job's inventory does not hold its host (an AWX slice): name, address, fqdn, port_offset."""
    keys = ("name", "address", "fqdn", "port_offset")
    if not isinstance(value, dict) or not value.get("name"):
        raise validate.refuse(option, value, "give a mapping with at least name (and address, fqdn, port_offset)")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise validate.refuse(option, value, f"it has {', '.join(unknown)}; use only {', '.join(keys)}")
    _hostname(value["name"], f"{option}.name")
    if value.get("address") is not None:
        validate.text(value["address"], f"{option}.address", spaces=False)
    if value.get("fqdn") is not None:
        _hostname(value["fqdn"], f"{option}.fqdn")
    if value.get("port_offset") is not None:
        validate.bounded(validate.whole_number, 0, 65535)(value["port_offset"], f"{option}.port_offset")
    return value


def _group(value, option):
    return validate.text(value, option, spaces=False)


SETTINGS: Dict[str, Setting] = {
    # The rollout's order and pace (playbooks/site.yml)
    "xprotect_recording_batch": _s("raw", validate.batch),
    "xprotect_max_fail_percentage": _s("raw", validate.percentage, "site renew rollback"),
    "xprotect_event_server_place": _s("str", None, choices=["before_management", "after_mobile"]),
    "xprotect_mobile_encryption": _s("bool", None, "site audit"),
    "xprotect_clients_must_trust": _s("str", None, choices=["all", "reachable"]),
    "xprotect_server_groups": _s("list", validate.list_of(_group), _ALL, elements="str"),
    "xprotect_roles": _s("list", None, _SWITCH, elements="str", choices=list(_roles.ROLES)),
    # What a failure in phase 4 does, and unreachable recording servers (playbooks/site.yml)
    "xprotect_recording_failure": _s("str", None, choices=["stop", "revert_management"]),
    "xprotect_unreachable_recording_servers": _s("str", None, choices=["block", "continue"]),
    "xprotect_order_probe_timeout": _s("raw", validate.bounded(validate.number, above=0, maximum=600), "site rollback"),
    "xprotect_order_settle_timeout": _s("raw", validate.bounded(validate.number, 0, 3600), "site rollback"),
    # The inventory against the site the management server knows (playbooks/stage.yml's gate)
    "xprotect_inventory_check": _s("bool", None),
    "xprotect_inventory_exclude": _s("list", _TEXTS, elements="str"),
    "xprotect_inventory_api": _s("dict", None),
    # The site lock (stage, renew, rollback)
    "xprotect_lock_break": _s("raw", _lock_break, "site renew rollback"),
    "xprotect_lock_expiry_minutes": _s(
        "int", validate.bounded(validate.whole_number, 1, 10080, "minutes"), "site renew rollback"
    ),
    "xprotect_lock_path": _s("str", _TEXT, "site renew rollback"),
    # Seconds between writing the marker and reading it back (the site_lock module's settle)
    "xprotect_lock_settle": _s("float", validate.bounded(validate.number, 0, 60), "site renew rollback"),
    # playbooks/audit.yml
    "xprotect_audit_fail_on_drift": _s("bool", None, "audit"),
    "xprotect_audit_fail_on_unchecked": _s("bool", None, "audit"),
    "xprotect_audit_raw": _s("bool", None, "audit"),
    "xprotect_audit_raw_dir": _s("str", _TEXT, "audit"),
    # playbooks/rollback.yml (defaults in playbooks/vars/rollback.yml)
    "xprotect_rollback_order": _s(
        "list", validate.list_of(_group), "rollback", elements="str", choices=list(SERVER_GROUPS)
    ),
    "xprotect_rollback_retries": _s("int", _RETRIES, "rollback"),
    # The CA (roles/ca)
    "xprotect_ca_path": _s("str", _TEXT, _CA),
    "xprotect_ca_cert_content": _s("str", None, _CA),
    "xprotect_ca_key_content": _s("str", None, _CERT, no_log=True),
    "xprotect_ca_passphrase": _s("str", None, _CERT, no_log=True),
    "xprotect_ca_allow_new": _s("bool", None, _CERT),
    "xprotect_ca_common_name": _s("str", validate.bounded(validate.text, max_length=64), _CERT),
    "xprotect_ca_key_size": _s("int", None, _CERT, choices=[3072, 4096]),
    "xprotect_ca_validity_days": _s("int", _DAYS_1, _CERT),
    "xprotect_ca_renew_before": _s("int", _DAYS, _CERT),
    "xprotect_ca_import_cert_path": _s("str", None, _CERT),
    "xprotect_ca_import_key_path": _s("str", None, _CERT),
    "xprotect_ca_import_pfx_path": _s("str", None, _CERT),
    "xprotect_ca_import_chain_path": _s("str", None, _CERT),
    "xprotect_ca_import_passphrase": _s("str", None, _CERT, no_log=True),
    # The CA rotation (playbooks/rotate_ca.yml, docs/runbook.md "Rotate the site CA")
    "xprotect_ca_new_path": _s("str", _TEXT, "site renew rotate"),  # site and renew: a rotation under way stops them
    "xprotect_ca_new_passphrase": _s("str", None, "rotate", no_log=True),
    "xprotect_ca_new_common_name": _s("str", validate.bounded(validate.text, max_length=64), "rotate"),
    "xprotect_ca_new_import_cert_path": _s("str", None, "rotate"),
    "xprotect_ca_new_import_key_path": _s("str", None, "rotate"),
    "xprotect_ca_new_import_pfx_path": _s("str", None, "rotate"),
    "xprotect_ca_new_import_passphrase": _s("str", None, "rotate", no_log=True),
    "xprotect_ca_rotation_min_days": _s("int", _DAYS_1, "rotate"),
    # Where the controller reaches a host's XProtect ports: added to every port probed on this
    # host (a host reached through port translation, and the lab)
    "xprotect_port_offset": _s("int", validate.bounded(validate.whole_number, 0, 65535), _ALL),
    # The management server for a job whose inventory does not hold it (an AWX slice; docs/awx.md)
    "xprotect_management_server": _s("dict", _management_site, _ALL),
    # Host names and certificates (roles/certificates, roles/verify)
    "xprotect_fqdn": _s("str", _hostname, _ALL),
    "xprotect_dns_names": _s("list", validate.list_of(_hostname), _ALL, elements="str"),
    "xprotect_ip_addresses": _s("list", validate.list_of(_ip), _CERT, elements="str"),
    "xprotect_renew_before": _s("int", _DAYS, _ALL),
    "xprotect_certificates_key_source": _s("str", None, _BROUGHT, choices=["host", "pfx", "adcs"]),
    "xprotect_certificates_key_length": _s("int", validate.bounded(validate.whole_number, 2048, 16384, "bits"), _CERT),
    "xprotect_certificates_provider": _s("str", _TEXT, _CERT),
    "xprotect_certificates_pfx_path": _s("str", None, _BROUGHT),
    "xprotect_certificates_pfx_passphrase": _s("str", None, _BROUGHT, no_log=True),
    "xprotect_certificates_pfx_encryption": _s("str", None, _CERT, choices=["3des", "aes256"]),
    # Bring your own certificate as PEM (docs/certificates.md, "Bring your own certificates")
    "xprotect_certificates_cert_path": _s("str", None, _BROUGHT),
    "xprotect_certificates_key_path": _s("str", None, _BROUGHT),
    "xprotect_certificates_key_passphrase": _s("str", None, _BROUGHT, no_log=True),
    "xprotect_certificates_client_trusted_roots": _s(
        "list", validate.list_of(validate.thumbprint), _BROUGHT, elements="str"
    ),
    "xprotect_certificates_key_readers": _s("list", _TEXTS, _CERT, elements="str"),
    "xprotect_certificates_verify_key_access": _s("bool", None, _CERT),
    # An enterprise CA (key_source adcs, docs/certificates.md "An enterprise CA (AD CS)")
    "xprotect_certificates_adcs_config": _s("str", _adcs_or_empty(_adcs.check_config), _CERT),
    "xprotect_certificates_adcs_template": _s("str", _adcs_or_empty(_adcs.check_template), _CERT),
    # Trust (roles/trust)
    "xprotect_trust_retired_thumbprints": _s("list", validate.list_of(validate.thumbprint), elements="str"),
    # Put the site CA into Root when missing; false with an enterprise root that Group Policy distributes
    "xprotect_trust_install": _s("bool"),
    # The switch (roles/encryption)
    "xprotect_encryption_state": _s("str", None, "site rollback", choices=["enabled", "disabled"]),
    "xprotect_encryption_groups": _s(
        "list", None, _SWITCH, elements="str", choices=["server", "streaming", "mobile", "event"]
    ),
    "xprotect_stop_stale_configurator": _s("bool", None, _SWITCH),
    "xprotect_encryption_retries": _s("int", _RETRIES, _SWITCH),
    "xprotect_encryption_retry_delay": _s("raw", validate.bounded(validate.number, 0, 3600), _SWITCH),
    "xprotect_encryption_fan_out": _s("bool", None, _SWITCH),
    "xprotect_configurator_path": _s("str", _TEXT, _SWITCH),
    "xprotect_override_markers": _s("list", validate.list_of(validate.pattern), _SWITCH, elements="str"),
    # Gates (roles/verify)
    "xprotect_verify_probe_timeout": _s(
        "raw", validate.bounded(validate.number, above=0, maximum=600), "site renew rollback"
    ),
    "xprotect_verify_settle_timeout": _s("raw", validate.bounded(validate.number, 0, 3600), "site renew rollback"),
    "xprotect_verify_expiring_days": _s("int", _DAYS, "site renew rollback"),
    # Roots of brought certificates that the gates' and the order guard's TLS probes accept
    "xprotect_tls_extra_roots": _s("list", validate.list_of(_pem_certificate), "site renew rollback", elements="str"),
    "xprotect_verify_expect_tls": _s("bool", None, "site renew rollback"),
    "xprotect_verify_read_state": _s("bool", None, "site renew rollback"),
    # The site report (playbooks/report.yml, docs/report.md)
    "xprotect_report_dir": _s("str", _TEXT, _ALL),
    "xprotect_report_status_file": _s("str", _TEXT, _ALL),
    "xprotect_expiry_warn_days": _s("int", _DAYS, _ALL),
    "xprotect_expiry_fail_days": _s("int", _DAYS, _ALL),
    # AWX configuration as code (playbooks/awx/configure.yml, docs/awx.md); checked on the controller
    "xprotect_awx_organization": _s("str", _TEXT, "awx"),
    "xprotect_awx_project_name": _s("str", _TEXT, "awx"),
    "xprotect_awx_project_url": _s("str", validate.bounded(validate.text, spaces=False), "awx"),
    "xprotect_awx_project_branch": _s("str", validate.bounded(validate.text, spaces=False), "awx"),
    "xprotect_awx_scm_credential": _s("str", _TEXT, "awx"),
    "xprotect_awx_inventory_name": _s("str", _TEXT, "awx"),
    "xprotect_awx_inventory_source_path": _s("str", _TEXT, "awx"),
    "xprotect_awx_static_inventory_path": _s("str", _TEXT, "awx"),
    "xprotect_awx_machine_credential": _s("str", _TEXT, "awx"),
    "xprotect_awx_ca_credential": _s("str", _TEXT, "awx"),
    "xprotect_awx_api_credential": _s("str", _TEXT, "awx"),
    "xprotect_awx_ca_credential_inputs": _s("dict", None, "awx", no_log=True),
    "xprotect_awx_api_credential_inputs": _s("dict", None, "awx", no_log=True),
    "xprotect_awx_execution_environment": _s("str", _TEXT, "awx"),
    "xprotect_awx_instance_groups": _s("list", _TEXTS, "awx", elements="str"),
    "xprotect_awx_name_prefix": _s("str", _TEXT, "awx"),
    "xprotect_awx_forks": _s("int", validate.bounded(validate.whole_number, 1, 1000), "awx"),
    "xprotect_awx_recording_slices": _s("int", validate.bounded(validate.whole_number, 1, 100), "awx"),
    "xprotect_awx_approval_timeout": _s("int", validate.bounded(validate.whole_number, 0, 604800), "awx"),
    "xprotect_awx_audit_rrule": _s("str", _TEXT, "awx"),
    "xprotect_awx_renew_rrule": _s("str", _TEXT, "awx"),
    "xprotect_awx_notification_name": _s("str", _TEXT, "awx"),
    "xprotect_awx_notification_type": _s(
        "str",
        None,
        "awx",
        choices=["email", "grafana", "irc", "mattermost", "pagerduty", "rocketchat", "slack", "twilio", "webhook"],
    ),
    "xprotect_awx_notification_configuration": _s("dict", None, "awx", no_log=True),
}


def for_playbook(playbook: str) -> Dict[str, Setting]:
    """The settings ``playbook`` (one of :data:`PLAYBOOKS`) reads, with those of the playbooks it runs."""
    reads = (playbook, *INCLUDES.get(playbook, ()))
    return {name: s for name, s in SETTINGS.items() if set(reads) & set(s.playbooks)}


def argument_spec(playbook: str) -> Dict[str, Dict[str, Any]]:
    """The argument spec of the settings ``playbook`` reads (for ArgumentSpecValidator)."""
    return {name: dict(s.spec) for name, s in for_playbook(playbook).items()}


def problems(playbook: str, values: Mapping[str, Any]) -> List[str]:
    """Range and pattern problems of ``values`` (already through the argument spec), one
    sentence each, naming the variable, the value and what is allowed."""
    found = []
    for name, setting in for_playbook(playbook).items():
        if setting.check is None or values.get(name) is None:
            continue
        try:
            setting.check(values[name], name)
        except validate.ArgumentError as e:  # PkiError too (the host-name and IP checks)
            found.append(e.message)
    warn, fail = values.get("xprotect_expiry_warn_days"), values.get("xprotect_expiry_fail_days")
    if "xprotect_expiry_warn_days" in for_playbook(playbook) and isinstance(warn, int) and isinstance(fail, int):
        if fail > warn:
            found.append(
                f"xprotect_expiry_fail_days={fail} is more than xprotect_expiry_warn_days={warn}: the audit must warn "
                "before it fails; set xprotect_expiry_fail_days at most xprotect_expiry_warn_days."
            )
    return found


def gate(found: Mapping[str, List[str]], most: int = 5) -> List[str]:
    """The problems of every host checked (``{host: problems}``), each said once: a value that is
    wrong on every host (an extra var, group_vars/all) is not repeated per host."""
    hosts_of: Dict[str, List[str]] = {}
    for host, problems_of_host in found.items():
        for problem in problems_of_host:
            hosts_of.setdefault(problem, []).append(host)
    lines = []
    for problem, hosts in hosts_of.items():
        if len(hosts) == len(found) and len(found) > 1:
            where = "every host"
        else:
            names = sorted(hosts)
            where = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
        lines.append(f"On {where}: {problem}")
    return lines
