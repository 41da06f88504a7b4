# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server Configurator: its command lines, its version, its exit codes and what to say about
them, and the evidence that its override mode was used.

Every fact comes from ``xprotect-facts.md`` and carries its confidence where code depends on
it: [H] vendor code or documentation, [M] vendor sample, [L] field report, [?] unverified.
Where a fact is [L] or [?], the code reads the real state and the value is a setting.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._text import normalize_guid, normalize_thumbprint


@dataclasses.dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str
    action: str
    confidence: str


CONFIGURATOR_LOG_HINT = r"C:\ProgramData\Milestone\...\*ServerConfigurator*.log"
DEFAULT_CONFIGURATOR_PATH = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
MIN_CONFIGURATOR_VERSION = (20, 3)  # 2020 R3: the command line exists from here on [H]

# 0..-4 from vendor code [H]; the rest from field reports [L]. ``{log}`` is the log hint.
EXIT_CODES: Dict[int, ExitCode] = {
    0: ExitCode(0, "success", "The state is read back to confirm it.", "H"),
    -1: ExitCode(
        -1,
        "unknown error",
        "Read the newest {log}: the 'Arguments:' line shows what ran and an 'Error occurred' line says what failed.",
        "H",
    ),
    -2: ExitCode(
        -2,
        "invalid arguments",
        "The command line was refused. Check that Server Configurator is 20.3 (2020 R3) or later; if it is, "
        "report this as a bug in the collection with the 'Arguments:' line of the {log}.",
        "H",
    ),
    -3: ExitCode(
        -3,
        "invalid argument value",
        "The group ID or the thumbprint was refused: re-read the groups with /listcertificategroups, and check "
        "that the certificate is in LocalMachine\\My with its private key and that the service accounts can read "
        "the key.",
        "H",
    ),
    -4: ExitCode(
        -4,
        "another instance is running",
        "End it, or set `xprotect_stop_stale_configurator: true`. If no other instance runs, check that the CA "
        "is in LocalMachine\\Root on the host: field reports [L] give -4 for a chain to an untrusted root too.",
        "H",
    ),
    1: ExitCode(
        1,
        "refused before any change (reported on event servers)",
        "On an event server the group has been reported to change only while the management server is not "
        "encrypted: check the event server's place in the order (`xprotect_event_server_place`), and the {log}.",
        "L",
    ),
    20: ExitCode(
        20,
        "applied locally, but not registered (reported on event servers)",
        "Run the task as a user in the Milestone Administrators role (become: true, become_method: "
        "ansible.builtin.runas), then run it again.",
        "L",
    ),
    100: ExitCode(
        100,
        "applied locally, but registration with the management server was not authorised",
        "Run the task with become: true, become_method: ansible.builtin.runas, as a user in the Milestone "
        "Administrators role (not LOCAL SYSTEM, not a plain network logon), then run it again.",
        "L",
    ),
    10000: ExitCode(
        10000,
        "a Milestone service would not stop",
        "It is retried (`xprotect_encryption_retries`); if it persists, look at the Milestone services and the "
        "Windows event log on the host, start what is stopped, and run again.",
        "L",
    ),
    20000: ExitCode(
        20000,
        "a Milestone service would not start",
        "It is retried (`xprotect_encryption_retries`); if it persists, look at the Milestone services and the "
        "Windows event log on the host, start what is stopped, and run again.",
        "L",
    ),
    100000: ExitCode(
        100000,
        "certificate bound, but identity-provider registration failed",
        "Usually the certificate's CN does not match the address the management server knows for this server: "
        "make the CN the FQDN it is registered with (never an IP address), re-issue, and run again.",
        "L",
    ),
    300000: ExitCode(
        300000,
        "certificate bound, but identity-provider registration failed",
        "Usually the certificate's CN does not match the address the management server knows for this server: "
        "make the CN the FQDN it is registered with (never an IP address), re-issue, and run again.",
        "L",
    ),
}

# A Milestone service would not stop or start: a third-party wizard retries these up to 3 times [L].
RETRYABLE_EXIT_CODES = (10000, 20000)
# After these the change has been reported applied locally [L]: only reading the state back tells.
APPLIED_EXIT_CODES = (0, 20, 100, 100000, 300000)

