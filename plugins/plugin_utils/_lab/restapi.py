# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Management Server REST API: a pure request handler.

The lab's site process parses each HTTP request on the management server's endpoint and calls
:func:`handle` with the site's hosts; the reply (status, headers, body) is sent back as is.
Nothing here does I/O, so the same handler serves the lab and the unit tests.

What it models, with the confidence of each detail (see docs/inventory.md):

- the identity provider's token endpoint at ``/API/IDP/connect/token`` (through the API gateway)
  and ``/IDP/connect/token`` (direct) [H]: form-encoded ``grant_type=password`` with
  ``client_id=GrantValidatorClient``; bad credentials give 400 ``invalid_grant`` as IdentityServer
  does [L]; ``grant_type=windows_credentials`` runs an NTLM handshake on ``/IDP/`` only, because
  the gateway does not pass NTLM through [H];
- ``GET /api/rest/v1/...`` [M]: ``recordingServers``, ``failoverGroups``, ``failoverRecorders``,
  ``recordingServerFailovers`` and their ``{id}`` and child forms, lists under ``"array"``,
  single items under ``"data"``, errors under ``"error"`` [H]; lists hold enabled items only
  unless the query string has ``disabled`` [M];
- 401 on a missing, forged or expired bearer token. Tokens are an HMAC of the site's
  ``token_secret``, so they survive a restart of the site process.

Paths are matched without regard to case, as IIS does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

Reply = Tuple[int, Dict[str, str], bytes]

CLIENT_ID = "GrantValidatorClient"
TOKEN_PATHS = ("/api/idp/connect/token", "/idp/connect/token")
DIRECT_TOKEN_PATH = "/idp/connect/token"  # noqa: S105 - a URL path
API_PREFIX = "/api/rest/v1/"
NULL_GUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_TOKEN_LIFETIME = 3600
# Failover defaults of the facts file: 8844/udp [H] between failover servers, 11000 [L].
FAILOVER_UDP_PORT = 8844
FAILOVER_PORT = 11000
WEB_SERVER_PORT = 7563
# A fixed time stamp keeps replies byte-identical between runs (tests, caches).
LAST_MODIFIED = "2026-01-01T00:00:00.0000000Z"
_NAMESPACE = uuid.UUID("2f1b6a52-3f0e-4c55-9a43-3b4f1f1c7a10")

_JSON = {"Content-Type": "application/json; charset=utf-8"}


# ---- helpers ----------------------------------------------------------------------------


def _json(status: int, payload: Any, extra: Optional[Mapping[str, str]] = None) -> Reply:
    headers = dict(_JSON)
    headers.update(extra or {})
    return status, headers, json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _api_error(status: int, text: str, extra: Optional[Mapping[str, str]] = None) -> Reply:
    # The shape inside "error" is an assumption [?]; the "error" key itself is [H].
    return _json(status, {"error": {"httpCode": status, "details": [{"errorText": text}]}}, extra)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret(settings: Mapping[str, Any]) -> bytes:
    secret = settings.get("token_secret") or ""
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def _now(settings: Mapping[str, Any]) -> float:
    # Tests pin the clock through settings["now"]; the lab leaves it unset.
    now = settings.get("now")
    return float(now) if now is not None else time.time()


def stable_id(kind: str, name: str) -> str:
    """A GUID that stays the same for the same object name, for items the lab has no id for."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name.lower()}"))


# ---- tokens -----------------------------------------------------------------------------


def make_token(settings: Mapping[str, Any], subject: str, method: str = "pwd") -> Tuple[str, int]:
    """Return (access_token, expires_in) signed with the site's token secret."""
    lifetime = int(settings.get("token_lifetime") or DEFAULT_TOKEN_LIFETIME)
    now = int(_now(settings))
    payload = _b64url(json.dumps({"sub": subject, "amr": method, "iat": now, "exp": now + lifetime}).encode())
    signature = _b64url(hmac.new(_secret(settings), payload.encode("ascii"), hashlib.sha256).digest())
    return f"lab.{payload}.{signature}", lifetime


