# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA for an action plugin, from files on the controller or from values.

The CA key is only ever read here, on the controller: it never goes to a managed host.
Values (``ca_cert_content`` / ``ca_key_content``) are how an AWX credential injects the CA,
so that a job needs no file at all. The options are those of the ``xprotect.encryption.ca``
documentation fragment.
"""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, pki

CA_OPTIONS = _ca_options.ca_argument_spec()
CA_CERT_ONLY_OPTIONS = {k: v for k, v in CA_OPTIONS.items() if k in ("ca_cert_path", "ca_cert_content")}


def load_ca_certificate(args: dict):
    """The CA certificate only (enough to check signatures and to distribute trust)."""
    return _ca_options.load_ca_certificate_from_options(args)


def load_signing_ca(args: dict) -> pki.CA:
    """Certificate and key, to sign. The key's public half is matched to the certificate;
    OpenSSL's slow consistency check of a 4096-bit key is skipped, as in server_certificates."""
    return _ca_options.load_ca_from_options(args, trusted_key=True)
