# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab: a simulated XProtect site on one Linux machine.

- ``model``: site and host state (stores, services, encryption groups, faults), locking,
  the event log and status file.
- ``programs``: ServerConfigurator.exe, certreq, netsh and taskkill as the host adapter runs them.
- ``connectivity``: pure rules for who talks to whom.
- ``server``: the one background process per site that serves the endpoints.
- ``site``: create, start, stop, destroy a site and write its inventory.
- ``restapi``: the Management Server REST API request handler (pure).
"""

from __future__ import annotations