def check_token(settings: Mapping[str, Any], token: str) -> Optional[str]:
    """Return the token's subject when it is ours and not expired, else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "lab":
        return None
    expected = _b64url(hmac.new(_secret(settings), parts[1].encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(_unb64url(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict) or float(claims.get("exp", 0)) <= _now(settings):
        return None
    return str(claims.get("sub", ""))


# ---- NTLM (grant_type=windows_credentials) ---------------------------------------------------
# Enough of MS-NLMP for requests-ntlm/pyspnego to finish a handshake: a CHALLENGE message, and
# reading the AUTHENTICATE message, whose NTLMv2 response is always verified against the one
# configured account (_windows_account_ok).

_NTLM_SIGNATURE = b"NTLMSSP\x00"
_FLAGS = (
    0x00000001  # UNICODE
    | 0x00000004  # REQUEST_TARGET
    | 0x00000010  # SIGN
    | 0x00000020  # SEAL
    | 0x00000200  # NTLM
    | 0x00008000  # ALWAYS_SIGN
    | 0x00010000  # TARGET_TYPE_DOMAIN
    | 0x00080000  # EXTENDED_SESSIONSECURITY
    | 0x00800000  # TARGET_INFO
    | 0x02000000  # VERSION
    | 0x20000000  # 128
    | 0x40000000  # KEY_EXCH
    | 0x80000000  # 56
)


def _server_challenge(settings: Mapping[str, Any]) -> bytes:
    # Stateless: the challenge is derived from the site secret, so the AUTHENTICATE message can
    # be checked by whichever request carries it. A real server uses a fresh nonce per handshake.
    return hmac.new(_secret(settings), b"ntlm-challenge", hashlib.sha256).digest()[:8]


def _filetime(seconds: float) -> bytes:
    return struct.pack("<Q", int((seconds + 11644473600) * 10_000_000))


def ntlm_challenge(settings: Mapping[str, Any]) -> bytes:
    """Build an NTLM CHALLENGE_MESSAGE (type 2)."""
    domain = str(settings.get("windows_domain") or "LAB").upper()
    computer = str(settings.get("windows_computer") or "MGMT01").upper()
    target = domain.encode("utf-16-le")

    def av(av_id: int, value: bytes) -> bytes:
        return struct.pack("<HH", av_id, len(value)) + value

    info = (
        av(2, domain.encode("utf-16-le"))
        + av(1, computer.encode("utf-16-le"))
        + av(4, (domain.lower() + ".xprotect.test").encode("utf-16-le"))
        + av(3, (computer.lower() + "." + domain.lower() + ".xprotect.test").encode("utf-16-le"))
        + av(7, _filetime(_now(settings)))
        + av(0, b"")
    )
    header_len = 56
    return (
        _NTLM_SIGNATURE
        + struct.pack("<I", 2)
        + struct.pack("<HHI", len(target), len(target), header_len)
        + struct.pack("<I", _FLAGS)
        + _server_challenge(settings)
        + b"\x00" * 8
        + struct.pack("<HHI", len(info), len(info), header_len + len(target))
        + bytes([10, 0]) + struct.pack("<H", 20348) + b"\x00\x00\x00\x0f"  # version: 10.0.20348, NTLM rev 15
        + target
        + info
    )  # fmt: skip


def _field(message: bytes, offset: int) -> bytes:
    length, _max, start = struct.unpack_from("<HHI", message, offset)
    return message[start : start + length]


def parse_ntlm(message: bytes) -> Tuple[int, Dict[str, Any]]:
    """Return (message type, fields) of an NTLM message; type 0 when it is not NTLM."""
    if len(message) < 12 or not message.startswith(_NTLM_SIGNATURE):
        return 0, {}
    kind = struct.unpack_from("<I", message, 8)[0]
    if kind != 3:
        return kind, {}
    if len(message) < 64:
        return 0, {}
    flags = struct.unpack_from("<I", message, 60)[0]
    encoding = "utf-16-le" if flags & 1 else "latin-1"
    return 3, {
        "nt_response": _field(message, 20),
        "domain": _field(message, 28).decode(encoding, "replace"),
        "user": _field(message, 36).decode(encoding, "replace"),
    }


def _md4(data: bytes) -> bytes:
    """MD4 (RFC 1320): OpenSSL 3 leaves it out of hashlib, and NTLM needs it for the NT hash."""

    def rol(x: int, n: int) -> int:
        x &= 0xFFFFFFFF
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for chunk in range(0, len(msg), 64):
        x = list(struct.unpack("<16I", msg[chunk : chunk + 64]))
        a, b, c, d = h
        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            a, b, c, d = d, rol(a + ((b & c) | (~b & d)) + x[k], s), b, c
        for i in range(16):
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a, b, c, d = d, rol(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s), b, c
        for i in range(16):
            k = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i]
            s = (3, 9, 11, 15)[i % 4]
            a, b, c, d = d, rol(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s), b, c
        h = [(v + n) & 0xFFFFFFFF for v, n in zip(h, (a, b, c, d))]
    return struct.pack("<4I", *h)


def verify_ntlmv2(settings: Mapping[str, Any], user: str, domain: str, password: str, nt_response: bytes) -> bool:
    """Check an NTLMv2 response against the challenge this handler issued."""
    if len(nt_response) <= 24:  # NTLMv1 or anonymous: refused when a password is configured
        return False
    nt_hash = _md4(password.encode("utf-16-le"))
    key = hmac.new(nt_hash, (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()
    proof = hmac.new(key, _server_challenge(settings) + nt_response[16:], hashlib.md5).digest()
    return hmac.compare_digest(proof, nt_response[:16])


def _split_account(account: str) -> Tuple[str, str]:
    if "\\" in account:
        domain, user = account.split("\\", 1)
        return domain, user
    return "", account


def _windows_account_ok(settings: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Whether the NTLM AUTHENTICATE message is the configured account's, with its password.

    The account is ``windows_user`` (``DOMAIN\\user``, or ``user`` of any domain) with
    ``windows_password``; without them, the REST API user (``api_user`` / ``api_password``), so
    that a lab site, which configures only that one, grants a token to nobody else. A handshake
    alone proves nothing: an NTLM client completes it for any account.
    """
    wanted = settings.get("windows_user") or settings.get("api_user")
    password = settings.get("windows_password") if settings.get("windows_user") else settings.get("api_password")
    if not wanted or password is None:
        return False
    want_domain, want_user = _split_account(str(wanted))
    if want_user.lower() != str(fields["user"]).lower():
        return False
    if want_domain and want_domain.lower() != str(fields["domain"]).lower():
        return False
    return verify_ntlmv2(settings, fields["user"], fields["domain"], str(password), fields["nt_response"])


