#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: server_certificates
version_added: 0.1.0
short_description: Keep a PFX and a certificate per XProtect server in a folder (the PFX flow, in one batch)
description:
  - For sites whose servers cannot create their own key with certreq, makes on the controller, for every host of
    O(hosts), an RSA key, a certificate signed by the site CA, and a password-protected PFX. It keeps them in O(path)
    as C(<fqdn>.pfx) (mode 0600) and C(<fqdn>.crt) (PEM, mode 0644).
  - Idempotent through the collection's re-issue policy - a host gets a new key and certificate only when its
    certificate is missing, expired or expiring within O(renew_before) days, not issued by this CA, missing one of
    the host's names, has a weak key or the wrong usage, or when its PFX is missing or does not hold it. Every
    reason is returned.
  - "The certificate: CN = FQDN (never an IP address), SAN = FQDN + short name + O(hosts[].dns_names) (+
    O(hosts[].ip_addresses)), keyUsage digitalSignature + keyEncipherment (critical), EKU serverAuth, CA:FALSE,
    SHA-256, a random serial of 159 bits or more."
  - All the hosts are made in one task, in parallel, on the controller. Run it against C(localhost).
  - "On a re-run the PFX files are not decrypted when the certificate file alone shows nothing is needed: each PFX
    is written before its certificate file, so a PFX that exists and is not newer than its C(.crt) is the one that
    C(.crt) was written with. A PFX newer than its certificate (changed by something else) is opened and checked.
    O(verify_pfx=true) opens every PFX."
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
extends_documentation_fragment:
  - xprotect.encryption.ca
attributes:
  check_mode:
    support: full
    description: Reports, per host, whether a certificate would be issued and why; writes nothing.
  diff_mode:
    support: full
    description: Thumbprint and not_after before and after, per host that changes.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (C(localhost)).
