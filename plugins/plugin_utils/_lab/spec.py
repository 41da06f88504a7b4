# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of lab_site and lab_fault, shared by the action plugins and their doc stubs."""

from __future__ import annotations

ROLES = ("management", "recording", "failover", "mobile", "event", "client")
# Per-host shapes of real sites the lab models (see docs/lab.md, "Host options").
STANDBY = ("hot", "cold")
LOCALES = ("en-US", "de-DE")
HOST_OPTIONS = ("install_folder", "standby", "customer_binding", "locale")
STATES = ("present", "started", "stopped", "absent", "status")

FAULTS = (
    "configurator_exit",
    "stale_configurator",
    "unreachable",
    "slow_restart",
    "remove_trusted_ca",
    "disable_encryption",
    "expire_certificate",
    "wrong_name_certificate",
    "remove_key_acl",
    "adcs_approve",
    "adcs_deny",
    "clear",
)

COUNT_OPTIONS = (
    "management_servers",
    "recording_servers",
    "failover_servers",
    "mobile_servers",
    "event_servers",
    "clients",
)

LAB_SITE_ARGS = dict(
    path=dict(type="path"),
    state=dict(type="str", choices=list(STATES), default="present"),
    management_servers=dict(type="int"),
    recording_servers=dict(type="int"),
    failover_servers=dict(type="int"),
    mobile_servers=dict(type="int"),
    event_servers=dict(type="int"),
    clients=dict(type="int"),
    hosts=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            roles=dict(type="list", elements="str", required=True, choices=list(ROLES)),
            install_folder=dict(type="str"),
            standby=dict(type="str", choices=list(STANDBY)),
            customer_binding=dict(type="str"),
            locale=dict(type="str", choices=list(LOCALES)),
        ),
    ),
    address_range=dict(type="str"),
    port_offset=dict(type="int"),
    pki_dir=dict(type="path"),
    settings=dict(type="dict"),
    timeout=dict(type="float", default=60.0),
)
LAB_SITE_MUTUALLY_EXCLUSIVE = [["hosts", name] for name in COUNT_OPTIONS]

LAB_FAULT_ARGS = dict(
    path=dict(type="path"),
    host=dict(type="str", required=True),
    fault=dict(type="str", required=True, choices=list(FAULTS)),
    value=dict(type="raw"),
    applied=dict(type="bool"),
)
