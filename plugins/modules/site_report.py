# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_report
short_description: Write the site report, report.json and report.html
version_added: 0.1.0
description:
  - Joins what a run read (per host, O(records); the TLS probes, O(probes); the drift, O(drift)), the site CA and, when
    there is one, a connectivity status file (O(status_file)) into one JSON document, and renders it as one
    self-contained HTML page (inline CSS, SVG and JavaScript; nothing loaded from the network).
  - The JSON validates against C(plugins/module_utils/report_schema.json) of the collection; its C(schema_version) is 1.
  - Both files are replaced atomically, mode 0644; they hold no secret (the plugin refuses to write one that would).
  - Whether a recording or failover server is connected is measured, never derived from its settings - from the
    status file when given, else from the probes of both ends.
  - Runs on the controller only. It changes nothing on the site, so it reports C(changed=false), in check mode too.
  - The playbooks call it at their end through C(playbooks/report.yml); docs/report.md describes the report.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  records:
    description: Per host, what the run registered, as the filter C(xprotect.encryption.site_report_records) selects it.
    type: list
    elements: dict
    required: true
  probes:
    description:
      - The RV(xprotect.encryption.tls_probe#module:endpoints) of a probe of every server endpoint, labelled with the
        host.
    type: list
    elements: dict
    default: []
  drift:
    description: The rows of the filter C(xprotect.encryption.drift_rows), when the run is an audit.
    type: list
    elements: dict
    default: []
  ca:
    description:
      - The site CA, as the other plugins take it; the report shows its subject, thumbprint and expiry.
      - Unset, the report has no CA part.
    type: dict
    suboptions:
      path:
        description: The CA folder; C(ca.crt) in it is read. Missing is not an error (no CA yet).
        type: path
      cert_content:
        description: The CA certificate (PEM); wins over O(ca.path).
        type: str
        default: ""
  status_file:
    description: A connectivity status JSON (C(hosts.<name>.connected), C(hosts.<name>.video)), as the lab writes it.
    type: path
  playbook:
    description: The playbook that writes the report.
    type: str
    required: true
  check_mode:
    description: The run read the site in check mode (an audit); said in the report.
    type: bool
    default: false
  dest:
    description:
      - The folder for the two files.
      - Default - the job's artifacts under ansible-runner or AWX (C(AWX_ISOLATED_DATA_DIR), else
        C($AWX_PRIVATE_DATA_DIR/artifacts)), else C(xprotect-report/) beside the first of O(inventory_sources), else
        beside O(playbook_dir).
    type: path
  inventory_sources:
    description: The run's inventory sources (C(ansible_inventory_sources)), for the default O(dest).
    type: list
    elements: str
    default: []
  playbook_dir:
    description: The playbook's folder, the last default of O(dest).
    type: path
  warn_days:
    description: A certificate (or the CA) expiring within this many days is C(warn) (C(xprotect_expiry_warn_days)).
    type: int
    default: 30
  fail_days:
    description: Within this many days, or expired, C(fail) (C(xprotect_expiry_fail_days)); at most O(warn_days).
    type: int
    default: 14
  renew_before:
    description: The renewal threshold drawn on the timeline (C(xprotect_renew_before)).
    type: int
    default: 30
  fail_on_expiry:
    description: Fail the task when the expiry watch says C(fail) (the audit sets it), after writing both files.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too; it changes nothing on the site.
  diff_mode:
    support: none
    description: Nothing on the site is changed.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
seealso:
  - module: xprotect.encryption.tls_probe
"""

EXAMPLES = r"""
- name: Site report
  xprotect.encryption.site_report:
    records: "{{ hosts | xprotect.encryption.site_report_records(hostvars, keys) }}"
    probes: "{{ probe.endpoints }}"
    ca: {path: /srv/xprotect/pki}
    playbook: site.yml
    dest: /srv/xprotect/reports
  register: report
"""

RETURN = r"""
paths:
  description: The files written, C(json) and C(html).
  returned: success
  type: dict
summary:
  description: Counts and host lists of the report's C(summary) (what set_stats publishes).
  returned: success
  type: dict
expiry_watch:
  description: C(verdict) (V(ok), V(warn), V(fail)), the certificates in C(warn) and C(fail), and a C(message).
  returned: success
  type: dict
lines:
  description: The console summary - the CA line, one line per server with its expiry date, the clients, the renewals.
  returned: success
  type: list
  elements: str
html_bytes:
  description: Size of report.html.
  returned: success
  type: int
"""
