#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ca
version_added: 0.1.0
short_description: Create, import or load the root CA of an XProtect site
description:
  - Keeps the private CA that every XProtect server and client of the site trusts.
  - B(Create) when absent - RSA 4096 (or 3072), SHA-256, basicConstraints C(CA:TRUE, pathlen:0) and keyUsage
    C(keyCertSign, cRLSign), both critical, and a subject key identifier.
  - B(Import) an existing CA from a PEM certificate and key, or from a PFX. Anything that is not a CA, or a key that
    does not belong to the certificate, is refused.
  - B(Content mode) - the certificate, key and passphrase come as values (as an AWX credential injects them) and
    nothing is written to disk.
  - B(Renew) the CA certificate with the same key and subject when it is within O(renew_before) days of expiry, so
    that every server certificate it signed keeps validating. The new certificate must then reach every trust store
    (RV(trust_redistribution_required)).
  - Runs on the controller, where the CA lives. Run it against C(localhost).
  - Files are written through a temporary file and an atomic rename (key 0600, certificate 0644) under a lock file
    C(.lock) in the CA folder, so two runs never corrupt the CA. A failed or killed run leaves nothing half-made
    that the next run does not complete or remove.
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
attributes:
  check_mode:
    support: full
    description: Reports what would be created, imported or renewed, and why; writes nothing.
  diff_mode:
    support: full
    description: Before and after - subject, SHA-1 thumbprint, SHA-256 fingerprint, not_after.
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the controller, in the worker Ansible forks for the task (an action plugin of the same name runs
        the module's code there, without starting a new Python), as the user who runs ansible-playbook.
      - C(delegate_to) and C(become) do not change where or as whom it runs.
options:
  path:
    description:
      - Folder that holds the CA as C(ca.crt) and C(ca.key). Created (mode 0700) when missing.
      - O(cert_path) and O(key_path) override the two file names.
    type: path
  cert_path:
    description:
      - Path of the CA certificate file. Defaults to C(<path>/ca.crt).
    type: path
  key_path:
    description:
      - Path of the CA private key file. Defaults to C(<path>/ca.key).
    type: path
  passphrase:
    description:
      - Passphrase that encrypts the CA key on disk (and decrypts it, or O(key_content)).
      - Required in file mode unless O(allow_unencrypted_key=true).
    type: str
  allow_unencrypted_key:
    description:
      - Allow a CA key file without a passphrase. Anyone who can read that file can then issue certificates that
        the whole site trusts.
    type: bool
    default: false
  cert_content:
    description:
      - Content mode - the CA certificate as a PEM value. Needs O(key_content). Nothing is written.
    type: str
  key_content:
    description:
      - Content mode - the CA private key as a PEM value (encrypted with O(passphrase), or not).
    type: str
  common_name:
    description:
      - Common name of a new CA, 1 to 64 characters without control characters. Not changed on an existing CA.
    type: str
    default: XProtect VMS Root CA
  key_size:
    description:
      - RSA key size of a new CA, 4096 or 3072. Nothing smaller is allowed.
    type: int
    default: 4096
  validity_days:
    description:
      - Validity of a new or renewed CA certificate, in days, from 1 to 36500.
    type: int
    default: 3650
  renew_before:
    description:
      - Renew the CA certificate (same key, same subject) when it expires within this many days, or has expired.
      - C(0) never renews before expiry. At most 36500.
      - Server certificates signed before the renewal keep validating, because the key and name are the same; the
        renewed certificate must still be installed in every trust store before the old one expires.
    type: int
    default: 365
  import_cert_path:
    description:
      - Import - path of an existing CA certificate (PEM or DER). Needs O(import_key_path).
      - Written to O(path) when it holds no CA yet; when O(path) already holds this same CA nothing changes; a
        different CA there is refused.
    type: path
  import_key_path:
    description:
      - Import - path of the existing CA private key (PEM or DER).
    type: path
  import_pfx_path:
    description:
      - Import - path of a PFX holding the CA certificate and its private key.
    type: path
  import_passphrase:
    description:
      - Passphrase of O(import_key_path) or O(import_pfx_path). The imported key is written encrypted with
        O(passphrase).
    type: str
  import_chain_path:
    description:
      - Import - a PEM file with the certificates above the imported CA, up to and including the self-signed
        root (any order), when the CA is an intermediate signed by an enterprise root. The certificates a PFX
        (O(import_pfx_path)) carries besides the CA are read as chain too.
      - Each link is checked - its signature, CA:TRUE with keyCertSign, the path length, the dates. A CA that is
        not self-signed is refused without its chain.
      - Kept in C(ca.crt) after the CA certificate (the CA first, the root last), so that any TLS client given
        C(ca.crt) verifies to the root. Hosts get the intermediates in C(LocalMachine\CA) and the root in
        C(LocalMachine\Root) (RV(root_certificate)).
      - In content mode, O(cert_content) may hold the chain after the CA certificate instead.
    type: path
  rewrap_key:
    description:
      - Re-encrypt an existing CA key file whose protection is weaker than today's guidance (for example
        PBKDF2 at 2,048 iterations, written by an earlier version) with PBKDF2-HMAC-SHA256 at 600,000
        iterations and AES-256. Same key, same O(passphrase); one atomic replace. Nothing happens to a key
        already protected that well.
      - Without it, such a key still loads, and the module warns.
    type: bool
    default: false
