# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight
version_added: 0.1.0
short_description: Read what an XProtect host needs before its switch, in one task
description:
  - The rollout's preflight reads of one host, in one task, and returns each read as its own module returns it.
  - C(certificate) and C(trust) are always read in check mode. C(configurator) runs in the task's mode, so that
    its C(stop_stale_configurator) may end a stale Server Configurator instance, as the switch would; that is the
    only change this task can make, and then it is C(changed).
  - C(certificate) is M(xprotect.encryption.server_certificate) with O(certificate) (a certificate valid for the
    host's names, from the site CA, not expiring within C(renew_before), its key readable by the service accounts).
  - C(trust) is M(xprotect.encryption.trusted_ca) with O(trust) (the site CA in C(LocalMachine\Root)).
  - C(configurator) is M(xprotect.encryption.xprotect_info) with O(configurator) (Server Configurator usable, the
    encryption state, the override mode).
  - One task instead of three spares each host two forked workers on the controller, which on a large site is most
    of what a read costs (docs/performance.md). The reads still take the same round trips to the host.
  - A read that fails is returned failed in its own key; this task does not fail for it, so that every host's
    findings reach the preflight gate (the filter P(xprotect.encryption.preflight_findings#filter) reads them).
  - A host that does not answer the first read is not asked the others; the task, and each read, is then
    C(unreachable).
  - This is an action plugin that reaches the host through the collection's host adapter.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  server:
    description:
      - Whether the host is an XProtect server. A client has no server certificate and no Server Configurator, so
        only O(trust) is read; C(certificate) and C(configurator) are returned C(skipped).
    type: bool
    default: true
  certificate:
    description: The options of M(xprotect.encryption.server_certificate), read in check mode.
    type: dict
    default: {}
  trust:
    description: The options of M(xprotect.encryption.trusted_ca), read in check mode.
    type: dict
    required: true
  configurator:
    description: The options of M(xprotect.encryption.xprotect_info), read in check mode.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description:
      - C(certificate) and C(trust) run in check mode whatever the play's mode; in check mode C(configurator) ends no
        stale instance either.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    description: XProtect servers and clients on Windows (or lab hosts, through the lab adapter).
    support: full
    platforms: windows
notes:
  - The options of each read are checked by that read's module; an option it refuses fails that read, named in its
    C(msg).
seealso:
  - module: xprotect.encryption.server_certificate
  - module: xprotect.encryption.trusted_ca
  - module: xprotect.encryption.xprotect_info
"""

EXAMPLES = r"""
- name: Preflight of this host, read-only
  xprotect.encryption.preflight:
    server: true
    certificate:
      fqdn: rs01.example.com
      verify_key_access: true
      ca: {path: /home/ops/.xprotect/pki}
    trust:
      ca: {path: /home/ops/.xprotect/pki}
    configurator:
      certificate_groups: true
  register: preflight
"""

RETURN = r"""
certificate:
  description:
    - What M(xprotect.encryption.server_certificate) returns in check mode, or C(skipped) when O(server) is false.
  returned: always
  type: dict
trust:
  description: What M(xprotect.encryption.trusted_ca) returns in check mode.
  returned: always
  type: dict
configurator:
  description:
    - What M(xprotect.encryption.xprotect_info) returns, or C(skipped) when O(server) is false.
  returned: always
  type: dict
"""