# What is left to do when the state read back after one of APPLIED_EXIT_CODES shows the change
# in place: the registration, which running the task again would not repeat (nothing is left to
# change, so Server Configurator is not started). ``/register`` is a documented switch [H].
_REGISTER_AGAIN = (
    "register this server again as a user in the Milestone Administrators role: Server Configurator's Registering "
    "page, or `ServerConfigurator.exe /register` in an interactive logon of that user."
)
APPLIED_ADVICE: Dict[int, str] = {
    20: "The encryption change is in place, the registration is not: " + _REGISTER_AGAIN,
    100: "The encryption change is in place, the registration is not: " + _REGISTER_AGAIN,
    100000: "The certificate is bound, the identity provider does not know it. Usually the certificate's CN does not "
    "match the address the management server knows for this server: make the CN the FQDN it is registered with "
    "(never an IP address), re-issue, then " + _REGISTER_AGAIN,
}
APPLIED_ADVICE[300000] = APPLIED_ADVICE[100000]


def normalize_exit_code(code: int) -> int:
    """Windows exit codes are DWORDs; some tools report -4 as 4294967292. Give the signed value."""
    code = int(code)
    return code - 2**32 if code >= 2**31 else code


# What to say about exit -4 once the collection has acted on ``stop_stale_configurator``, so that
# the advice is never "set the setting" when it is set already (``explain_exit(stale=...)``).
_UNTRUSTED_ROOT = (
    "check that the CA is in LocalMachine\\Root on the host: field reports [L] give -4 for a chain to an "
    "untrusted root too."
)
STALE_ACTIONS = {
    "ended": "The stale instance was ended (xprotect_stop_stale_configurator) and it exited -4 again: another run "
    "may be under way on the host (let it finish), or " + _UNTRUSTED_ROOT,
    "none_running": "No Server Configurator process was running to end (xprotect_stop_stale_configurator), so "
    + _UNTRUSTED_ROOT,
    "check_mode": "Check mode ends no process: a run outside check mode ends it and tries again, as "
    "xprotect_stop_stale_configurator is set.",
}


def explain_exit(
    code: int,
    host: str,
    group: Optional[str] = None,
    log_hint: str = CONFIGURATOR_LOG_HINT,
    stale: Optional[str] = None,
) -> str:
    """A sentence a person can act on, for a Server Configurator exit code on ``host``.

    ``stale`` (for exit -4 only) says what was done about a stale instance: ``ended``,
    ``none_running`` or ``check_mode`` (see ``STALE_ACTIONS``); None gives the default advice.
    """
    code = normalize_exit_code(code)
    if code == -4 and stale in STALE_ACTIONS:
        where = f"Server Configurator on {host}" + (f" (group '{group}')" if group else "")
        return f"{where} exited -4: another instance is running. {STALE_ACTIONS[stale]}"
    where = f"Server Configurator on {host}" + (f" (group '{group}')" if group else "")
    known = EXIT_CODES.get(code)
    if known is None:
        return (
            f"{where} exited {code}, a code this collection does not know. Read the newest {log_hint} on {host}: "
            "the 'Arguments:' line shows what ran, and lines such as 'Error occurred in RegisterThisService' say "
            "what failed. The run stopped there without reading the state back; an audit "
            "(playbooks/audit.yml --check) shows the state the host is in now."
        )
    if code == 0:
        return f"{where} exited 0: success."
    mark = "" if known.confidence == "H" else " (meaning from field reports [L])"
    return f"{where} exited {code}: {known.meaning}{mark}. {known.action.format(log=f'{log_hint} on {host}')}"


def explain_read_back(code: int, host: str, group: str, applied: bool, state: str = "") -> str:
    """The outcome of a run that exited with one of APPLIED_EXIT_CODES, once the state is read back.

    The code is not trusted [L]: ``applied`` is what the read-back showed for ``group``, and
    ``state`` is how it reads now. Applied: a warning with what is left to do. Not applied: the
    code's explanation, for a failure.
    """
    code = normalize_exit_code(code)
    where = f"Server Configurator on {host} (group '{group}')"
    now = f" ({state})" if state else ""
    if code == 0:
        if applied:
            return f"{where} exited 0 and the state read back shows the change{now}."
        return f"{where} exited 0 (success), but the state read back is not what was asked{now}."
    known = EXIT_CODES.get(code)
    mark = "" if known is None or known.confidence == "H" else " (meaning from field reports [L])"
    meaning = f"{known.meaning}{mark}" if known else "a code this collection does not know"
    if applied:
        advice = APPLIED_ADVICE.get(code) or f"Read the newest {CONFIGURATOR_LOG_HINT} on {host} for what failed."
        return f"{where} exited {code}: {meaning}. The state read back shows the change{now}. {advice}"
    return (
        f"{where} exited {code}: {meaning}, and the state read back does not show the change{now}: it was not "
        f"applied. " + (known.action.format(log=f"{CONFIGURATOR_LOG_HINT} on {host}") if known else "")
    ).rstrip()


