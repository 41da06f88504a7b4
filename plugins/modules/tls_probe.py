#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_probe
version_added: 0.1.0
short_description: Probe TLS endpoints and check what they present against the site's CA
description:
  - Opens a real TLS handshake to each endpoint, concurrently, and reports what it presents - the TLS version, the
    certificate chain (subject, issuer, expiry, SHA-1 thumbprint as Windows shows it, DNS names) - and whether that
    chain verifies against the given CA B(and) covers the expected host name.
  - The probe connects with verification off so that it can report a wrong certificate, then judges it itself,
    the way a Windows client does - chain to the CA, validity dates, the name in the subjectAltName DNS entries, or
    in the subject CN when the certificate has no DNS entries.
  - It tells apart a closed port (RV(endpoints[].reachable=false)), a port that answers without TLS - plain HTTP,
    another protocol, a reset, a server that never answers the handshake (RV(endpoints[].tls=false)) - and the
    certificate problems - wrong name, expired, not yet valid, another CA (RV(endpoints[].verify_error)).
  - It only reads, so it runs in check mode too - it is the drift detector of a scheduled audit.
  - One endpoint never fails the task unless O(fail_on) says so; the failure message then names every endpoint
    that failed and why.
  - Runs on the controller. Run it against C(localhost), or with C(delegate_to=localhost) and C(run_once=true).
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
attributes:
  check_mode:
    support: full
    description: The probe only reads; it runs fully in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to compare.
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the controller, in the worker Ansible forks for the task (an action plugin of the same name runs
        the module's code there, without starting a new Python), as the user who runs ansible-playbook.
      - C(delegate_to) and C(become) do not change where or as whom it runs.
options:
  endpoints:
    description:
      - The endpoints to probe.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description:
          - Host name or IP address to connect to.
        type: str
        required: true
      port:
        description:
          - TCP port, for example C(7563) (recording server image server), C(9001), C(443) or C(8082).
        type: int
        required: true
      server_name:
        description:
          - The name the certificate must be valid for, also sent as SNI. Defaults to O(endpoints[].host).
          - Use it when O(endpoints[].host) is an address, for example the FQDN of a lab host on 127.0.0.x.
        type: str
      label:
        description:
          - A free text returned unchanged with the endpoint's result, for example the inventory host name.
        type: str
  ca_cert:
    description:
      - The CA certificate (PEM, one or more) to verify against, as a value.
      - Every certificate given must be a CA certificate (basicConstraints C(CA:TRUE)); a server's own certificate is
        refused, naming it, because a self-signed server would "verify" against itself.
      - Without O(ca_cert) or O(ca_cert_path) nothing is verified and O(fail_on=untrusted) is refused.
    type: str
  ca_cert_path:
    description:
      - Path of the CA certificate file (PEM) on the controller. The same rules as O(ca_cert).
    type: path
  ca:
    description:
      - "The site CA as the roles hold it, instead of O(ca_cert) or O(ca_cert_path)
        (C(ca: {path: ..., cert_content: ...}) from the ca role's C(xprotect_ca_path) and C(xprotect_ca_cert_content))."
      - O(ca.cert_content) when it is not empty, the way an AWX credential injects the CA; otherwise C(ca.crt) in the
        folder O(ca.path). The same rules as O(ca_cert).
    type: dict
    suboptions:
      path:
        description: Folder on the controller with C(ca.crt), as M(xprotect.encryption.ca) writes it.
        type: path
      cert_content:
        description: The CA certificate as PEM text; empty means C(ca.crt) under O(ca.path).
        type: str
  extra_ca_certs:
    description:
      - More trust anchors, as PEM text, besides the CA of O(ca_cert), O(ca_cert_path) or O(ca) - the root of a
        certificate a server brought from another CA (the roles pass C(xprotect_tls_extra_roots)).
      - Each must be a CA certificate (C(CA:TRUE)), like O(ca_cert).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds allowed for the TCP connection, and again for the TLS handshake, of each endpoint; more than 0 and at
        most 600.
    type: float
    default: 5.0
  workers:
    description:
      - How many endpoints are probed at the same time, from 1 to 256.
    type: int
    default: 32
  fail_on:
    description:
      - Fail the task when an endpoint falls in one of these categories.
      - V(unreachable) - no TCP connection.
      - V(untrusted) - the chain does not verify against the CA, the name is wrong, the certificate is expired or
        not yet valid, or the port answers without TLS. Needs O(ca_cert) or O(ca_cert_path).
      - V(expiring) - the certificate has fewer than O(expiring_days) days left (expired included).
    type: list
    elements: str
    choices: [unreachable, untrusted, expiring]
    default: []
  expiring_days:
    description:
      - The threshold of O(fail_on=expiring) and of RV(counts.expiring), in days from 0 to 36500.
    type: int
    default: 30
  expect:
    description:
      - What every endpoint should answer, for O(settle_timeout) to wait for.
      - V(tls) - a completed TLS handshake, whatever the certificate (RV(endpoints[].verified) and the rest judge it).
      - V(plain) - a TCP connection without TLS.
      - V(any) - whatever it answers; nothing is waited for.
    type: str
    choices: [any, tls, plain]
    default: any
  settle_timeout:
    description:
      - With O(expect=tls) or O(expect=plain), the endpoints that do not answer that way yet are probed again every
        second until they do, for at most this many seconds (0 to 3600). RV(endpoints) holds each endpoint's last
        result.
      - Server Configurator restarts the services it touches; after it returns, their endpoints may refuse
        connections, or answer as before, for a while. A gate right after a switch waits for them here instead of
        failing on a service still starting.
      - An endpoint that never answers as expected costs the whole timeout, then is reported as it was last seen.
      - 0 (the default) probes once. A value above 0 needs O(expect=tls) or O(expect=plain).
    type: float
    default: 0
  settle_per:
    description:
      - What settles together while O(settle_timeout) waits.
      - V(endpoint) - each endpoint on its own, as a gate wants every port of a server to answer.
      - V(label) - the endpoints with the same O(endpoints[].label) together, as one server's ports; with
        O(expect=tls) they have settled when one of them completes a TLS handshake, with O(expect=plain) when one of
        them answers without TLS and none with TLS. The order guard probes a management server's HTTPS and HTTP
        ports this way, since only one of them answers at a time. An endpoint without a label settles on its own.
    type: str
    choices: [endpoint, label]
    default: endpoint
notes:
  - XProtect does not warn before a certificate expires; schedule this probe with O(fail_on=expiring).
seealso:
  - module: xprotect.encryption.ca
"""

EXAMPLES = r"""
- name: List the image server endpoint of every recording server
  ansible.builtin.set_fact:
    rs_endpoints: "{{ rs_endpoints | default([]) + [{'host': item, 'port': 7563}] }}"
  loop: "{{ groups['xprotect_recording_servers'] }}"
  run_once: true

- name: Health gate - every recording server serves a certificate of our CA for its own name
  xprotect.encryption.tls_probe:
    endpoints: "{{ rs_endpoints }}"
    ca_cert_path: "{{ xprotect_ca_path }}/ca.crt"
    fail_on: [unreachable, untrusted]
  delegate_to: localhost
  run_once: true

- name: After the switch, wait up to a minute for the restarted services to answer in TLS, then judge
  xprotect.encryption.tls_probe:
    endpoints: "{{ rs_endpoints }}"
    ca_cert_path: "{{ xprotect_ca_path }}/ca.crt"
    expect: tls
    settle_timeout: 60
    fail_on: [unreachable, untrusted]
  delegate_to: localhost
  run_once: true

- name: Audit - certificates that expire within 60 days, without failing
  xprotect.encryption.tls_probe:
    endpoints:
      - {host: mgmt01.example.com, port: 443}
      - {host: 10.0.0.21, port: 7563, server_name: rs001.example.com}
      - {host: mob01.example.com, port: 8082}
    ca_cert: "{{ lookup('ansible.builtin.file', 'files/ca.crt') }}"
    expiring_days: 60
  delegate_to: localhost
  run_once: true
  register: probe

- name: Show the endpoints that need attention
  ansible.builtin.debug:
    msg: "{{ probe.endpoints | rejectattr('verified') | map(attribute='server_name') | list }}"
"""

RETURN = r"""
endpoints:
  description: One result per endpoint, in the order of O(endpoints).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host connected to.
      type: str
      sample: 10.0.0.21
    port:
      description: The port connected to.
      type: int
      sample: 7563
    server_name:
      description: The name checked against the certificate (and sent as SNI).
      type: str
      sample: rs001.example.com
    label:
      description: The O(endpoints[].label) given with the endpoint.
      returned: when a label was given
      type: str
      sample: rs001.example.com
    reachable:
      description: A TCP connection was made.
      type: bool
    tls:
      description: The TLS handshake completed.
      type: bool
    tls_version:
      description: The negotiated protocol version.
      type: str
      sample: TLSv1.3
    chain:
      description: The certificates the server presented, leaf first.
      type: list
      elements: dict
      contains:
        subject:
          description: Subject, RFC 4514.
          type: str
          sample: CN=rs001.example.com
        issuer:
          description: Issuer, RFC 4514.
          type: str
          sample: CN=XProtect VMS Root CA
        not_before:
          description: Start of validity, UTC.
          type: str
          sample: "2026-03-01T12:00:00Z"
        not_after:
          description: End of validity, UTC.
          type: str
          sample: "2028-03-01T12:00:00Z"
        thumbprint:
          description: SHA-1 of the DER, uppercase hex without separators, as Windows shows it.
          type: str
          sample: 0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C
        dns_names:
          description: The subjectAltName DNS entries.
          type: list
          elements: str
          sample: [rs001.example.com, rs001]
        ip_addresses:
          description: The subjectAltName IP entries.
          type: list
          elements: str
          sample: []
    thumbprint:
      description: Thumbprint of the leaf certificate.
      type: str
      sample: 0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C
    not_after:
      description: End of validity of the leaf, UTC.
      type: str
      sample: "2028-03-01T12:00:00Z"
    days_left:
      description: Whole days until the leaf expires; negative when expired.
      type: int
      sample: 729
    expiring:
      description: RV(endpoints[].days_left) is below O(expiring_days).
      type: bool
    verified:
      description: The chain verifies against the CA and the certificate covers O(endpoints[].server_name).
      type: bool
    verify_error:
      description: Why RV(endpoints[].verified) is false when a certificate was presented.
      type: str
      sample: "wrong name: the certificate is for mgmt01.example.com, not rs001.example.com"
    error:
      description: Why there was no connection or no handshake.
      type: str
      sample: "no TLS: the port answers plain HTTP (HTTP/1.1 400 Bad Request)"
settle:
  description: How the probe waited (O(settle_timeout)).
  returned: always
  type: dict
  contains:
    expect:
      description: O(expect).
      type: str
      sample: tls
    rounds:
      description:
        - How many times the endpoint probed most often was probed; 1 when every endpoint answered as expected at
          once.
      type: int
      sample: 3
    seconds:
      description: Seconds from the first probe to the last.
      type: float
      sample: 2.04
    pending:
      description: The endpoints (label, or host:port) that never answered as O(expect) says.
      type: list
      elements: str
      sample: []
counts:
  description: Totals over all endpoints.
  returned: always
  type: dict
  contains:
    total:
      description: Endpoints probed.
      type: int
    reachable:
      description: Endpoints that accepted a TCP connection.
      type: int
    unreachable:
      description: Endpoints that did not.
      type: int
    tls:
      description: Endpoints that completed a TLS handshake.
      type: int
    no_tls:
      description: Reachable endpoints without a completed TLS handshake.
      type: int
    verified:
      description: Endpoints whose certificate verified.
      type: int
    untrusted:
      description: Reachable endpoints that did not verify (0 when no CA was given).
      type: int
    expiring:
      description: Endpoints with fewer than O(expiring_days) days left.
      type: int
    expired:
      description: Endpoints whose certificate has expired.
      type: int
  sample:
    {total: 3, reachable: 3, unreachable: 0, tls: 3, no_tls: 0, verified: 3, untrusted: 0, expiring: 0, expired: 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import tls_probe as backend
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import run_module


def main() -> None:
    # Ansible runs the action plugin of the same name (plugins/action/tls_probe.py), in its worker on
    # the controller; this entry point is the same work as a module (its tests and ansible-test).
    module = validate.naming_options(AnsibleModule, backend.ARGUMENT_SPEC)(
        argument_spec=backend.ARGUMENT_SPEC, supports_check_mode=True, **backend.RELATIONS
    )
    result = run_module(module, backend.run, backend.write_error, backend.RULES)
    failure = result.pop("failure")
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
