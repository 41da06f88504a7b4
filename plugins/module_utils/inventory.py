# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the ``xprotect.encryption.xprotect`` inventory plugin.

The plugin does the HTTP; everything it decides is here, so that unit tests cover it without a
server: the URLs to call, what a reply must look like, how API items become records, which
records become which hosts in which groups, and every error message (each names the URL and
says what to do). Facts from ``xprotect-facts.md`` carry their confidence mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.xprotect.encryption.plugins.module_utils._roles import INVENTORY_GROUPS

try:
    import jmespath

    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - jmespath ships with the collection's requirements
    jmespath = None
    HAS_JMESPATH = False

# The groups of the inventory contract this plugin fills, from the one role table.
GROUP_MANAGEMENT = INVENTORY_GROUPS["management"]
GROUP_RECORDING = INVENTORY_GROUPS["recording"]
GROUP_FAILOVER = INVENTORY_GROUPS["failover"]
GROUPS = (GROUP_MANAGEMENT, GROUP_RECORDING, GROUP_FAILOVER)

KIND_RECORDING = "recording_server"
KIND_FAILOVER = "failover_server"

# Management Server REST API [H]: token through the API gateway, or older servers' direct IDP;
# Windows users only on the direct IDP, because the gateway does not pass NTLM through.
TOKEN_PATH_GATEWAY = "/API/IDP/connect/token"  # noqa: S105 - a URL path, not a secret
TOKEN_PATH_IDP = "/IDP/connect/token"  # noqa: S105
CLIENT_ID = "GrantValidatorClient"
API_PATH = "/api/rest/v1/"
AUTH_TYPES = ("basic", "windows")
# The API gateway is a prerequisite from XProtect 2021 R2 on, per Milestone's own REST sample
# [M]; third-party clients of the configuration endpoints ask for 2023 R2 or later [L].
GATEWAY_VERSION = "XProtect 2021 R2"
GATEWAY_VERSION_SAFE = "2023 R2"
NULL_GUID = "00000000-0000-0000-0000-000000000000"

_REFERENCE = re.compile(
    r"^\s*(?:(\w+)\[)?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\]?\s*$"
)


# Letters, digits, dots, hyphens, underscores; colons for IPv6 literals.
_HOST = re.compile(r"^[a-z0-9_.:-]+$")


class InventoryError(Exception):
    """A failure the operator can act on; the message says what to do."""


# ---- URLs -------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """Check the ``url`` option and return it without a trailing slash."""
    text = (url or "").strip()
    if not text:
        raise InventoryError("Option url is empty: set it to the management server, e.g. https://ms.example.com")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InventoryError(
            f"Option url {redact_url(text)!r} is not an http(s) URL: set it to the management server, "
            "e.g. https://ms.example.com"
        )
    if parts.username or parts.password:
        raise InventoryError(
            f"Option url {redact_url(text)!r} carries credentials: remove them and set username and password "
            "(or XPROTECT_USERNAME / XPROTECT_PASSWORD) instead"
        )
    if parts.query or parts.fragment:
        raise InventoryError(
            f"Option url {redact_url(text)!r} has a query or fragment: give the server's base URL only"
        )
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def redact_url(url: str) -> str:
    """The URL without user information, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def token_urls(base_url: str, auth_type: str) -> List[str]:
    """Token endpoints to try, in order (the next one only after a 404)."""
    if auth_type == "windows":
        return [base_url + TOKEN_PATH_IDP]
    return [base_url + TOKEN_PATH_GATEWAY, base_url + TOKEN_PATH_IDP]


def token_form(auth_type: str, username: str, password: str) -> Dict[str, str]:
    """The form-encoded body of the token request [H]."""
    if auth_type == "windows":
        return {"grant_type": "windows_credentials", "client_id": CLIENT_ID}
    return {"grant_type": "password", "username": username, "password": password, "client_id": CLIENT_ID}


def api_url(base_url: str, resource: str, include_disabled: bool = False) -> str:
    """URL of a REST resource; lists hold enabled items only unless asked with ``?disabled`` [M]."""
    return base_url + API_PATH + resource.strip("/") + ("?disabled" if include_disabled else "")


def host_from_uri(uri: Any) -> Optional[str]:
    """Host part of a URI such as ``http://rs01.example.com:7563/``, lower case; None if none."""
    if not isinstance(uri, str) or not uri.strip():
        return None
    text = uri.strip()
    if "//" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    host = host.lower().rstrip(".") if host else ""
    return host if _HOST.match(host) else None


