# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What xprotect_info reads from one host, through the adapter: the Milestone services and their
versions, Server Configurator, the encryption state, the certificates in My and the CA in Root.
Every judgement (is this a server certificate, issued by the CA, which groups) is module_utils'."""

from __future__ import annotations

import datetime
from typing import Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _groups,
    _roles,
    _server_configurator,
    _services,
    hoststate,
    pki,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError


def _components(adapter, services) -> list:
    out = []
    for svc in services:
        exe = _services.service_executable(svc.path)
        out.append(
            {
                "name": svc.name,
                "display_name": svc.display_name,
                "account": svc.username,
                "state": svc.state,
                "version": adapter.file_version(exe) if exe else None,
            }
        )
    return out


def _configurator(adapter, ctx: dict, services, groups, *, args: dict, check_mode: bool) -> Tuple[dict, bool]:
    """Server Configurator as found, and whether a stale instance was ended (a change)."""
    exe = args["configurator_path"] or _services.configurator_path_from_services(services)
    found = {"path": exe, "version": adapter.file_version(exe) if exe else None}
    found["usable"] = bool(found["version"]) and _server_configurator.configurator_version_ok(found["version"])
    if not (args["certificate_groups"] and found["usable"] and groups):
        return found, False
    # Proves Server Configurator runs (as this task's user) and knows the host's groups; the
    # switch then takes the IDs from here instead of listing inside the window.
    try:
        found["group_ids"], ended = flow.list_group_ids(
            adapter, exe, ctx["fqdn"], groups, stop_stale=args["stop_stale_configurator"], check_mode=check_mode
        )
    except AdapterError as e:
        found.update(usable=False, error=e.message)
        return found, False
    if ended:  # asked for (stop_stale_configurator): a change on the host, reported as one
        found["stale_instance_ended"] = True
    return found, ended


def _certificates(adapter, now, ca_cert) -> Tuple[list, list]:
    """Server certificates in My (of the CA, when one is given), and the others with the reason:
    a CA certificate (from a PFX that carried its chain) or a self-signed one is listed apart."""
    mine, others = [], []
    for e in adapter.list_certificates("My"):
        cert = pki.load_certificate(e.der)
        reason = pki.not_a_server_certificate(cert)
        if reason:
            others.append({"thumbprint": e.thumbprint, "subject": e.subject, "reason": reason})
        elif ca_cert is None or pki.verify_issued_by(cert, ca_cert):
            mine.append(
                {
                    "thumbprint": e.thumbprint,
                    "subject": e.subject,
                    "dns_names": list(e.dns_names),
                    "not_after": e.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "days_left": (e.not_after - now).days,
                    "has_private_key": e.has_private_key,
                }
            )
    return mine, others


def gather(
    adapter, ctx: dict, roles, args: dict, *, ca_cert=None, check_mode: bool = False, now=None, anchor=None
) -> Tuple[dict, bool]:
    """``(facts, changed)`` for one host; ``changed`` only when a stale Server Configurator was
    ended on request. ``ctx`` is ``encryption_flow.context``; ``args`` xprotect_info's options.
    ``anchor``: what Root must hold (the root of an intermediate site CA); default ``ca_cert``."""
    now: Optional[datetime.datetime] = now or datetime.datetime.now(datetime.timezone.utc)
    services = adapter.list_services("Milestone*")
    components = _components(adapter, services)
    groups = _roles.groups_for_roles(roles)
    configurator, changed = _configurator(adapter, ctx, services, groups, args=args, check_mode=check_mode)
    info = {
        "fqdn": ctx["fqdn"],
        "roles": roles,
        "components": components,
        "service_accounts": sorted({c["account"] for c in components if c["account"]}),
        "key_readers": hoststate.key_reader_accounts(services),
        "server_configurator": configurator,
    }
    if groups:
        try:
            state = flow.read_state(adapter, ctx, roles, groups)
            info["encryption"] = {_groups.GROUPS[g].name: state[g] for g in groups}
            # Why a group reads as it does, where that needs saying (no binding on the port the
            # configuration names; a state that cannot be read).
            info["encryption_notes"] = {_groups.GROUPS[g].name: why for g, why in ctx["reasons"].items()}
            # What M(xprotect.encryption.encryption) would refuse, found before any switch.
            info["override"] = flow.override_evidence(ctx, args["override_markers"])
        except AdapterError as e:
            info["encryption_error"] = e.message
    info["certificates"], info["other_certificates"] = _certificates(adapter, now, ca_cert)
    if ca_cert is not None:
        tp = pki.thumbprint(anchor if anchor is not None else ca_cert)
        info["ca"] = {"thumbprint": tp, "trusted": any(e.thumbprint == tp for e in adapter.list_certificates("Root"))}
    return info, changed
