# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The raw-record option every per-host action plugin of the collection takes."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  raw_record_file:
    description:
      - Path, on the controller, of a JSON file to which this task appends every call it made to the host and the raw
        result (netsh output, registry values, C(/listcertificategroups), configuration files, certificate store
        listings, service information). One file per host; the folders are created (0700), the file is written
        atomically (0600).
      - Passwords, private keys, the content of files written to the host (a PFX) and password-like values in the
        text read are left out. Certificates and thumbprints are kept.
      - Written in check mode too, as the record of what the parsers saw, to attach to a bug report
        (C(playbooks/audit.yml -e xprotect_audit_raw=true), see docs/troubleshooting.md).
      - When the file cannot be written, the task warns and is otherwise not affected.
    type: path
"""
