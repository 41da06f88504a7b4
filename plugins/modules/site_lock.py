# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_lock
short_description: One rollout at a time per XProtect site - a lock marker on the management server
version_added: 0.1.0
description:
  - Takes or releases the site lock, a small JSON file on the management server, so that every controller (AWX
    execution nodes, an operator's laptop) sees a run that is under way.
  - The marker names its holder (controller, user, process, AWX job id from C(JOB_ID) or C(AWX_JOB_ID)), the
    playbook, when it was taken and when it expires, and a lock id.
  - O(state=acquired) fails at once, naming the holder and since when, when another run holds the lock. A lock of
    this controller whose process has ended (a failed or interrupted run) is taken over and reported. An expired lock
    of another controller is taken only with O(break_lock=true); a lock that has not expired only when
    O(break_lock) is its id.
  - The marker is written, then read back after O(settle) seconds; of two runs that found no lock at the same moment,
    the one whose marker was overwritten stops.
  - O(state=released) deletes the marker only when this run holds it, and warns otherwise.
  - Run it on the controller with C(delegate_to) the management server (or on the management server itself). The
    host is reached through the collection's host adapter (C(win_copy), C(slurp), C(win_file) on Windows).
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  state:
    description: V(acquired) takes the lock (or confirms this run holds it); V(released) gives it back.
    type: str
    choices: [acquired, released]
    default: acquired
  path:
    description: The marker file on the management server. Its folder must exist.
    type: str
    default: C:\ProgramData\Milestone\xprotect-encryption.lock
  expiry_minutes:
    description: Minutes after which the lock counts as expired (1 to 10080). Longer than the longest rollout.
    type: int
    default: 240
  break_lock:
    description:
      - V(false) breaks nothing. V(true) breaks an expired or unreadable lock. The id of a lock (the refused run's
        message shows it) breaks that lock, expired or not, for a run that ended on another controller.
    type: raw
    default: false
  playbook:
    description: The playbook taking the lock, shown to a refused run.
    type: str
    default: ""
  settle:
    description: Seconds between writing the marker and reading it back (0 to 60).
    type: float
    default: 2.0
  owner:
    description:
      - The AWX workflow job that holds the lock, its id as AWX injects it into every job of a workflow
        (C(awx_workflow_job_id)). Every job of that workflow, and every slice of a sliced job, then shares the lock
        (the marker lists them as C(holders)); it is deleted when the last holder gives it back. Another workflow
        or a command-line run is still refused.
      - Empty (the default) makes the lock this C(ansible-playbook) process's own.
    type: str
    default: ""
extends_documentation_fragment:
  - xprotect.encryption.raw_record
attributes:
  check_mode:
    support: full
    description: Writes and deletes nothing; reads the marker, so a lock held by another run still fails the task.
  diff_mode:
    support: none
    description: The lock is the run's bookkeeping, not the site's state.
  platform:
    support: full
    platforms: windows
    description: The management server (or its lab host, through the lab adapter).
notes:
  - In check mode nothing is written; a lock held by another run still fails the task.
  - The lock is the run's bookkeeping, not the site's state; the task reports ok, not changed (see RV(written) and
    RV(deleted)), so that a re-run on a site in its desired state reports no change.
"""

EXAMPLES = r"""
- name: One rollout at a time on this site
  xprotect.encryption.site_lock:
    state: acquired
    playbook: site.yml
    break_lock: "{{ xprotect_lock_break | default(false) }}"
  delegate_to: "{{ groups['xprotect_management_servers'][0] }}"
  run_once: true

- name: Release it at the end
  xprotect.encryption.site_lock:
    state: released
  delegate_to: "{{ groups['xprotect_management_servers'][0] }}"
  run_once: true
"""

RETURN = r"""
action:
  description: What was done, V(acquire), V(reenter) (this run held it), V(take_over), V(break), V(refuse); on
    release V(delete), V(absent), V(not_ours), or V(left) (other jobs of the same AWX workflow still hold it).
  returned: always
  type: str
lock:
  description: The marker this run holds (id, owner, playbook, since, expires).
  returned: state=acquired, success
  type: dict
broken:
  description: The lock that was broken or taken over, and why.
  returned: when a lock was broken or taken over
  type: str
expired:
  description: Whether the lock found had expired.
  returned: state=acquired
  type: bool
written:
  description: Whether this task wrote the marker.
  returned: state=acquired
  type: bool
deleted:
  description: Whether this task deleted the marker.
  returned: state=released
  type: bool
holders:
  description: The jobs of the AWX workflow that still hold the lock after this job gave it back.
  returned: when O(state=released) and O(owner) is given and other jobs hold it
  type: list
  elements: str
holder:
  description: The marker of the run that holds the lock, when this run was refused.
  returned: when refused
  type: dict
"""
