# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site and host state of the lab: stores, services, encryption groups, faults, files, events.

Layout of a site folder (a stable contract, see docs/lab.md)::

    site.json, inventory.yml, site.xprotect.yml, events.jsonl, status.json, connectivity.json,
    generation, server.pid, server.log, hosts/<fqdn>/{state.json, .lock, keys/, fs/}

Concurrency: up to 50 Ansible forks change different hosts at once. Each host has its own
``fcntl`` lock; state files are replaced atomically (``os.replace``), so reading another host's
state needs no lock. Every change bumps ``generation``, which the site process watches.
Connectivity is recomputed under one site-wide lock, taken while the changing host's lock is
held (lock order: host, then site), so the event log records each change once, in order.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import _groups, _roles, _text, fileutil, pki, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs, configfiles
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn

SITE_KIND = "xprotect.encryption lab site"
STATUS_KIND = "xprotect.encryption lab status"
SITE_VERSION = 1

# The roles, the certificate groups, their default GUIDs and names [H], and which groups a role
# brings, are the collection's own knowledge (_roles.py, _groups.py): the lab simulates what the product
# code expects, so the two never drift apart.
ROLES = tuple(_roles.ROLE_GROUPS)
GROUP_KEYS = tuple(_groups.GROUPS)
ROLE_GROUPS = _roles.ROLE_GROUPS
DEFAULT_GROUP_IDS = {key: group.default_guid for key, group in _groups.GROUPS.items()}
# The event server group's name varies [L]: the lab prints a longer variant than _groups.py's
# own, so that code must find the group by its pattern, not by an exact name.
DEFAULT_GROUP_NAMES = {key: group.name for key, group in _groups.GROUPS.items()}
DEFAULT_GROUP_NAMES["event"] = "Event server and add-ons"

MILESTONE_DIR = "C:\\Program Files\\Milestone"
CONFIGURATOR_PATH = MILESTONE_DIR + "\\Server Configurator\\ServerConfigurator.exe"
SERVICES = {
    "management": ("Milestone XProtect Management Server", "XProtect Management Server\\VideoOS.Server.Service.exe"),
    "recording": ("Milestone XProtect Recording Server", "XProtect Recording Server\\RecordingServer.exe"),
    "failover": ("Milestone XProtect Failover Server", "XProtect Recording Server\\VideoOS.Failover.Service.exe"),
    "mobile": ("Milestone XProtect Mobile Server", "XProtect Mobile Server\\VideoOS.MobileServer.Service.exe"),
    "event": ("Milestone XProtect Event Server", "XProtect Event Server\\VideoOS.Event.Server.exe"),
}

# Every lab setting, its default, and (in docs/lab.md) the fact and confidence it stands for.
DEFAULT_SETTINGS: Dict[str, Any] = {
    "domain": "lab.xprotect.test",
    "configurator_version": "24.2.0.1",
    "follow_refusal_exit_code": 0,
    "event_requires_unencrypted_management": True,
    "event_refusal_exit_code": 1,
    "network_logon_exit_code": 100,
    "milestone_administrators": ["LAB\\milestone-admin"],
    "not_in_store_exit_code": -3,
    "expired_exit_code": -3,
    "key_unreadable_exit_code": -1,
    "untrusted_chain_exit_code": -4,
    "name_mismatch_exit_code": 100000,
    "configurator_checks_key_read": True,
    "accept_requires_trusted_root": True,
    "streaming_requires_key_read": True,
    "mobile_requires_key_read": True,
    "renewal_pickup": True,
    "reject_aes_pfx": False,
    "restart_seconds": 0.0,
    # Each enable/disable run takes restart_seconds plus a uniform draw in [-jitter, +jitter]
    # (never below 0), so that a site's runs do not all end at the same instant.
    "restart_jitter_seconds": 0.0,
    # After a run (or any change) that changes a host's endpoints, its ports stay closed this long
    # before they answer the new way: services still starting once Server Configurator has
    # returned (IIS has been seen stopped after a run [L]). The site process's listeners only.
    "endpoint_return_seconds": 0.0,
    "group_ids": dict(DEFAULT_GROUP_IDS),
    "group_names": dict(DEFAULT_GROUP_NAMES),
    "service_accounts": {
        "management": "NT AUTHORITY\\NetworkService",
        "recording": "NT AUTHORITY\\NetworkService",
        "failover": "LAB\\svc-failover",
        "mobile": "LAB\\svc-mobile",
        "event": "NT AUTHORITY\\NetworkService",
    },
    "default_key_readers": ["NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators"],
    # Further accounts that exist on every lab host (besides the built-in ones, the service
    # accounts and the Milestone administrators), e.g. for key_readers. Any other account is
    # refused the way win_acl refuses one it cannot translate to a SID.
    "accounts": [],
    "connectivity_poll_seconds": 30.0,
    # The enterprise CA (AD CS) of _lab/adcs.py: off unless a site asks for it.
    "adcs_enterprise_ca": False,
    "adcs_config": "ca01.lab.xprotect.test\\LAB Enterprise Root CA",
    "adcs_templates": {"XProtectServer": "issue", "XProtectDenied": "deny"},
    "adcs_pending_approval": False,
    "adcs_root_by_group_policy": True,
}