# Compiled at import: forked workers inherit them instead of compiling per host and task.
_RELEASE_RE = re.compile(r"^(\d{4})\s*R(\d)\b", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+")


def _version_tuple(version: Optional[str]) -> Optional[Tuple[int, int]]:
    if not version:
        return None
    text = str(version).strip()
    release = _RELEASE_RE.match(text)  # "2020 R3"
    if release:
        return int(release.group(1)) - 2000, int(release.group(2))
    nums = _DIGITS_RE.findall(text)
    if not nums:
        return None
    return int(nums[0]), int(nums[1]) if len(nums) > 1 else 0


def configurator_version_ok(version: Optional[str]) -> bool:
    """True for a Server Configurator file version of 20.3 (2020 R3) or later [H]."""
    parsed = _version_tuple(version)
    return parsed is not None and parsed >= MIN_CONFIGURATOR_VERSION


def enable_argv(exe: str, guid: str, thumbprint: str) -> List[str]:
    """Enable one group. The group is always named: without it every group changes at once [H]."""
    return [
        exe,
        "/quiet",
        "/enableencryption",
        f"/certificategroup={normalize_guid(guid)}",
        f"/thumbprint={normalize_thumbprint(thumbprint)}",
    ]


def disable_argv(exe: str, guid: str) -> List[str]:
    """Disable one group (named, for the same reason as enable_argv)."""
    return [exe, "/quiet", "/disableencryption", f"/certificategroup={normalize_guid(guid)}"]


def list_groups_argv(exe: str, quiet: bool = False) -> List[str]:
    """List the certificate groups.

    Milestone's own PowerShell module [H] runs ``/listcertificategroups`` alone and parses its
    standard output; ``/quiet`` is only shown with the changing switches, so it is left out
    here unless asked for.
    """
    return [exe, "/quiet", "/listcertificategroups"] if quiet else [exe, "/listcertificategroups"]


# /overridelocalmanagementserver [H]: once used, only the GUI can change encryption. How to
# detect it is NOT known [?]. We look for the switch (or an element/attribute named after it
# and set true) in any text read from the host - Server Configurator's log ('Arguments:' lines
# [L]) or output, or a configuration file. The markers are a setting
# (``xprotect_override_markers``, see docs/troubleshooting.md).
OVERRIDE_MARKERS: Tuple[str, ...] = (
    r"(?<!<)/overridelocalmanagementserver\b",  # the switch, not an XML closing tag
    r"<\s*(?:\w+:)?overridelocalmanagementserver\s*>\s*(?:true|1)\s*<",
    r"\boverridelocalmanagementserver\s*=\s*[\"']?(?:true|1)\b",
)


@functools.lru_cache(maxsize=16)
def _compiled_markers(markers: Tuple[str, ...]) -> Tuple[re.Pattern[str], ...]:
    return tuple(re.compile(m, re.IGNORECASE) for m in markers)


# The defaults are compiled at import: a forked Ansible worker inherits them instead of
# compiling them per host.
_compiled_markers(OVERRIDE_MARKERS)


def override_blocks_cli(texts, markers: Sequence[str] = OVERRIDE_MARKERS) -> Optional[str]:
    """Evidence that ``/overridelocalmanagementserver`` was used on a host, or None [?].

    ``texts``: one text, or a mapping ``{where it was read: text}``. Returns a sentence naming
    where the marker was found and the line, so the caller can refuse with it.
    """
    if texts is None:
        return None
    items = texts.items() if isinstance(texts, Mapping) else [("the text read from the host", texts)]
    compiled = _compiled_markers(tuple(markers))
    for where, text in items:
        for number, line in enumerate(str(text or "").splitlines(), 1):
            for marker in compiled:
                if marker.search(line):
                    shown = line.strip()
                    shown = shown if len(shown) <= 160 else shown[:157] + "..."
                    return f"{where}, line {number}, shows the override mode: {shown!r}"
    return None
