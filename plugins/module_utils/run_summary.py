# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the rollout callback says when a run stops: where, who, and what to do next.

Pure functions, so that every sentence the operator reads at the end of a failed run is
decided here and unit-tested:

- ``reason`` turns a task result of any shape (``msg`` as text, list, dict, bytes or None,
  loop results, module output) into one line;
- ``phase_of`` maps a play name to the phase it belongs to, by the phase names the playbooks
  use ("Phase 4: ...", "Rollback step 2: ...", "Audit: ...");
- ``advice`` says what the site was left in and what to run, from the furthest phase the run
  entered. "Re-running is safe" is said only where it is; a run that stopped after the
  management server's phase says that recording servers may be disconnected and that
  re-running is the way forward (or the rollback).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Mapping, Optional, Sequence

# Play-name prefixes (case-insensitive) and their phase. Longest prefix first, so that
# "Phase 3a" is not read as "Phase 3" and "Phase 6b" not as "Phase 6".
_PHASES = (
    ("phase 3a", "event_before"),
    ("phase 6b", "event_after"),
    ("phase 0", "stage"),
    ("phase 1", "stage"),
    ("phase 2", "stage"),
    ("phase 3", "management"),
    ("phase 4", "recording"),
    ("phase 5", "failover"),
    ("phase 6", "mobile"),
    ("phase 7", "verify"),
    ("renew", "renew"),
    ("rollback", "rollback"),
    ("audit", "audit"),
    ("trust the site ca", "trust_clients"),
    ("rotation", "rotation"),
)
# The phases of site.yml from the first switch on, in order: the furthest one the run entered
# decides what the site may have been left in.
SWITCHING = ("event_before", "management", "recording", "failover", "mobile", "event_after", "verify")

_MAX_ITEMS = 3
_MAX_CHARS = 600


def phase_of(play: Optional[str]) -> Optional[str]:
    """The phase a play belongs to, from its name; None for a play this summary does not know."""
    name = str(play or "").strip().lower()
    for prefix, phase in _PHASES:
        if name.startswith(prefix):
            return phase
    return None


def _text(value: Any) -> str:
    """Any value as text: bytes decoded, containers as JSON, None as nothing."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return str(value)  # a str subclass (AnsibleUnsafeText, a tagged string) as plain text
    if isinstance(value, Mapping):
        try:
            return json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return repr(value)
    return str(value)


def _first_line(value: Any) -> str:
    for line in _text(value).splitlines():
        if line.strip():
            return line.strip()
    return ""


def message_text(value: Any) -> str:
    """A message of any shape as one line: the first non-empty line of a text; up to three
    items of a list (and how many more); a mapping as JSON. Never raises."""
    try:
        if isinstance(value, (list, tuple)):
            items = [line for line in (message_text(v) for v in value) if line]
            text = "; ".join(items[:_MAX_ITEMS])
            if len(items) > _MAX_ITEMS:
                text += f" (and {len(items) - _MAX_ITEMS} more)"
        else:
            text = _first_line(value)
    except Exception:  # noqa: BLE001 - a summary line must never break the summary
        text = "(a message that cannot be shown)"
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 3] + "..."


def reason(result: Any) -> str:
    """Why a task failed, in one line, from its result of any shape."""
    if not isinstance(result, Mapping):
        return message_text(result)
    text = message_text(result.get("msg"))
    if text and text != "One or more items failed":
        return text
    items = result.get("results")
    if isinstance(items, (list, tuple)):
        failed = [i for i in items if isinstance(i, Mapping) and (i.get("failed") or i.get("unreachable"))]
        found = message_text([reason(i) for i in failed])
        if found:
            return found
    for key in ("stderr", "module_stderr", "module_stdout", "exception"):
        found = message_text(result.get(key))
        if found:
            return found
    return text


def is_controller(host: Optional[str]) -> bool:
    """Whether a task ran on the controller itself (the plays on ``localhost``)."""
    return str(host or "") in ("localhost", "127.0.0.1")


# The collection's playbooks: a run of one of them that stopped before any known phase (in a
# validation play, say) switched nothing.
PLAYBOOKS = ("site.yml", "stage.yml", "audit.yml", "renew.yml", "rollback.yml", "trust_clients.yml", "rotate_ca.yml")


def advice(
    phases_entered: Sequence[Optional[str]],
    stopped_in: Optional[str],
    check_mode: bool = False,
    playbook: Optional[str] = None,
) -> str:
    """What the site was left in and what to run next, from the phases the run entered (in
    order; None for plays this summary does not know), the phase it stopped in, and the
    playbook's file name."""
    if check_mode:
        return (
            "This was a check-mode run: nothing was changed on any host. Fix what is listed above, then run the "
            "same command again."
        )
    playbook = str(playbook or "").replace("\\", "/").rsplit("/", 1)[-1]
    known = [p for p in phases_entered if p]
    if stopped_in == "audit" or playbook == "audit.yml":
        return (
            "The audit changed nothing on any host. Drift is corrected by playbooks/site.yml (it changes only what "
            "differs; preview it with --check --diff). For hosts it could not check, fix the cause shown in the "
            "audit's table and run the audit again."
        )
    if "rotation" in known or playbook == "rotate_ca.yml":
        return (
            "The CA rotation stopped part-way. Both CAs stay trusted wherever the new one was added, so every server "
            "and client that was connected still is. Fix what is listed above and run playbooks/rotate_ca.yml again: "
            "it resumes where it stopped, with the same new CA. Do not run site.yml or renew.yml before it is "
            'complete (docs/runbook.md, "Rotate the site CA").'
        )
    if "rollback" in known:
        return (
            "The rollback stopped part-way: the servers already switched off serve plain HTTP, the others are still "
            "encrypted, and recording servers whose setting no longer matches the management server's are "
            "disconnected until they match. Fix what is listed above and run playbooks/rollback.yml again to "
            "finish it, or playbooks/site.yml to encrypt everything again."
        )
    if "renew" in known:
        return (
            "Renewal switches no encryption setting: hosts listed above keep the certificate they had, and clients "
            "stay connected. Fix what is listed above and run playbooks/renew.yml again; it re-issues only the "
            "certificates still due."
        )
    if "trust_clients" in known:
        return (
            "Only the clients' trust was being staged; nothing was switched. Run playbooks/trust_clients.yml again "
            "once the clients listed above are reachable."
        )
    if playbook in PHASE_JOBS:
        return PHASE_JOB_ADVICE
    furthest = None
    for phase in known:
        if phase in SWITCHING:
            furthest = phase
    if furthest is not None:
        return _SWITCH_ADVICE[furthest]
    if "stage" in known:
        return (
            "This run switched no encryption setting: the certificates and CA it staged are not in use yet. Fix "
            "what is listed above, then re-run the same command."
        )
    if playbook in PLAYBOOKS:
        return "This run changed nothing yet. Fix what is listed above, then re-run the same command."
    return "Read the errors above before running it again."


