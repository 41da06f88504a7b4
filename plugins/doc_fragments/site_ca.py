# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site CA in one option (``ca``), as the roles pass it to the action plugins."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ca:
    description:
      - The site CA as the roles hold it (the variables of the ca role), instead of the C(ca_*) options.
      - When O(ca.cert_content) is not empty it is used (with O(ca.key_content) where a certificate is signed), the
        way an AWX credential injects the CA; otherwise C(ca.crt) and C(ca.key) in the folder O(ca.path).
      - "So a role writes C(ca: {path: ..., cert_content: ...}) from the ca role's C(xprotect_ca_path) and
        C(xprotect_ca_cert_content), and the choice between files and values is made once, here."
    type: dict
    suboptions:
      path:
        description: Folder on the controller with C(ca.crt) and C(ca.key), as M(xprotect.encryption.ca) writes it.
        type: path
      cert_content:
        description: The CA certificate as PEM text; empty means the files under O(ca.path).
        type: str
      key_content:
        description: The CA private key as PEM text, with O(ca.cert_content); read only to sign.
        type: str
      passphrase:
        description: Passphrase of the CA private key.
        type: str
"""