options:
  path:
    description:
      - Folder that holds C(<fqdn>.pfx) and C(<fqdn>.crt) per host. Created (mode 0700) when missing.
      - Files of hosts no longer listed are left alone.
    type: path
    required: true
  hosts:
    description:
      - The servers to keep a certificate for.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The server's FQDN. It becomes the certificate's common name and the PFX friendly name.
        type: str
        required: true
      dns_names:
        description:
          - More DNS names the clients use for this server (the short name is always added).
        type: list
        elements: str
        default: []
      ip_addresses:
        description:
          - IP addresses to add to the SAN. Only if clients connect by IP; never used as the common name.
        type: list
        elements: str
        default: []
  pfx_passphrase:
    description:
      - Passphrase of every PFX written.
    type: str
    required: true
  pfx_encryption:
    description:
      - C(3des) - PBE-SHA1-3DES with a SHA-1 MAC, which Windows Server 2016 can import.
      - C(aes256) - AES-256-CBC with a SHA-256 MAC; Windows Server 2016 rejects it ("The specified network password
        is not correct").
      - Changing it does not rewrite existing PFX files; use O(force) for that.
    type: str
    choices: [3des, aes256]
    default: 3des
  validity_days:
    description:
      - Validity of new certificates, in days. Default 730, ended early at the CA's own end of validity.
      - A value given explicitly that would outlive the CA certificate is refused.
    type: int
  renew_before:
    description:
      - Re-issue a certificate that expires within this many days, from 0 to 36500.
    type: int
    default: 30
  key_size:
    description:
      - RSA key size of new keys, from 2048 to 16384. A certificate with a smaller key is re-issued.
    type: int
    default: 2048
  include_ca:
    description:
      - Put the CA certificate in each PFX, after the server certificate.
    type: bool
    default: true
  verify_pfx:
    description:
      - Open every existing PFX with O(pfx_passphrase) and check it holds the certificate and its key, instead of
        trusting the file order. Slower (about 40 ms per host).
    type: bool
    default: false
  force:
    description:
      - Issue a new key, certificate and PFX for every host, whatever the re-issue policy says.
    type: bool
    default: false
  workers:
    description:
      - How many keys are made at once, from 1 to 256. Default - the number of CPUs of the controller.
    type: int
notes:
  - The CA key is opened only when a certificate must be issued; an idempotent run never decrypts it.
  - Each PFX holds a private key; copy it to its server, import it (M(ansible.windows.win_certificate_store)), and
    delete the copy.
seealso:
  - module: xprotect.encryption.ca
"""

EXAMPLES = r"""
- name: Check, without writing, which servers would get a new certificate and why
  xprotect.encryption.server_certificates:
    path: "{{ playbook_dir }}/pki/servers"
    ca_cert_path: "{{ playbook_dir }}/pki/ca.crt"
    pfx_passphrase: "{{ vault_pfx_passphrase }}"
    hosts:
      - name: rs01.vms.example.com
      - name: rs02.vms.example.com
  check_mode: true
  delegate_to: localhost

- name: Two servers, one with an alias and an IP
  xprotect.encryption.server_certificates:
    path: /srv/xprotect/pfx
    ca_cert_path: /srv/xprotect/pki/ca.crt
    ca_key_path: /srv/xprotect/pki/ca.key
    ca_passphrase: "{{ vault_ca_passphrase }}"
    pfx_passphrase: "{{ vault_pfx_passphrase }}"
    hosts:
      - name: ms01.vms.example.com
        dns_names: [vms.example.com]
      - name: rs01.vms.example.com
        ip_addresses: [10.0.10.21]
  delegate_to: localhost
  register: pfx_files
"""

RETURN = r"""
hosts:
  description: Per FQDN, the certificate kept for it (the new one after an issue).
  returned: always
  type: dict
  sample:
    rs01.vms.example.com:
      thumbprint: 3F1C0A9B2E7D44C1A8B39F0E6D2C5B7A91E4D803
      not_after: "2028-01-01T12:00:00Z"
      days_left: 730
      changed: true
      reasons: [no certificate]
      pfx_path: /srv/xprotect/pfx/rs01.vms.example.com.pfx
      crt_path: /srv/xprotect/pfx/rs01.vms.example.com.crt
  contains:
    thumbprint:
      description: SHA-1 thumbprint, uppercase hex (null when none exists yet in check mode).
      type: str
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
    days_left:
      description: Whole days until expiry.
      type: int
    changed:
      description: Whether this host got (or in check mode would get) a new key, certificate and PFX.
      type: bool
    reasons:
      description: Why it was (or would be) issued; empty when kept.
      type: list
      elements: str
    pfx_path:
      description: Path of the PFX.
      type: str
    crt_path:
      description: Path of the PEM certificate.
      type: str
issued:
  description: FQDNs that got (or would get) a new certificate, in the order of O(hosts).
  returned: always
  type: list
  elements: str
ca_thumbprint:
  description: Thumbprint of the CA certificate.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_options, pki, validate
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import server_certificates as backend
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import run_module

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "hosts": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
        },
    },
    **_ca_options.ca_argument_spec(),
    "pfx_passphrase": {"type": "str", "required": True, "no_log": True},
    "pfx_encryption": {"type": "str", "default": "3des", "choices": list(pki.PFX_ENCRYPTIONS)},
    "validity_days": {"type": "int"},
    "renew_before": {"type": "int", "default": 30},
    "key_size": {"type": "int", "default": 2048, "no_log": False},
    "include_ca": {"type": "bool", "default": True},
    "verify_pfx": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "workers": {"type": "int"},
}
# The CA comes from files or from values (an AWX credential), never both.
MUTUALLY_EXCLUSIVE = [(f, v) for f in ("ca_cert_path", "ca_key_path") for v in ("ca_cert_content", "ca_key_content")]
REQUIRED_ONE_OF = [("ca_cert_path", "ca_cert_content")]
# Ranges the argument spec cannot express.
RULES = {
    "key_size": validate.bounded(validate.whole_number, pki.MIN_RSA_BITS, 16384, "bits"),
    "validity_days": validate.bounded(validate.days, 1),
    "renew_before": validate.days,
    "workers": validate.bounded(validate.whole_number, 1, 256),
}


def main() -> None:
    module = validate.naming_options(AnsibleModule, ARGUMENT_SPEC)(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_one_of=REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    result = run_module(
        module, backend.run, lambda e: f"path: cannot write in {module.params['path']} ({e}). Check the folder.", RULES
    )
    errors = result.pop("errors")
    if errors:
        lines = "; ".join(f"{fqdn}: {msg}" for fqdn, msg in sorted(errors.items()))
        module.fail_json(msg=f"{len(errors)} host(s) could not be issued: {lines}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