# The jobs of the AWX workflow (playbooks/phases/): each stops before its first switch when its
# own preflight or the order guard refuses, so the site-wide advice of site.yml does not hold.
PHASE_JOBS = ("preflight.yml", "management.yml", "recording.yml", "failover.yml", "mobile.yml", "verify.yml")
PHASE_JOB_ADVICE = (
    "This was one job of the rollout workflow (playbooks/phases/, docs/awx.md). A job stopped by its own preflight "
    "or by the order guard switched nothing; one stopped after a switch left its hosts as the lines above say. Fix "
    "what is listed above and launch the same job again, in the workflow's order: preflight, management, "
    "recording, failover, mobile, verify. To go back to plain HTTP instead, run playbooks/rollback.yml."
)
_FORWARD = (
    "Fix what is listed above and re-run the same command as soon as possible: it continues from where it stopped, "
    "changing only what differs. To go back to plain HTTP instead, run playbooks/rollback.yml."
)
_SWITCH_ADVICE = {
    "event_before": (
        "Only event servers may have switched; the management server and the recording servers are as they were. "
        "Fix what is listed above, then re-run the same command."
    ),
    "management": (
        "The management server may already be encrypted: if it is, every recording server and failover server is "
        "disconnected from it until its own phase switches it. " + _FORWARD
    ),
    "recording": (
        "The management server is encrypted. Recording servers that have not switched yet are disconnected from it "
        "until they do. " + _FORWARD
    ),
    "failover": (
        "The management server and the recording servers are encrypted. Failover servers that have not switched "
        "yet are disconnected from the management server and cannot take over until they do. " + _FORWARD
    ),
    "mobile": (
        "The management server, recording and failover servers are switched; mobile servers that did not switch "
        "keep their previous setting. Fix what is listed above and re-run the same command: it changes only what "
        "differs."
    ),
    "event_after": (
        "The management server, recording, failover and mobile servers are switched; event servers that did not "
        "switch keep their previous setting. Fix what is listed above and re-run the same command: it changes only "
        "what differs."
    ),
    "verify": (
        "Every phase ran; the final verification could not read every host. Fix what is listed above and re-run "
        "the same command: it changes only what differs."
    ),
}


def gate_label(task: Optional[str], run_once: bool) -> str:
    """How a task that ran once for the whole play (``run_once``) or on the controller is named
    in the summary: by the task, never by the host that happened to carry it."""
    name = str(task or "").strip() or "(unnamed task)"
    return f"the check '{name}' (run once for the play)" if run_once else f"the controller, task '{name}'"


def render(stopped_in: Optional[str], entries: Iterable[Mapping], advice_text: str) -> List[str]:
    """The summary's lines. ``entries``: who (a host or a check), kind, play and reason."""
    lines = [f"Stopped in: {stopped_in or 'an unnamed play'}"]
    for e in entries:
        why = e.get("reason") or "(no message)"
        lines.append(f"  {e.get('who')}: {e.get('kind')} in '{e.get('play')}': {why}")
    lines.append(advice_text)
    return lines