def _windows_grant(settings: Mapping[str, Any], path: str, headers: Mapping[str, str]) -> Reply:
    if path != DIRECT_TOKEN_PATH:
        # The API gateway does not pass NTLM through [H]: no challenge is offered there.
        return _json(400, {"error": "invalid_grant", "error_description": "windows_credentials needs /IDP/"})
    authorization = headers.get("authorization", "")
    scheme, _sep, blob = authorization.partition(" ")
    if scheme.lower() not in ("ntlm", "negotiate") or not blob.strip():
        return 401, {"WWW-Authenticate": "Negotiate, NTLM", "Content-Length": "0"}, b""
    try:
        kind, fields = parse_ntlm(base64.b64decode(blob.strip(), validate=True))
    except ValueError:
        kind, fields = 0, {}
    if kind == 1:
        challenge = base64.b64encode(ntlm_challenge(settings)).decode("ascii")
        return 401, {"WWW-Authenticate": f"{scheme} {challenge}", "Content-Length": "0"}, b""
    if kind != 3 or not fields.get("user"):
        return _json(400, {"error": "invalid_grant", "error_description": "NTLM handshake failed"})
    account = f"{fields['domain']}\\{fields['user']}" if fields["domain"] else fields["user"]
    if not _windows_account_ok(settings, fields):
        return _json(400, {"error": "invalid_grant", "error_description": "invalid_username_or_password"})
    token, lifetime = make_token(settings, account, "ntlm")
    return _json(
        200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer", "scope": "managementserver"}
    )