def normalize_server_name(name: Optional[str]) -> Optional[str]:
    """Check the ``tls_server_name`` option: a bare host name (or address), lower case; None when unset.

    It is sent as SNI and the certificate is checked against it, so a URL, a port or a path here
    would never match: refuse them with a message that says what to give instead.
    """
    text = (name or "").strip()
    if not text:
        return None
    host = text.lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 literal as written in a URL
    if "://" in text or "/" in text or not _HOST.match(host) or (host.count(":") == 1):
        raise InventoryError(
            f"Option tls_server_name {text!r} is not a host name: give only the name the management server's "
            "certificate was issued for, e.g. ms.example.com (no scheme, port or path)"
        )
    return host


def management_host(base_url: str, override: Optional[str] = None, server_name: Optional[str] = None) -> str:
    """Inventory name of the management server.

    ``management_server_name`` wins; else ``tls_server_name``, the name on the server's certificate
    (its FQDN, where ``url`` had to use an address); else the URL's host.
    """
    if override and override.strip():
        return override.strip().lower()
    if server_name and server_name.strip():
        return server_name.strip().lower()
    host = host_from_uri(base_url)
    if not host:
        raise InventoryError(f"Cannot take a host name from url {redact_url(base_url)!r}")
    return host


# ---- replies ------------------------------------------------------------------------------


def error_text(reply: Any) -> str:
    """A short human text out of an error reply: IdentityServer's or the REST API's ``error``."""
    if not isinstance(reply, Mapping):
        return ""
    err = reply.get("error")
    if isinstance(err, str):
        desc = reply.get("error_description")
        return f"{err} ({desc})" if desc else err
    if isinstance(err, Mapping):
        texts: List[str] = []
        for detail in err.get("details") or ():
            if isinstance(detail, Mapping) and detail.get("errorText"):
                texts.append(str(detail["errorText"]))
        for key in ("message", "errorText", "description"):
            if err.get(key):
                texts.append(str(err[key]))
        return "; ".join(texts)
    return ""


def list_from_reply(reply: Any, url: str) -> List[Dict[str, Any]]:
    """The items of a list reply, which the REST API puts under ``"array"`` [H]."""
    if not isinstance(reply, Mapping):
        raise InventoryError(
            f"The reply from {redact_url(url)} is a JSON {type(reply).__name__}, not an object with an 'array' list. "
            "Check that url points at the XProtect management server (its API gateway), not at another service."
        )
    if "array" not in reply:
        keys = ", ".join(sorted(str(k) for k in reply)) or "none"
        hint = error_text(reply)
        raise InventoryError(
            f"The reply from {redact_url(url)} has no 'array' list (keys: {keys}){': ' + hint if hint else ''}. "
            "The Management Server REST API v1 puts lists under 'array': check that url points at the management "
            "server's API gateway and that the XProtect version serves this resource."
        )
    items = reply["array"]
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InventoryError(
            f"The reply from {redact_url(url)} has an 'array' that is not a list of objects: the server does not "
            "speak the Management Server REST API v1."
        )
    return [dict(i) for i in items]


def parse_reference(value: Any) -> Optional[str]:
    """GUID of a reference such as ``FailoverGroup[27d6...]``, lower case; None when unset or null."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value)
    if not match:
        return None
    guid = match.group(2).lower()
    return None if guid == NULL_GUID else guid


def parent_id(item: Mapping[str, Any]) -> Optional[str]:
    relations = item.get("relations")
    parent = relations.get("parent") if isinstance(relations, Mapping) else None
    pid = parent.get("id") if isinstance(parent, Mapping) else None
    return str(pid).lower() if pid else None


def _gid(item: Mapping[str, Any]) -> str:
    return str(item.get("id", "")).lower()


def assignments_by_server(items: Iterable[Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Map recording server id -> its failover settings, from ``recordingServerFailovers`` items.

    The settings item names its recording server in ``relations.parent`` [M]; without relations
    its own id is taken to be the server's [?].
    """
    result: Dict[str, Dict[str, Any]] = {}
    for item in items:
        owner = parent_id(item) or _gid(item)
        if owner:
            result[owner] = dict(item)
    return result


