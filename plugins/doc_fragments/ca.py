# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA-source options shared by the modules and action plugins that check or sign."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ca_cert_path:
    description:
      - Path, on the controller, of the CA certificate (PEM or DER), for example the C(ca.crt)
        written by M(xprotect.encryption.ca).
      - Give either O(ca_cert_path) and O(ca_key_path), or O(ca_cert_content) and O(ca_key_content).
    type: path
  ca_key_path:
    description:
      - Path, on the controller, of the CA private key (PEM, normally encrypted with O(ca_passphrase)).
      - The key is read only when a certificate must be signed; a run that changes nothing never opens it.
    type: path
  ca_passphrase:
    description:
      - Passphrase of the CA private key.
    type: str
  ca_cert_content:
    description:
      - The CA certificate as a PEM value instead of a file, the way an AWX credential injects it.
    type: str
  ca_key_content:
    description:
      - The CA private key as a PEM value instead of a file, the way an AWX credential injects it.
      - Nothing is written to disk in this mode.
    type: str
"""