notes:
  - The key of an existing CA is never rewritten, except when a CA is imported into an empty folder, or
    re-encrypted with O(rewrap_key).
  - A new key is written encrypted as PKCS#8 PBES2 (PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-CBC), which
    C(openssl pkey) reads. A O(passphrase) shorter than 16 characters gets a warning.
  - A CA folder that group or others can write is refused (C(chmod go-w) fixes it).
  - A new CA is written crash-safe - both files staged (C(ca.key.new), then C(ca.crt.new)) and then renamed. A run
    killed half-way leaves staged files that the next run completes (or removes, when no certificate was made yet).
  - Check mode takes the folder lock too (shared), so an audit never reads a CA half-written by another run.
  - An imported CA that is not yet valid or has expired is refused.
  - O(common_name), O(key_size) apply only when a CA is created.
  - Content mode (O(cert_content) with O(key_content)) takes neither O(path), O(cert_path), O(key_path) nor an
    import option. File mode takes O(path), or O(cert_path) with O(key_path). O(import_pfx_path) takes neither
    O(import_cert_path) nor O(import_key_path), which go together.
seealso:
  - module: xprotect.encryption.server_certificates
"""

EXAMPLES = r"""
- name: Create the site CA once (kept in a folder on the controller)
  xprotect.encryption.ca:
    path: "{{ playbook_dir }}/pki"
    passphrase: "{{ vault_ca_passphrase }}"
  delegate_to: localhost
  run_once: true
  register: site_ca

- name: Import the CA the company already has
  xprotect.encryption.ca:
    path: /srv/xprotect/pki
    passphrase: "{{ vault_ca_passphrase }}"
    import_pfx_path: /tmp/company-ca.pfx
    import_passphrase: "{{ vault_pfx_passphrase }}"
  delegate_to: localhost

- name: Use the CA injected by an AWX credential (nothing written)
  xprotect.encryption.ca:
    cert_content: "{{ lookup('env', 'XPROTECT_CA_CERT') }}"
    key_content: "{{ lookup('env', 'XPROTECT_CA_KEY') }}"
    passphrase: "{{ lookup('env', 'XPROTECT_CA_PASSPHRASE') }}"
  delegate_to: localhost
  register: site_ca

- name: Audit - would the CA be renewed within a year?
  xprotect.encryption.ca:
    path: /srv/xprotect/pki
    passphrase: "{{ vault_ca_passphrase }}"
    renew_before: 365
  check_mode: true
  delegate_to: localhost
"""

RETURN = r"""
certificate:
  description: The CA certificate (PEM); the renewed one after a renewal. Null when a CA would be created in check mode.
  returned: always
  type: str
thumbprint:
  description: SHA-1 of the certificate, uppercase hex, as Windows shows it.
  returned: always
  type: str
  sample: 3F1C0A9B2E7D44C1A8B39F0E6D2C5B7A91E4D803
sha256:
  description: SHA-256 fingerprint of the certificate, uppercase hex.
  returned: always
  type: str
subject:
  description: Subject of the CA certificate.
  returned: always
  type: str
  sample: CN=XProtect VMS Root CA
not_after:
  description: End of validity, ISO 8601 UTC.
  returned: always
  type: str
  sample: "2036-01-01T12:00:00Z"
days_left:
  description: Whole days until the CA certificate expires.
  returned: always
  type: int
reasons:
  description: Why something changed (or would change in check mode). Empty when nothing did.
  returned: always
  type: list
  elements: str
  sample: ["CA certificate expires in 120 days (renew_before 365)"]
created:
  description: A new CA was (or would be) created.
  returned: always
  type: bool
imported:
  description: A CA was (or would be) imported into O(path).
  returned: always
  type: bool
renewed:
  description: The CA certificate was (or would be) renewed with the same key and subject.
  returned: always
  type: bool
trust_redistribution_required:
  description: True after a renewal - install the new certificate in every Trusted Root store.
  returned: always
  type: bool
chain:
  description:
    - The CA certificates above the site CA (PEM, issuer first, root last). Empty for a self-signed root CA.
  returned: always
  type: list
  elements: str
root_certificate:
  description:
    - The certificate hosts trust (LocalMachine\Root) - the root of the chain, or the CA itself when it is a root.
  returned: always
  type: str
root_thumbprint:
  description: SHA-1 thumbprint of RV(root_certificate).
  returned: always
  type: str
previous_thumbprint:
  description: Thumbprint of the certificate before the renewal.
  returned: when renewed
  type: str
cert_path:
  description: Path of the CA certificate file (file mode).
  returned: when not in content mode
  type: str
key_path:
  description: Path of the CA key file (file mode).
  returned: when not in content mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca as backend
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import run_module


def main() -> None:
    # Ansible runs the action plugin of the same name (plugins/action/ca.py), in its worker on the
    # controller; this entry point is the same work as a module (its tests and ansible-test).
    module = AnsibleModule(argument_spec=backend.ARGUMENT_SPEC, supports_check_mode=True, **backend.RELATIONS)
    result = run_module(module, backend.run, backend.write_error, backend.RULES)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
