# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: server_certificate
version_added: 0.1.0
short_description: Give an XProtect server a certificate for its own names, with the key born on the server
description:
  - Makes sure the host holds, in C(LocalMachine\My), a certificate for its names with its private key, signed by
    the CA and valid beyond O(renew_before) days.
  - "With O(key_source=host) (the default): C(certreq -new) makes the key on the host (machine key set, not
    exportable) from an INF this plugin writes; the CSR is read back, checked and signed on the controller (the CA key
    never goes to a host); C(certreq -accept) installs the certificate; the store is read again; the service accounts
    of the Milestone services installed on the host (recording, failover, mobile, event), read from the services, plus
    O(key_readers), get Read on the private key; the INF, CSR and certificate files and any pending request left by an
    interrupted earlier run are removed, the request's private key container included (C(Remove-Item -DeleteKey)).
    A request whose key a certificate in My uses loses only its certificate."
  - "With O(key_source=pfx): a PFX (O(pfx_path), or one made on the controller) is copied to the host, imported, and
    deleted from the host in every case. The PFX made on the controller holds the certificate and its key only; a
    self-signed root in the file of O(pfx_path) is left out (the PFX is written again without it), because
    C(win_certificate_store) imports every certificate of a PFX into My, and a CA belongs in Root."
  - "Bring your own certificate (O(pfx_path), or O(cert_path) and O(key_path)): checked on the controller before
    anything reaches the host, in check mode too - the file opens and holds the certificate's own private key; the
    certificate is not self-signed, is valid now and beyond O(renew_before) days, covers the host's names
    (O(fqdn), O(dns_names), O(ip_addresses)), has serverAuth and an RSA key of at least O(key_length) bits; its chain,
    through the file's intermediates or the host's C(CA) (intermediate) store, ends at a root in the host's
    C(Root) store or at the site CA, every link signed and in date. On a mobile server the root must be the site CA or
    one of O(client_trusted_roots). A refusal names the host, the option and every problem, and nothing is imported."
  - "A brought certificate already in C(LocalMachine\\My) with its key, whose intermediates the host holds, is kept
    (C(changed=false)); otherwise the intermediates the host lacks go to C(CA) (intermediate) and the certificate
    with its key to C(My) (as a PFX made on the controller holding only those two)."
  - "With O(key_source=adcs): an enterprise CA (Active Directory Certificate Services) issues the certificate.
    C(certreq -new) makes the key on the host as with O(key_source=host); C(certreq -submit -config <adcs_config>
    -attrib CertificateTemplate:<adcs_template>) sends the request from the host to the CA; C(certreq -accept) installs
    what the CA issued. The controller signs nothing; the CA given as O(ca_cert_content) (or the C(ca) option) is the
    enterprise root, which the installed certificate must chain to."
  - "A request that waits for a CA manager's approval (C(Taken Under Submission)) is not an error: the task returns
    RV(pending)=true with the RequestId, keeps the request's key in C(LocalMachine\\REQUEST) and the RequestId in
    C(C:\\ProgramData\\xprotect.encryption-adcs-request.json) on the host, and the next run fetches the certificate with
    C(certreq -retrieve) instead of sending a second request. A denied or failed request fails the task with the host,
    the CA config, the template and the CA's message; its pending key and record are removed first."
  - The controller refuses to sign a CSR whose key is weaker than RSA 2048 or that asks for a name that is not the
    host's own.
  - This is an action plugin. It reaches the host through the collection's host adapter, which uses
    ansible.windows modules on Windows hosts and the lab on lab hosts.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  fqdn:
    description:
      - The host's fully qualified name, used as the subject CN and the first SAN.
      - Defaults to C(xprotect_fqdn), then C(inventory_hostname). Never an IP address.
    type: str
  dns_names:
    description: DNS aliases clients use for this host, added to the SAN after the FQDN and the short name.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP addresses to add to the SAN (never to the CN). Only when clients connect by address.
    type: list
    elements: str
    default: []
  key_source:
    description:
      - Where the private key is made and who issues the certificate. C(host) and C(adcs) make the key on the host;
        C(host) has it signed by the site CA on the controller, C(adcs) by an enterprise CA (O(adcs_config)).
    type: str
    choices: [host, pfx, adcs]
    default: host
  key_length:
    description: RSA key length for a new key, from 2048 to 16384.
    type: int
    default: 2048
  provider:
    description:
      - The key storage provider named in the certreq INF.
      - Whether CSP or CNG key storage matters to XProtect is not known; the legacy SChannel provider is the most
        widely compatible, so it is the default.
    type: str
    default: Microsoft RSA SChannel Cryptographic Provider
  renew_before:
    description: Re-issue when the certificate expires within this many days, from 0 to 36500.
    type: int
    default: 30
  validity_days:
    description:
      - Validity of a new certificate. When not set, 730 days, shortened to the CA's own expiry.
      - When set, from 1 to 36500 days; a validity past the CA's expiry is refused.
    type: int
  key_readers:
    description: Accounts that need Read on the private key, besides the Milestone service accounts found on the host.
    type: list
    elements: str
    default: []
  verify_key_access:
    description:
      - Also verify (and, outside check mode, restore) the private-key Read right of every key reader when the
        certificate itself needs no change. This costs one more round-trip per account.
    type: bool
    default: false
  pfx_path:
    description:
      - Bring your own certificate - a PFX on the controller to import instead of issuing (O(key_source=pfx)), from
        any CA. It may carry the intermediate CA certificates of its chain.
      - Read and opened (with O(pfx_passphrase)) before the host is touched, then checked against the host's Root and
        intermediate stores (see the description, and docs/certificates.md, "Bring your own certificates").
        Refused with O(key_source=host).
    type: path
  pfx_passphrase:
    description: The passphrase of O(pfx_path), or of the PFX made on the controller (a random one when not set).
    type: str
  cert_path:
    description:
      - Bring your own certificate as PEM (or DER) instead of a PFX (O(key_source=pfx)) - the server certificate,
        followed by the intermediate CA certificates of its chain in the same file. Needs O(key_path).
      - Checked like O(pfx_path). Mutually exclusive with O(pfx_path).
    type: path
  key_path:
    description: The private key of O(cert_path) (PEM or DER, PKCS#1 or PKCS#8, encrypted or not).
    type: path
  key_passphrase:
    description: The passphrase of an encrypted O(key_path).
    type: str
  client_trusted_roots:
    description:
      - Thumbprints of roots besides the site CA that every client of a mobile server trusts (a public CA, a
        corporate root that Group Policy or device management puts on every phone and workstation).
      - On a mobile server, a brought certificate must chain to the site CA or to one of these; the Mobile client
        cannot connect to a certificate its device does not trust.
    type: list
    elements: str
    default: []
  pfx_encryption:
    description:
      - Encryption of a PFX made on the controller. C(3des) (PBE-SHA1-3DES, SHA-1 MAC) is what Windows Server 2016
        can read; C(aes256) only for newer hosts.
    type: str
    choices: [3des, aes256]
    default: 3des
  temp_dir:
    description: A folder on the host for the INF, CSR, certificate and PFX files; they are deleted afterwards.
    type: str
    default: C:\Windows\Temp
  adcs_config:
    description:
      - The enterprise CA's configuration string, C(<CA host>\<CA name>) (as C(certutil -dump) lists it), for
        O(key_source=adcs). Required with it, refused without it.
    type: str
  adcs_template:
    description:
      - The certificate template's name (not its display name), for O(key_source=adcs). Its subject must come from the
        request, and it must give Server Authentication.
    type: str
extends_documentation_fragment:
  - xprotect.encryption.ca
  - xprotect.encryption.site_ca
  - xprotect.encryption.raw_record
notes:
  - Supports check mode and diff mode. In check mode it reads the store and says what it would do and why.
"""

EXAMPLES = r"""
- name: Certificate for a recording server, key born on the server
  xprotect.encryption.server_certificate:
    ca_cert_path: /etc/xprotect/pki/ca.crt
    ca_key_path: /etc/xprotect/pki/ca.key
    ca_passphrase: "{{ vault_ca_passphrase }}"
    dns_names: [rs01-alias.example.com]
  register: cert

- name: Certificate from the enterprise CA (AD CS), key born on the server
  xprotect.encryption.server_certificate:
    key_source: adcs
    adcs_config: ca01.corp.example.com\Corp Issuing CA
    adcs_template: XProtectServer
    ca_cert_content: "{{ lookup('ansible.builtin.file', 'files/corp-root.crt') }}"
  register: cert

- name: Import a PFX issued by your own CA (its root already trusted on the host, e.g. by Group Policy)
  xprotect.encryption.server_certificate:
    key_source: pfx
    pfx_path: "files/{{ inventory_hostname }}.pfx"
    pfx_passphrase: "{{ vault_pfx_passphrase }}"
    ca_cert_path: /etc/xprotect/pki/ca.crt

- name: A public CA's certificate for the mobile server, as PEM with its chain
  xprotect.encryption.server_certificate:
    key_source: pfx
    cert_path: files/mobile.example.com-fullchain.pem
    key_path: files/mobile.example.com.key
    key_passphrase: "{{ vault_key_passphrase }}"
    client_trusted_roots: ["CABD2A79A1076A31F21D253635CB039D4329A5E8"]
    ca_cert_path: /etc/xprotect/pki/ca.crt
"""

RETURN = r"""
previous:
  description:
    - The certificate the host used before this task (C(thumbprint), C(not_after)); null when it had none.
    - Equal to RV(thumbprint) and RV(not_after) when nothing was issued.
  returned: success
  type: dict
  sample: {"thumbprint": "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C", "not_after": "2027-03-01T12:00:00Z"}
thumbprint:
  description: SHA-1 thumbprint (uppercase hex) of the certificate the host now uses.
  returned: success
  type: str
  sample: 6A3F0C2B9D1E4F5A6B7C8D9E0F1A2B3C4D5E6F70
not_after:
  description: Expiry of that certificate (ISO 8601, UTC).
  returned: success
  type: str
names:
  description: The names the certificate must cover (FQDN, short name, aliases).
  returned: success
  type: list
  elements: str
reasons:
  description: Why a certificate was (or, in check mode, would be) issued. Empty when nothing was needed.
  returned: always
  type: list
  elements: str
  sample: ["certificate expires in 12 days (renew_before 30)"]
days_left:
  description: Days until the current certificate expires, before any change.
  returned: success
  type: int
key_readers:
  description: Accounts given Read on the private key.
  returned: when the key access was granted or verified
  type: list
  elements: str
removed_requests:
  description:
    - Thumbprints of pending certificate requests of this host, left in C(LocalMachine\REQUEST) by an interrupted
      earlier run, that were removed together with their private key containers.
  returned: when a certificate was issued with O(key_source=host)
  type: list
  elements: str
chain:
  description:
    - The chain of the certificate above it, up to its root (C(certificates), each with C(subject) and
      C(thumbprint)), where the root was found (C(anchor) - C(the site CA) or C(the host's Root store)), and
      C(self_signed) (always false - a self-signed certificate is refused). Phase 6 of site.yml switches a mobile
      server only with this.
  returned: success
  type: dict
supplied:
  description: True when the certificate is the user's own (O(pfx_path) or O(cert_path)).
  returned: when a certificate was brought
  type: bool
pending:
  description:
    - With O(key_source=adcs), true when the request waits for a CA manager's approval; nothing was installed then.
  returned: when a certificate was requested with O(key_source=adcs)
  type: bool
waiting:
  description:
    - With O(key_source=adcs), when the request waits for approval, a short line naming the RequestId, the CA and the
      template (the preflight gate's table shows it).
  returned: when RV(pending) is true
  type: str
adcs:
  description:
    - With O(key_source=adcs), the request - C(config), C(template), C(state) (C(issued) or C(pending)) and
      C(request_id).
  returned: when a certificate was requested with O(key_source=adcs)
  type: dict
  sample: {"config": "ca01.corp.example.com\\Corp Issuing CA", "template": "XProtectServer", "state": "pending",
           "request_id": 4711}
round_trips:
  description: Module round-trips to the host this task took.
  returned: always
  type: int
"""
