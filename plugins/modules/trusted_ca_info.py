# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: trusted_ca_info
short_description: List the CA certificates an XProtect server or client trusts
version_added: 0.1.0
description:
  - Reads C(LocalMachine\Root) (one C(win_certificate_info) call) and returns its CA certificates (basicConstraints
    C(CA:TRUE)), optionally only those whose subject common name is one of O(common_names).
  - The rollout reads it on every host before phase 0 would create a new CA, to find a CA of this collection that
    the site already trusts (see C(docs/certificates.md), "Continuity of the CA").
  - Read-only. This is an action plugin that reaches the host through the collection's host adapter.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  common_names:
    description:
      - Return only the CA certificates whose subject common name is one of these, compared without case.
      - Empty returns every CA certificate in the store.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - xprotect.encryption.raw_record
attributes:
  check_mode:
    support: full
    description: It only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    description: XProtect servers and clients on Windows (or lab hosts, through the lab adapter).
    support: full
    platforms: windows
notes:
  - Certificates in the store that are not CA certificates (server certificates put in Root by hand) are left out.
seealso:
  - module: xprotect.encryption.trusted_ca
"""

EXAMPLES = r"""
- name: Which CA of the collection does this host trust?
  xprotect.encryption.trusted_ca_info:
    common_names: [XProtect VMS Root CA]
  register: roots
"""

RETURN = r"""
certificates:
  description: The CA certificates found, in store order.
  returned: success
  type: list
  elements: dict
  contains:
    thumbprint:
      description: SHA-1 thumbprint, uppercase hex, as Windows shows it.
      type: str
    subject:
      description: Subject, RFC 4514.
      type: str
      sample: CN=XProtect VMS Root CA
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
    self_signed:
      description: Whether the certificate signs itself (a root).
      type: bool
fqdn:
  description: The host's name.
  returned: success
  type: str
round_trips:
  description: Module round-trips to the host this task took.
  returned: always
  type: int
"""
