#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of xprotect.encryption.lab_fault, nothing else: its action plugin
(plugins/action/lab_fault.py) does the work on the controller, with the argument spec of
plugins/plugin_utils/_lab/spec.py, which tests/unit/plugins/plugin_utils/_lab/test_spec.py
holds equal to the options below. A module may import only module_utils, so no code here."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lab_fault
short_description: Inject a fault into a host of a lab site
description:
  - Makes a simulated XProtect host of a lab site (see M(xprotect.encryption.lab_site)) misbehave on purpose, to
    rehearse what a rollout or an audit does when reality is not as planned.
  - Conditions stay until C(fault=clear) (or until used up) - C(configurator_exit), C(stale_configurator),
    C(unreachable), C(slow_restart).
  - Tampering changes the host once, as a person or an accident would, and C(clear) does not undo it -
    C(remove_trusted_ca), C(disable_encryption), C(expire_certificate), C(wrong_name_certificate),
    C(remove_key_acl).
  - Every fault is written to the site's event log as C(fault_injected).
version_added: 0.1.0
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  path:
    description: The site folder. Defaults to C(.lab/site) under the current directory.
    type: path
  host:
    description: The host, by its FQDN (the inventory name in the site's inventory).
    type: str
    required: true
  fault:
    description:
      - C(configurator_exit) - the next Server Configurator enable/disable run exits with O(value). Codes 100, 100000,
        300000 and 20 still apply the change (they report a failure after the local change); any other code changes
        nothing. O(applied) overrides that for this run.
      - C(stale_configurator) - a hung instance - the next O(value) runs (default 1) exit -4, or until
        C(taskkill /F /IM ServerConfigurator.exe).
      - C(unreachable) - every adapter call to the host fails as an unreachable WinRM host does, and its endpoints
        stop listening. O(value=false) makes it answer again.
      - C(slow_restart) - each enable/disable run takes O(value) seconds longer (the service restart); a second run
        meanwhile exits -4.
      - C(remove_trusted_ca) - remove the site CA (or the thumbprint in O(value)) from C(Root).
      - C(disable_encryption) - switch encryption off behind our back, without any rule checked, for every group or
        the group named in O(value) (C(server), C(streaming), C(mobile), C(event), or the group's name).
      - C(expire_certificate) - replace the bound certificate with an expired one of the same names and key, signed
        by the same CA (the site CA in pki_dir must exist).
      - C(wrong_name_certificate) - replace it with a valid one for another name (O(value), default
        C(wrong-name.<domain>)).
      - C(remove_key_acl) - remove the service accounts (or the account in O(value)) from the key's read ACL.
      - C(adcs_approve) / C(adcs_deny) - a CA manager of the site's enterprise CA (lab setting C(adcs_enterprise_ca))
        issues / denies every request of the host that waits for approval (lab setting C(adcs_pending_approval)).
      - C(clear) - remove every condition from the host.
    type: str
    required: true
    choices: [configurator_exit, stale_configurator, unreachable, slow_restart, remove_trusted_ca, disable_encryption,
              expire_certificate, wrong_name_certificate, remove_key_acl, adcs_approve, adcs_deny, clear]
  value:
    description: The fault's parameter, where it takes one (see O(fault)).
    type: raw
  applied:
    description:
      - Only with O(fault=configurator_exit) - whether that run applies the change before it exits with O(value).
      - C(true) models a code reported after a local change, for any code (Server Configurator exits 20 or 100 with
        the group switched); C(false) models a run that changed nothing, whatever the code (100 with nothing
        applied).
      - Unset - as the field reports the code (see O(fault)).
    type: bool
notes:
  - In check mode nothing is injected and the task reports a change.
seealso:
  - module: xprotect.encryption.lab_site
"""

EXAMPLES = r"""
- name: The next Server Configurator run on rs002 fails as a service that would not start
  xprotect.encryption.lab_fault:
    path: "{{ lab_path }}"
    host: rs002.lab.xprotect.test
    fault: configurator_exit
    value: 10000

- name: The next run on mgmt01 switches the group but reports a failed registration (exit 100)
  xprotect.encryption.lab_fault:
    path: "{{ lab_path }}"
    host: mgmt01.lab.xprotect.test
    fault: configurator_exit
    value: 100
    applied: true

- name: A client loses the CA (drift for the audit to find)
  xprotect.encryption.lab_fault:
    path: "{{ lab_path }}"
    host: cl01.lab.xprotect.test
    fault: remove_trusted_ca

- name: Back to normal
  xprotect.encryption.lab_fault:
    path: "{{ lab_path }}"
    host: rs002.lab.xprotect.test
    fault: clear
"""

RETURN = r"""
host:
  description: The host's FQDN.
  returned: success
  type: str
fault:
  description: The fault injected.
  returned: success
  type: str
value:
  description: Its value.
  returned: success
  type: raw
detail:
  description: What was done, in words.
  returned: success
  type: str
  sample: next enable/disable run exits 10000 without changing anything
replaced:
  description: For the certificate faults, the old and new thumbprints.
  returned: when fault is expire_certificate or wrong_name_certificate
  type: list
  elements: dict
"""