# Exit codes of a ``configurator_exit`` fault that still apply the change (they report a
# failure after the local change [L]); any other code changes nothing.
APPLYING_EXIT_CODES = (100, 100000, 300000, 20)
# Beside an injected configurator_exit: whether it applies the change, whatever the code (used up
# with it; absent means as APPLYING_EXIT_CODES says).
CONFIGURATOR_EXIT_APPLIED = "configurator_exit_applied"


def configurator_exit_applies(code: int, applied: Optional[bool] = None) -> bool:
    """Whether a run that exits ``code`` by the ``configurator_exit`` fault applies the change first."""
    return int(code) in APPLYING_EXIT_CODES if applied is None else bool(applied)


_ENV = {
    "programdata": "C:\\ProgramData",
    "programfiles": "C:\\Program Files",
    "programfiles(x86)": "C:\\Program Files (x86)",
    "systemroot": "C:\\Windows",
    "windir": "C:\\Windows",
    "systemdrive": "C:",
    "temp": "C:\\Windows\\Temp",
    "tmp": "C:\\Windows\\Temp",
    "allusersprofile": "C:\\ProgramData",
}


class LabError(Exception):
    """A lab operation cannot be done. ``option`` names the offending option, if any."""

    def __init__(self, message: str, option: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.option = option


class LabFileNotFound(LabError):
    """A Windows path of a simulated host does not exist."""


# ---- small file helpers ---------------------------------------------------------------------


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Never half-written (temporary file + ``os.replace``); not fsynced: the lab's state is scratch."""
    fileutil.atomic_write(path, data, mode, durable=False)


def write_if_different(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Write ``data`` unless the file holds it already (no new mtime, no event); True when written."""
    try:
        with open(path, "rb") as fh:
            if fh.read() == data:
                return False
    except FileNotFoundError:
        pass
    atomic_write(path, data, mode)
    return True


def write_json(path: str, data: Any, mode: int = 0o644, indent: Optional[int] = None) -> None:
    atomic_write(path, json.dumps(data, indent=indent, sort_keys=indent is not None).encode("utf-8"), mode)


def read_json(path: str, default: Any = None) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return default


@contextlib.contextmanager
def flock(path: str, timeout: float = 120.0) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``path`` (created if missing), with a timeout."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # Short waits: up to 50 forks take host locks that are each held for milliseconds.
        if not fileutil.wait_for_lock(fd, timeout, poll=0.02, first_poll=0.001):
            raise LabError(f"Timed out after {timeout:.0f} s waiting for the lab lock {path}.")
        yield
    finally:
        os.close(fd)  # closing releases the lock


def pid_alive(pid: Optional[int]) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); /proc tells the truth on Linux.
    try:
        return read_ascii(f"/proc/{pid}/stat").split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def read_ascii(path: str) -> str:
    """A small text file the lab writes in ASCII (a pid, a generation). Read as bytes: a text-mode
    ``open(encoding="ascii")`` imports the ascii codec in every forked worker that reads one, up to
    1 ms of CPU per host inside the disconnection window (docs/performance.md)."""
    with open(path, "rb") as fh:
        return fh.read().decode("ascii", "replace")


# ---- Windows paths --------------------------------------------------------------------------

_BAD_COMPONENT = re.compile(r'[<>:"|?*\x00-\x1f]')
_ENV_VAR_RE = re.compile(r"%([^%]+)%")
_DRIVE_PATH_RE = re.compile(r"^([A-Za-z]):(?:\\|$)(.*)$")


def split_windows_path(path: str) -> List[str]:
    """``C:\\ProgramData\\X`` (or with ``/`` and ``%ProgramData%``) -> ``['C', 'ProgramData', 'X']``.

    Relative paths, UNC paths and ``..`` are refused: a path never leaves the host's ``fs/``.
    """

    def expand(match: re.Match[str]) -> str:
        return _ENV.get(match.group(1).lower(), match.group(0))

    text = _ENV_VAR_RE.sub(expand, path or "").replace("/", "\\")
    m = _DRIVE_PATH_RE.match(text)
    if not m:
        raise LabError(f"{path!r} is not an absolute Windows path (like C:\\ProgramData\\...).", option="path")
    parts = [m.group(1).upper()]
    for comp in m.group(2).split("\\"):
        if comp in ("", "."):
            continue
        if comp == ".." or _BAD_COMPONENT.search(comp):
            raise LabError(f"{path!r}: the lab refuses '..' and characters Windows does not allow.", option="path")
        parts.append(comp.rstrip(" ."))
    return parts


def same_windows_path(a: str, b: str) -> bool:
    try:
        return [p.lower() for p in split_windows_path(a)] == [p.lower() for p in split_windows_path(b)]
    except LabError:
        return False


# ---- the site -------------------------------------------------------------------------------


class Txn:
    """One change of one host's state, made under its lock (see :meth:`Site.transaction`)."""

    def __init__(self, site: Site, name: str, state: Dict[str, Any]):
        self.site = site
        self.name = name
        self.state = state
        self.events: List[Dict[str, Any]] = []
        self.dirty = False

    def emit(self, event: str, **fields: Any) -> None:
        rec = {"ts": time.time(), "host": self.name, "event": event}
        rec.update(fields)
        self.events.append(rec)

    def touch(self) -> None:
        self.dirty = True


# site.json as last parsed in this process, by path: ``(its bytes, spec, merged settings)``.
_PARSED: Dict[str, Tuple[bytes, Any, Dict[str, Any]]] = {}


def _parsed_site(path: str) -> Tuple[Any, Dict[str, Any]]:
    """site.json's spec and merged settings, parsed again only when its bytes changed.

    Every lab task builds a Site, in a worker forked for it. Parsing a 200-host site.json there
    costs about 1.3 ms of CPU per host and task, which grows with the site and which a real host
    does not cost; the lab_preload callback parses it once in ansible-playbook's main process, so
    the workers inherit it and only compare the bytes. The values are shared: read-only.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None, {}
    known = _PARSED.get(path)
    if known is not None and known[0] == raw:
        return known[1], known[2]
    spec = json.loads(raw)
    settings = merged_settings(spec.get("settings") or {}) if isinstance(spec, dict) else {}
    _PARSED[path] = (raw, spec, settings)
    return spec, settings


class Site:
    """A lab site folder. Cheap to construct (site.json, parsed once per process and change)."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        spec, settings = _parsed_site(self.site_json)
        if not isinstance(spec, dict) or spec.get("kind") != SITE_KIND:
            raise LabError(
                f"{self.path} is not a lab site (no {os.path.basename(self.site_json)} of kind {SITE_KIND!r}). "
                "Create one with xprotect.encryption.lab_site or playbooks/lab.yml.",
                option="path",
            )
        self.spec: Dict[str, Any] = spec
        self.settings: Dict[str, Any] = settings
        self.hosts: List[Dict[str, Any]] = spec["hosts"]
        self.by_name: Dict[str, Dict[str, Any]] = {h["name"]: h for h in self.hosts}

    # -- paths ---------------------------------------------------------------------------------
    @property
    def site_json(self) -> str:
        return os.path.join(self.path, "site.json")

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def host_dir(self, name: str) -> str:
        return os.path.join(self.path, "hosts", name)

    def state_path(self, name: str) -> str:
        return os.path.join(self.host_dir(name), "state.json")

    def key_path(self, name: str, key_id: str) -> str:
        return os.path.join(self.host_dir(name), "keys", key_id + ".key")

    @property
    def pki_dir(self) -> str:
        return self.spec.get("pki_dir") or os.path.join(os.path.dirname(self.path), "pki")

    # -- hosts ---------------------------------------------------------------------------------
    def require_host(self, name: str) -> Dict[str, Any]:
        host = self.by_name.get(name) or self.by_name.get((name or "").lower())
        if host is None:
            raise LabError(
                f"Host {name!r} is not in the lab site {self.path}. Its hosts are listed in "
                f"{self.file('inventory.yml')} (for example {self.hosts[0]['name']}).",
                option="host",
            )
        return host

    def management_name(self) -> Optional[str]:
        return next((h["name"] for h in self.hosts if "management" in h["roles"]), None)

    def names_with(self, *roles: str) -> List[str]:
        return [h["name"] for h in self.hosts if any(r in h["roles"] for r in roles)]

    def group_name(self, key: str) -> str:
        return self.settings["group_names"].get(key, DEFAULT_GROUP_NAMES[key])

    def group_id(self, key: str) -> str:
        return self.settings["group_ids"].get(key, DEFAULT_GROUP_IDS[key]).lower()

    def port(self, name: str, default_port: int) -> int:
        """The real loopback port of a host's endpoint (status.json records it)."""
        host = self.require_host(name)
        if self.spec.get("address_mode") == "single":
            # One address for every host (only 127.0.0.1 exists): distinct ports per host.
            slot = conn.ALL_DEFAULT_PORTS.index(default_port)
            return int(self.spec.get("single_base_port", 20000)) + host["index"] * 8 + slot
        return default_port + int(self.spec.get("port_offset", 0))

    # -- state ---------------------------------------------------------------------------------
    def read_state(self, name: str) -> Dict[str, Any]:
        """A host's state, without a lock (state files are replaced atomically)."""
        self.require_host(name)
        state = read_json(self.state_path(name))
        if state is None:
            raise LabError(f"The lab host {name} has no state file; recreate the site with lab_site state=present.")
        return state

    @contextlib.contextmanager
    def transaction(self, name: str) -> Iterator[Txn]:
        """Lock a host, yield its state; on success save it, log events, recompute connectivity."""
        name = self.require_host(name)["name"]
        with flock(os.path.join(self.host_dir(name), ".lock")):
            tx = Txn(self, name, self.read_state(name))
            yield tx
            if tx.dirty:
                self._renewal_pickup(tx)
                write_json(self.state_path(name), tx.state)
                self.write_config_files(tx.state)
            self.append_events(tx.events)
            if tx.dirty:
                # The connectivity first, then the generation: the site process rebuilds
                # status.json when the generation moves, from connectivity.json as it is then, so a
                # bump before it could publish the link as it was before this change, until the
                # next change (a failover server reported disconnected after it had switched).
                try:
                    self.update_connectivity(name)
                finally:
                    self.bump()
        if tx.dirty and not self.server_pid():
            self.write_status()

    def write_config_files(self, state: Mapping[str, Any]) -> None:
        for winpath, text in configfiles.render(state, self.management_name() or "").items():
            write_if_different(self.host_path(state["name"], winpath, create_parents=True), text.encode("utf-8"))

    def _renewal_pickup(self, tx: Txn) -> None:
        """A newer certificate with the same subject in My (with its key) is picked up without
        a Server Configurator run and without a restart (seed page [H])."""
        if not self.settings.get("renewal_pickup"):
            return
        my = [e for e in tx.state["stores"]["My"] if e.get("key")]
        for group, rec in (tx.state.get("encryption") or {}).items():
            if not rec.get("enabled") or not rec.get("subject"):
                continue
            best = None
            for entry in my:
                cert = certs.load_pem(entry["pem"])
                if certs.dotnet_name(cert.subject) != rec["subject"]:
                    continue
                after = pki.not_after(cert).timestamp()
                if after > float(rec.get("not_after") or 0) and (best is None or after > best[0]):
                    best = (after, entry)
            if best is not None and best[1]["thumbprint"] != rec["thumbprint"]:
                old = rec["thumbprint"]
                bind(rec, best[1])
                tx.emit(
                    "certificate_renewed",
                    group=self.group_name(group),
                    old_thumbprint=old,
                    new_thumbprint=rec["thumbprint"],
                )

    # -- files of a host ----------------------------------------------------------------------
    def read_host_file(self, name: str, winpath: str) -> Optional[bytes]:
        """The bytes of a file on the host, or None when the path is not a file there."""
        try:
            path = self.host_path(name, winpath)
        except LabError:
            return None
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as fh:
            return fh.read()

    def host_path(self, name: str, winpath: str, create_parents: bool = False) -> str:
        """Map a Windows path to the host's ``fs/`` folder, matching existing names without case."""
        parts = split_windows_path(winpath)
        current = os.path.join(self.host_dir(name), "fs")
        for i, comp in enumerate(parts):
            candidate = os.path.join(current, comp)
            if not os.path.lexists(candidate) and os.path.isdir(current):
                low = comp.lower()
                for entry in os.listdir(current):
                    if entry.lower() == low:
                        candidate = os.path.join(current, entry)
                        break
            current = candidate
            if create_parents and i < len(parts) - 1 and not os.path.isdir(current):
                os.makedirs(current, exist_ok=True)
        return current

    # -- events, generation, status ------------------------------------------------------------
    def append_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        if not events:
            return
        data = "".join(json.dumps(e, sort_keys=False) + "\n" for e in events).encode("utf-8")
        fd = os.open(self.file("events.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
        finally:
            os.close(fd)

    def emit(self, host: str, event: str, **fields: Any) -> None:
        rec = {"ts": time.time(), "host": host, "event": event}
        rec.update(fields)
        self.append_events([rec])

    def events(self) -> List[Dict[str, Any]]:
        try:
            with open(self.file("events.jsonl"), encoding="utf-8") as fh:
                # Shared lock: a line being appended (under LOCK_EX) is never read half-written.
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
                return [json.loads(line) for line in fh if line.strip()]
        except FileNotFoundError:
            return []

    def bump(self) -> str:
        value = f"{time.time_ns()}-{os.getpid()}"
        atomic_write(self.file("generation"), value.encode("ascii"))
        return value

    def generation(self) -> str:
        try:
            return read_ascii(self.file("generation")).strip()
        except FileNotFoundError:
            return ""

    def server_pid(self) -> Optional[int]:
        """The pid of the running site process, or None."""
        try:
            pid = int(read_ascii(self.file("server.pid")).strip() or 0)
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def load_states(self) -> Dict[str, Dict[str, Any]]:
        return {h["name"]: self.read_state(h["name"]) for h in self.hosts}

    def build_status(
        self,
        states: Mapping[str, Mapping[str, Any]],
        connectivity: Mapping[str, Any],
        runtime: Optional[Mapping[str, Any]] = None,
        generation: Optional[str] = None,
    ) -> Dict[str, Any]:
        listening = (runtime or {}).get("listening") or {}
        hosts: Dict[str, Any] = {}
        for h in self.hosts:
            name = h["name"]
            state = states[name]
            hv = conn.view(state)
            eps = []
            for ep in conn.endpoints(hv, self.settings):
                port = self.port(name, ep.default_port)
                eps.append(
                    {
                        "name": ep.name,
                        "port": port,
                        "default_port": ep.default_port,
                        "tls": ep.tls,
                        "thumbprint": ep.thumbprint if ep.tls and ep.ok else None,
                        "handshake": ep.ok,
                        "listening": bool(listening.get(name, {}).get(str(port))),
                    }
                )
            entry: Dict[str, Any] = {
                "address": h["address"],
                "roles": list(h["roles"]),
                "reachable": hv.reachable,
                "endpoints": eps,
                "encryption": {
                    self.group_name(g): {"enabled": bool(rec.get("enabled")), "thumbprint": rec.get("thumbprint")}
                    for g, rec in (state.get("encryption") or {}).items()
                },
            }
            if hv.restarting:
                # Server Configurator is restarting the host's services: its endpoints are down.
                entry["restarting"] = True
            if "recording" in h["roles"] or "failover" in h["roles"]:
                entry["connected"] = connectivity.get("connected", {}).get(name)
            if "client" in h["roles"]:
                entry["video"] = dict(connectivity.get("video", {}).get(name, {}))
            hosts[name] = entry
        return {
            "kind": STATUS_KIND,
            "site": self.path,
            "ready": bool(runtime and runtime.get("ready")),
            "pid": (runtime or {}).get("pid"),
            "error": (runtime or {}).get("error"),
            "generation": generation if generation is not None else self.generation(),
            "updated": time.time(),
            "address_range": self.spec.get("address_range"),
            "port_offset": self.spec.get("port_offset", 0),
            "management_server": self.management_name(),
            "hosts": hosts,
        }

    def write_status(self, runtime: Optional[Mapping[str, Any]] = None, states=None) -> Dict[str, Any]:
        """Rebuild status.json (the site process does it while it runs; state changes otherwise)."""
        with flock(self.file(".status.lock")):
            generation = self.generation()
            status = self.build_status(
                states if states is not None else self.load_states(),
                read_json(self.file("connectivity.json"), {}) or {},
                runtime,
                generation,
            )
            write_json(self.file("status.json"), status, indent=1)
        return status

    # -- connectivity --------------------------------------------------------------------------
    def update_connectivity(self, changed: Optional[str] = None, emit: bool = True) -> List[Dict[str, Any]]:
        """Recompute the links a change of ``changed`` (or anything, when None) may affect.

        Emits ``connectivity_changed`` (host: the recording/failover server) and ``video_changed``
        (host: the client) for every value that differs from the last one recorded.
        """
        now = certs.utcnow()
        cache: Dict[str, conn.HostView] = {}

        def hv(name: str) -> conn.HostView:
            if name not in cache:
                cache[name] = conn.view(self.read_state(name))
            return cache[name]

        ms = self.management_name()
        links = self.names_with("recording", "failover")
        recorders = self.names_with("recording")
        clients = self.names_with("client")
        link_todo: List[str] = []
        video_todo: List[Tuple[str, str]] = []
        roles = self.require_host(changed)["roles"] if changed else ROLES
        if changed is None or changed == ms:
            link_todo = links
        elif changed in links:
            link_todo = [changed]
        if changed is None:
            video_todo = [(c, r) for c in clients for r in recorders]
        else:
            if "recording" in roles:
                video_todo += [(c, changed) for c in clients]
            if "client" in roles:
                video_todo += [(changed, r) for r in recorders if (changed, r) not in video_todo]
        events: List[Dict[str, Any]] = []
        with flock(self.file(".connectivity.lock")):
            state = read_json(self.file("connectivity.json"), None) or {"connected": {}, "video": {}}
            dirty = False
            ms_view = hv(ms) if ms else None
            for rs in link_todo:
                up = conn.link_up(ms_view, hv(rs), now)
                if state["connected"].get(rs) != up:
                    if rs in state["connected"]:
                        events.append(_event(rs, "connectivity_changed", connected=up, management_server=ms))
                    state["connected"][rs] = up
                    dirty = True
            require = bool(self.settings.get("streaming_requires_key_read"))
            for client, rs in video_todo:
                ok = conn.gets_video(hv(client), hv(rs), now, require)
                row = state["video"].setdefault(client, {})
                if row.get(rs) != ok:
                    if rs in row:
                        events.append(_event(client, "video_changed", recording_server=rs, video=ok))
                    row[rs] = ok
                    dirty = True
            # connectivity.json first, then the events: whoever sees an event finds the file
            # already saying it (tests and the rollout's helpers wait for the event).
            if dirty:
                write_json(self.file("connectivity.json"), state)
            if emit:
                self.append_events(events)
        return events


def _event(host: str, event: str, **fields: Any) -> Dict[str, Any]:
    rec = {"ts": time.time(), "host": host, "event": event}
    rec.update(fields)
    return rec


def merged_settings(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """Defaults with the site's overrides; dict-valued settings merge one level deep."""
    out = json.loads(json.dumps(DEFAULT_SETTINGS))
    for key, value in (overrides or {}).items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def unknown_settings(overrides: Mapping[str, Any]) -> List[str]:
    return sorted(k for k in overrides or {} if k not in DEFAULT_SETTINGS)


# Seconds a setting may take: (minimum, or None for "more than 0"; maximum).
SETTING_SECONDS = {
    "restart_seconds": (0, 3600),
    "restart_jitter_seconds": (0, 3600),
    "endpoint_return_seconds": (0, 3600),
    "connectivity_poll_seconds": (None, 3600),
}
# A Windows exit code is 32 bits: signed as Server Configurator's callers print it, or unsigned.
EXIT_CODES = (-(2**31), 2**32 - 1)


def check_settings(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """The known settings, each checked against its default's kind and range, normalised.

    Seconds must be finite and in range (``nan``, ``1e20`` and negative values are refused),
    exit codes 32-bit whole numbers, switches booleans. The error names ``settings.<name>``.
    """
    out: Dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        option = f"settings.{name}"
        default = DEFAULT_SETTINGS.get(name)
        try:
            if name in SETTING_SECONDS:
                low, high = SETTING_SECONDS[name]
                out[name] = (
                    validate.number(value, option, maximum=high, above=0)
                    if low is None
                    else validate.number(value, option, low, high)
                )
            elif isinstance(default, bool):
                out[name] = validate.boolean(value, option)
            elif isinstance(default, int):
                out[name] = validate.whole_number(value, option, *EXIT_CODES)
            elif isinstance(default, str):
                out[name] = validate.text(value, option)
            elif isinstance(default, list):
                out[name] = validate.list_of(validate.text)(value, option)
            elif isinstance(default, dict) and not isinstance(value, dict):
                raise validate.refuse(option, value, "give a mapping")
            else:
                out[name] = value
        except validate.ArgumentError as e:
            raise LabError(e.message, option="settings")
    return out


# ---- store helpers (on a state dict, inside a transaction) ----------------------------------


def store(state: Dict[str, Any], name: str) -> List[Dict[str, Any]]:
    """The entries of a certificate store (case-insensitive name; unknown stores are empty)."""
    stores = state.setdefault("stores", {})
    for key in stores:
        if key.lower() == name.lower():
            return stores[key]
    return stores.setdefault(name, [])


def find(state: Dict[str, Any], store_name: str, thumbprint: str) -> Optional[Dict[str, Any]]:
    tp = normalize_thumbprint(thumbprint)
    return next((e for e in store(state, store_name) if e["thumbprint"] == tp), None)


def normalize_thumbprint(value: str) -> str:
    return _text.clean_thumbprint(value) or ""


def bind(rec: Dict[str, Any], entry: Mapping[str, Any]) -> None:
    """Point an encryption group at a certificate entry (remembering subject and expiry)."""
    cert = certs.load_pem(entry["pem"])
    rec["thumbprint"] = entry["thumbprint"]
    rec["subject"] = certs.dotnet_name(cert.subject)
    rec["not_after"] = pki.not_after(cert).timestamp()


def add_certificate(
    tx: Txn,
    store_name: str,
    cert: certs.x509.Certificate,
    *,
    key=None,
    acl: Optional[Sequence[str]] = None,
    exportable: bool = False,
    key_id: Optional[str] = None,
) -> Tuple[Dict[str, Any], bool]:
    """Add (or complete with its key) a certificate; returns (entry, changed). Emits events.

    ``key_id``: an existing key file of this host to attach (a pending request's key).
    """
    site, state = tx.site, tx.state
    tp = pki.thumbprint(cert)
    entries = store(state, store_name)
    entry = next((e for e in entries if e["thumbprint"] == tp), None)
    changed = False
    if entry is None:
        entry = {"thumbprint": tp, "pem": pki.cert_pem(cert), "key": None, "acl": [], "exportable": False}
        entries.append(entry)
        changed = True
    if (key is not None or key_id) and not entry.get("key"):
        new_id = tp
        path = site.key_path(tx.name, new_id)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if key_id:
            os.replace(site.key_path(tx.name, key_id), path)
        else:
            atomic_write(path, pki.private_key_pem(key), 0o600)
        entry["key"] = new_id
        entry["acl"] = list(acl if acl is not None else site.settings["default_key_readers"])
        entry["exportable"] = bool(exportable)
        changed = True
    if changed:
        tx.touch()
        if store_name.lower() == "request":
            pass  # the caller (certreq -new) reports certificate_requested
        elif store_name.lower() == "root":
            tx.emit("ca_trusted", thumbprint=tp, subject=certs.dotnet_name(cert.subject))
        else:
            tx.emit(
                "certificate_installed",
                store=store_name,
                thumbprint=tp,
                subject=certs.dotnet_name(cert.subject),
                has_private_key=bool(entry.get("key")),
                not_after=pki.not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
    return entry, changed


def remove_certificate(tx: Txn, store_name: str, thumbprint: str, *, delete_key: bool = False, **extra: Any) -> bool:
    """Remove a certificate from a store. Its key file (the key container in MachineKeys) stays,
    as X509Store.Remove (win_certificate_store state=absent) leaves it, unless ``delete_key``
    (``Remove-Item -DeleteKey``)."""
    entries = store(tx.state, store_name)
    entry = find(tx.state, store_name, thumbprint)
    if entry is None:
        return False
    entries.remove(entry)
    if entry.get("key") and delete_key:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tx.site.key_path(tx.name, entry["key"]))
        extra["key_deleted"] = True
    tx.touch()
    if store_name.lower() == "root":
        tx.emit("ca_removed", thumbprint=entry["thumbprint"], **extra)
    elif store_name.lower() == "request":
        tx.emit("request_removed", thumbprint=entry["thumbprint"], **extra)
    else:
        tx.emit("certificate_removed", store=store_name, thumbprint=entry["thumbprint"], **extra)
    return True


def orphan_keys(site: Site, name: str, state: Mapping[str, Any]) -> List[str]:
    """Key containers of a host that no certificate in any store points at (left in MachineKeys)."""
    folder = os.path.dirname(site.key_path(name, "x"))
    if not os.path.isdir(folder):
        return []
    used = {e.get("key") for entries in (state.get("stores") or {}).values() for e in entries if e.get("key")}
    return sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".key") and f[:-4] not in used)


def groups_of(roles: Sequence[str]) -> List[str]:
    """The group keys of a host's roles (unknown roles bring none)."""
    return _roles.groups_for_roles([r for r in roles if r in ROLE_GROUPS])


_BINDING_RE = re.compile(
    r"^(?:(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):\d{1,5}$"
)


def host_options(item: Mapping[str, Any], where: str, roles: Sequence[str]) -> Dict[str, Any]:
    """The checked per-host options of a ``hosts`` item (see spec.HOST_OPTIONS), without unset ones."""
    out: Dict[str, Any] = {}
    folder = item.get("install_folder")
    if folder:
        try:
            parts = split_windows_path(str(folder))
        except LabError:
            parts = []
        if len(parts) < 2:
            raise LabError(f"{where}: install_folder {folder!r} is not a folder like D:\\Milestone.", option="hosts")
        out["install_folder"] = parts[0] + ":\\" + "\\".join(parts[1:])
    standby = item.get("standby")
    if standby:
        if standby not in ("hot", "cold") or "failover" not in roles:
            raise LabError(f"{where}: standby {standby!r} needs the failover role and is hot or cold.", option="hosts")
        out["standby"] = standby
    binding = item.get("customer_binding")
    if binding:
        if not _BINDING_RE.match(str(binding)):
            raise LabError(
                f"{where}: customer_binding {binding!r} is neither ip:port nor host:port "
                "(e.g. intranet.lab.xprotect.test:443 or 0.0.0.0:443).",
                option="hosts",
            )
        out["customer_binding"] = str(binding).lower()
    locale = item.get("locale")
    if locale:
        if locale not in ("en-US", "de-DE"):
            raise LabError(f"{where}: locale {locale!r} is not one of en-US, de-DE.", option="hosts")
        out["locale"] = locale
    return out


def milestone_dir(options: Optional[Mapping[str, Any]]) -> str:
    """The folder XProtect is installed in on a host (``install_folder``, else the default)."""
    return (options or {}).get("install_folder") or MILESTONE_DIR


def configurator_path(state: Mapping[str, Any]) -> str:
    """Server Configurator sits beside the components' install folders [H]."""
    return milestone_dir(state.get("options")) + "\\Server Configurator\\ServerConfigurator.exe"


def mobile_config_path(state: Mapping[str, Any]) -> str:
    """The mobile server's ``.exe.config`` beside its executable [H]."""
    return milestone_dir(state.get("options")) + "\\" + SERVICES["mobile"][1] + ".config"


def services_for(
    roles: Sequence[str], settings: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None
) -> List[Dict[str, Any]]:
    out = []
    for role in ROLES:
        if role not in roles or role not in SERVICES:
            continue
        display, exe = SERVICES[role]
        out.append(
            {
                "role": role,
                "name": display,
                "display_name": display,
                "username": settings["service_accounts"].get(role, "NT AUTHORITY\\NetworkService"),
                "path": f'"{milestone_dir(options)}\\{exe}"',
                "state": "started",
            }
        )
    return out


def initial_state(host: Mapping[str, Any], settings: Mapping[str, Any], roots: Sequence[str] = ()) -> Dict[str, Any]:
    """A freshly installed host: no certificates of ours, every group unencrypted."""
    roles = list(host["roles"])
    servers = [r for r in roles if r != "client"]
    return {
        "name": host["name"],
        "roles": roles,
        "address": host["address"],
        "id": host["id"],
        "stores": {
            "My": [],
            "Root": [{"thumbprint": tp, "pem": pem, "key": None, "acl": [], "preinstalled": True} for tp, pem in roots],
            "REQUEST": [],
        },
        "encryption": {g: {"enabled": False, "thumbprint": None} for g in groups_of(roles)},
        "options": dict(host.get("options") or {}),
        "services": services_for(roles, settings, host.get("options")),
        "configurator": {
            "installed": bool(servers),
            "version": settings["configurator_version"],
            "running": None,
        },
        "faults": {},
        "created": time.time(),
    }


def now_utc() -> datetime.datetime:
    return certs.utcnow()