def _token(settings: Mapping[str, Any], method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
    if method != "POST":
        return 405, {"Allow": "POST", "Content-Length": "0"}, b""
    if "application/x-www-form-urlencoded" not in headers.get("content-type", "").lower():
        return _json(400, {"error": "invalid_request"})
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return _json(400, {"error": "invalid_request"})
    if form.get("client_id") != CLIENT_ID:
        return _json(400, {"error": "invalid_client"})
    grant = form.get("grant_type", "")
    if grant == "windows_credentials":
        return _windows_grant(settings, path, headers)
    if grant != "password":
        return _json(400, {"error": "unsupported_grant_type"})
    user, password = form.get("username", ""), form.get("password", "")
    good_user = hmac.compare_digest(user.encode(), str(settings.get("api_user", "")).encode())
    good_password = hmac.compare_digest(password.encode(), str(settings.get("api_password", "")).encode())
    if not (user and good_user and good_password):
        # IdentityServer answers bad credentials with 400 invalid_grant, not 401 [L].
        return _json(400, {"error": "invalid_grant", "error_description": "invalid_username_or_password"})
    token, lifetime = make_token(settings, user)
    return _json(
        200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer", "scope": "managementserver"}
    )


# ---- the site model as the REST API shows it -----------------------------------------------


def _short(name: str) -> str:
    return name.split(".", 1)[0]


class _Site:
    """The REST API's view of the lab's hosts, built once per request (cheap: a few dicts)."""

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.records = list(records)
        management = next((r for r in self.records if "management" in (r.get("roles") or ())), None)
        self.site_id = str(management["id"]).lower() if management and management.get("id") else NULL_GUID
        self.recording = [r for r in self.records if "recording" in (r.get("roles") or ())]
        self.failover = [r for r in self.records if "failover" in (r.get("roles") or ())]
        names: List[str] = []
        for record in self.failover:
            group = record.get("failover_group")
            if group and group not in names:
                names.append(group)
        self.groups = {stable_id("failoverGroups", name): name for name in names}
        self.group_ids = {name: gid for gid, name in self.groups.items()}
        self.failover_by_name = {str(r["name"]).lower(): r for r in self.failover}

    @staticmethod
    def _rid(record: Mapping[str, Any]) -> str:
        return str(record["id"]).lower()

    def _server(self, record: Mapping[str, Any], kind: str, parent: Tuple[str, str]) -> Dict[str, Any]:
        name = str(record["name"])
        short = _short(name)
        return {
            "enabled": bool(record.get("enabled", True)),
            "displayName": short,
            "id": self._rid(record),
            "name": short,
            "description": f"XProtect {'Failover Recording' if kind == 'failoverRecorders' else 'Recording'} "
            f"Server {short}.",
            "lastModified": LAST_MODIFIED,
            "hostName": name,
            "portNumber": WEB_SERVER_PORT,
            "webServerUri": f"http://{name}:{WEB_SERVER_PORT}/",
            "activeWebServerUri": "",
            "publicAccessEnabled": False,
            "publicWebserverHostName": "",
            "publicWebserverPort": 0,
            "multicastServerAddress": "0.0.0.0",  # noqa: S104 - a field value, not a bind address
            "relations": {
                "parent": {"type": parent[0], "id": parent[1]},
                "self": {"type": kind, "id": self._rid(record)},
            },
        }

    def recording_server(self, record: Mapping[str, Any]) -> Dict[str, Any]:
        item = self._server(record, "recordingServers", ("sites", self.site_id))
        item.update({"synchronizationTime": -1, "timeZoneName": "UTC", "shutdownOnStorageFailure": False})
        return item

    def failover_recorder(self, record: Mapping[str, Any]) -> Dict[str, Any]:
        group = record.get("failover_group")
        parent = ("failoverGroups", self.group_ids[group]) if group else ("sites", self.site_id)
        item = self._server(record, "failoverRecorders", parent)
        members = [r for r in self.failover if r.get("failover_group") == group] if group else [record]
        item.update(
            {
                "udpPort": FAILOVER_UDP_PORT,
                "position": members.index(record),
                "databasePath": "C:\\MediaDatabase",
                "createdDate": LAST_MODIFIED,
            }
        )
        return item

    def failover_group(self, gid: str) -> Dict[str, Any]:
        name = self.groups[gid]
        return {
            "displayName": name,
            "id": gid,
            "name": name,
            "description": "",
            "lastModified": LAST_MODIFIED,
            "relations": {
                "parent": {"type": "sites", "id": self.site_id},
                "self": {"type": "failoverGroups", "id": gid},
            },
        }

    def failover_settings(self, record: Mapping[str, Any]) -> Dict[str, Any]:
        group = record.get("failover_group")
        primary = self.group_ids.get(group, NULL_GUID) if group else NULL_GUID
        standby = record.get("hot_standby")
        standby_record = self.failover_by_name.get(str(standby).lower()) if standby else None
        rid = self._rid(record)
        # The id of a recording server's failover settings is taken to be the server's own [?].
        return {
            "displayName": "Failover settings",
            "id": rid,
            "primaryFailoverGroup": f"FailoverGroup[{primary}]",
            "secondaryFailoverGroup": f"FailoverGroup[{NULL_GUID}]",
            "hotStandby": f"FailoverRecorder[{self._rid(standby_record)}]" if standby_record else "",
            "failoverPort": FAILOVER_PORT,
            "relations": {
                "parent": {"type": "recordingServers", "id": rid},
                "self": {"type": "recordingServerFailovers", "id": rid},
            },
        }

    def find(self, records: Sequence[Mapping[str, Any]], rid: str) -> Optional[Mapping[str, Any]]:
        rid = rid.lower()
        return next((r for r in records if self._rid(r) == rid), None)


def _visible(records: Sequence[Mapping[str, Any]], with_disabled: bool) -> List[Mapping[str, Any]]:
    return [r for r in records if with_disabled or r.get("enabled", True)]


def _rest(site: _Site, parts: List[str], with_disabled: bool) -> Reply:
    """Route ``/api/rest/v1/<parts>`` (already split, lower case resource names)."""
    resource, rest = parts[0], parts[1:]
    if resource == "recordingservers":
        if not rest:
            return _json(200, {"array": [site.recording_server(r) for r in _visible(site.recording, with_disabled)]})
        record = site.find(site.recording, rest[0])
        if record is None:
            return _api_error(404, f"recordingServers {rest[0]} not found")
        if len(rest) == 1:
            return _json(200, {"data": site.recording_server(record)})
        if len(rest) == 2 and rest[1] == "recordingserverfailovers":
            return _json(200, {"array": [site.failover_settings(record)]})
    elif resource == "recordingserverfailovers":
        servers = _visible(site.recording, True)
        if not rest:
            return _json(200, {"array": [site.failover_settings(r) for r in servers]})
        record = site.find(servers, rest[0])
        if record is not None and len(rest) == 1:
            return _json(200, {"data": site.failover_settings(record)})
        return _api_error(404, f"recordingServerFailovers {rest[0]} not found")
    elif resource == "failovergroups":
        if not rest:
            return _json(200, {"array": [site.failover_group(gid) for gid in site.groups]})
        gid = rest[0].lower()
        if gid not in site.groups:
            return _api_error(404, f"failoverGroups {rest[0]} not found")
        if len(rest) == 1:
            return _json(200, {"data": site.failover_group(gid)})
        if len(rest) == 2 and rest[1] == "failoverrecorders":
            members = [r for r in site.failover if r.get("failover_group") == site.groups[gid]]
            return _json(200, {"array": [site.failover_recorder(r) for r in _visible(members, with_disabled)]})
    elif resource == "failoverrecorders":
        # All failover recorders, grouped or not; whether the real list leaves out grouped ones is
        # not known [?], so the plugin reads the groups as well.
        if not rest:
            return _json(200, {"array": [site.failover_recorder(r) for r in _visible(site.failover, with_disabled)]})
        record = site.find(site.failover, rest[0])
        if record is not None and len(rest) == 1:
            return _json(200, {"data": site.failover_recorder(record)})
        return _api_error(404, f"failoverRecorders {rest[0]} not found")
    return _api_error(404, "No such resource: " + "/".join(parts))


# ---- entry point -----------------------------------------------------------------------------


def handle(  # noqa: PLR0917 - the positional signature is the lab server's contract
    records: List[Dict[str, Any]],
    settings: Dict[str, Any],
    method: str,
    path: str,
    headers: Dict[str, str],
    body: bytes,
) -> Tuple[int, Dict[str, str], bytes]:
    """Answer one HTTP request to the lab's management server.

    ``records``: one dict per lab host {name, roles, address, id, enabled, failover_group,
    hot_standby}. ``settings``: {api_user, api_password, token_secret}, and optionally
    windows_user / windows_password (check NTLM logons; unset, any completed handshake is
    accepted), token_lifetime (s), now (a fixed clock for tests), bulk_failover_settings
    (False hides ``GET recordingServerFailovers``, as on a server without that list).
    ``path`` is the request target, query string included. Returns (status, headers, body).
    """
    method = method.upper()
    lower_headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    target = urlsplit(path)
    route = target.path.lower().rstrip("/") or "/"
    query = parse_qs(target.query, keep_blank_values=True)
    if route in TOKEN_PATHS:
        return _token(settings, method, route, lower_headers, body or b"")
    if not (route + "/").startswith(API_PREFIX):
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not Found"
    authorization = lower_headers.get("authorization", "")
    scheme, _sep, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or check_token(settings, token.strip()) is None:
        return _api_error(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
    if method != "GET":
        return _api_error(405, f"{method} is not served by the lab", {"Allow": "GET"})
    # Ids are matched case-insensitively; resource names are lower-cased for routing only.
    parts = [p for p in route[len(API_PREFIX) :].split("/") if p]
    if not parts:
        return _api_error(404, "No resource named")
    if parts[0] == "recordingserverfailovers" and len(parts) == 1 and settings.get("bulk_failover_settings") is False:
        return _api_error(404, "No such resource: recordingServerFailovers")
    return _rest(_Site(records), parts, with_disabled="disabled" in query)
