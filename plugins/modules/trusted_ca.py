# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: trusted_ca
version_added: 0.1.0
short_description: Make an XProtect server or client trust the site CA
description:
  - Makes sure the CA certificate is in C(LocalMachine\Root), idempotent by thumbprint.
  - Optionally removes retired CA certificates, by thumbprint.
  - Every server and every client that pulls video (Smart Client, Management Client, LPR, Mobile Server, Event
    Server...) must trust the CA before the recording servers encrypt streaming media.
  - This is an action plugin that reaches the host through the collection's host adapter.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  ca_cert_path:
    description: The CA certificate (PEM or DER) on the controller.
    type: path
  ca_cert_content:
    description: The CA certificate as PEM text, e.g. injected by an AWX credential.
    type: str
  state:
    description: C(present) to trust the CA, C(absent) to remove it.
    type: str
    choices: [present, absent]
    default: present
  retired_thumbprints:
    description:
      - Thumbprints of former CA certificates to remove from Root.
      - Spaces, colons, lower case and the invisible U+200E mark that certlm.msc puts before a copied thumbprint are
        accepted; what is left must be 40 hexadecimal digits, or the task fails naming the entry.
    type: list
    elements: str
    default: []
  install:
    description:
      - Whether to put the CA into Root when it is missing. With V(false) the CA must be trusted already - an
        enterprise root that Group Policy distributes, in the AD CS mode - and the task fails naming the host when it
        is not; nothing is installed. Check mode reports the missing CA either way.
    type: bool
    default: true
  temp_dir:
    description: A folder on the host for the certificate file while it is imported.
    type: str
    default: C:\Windows\Temp
extends_documentation_fragment:
  - xprotect.encryption.raw_record
  - xprotect.encryption.site_ca
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Trust the site CA
  xprotect.encryption.trusted_ca:
    ca_cert_path: /etc/xprotect/pki/ca.crt
    retired_thumbprints:
      - "0b 5e 1d 2c 3b 4a 59 68 77 86 95 a4 b3 c2 d1 e0 0b 5e 1d 2c"  # as certlm.msc shows it
"""

RETURN = r"""
thumbprint:
  description: Thumbprint of the CA certificate.
  returned: success
  type: str
reasons:
  description: What differed, e.g. C(CA missing from Root).
  returned: success
  type: list
  elements: str
removed:
  description: Thumbprints removed (or, in check mode, to remove) from Root.
  returned: success
  type: list
  elements: str
"""
