# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the playbooks use to hand hostvars to the gate and table logic in module_utils."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import report, site_report


def _plain(hostvars):
    # hostvars is a lazy HostVars object; the functions only need mapping access.
    return hostvars


# Filter arguments come positionally from Jinja.
def _preflight_gate(hostvars, servers, clients, must_trust="all", probes=None, unreachable_recording="block"):  # noqa: PLR0917
    return report.preflight_gate(
        _plain(hostvars), servers, clients, must_trust, probes, unreachable_recording_servers=unreachable_recording
    )


class FilterModule:
    def filters(self):
        return {
            "tls_endpoints": lambda hosts, hostvars, tls=True: report.tls_endpoints(hosts, _plain(hostvars), tls),
            "probe_problems": lambda probes, hostvars, expect_tls=True: report.probe_problems(
                probes, _plain(hostvars), expect_tls
            ),
            "preflight_findings": report.preflight_findings,
            "preflight_gate": _preflight_gate,
            "reach_endpoints": lambda hosts, hostvars: report.reach_endpoints(hosts, _plain(hostvars)),
            "text_table": report.table,
            "summary_rows": lambda hosts, hostvars: report.summary_rows(hosts, _plain(hostvars)),
            "drift_rows": lambda hosts, hostvars, keys: report.drift_rows(hosts, _plain(hostvars), keys),
            "audit_verdict": report.audit_verdict,
            "site_report_records": lambda hosts, hostvars, keys: site_report.host_records(
                hosts, _plain(hostvars), keys
            ),
            "probe_gate": lambda probes, hostvars, expect_tls=True, settle=None: report.probe_gate(
                probes, _plain(hostvars), expect_tls, settle
            ),
        }