# ---- records ------------------------------------------------------------------------------


def inventory_name(item: Mapping[str, Any]) -> Optional[str]:
    """Host name from ``webServerUri``, falling back to the deprecated ``hostName`` [M]."""
    return host_from_uri(item.get("webServerUri")) or host_from_uri(item.get("hostName"))


def _record(item: Mapping[str, Any], kind: str) -> Dict[str, Any]:
    record = {k: v for k, v in item.items() if k != "relations"}
    record["kind"] = kind
    record["id"] = _gid(item)
    record["host"] = inventory_name(item)
    return record


def build_records(
    recording_servers: Sequence[Mapping[str, Any]],
    failover_groups: Sequence[Mapping[str, Any]] = (),
    group_members: Optional[Mapping[str, Sequence[Mapping[str, Any]]]] = None,
    failover_recorders: Sequence[Mapping[str, Any]] = (),
    assignments: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> List[Dict[str, Any]]:
    """Turn API items into one flat list of records, the input of ``query``.

    A record is the API item (without ``relations``) plus ``kind`` (recording_server or
    failover_server), ``host`` (the inventory name) and, resolved to names:
    ``failoverGroup`` (a failover server's group; a recording server's primary group),
    ``secondaryFailoverGroup``, ``hotStandby`` (host of the hot standby server, with its id in
    ``hotStandbyId``) and ``failoverPort``. Failover recorders listed both in a group and in
    ``failoverRecorders`` appear once.
    """
    group_names = {_gid(g): str(g.get("name") or g.get("displayName") or _gid(g)) for g in failover_groups}
    failovers: Dict[str, Dict[str, Any]] = {}
    for gid, members in (group_members or {}).items():
        for item in members:
            record = _record(item, KIND_FAILOVER)
            record["failoverGroup"] = group_names.get(gid.lower())
            failovers[record["id"]] = record
    for item in failover_recorders:
        record = _record(item, KIND_FAILOVER)
        if record["id"] in failovers:
            continue
        pid = parent_id(item)
        record["failoverGroup"] = group_names.get(pid) if pid else None
        failovers[record["id"]] = record

    records: List[Dict[str, Any]] = []
    for item in recording_servers:
        record = _record(item, KIND_RECORDING)
        settings = (assignments or {}).get(record["id"])
        record.update({"failoverGroup": None, "secondaryFailoverGroup": None, "hotStandby": None})
        if settings:
            primary = parse_reference(settings.get("primaryFailoverGroup"))
            secondary = parse_reference(settings.get("secondaryFailoverGroup"))
            standby = parse_reference(settings.get("hotStandby"))
            record["failoverGroup"] = group_names.get(primary, primary) if primary else None
            record["secondaryFailoverGroup"] = group_names.get(secondary, secondary) if secondary else None
            record["hotStandbyId"] = standby
            if standby:
                record["hotStandby"] = (failovers.get(standby) or {}).get("host")
            if settings.get("failoverPort") is not None:
                record["failoverPort"] = settings.get("failoverPort")
        records.append(record)
    records.extend(failovers.values())
    return records


def select_records(
    records: Sequence[Mapping[str, Any]], include_disabled: bool, query: Optional[str]
) -> List[Dict[str, Any]]:
    """Leave out disabled servers (unless asked), then apply the jmespath ``query``."""
    chosen = [dict(r) for r in records if include_disabled or r.get("enabled", True) is not False]
    if query and query.strip():
        chosen = run_query(chosen, query)
    return chosen


def run_query(records: List[Dict[str, Any]], query: str) -> List[Dict[str, Any]]:
    """Apply a jmespath expression to the records; it must return records (objects)."""
    if not HAS_JMESPATH:
        raise InventoryError("Option query needs the Python package jmespath on the controller: pip install jmespath")
    try:
        result = jmespath.search(query, records)
    except jmespath.exceptions.JMESPathError as exc:
        raise InventoryError(f"Option query {query!r} is not a valid jmespath expression: {exc}")
    if result is None:
        return []
    if not isinstance(result, list) or not all(isinstance(r, dict) and "kind" in r and "id" in r for r in result):
        got = (
            type(result).__name__
            if not isinstance(result, list)
            else "a list of " + ", ".join(sorted({type(r).__name__ for r in result}))
        )
        raise InventoryError(
            f"Option query {query!r} returned {got}, not records: filter the list and keep whole records, "
            "for example [?enabled && contains(name, 'Site A')]"
        )
    return result


# ---- hosts and groups ---------------------------------------------------------------------


@dataclass
class Inventory:
    """Hosts with their variables, group members, and warnings for the operator."""

    hosts: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    groups: Dict[str, List[str]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    warnings: List[str] = field(default_factory=list)

    def add(self, host: str, group: str, hostvars: Mapping[str, Any]) -> None:
        self.hosts.setdefault(host, {}).update(hostvars)
        if host not in self.groups[group]:
            self.groups[group].append(host)


def host_vars(record: Mapping[str, Any], include_record: bool = False) -> Dict[str, Any]:
    """Host variables of one record; optional ones only where the API set them."""
    hostvars: Dict[str, Any] = {
        "xprotect_id": record.get("id"),
        "xprotect_name": record.get("name"),
        "xprotect_display_name": record.get("displayName"),
        "xprotect_enabled": record.get("enabled", True) is not False,
        "xprotect_web_server_uri": record.get("webServerUri") or None,
    }
    optional = {
        "xprotect_failover_group": record.get("failoverGroup"),
        "xprotect_secondary_failover_group": record.get("secondaryFailoverGroup"),
        "xprotect_hot_standby": record.get("hotStandby"),
        "xprotect_failover_port": record.get("failoverPort"),
    }
    if record.get("kind") == KIND_FAILOVER:
        optional["xprotect_failover_udp_port"] = record.get("udpPort")
        optional["xprotect_failover_position"] = record.get("position")
    hostvars.update({k: v for k, v in optional.items() if v not in (None, "")})
    if include_record:
        hostvars["xprotect_record"] = dict(record)
    return hostvars


def build_inventory(
    records: Sequence[Mapping[str, Any]],
    management_name: str,
    management_vars: Optional[Mapping[str, Any]] = None,
    include_record: bool = False,
) -> Inventory:
    """Place the management server and every record in the groups of the inventory contract."""
    inventory = Inventory()
    inventory.add(management_name, GROUP_MANAGEMENT, dict(management_vars or {}))
    owner: Dict[str, Mapping[str, Any]] = {}
    for record in records:
        kind = record.get("kind")
        label = f"{record.get('name') or record.get('id')} (id {record.get('id')})"
        host = record.get("host")
        if not host:
            inventory.warnings.append(
                f"{'Failover' if kind == KIND_FAILOVER else 'Recording'} server {label} has neither webServerUri nor "
                "hostName: it is left out. Set its address in the Management Client."
            )
            continue
        if host in owner:
            first = owner[host]
            inventory.warnings.append(
                f"Host {host} is named by {first.get('name')} (id {first.get('id')}) and by {label}; the variables "
                "of the last one win. Check the servers' web server addresses in the Management Client."
            )
        owner[host] = record
        group = GROUP_FAILOVER if kind == KIND_FAILOVER else GROUP_RECORDING
        inventory.add(host, group, host_vars(record, include_record))
        if kind == KIND_RECORDING and record.get("hotStandbyId") and not record.get("hotStandby"):
            inventory.warnings.append(
                f"Recording server {host} has hot standby FailoverRecorder[{record['hotStandbyId']}], which the API "
                "did not list (disabled, or left out by query?): set include_disabled: true, or prepare that "
                "failover server for encryption by hand."
            )
    return inventory


# ---- messages -----------------------------------------------------------------------------


def msg_status(
    status: int, url: str, *, phase: str, username: str = "", detail: str = "", auth_type: str = "basic"
) -> str:
    """The message for an HTTP error status; ``phase`` is 'token' or 'api'."""
    where = redact_url(url)
    extra = f" ({detail})" if detail else ""
    if phase == "token" and (status == 401 or (status == 400 and "invalid_grant" in detail)):
        kind = "Windows user (NTLM)" if auth_type == "windows" else "basic user"
        return (
            f"The identity provider at {where} refused the credentials of {kind} {username!r}{extra}. Check username "
            "and password (or XPROTECT_USERNAME / XPROTECT_PASSWORD) and auth_type: a basic user needs "
            "auth_type: basic, a Windows user (DOMAIN\\user) auth_type: windows."
        )
    if phase == "token" and status == 400:
        return (
            f"The identity provider at {where} rejected the token request with 400{extra}. Check auth_type and that "
            "url is the management server."
        )
    if status == 401:
        return (
            f"The REST API at {where} refused the access token (401){extra}. The token was renewed once and refused "
            "again: check that url points at the management server that issued it, and the user's login rights."
        )
    if status == 403:
        return (
            f"The REST API at {where} forbids user {username!r} to read it (403){extra}. Give the user a Milestone "
            "role that may read recording servers and failover servers (e.g. Administrators)."
        )
    if status == 404 and phase == "token":
        return (
            f"No identity provider at {where} (404). Check url: it must be the XProtect management server "
            f"(http(s)://<management server>), and the server must run {GATEWAY_VERSION} or later."
        )
    if status == 404:
        return (
            f"No Management Server REST API at {where} (404). It is served by the XProtect API Gateway, which needs "
            f"{GATEWAY_VERSION} or later ({GATEWAY_VERSION_SAFE} or later recommended) with the API Gateway "
            "installed; check url (the management server's address) and that the API Gateway service runs."
        )
    if 300 <= status < 400:
        return (
            f"{where} redirects ({status}){extra}. Set url to where it redirects (for example https:// after the "
            "rollout), so that credentials are never sent to a redirected address."
        )
    return f"{where} answered HTTP {status}{extra}. Check the management server and the API Gateway logs."


def msg_tls(
    url: str, detail: str, ca_path: Optional[str], validate_certs: bool = True, server_name: Optional[str] = None
) -> str:
    """The message for a failed TLS handshake; ``server_name`` is the ``tls_server_name`` option."""
    where = redact_url(url)
    low = detail.lower()
    if "wrong version number" in low or "unknown protocol" in low or "record layer failure" in low:
        return (
            f"{where} does not speak TLS ({detail}). Use http:// for a server that is not encrypted yet, or the "
            "HTTPS port of the management server."
        )
    if "hostname mismatch" in low or "doesn't match" in low or "not valid for" in low:
        if server_name:
            return (
                f"The certificate of {where} is not valid for tls_server_name {server_name!r} ({detail}). Set "
                "tls_server_name to the name the certificate was issued for (the management server's FQDN)."
            )
        return (
            f"The certificate of {where} is not valid for the host in url ({detail}). Use the name the certificate "
            "was issued for (the management server's FQDN, never an IP address) in url; where url must use an "
            "address or another name, set tls_server_name to the certificate's name."
        )
    if ca_path:
        return (
            f"The certificate of {where} is not trusted with ca_path {ca_path!r} ({detail}). Set ca_path to the PEM "
            "certificate of the CA that signed the management server's certificate (the CA of the rollout, the "
            "ca.crt in xprotect_ca_path)."
        )
    return (
        f"The certificate of {where} is not trusted ({detail}). After the rollout the API is served with the site "
        "CA's certificate: set ca_path to that CA's PEM certificate (ca.crt in xprotect_ca_path), or add the CA "
        "to the controller's trust store."
    )


def msg_server_name_unused(base_url: str) -> str:
    """The warning for ``tls_server_name`` with an ``http://`` url: there is no TLS to use it in."""
    return (
        f"tls_server_name is set but url {redact_url(base_url)} is plain HTTP, so it is not used. After the "
        "rollout use https:// (with ca_path); before it, leave tls_server_name out."
    )


def msg_no_failover_lists(base_url: str) -> str:
    return (
        f"The REST API at {redact_url(base_url)} has neither failoverGroups nor failoverRecorders (404): failover "
        "recording servers, if the site has any, are not in this inventory. Add them to a static inventory file "
        "in the group xprotect_failover_servers, so that they are prepared for encryption too."
    )


def msg_timeout(url: str, timeout: float) -> str:
    return (
        f"{redact_url(url)} did not answer within {timeout:g} s. Raise timeout, or check that the management server "
        "and its API Gateway run and that a firewall lets the controller reach the port."
    )


def msg_connection(url: str, detail: str) -> str:
    where = redact_url(url)
    low = detail.lower()
    if "refused" in low:
        return (
            f"Connection to {where} refused. Check url's scheme and port (http 80 before the rollout, https 443 "
            "after it) and that the management server's web services run."
        )
    if any(s in low for s in ("name or service not known", "getaddrinfo", "nodename nor servname", "name resolution")):
        return f"Cannot resolve the host of {where}: check url, or the controller's DNS."
    if "remotedisconnected" in low or "connection aborted" in low or "reset by peer" in low:
        return (
            f"{where} closed the connection ({detail}). An HTTPS-only port answers plain HTTP like this: try "
            "https:// in url."
        )
    return f"Cannot connect to {where} ({detail}). Check url and the network between the controller and the server."


def msg_not_json(url: str, text: str, content_type: str = "") -> str:
    snippet = " ".join((text or "").split())[:80]
    kind = f" ({content_type})" if content_type else ""
    return (
        f"The reply from {redact_url(url)} is not JSON{kind}: {snippet!r}. Check that url points at the XProtect "
        "management server and not at a proxy or login page."
    )


def msg_token_reply(url: str, keys: Iterable[str]) -> str:
    return (
        f"The token reply from {redact_url(url)} has no access_token (keys: {', '.join(sorted(keys)) or 'none'}). "
        "Check that url is the XProtect management server."
    )


def summarize(records: Sequence[Mapping[str, Any]]) -> Tuple[int, int]:
    """(recording servers, failover servers) among records, for log lines."""
    recording = sum(1 for r in records if r.get("kind") == KIND_RECORDING)
    return recording, len(records) - recording


# Failures that say "nothing answers here (in this form)": the next URL is tried. A server that
# answers with a certificate the CA does not sign, or refuses the user, is never passed over.
CONNECT_FAILURES = (
    "refused",
    "did not answer within",
    "does not speak tls",
    "cannot connect to",
    "closed the connection",
)


def is_connect_failure(message: str) -> bool:
    """Whether an InventoryError message says that nothing accepted the connection."""
    low = message.lower()
    return any(k in low for k in CONNECT_FAILURES)


def url_attempts(url: str, https_url: Optional[str], ca: Optional[str]) -> Tuple[List[str], List[str]]:
    """The URLs to read the site from, in order, and why any was passed over.

    ``https_url`` (the management server after its switch) comes first when the site CA is at
    hand (``ca`` says where it comes from; None when it is not), then ``url`` as configured. So one
    inventory source serves before the switch (plain HTTP) and after it (HTTPS), with no edit.
    """
    if not https_url:
        return [url], []
    if not https_url.startswith("https://"):
        raise InventoryError(f"https_url {redact_url(https_url)!r} does not start with https://: give the HTTPS URL.")
    if ca is None:
        return [url], [
            f"https_url {redact_url(https_url)} not tried: the site CA is not there yet (set ca_cert or "
            "XPROTECT_CA_CERT, or make ca_path exist)"
        ]
    if https_url == url:
        return [url], []
    return [https_url, url], []


def msg_used(url: str, tried: Sequence[str], notes: Sequence[str]) -> str:
    """The line that says which URL the inventory was read from, and why not an earlier one."""
    why = [f"{redact_url(t[0])}: {t[1]}" for t in tried] if tried else []
    parts = [f"read the site from {redact_url(url)}"]
    if why:
        parts.append("after " + "; ".join(why))
    parts.extend(notes)
    return "; ".join(parts) + "."
