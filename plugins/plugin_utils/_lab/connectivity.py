# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who talks to whom in a lab site, and what each endpoint serves: pure functions of host states.

- A recording (or failover) server is connected to the management server only while both
  have the same Server certificate group setting and, when encrypted, each trusts the other's
  chain, each certificate names its host and neither has expired (seed page [H]).
- A client gets video from a recording server when streaming media is not encrypted, or when
  it trusts that server's chain, the certificate names the server and has not expired, and the
  recording service account can read the key (without it the 7563 handshake fails [L]).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import _accounts
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

# Built-in accounts in their several spellings (Windows reports NETWORK SERVICE as
# 'NT AUTHORITY\NetworkService' and grants to 'NT AUTHORITY\NETWORK SERVICE', in the host's
# language) are compared through the collection's one table (_accounts.canonical_account).
_ALIASES = {"administrators": "builtin\\administrators"}
SYSTEM = "nt authority\\system"


def canon_account(account: str) -> str:
    key = _accounts.canonical_account(account).lower()
    return _ALIASES.get(key, key)


def can_read(readers: Sequence[str], account: str) -> bool:
    """Whether ``account`` may read a key whose ACL lists ``readers``. SYSTEM always may."""
    who = canon_account(account)
    return who == SYSTEM or who in {canon_account(r) for r in readers}


@dataclasses.dataclass(frozen=True)
class Bound:
    """The certificate a group is bound to, as the host has it now."""

    thumbprint: str
    pem: Optional[str]  # None: the bound thumbprint is no longer in My
    has_key: bool
    readers: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class HostView:
    name: str
    roles: Tuple[str, ...]
    reachable: bool
    enabled: Mapping[str, bool]
    bound: Mapping[str, Optional[Bound]]
    roots: Tuple[str, ...]
    accounts: Mapping[str, str]  # role -> service account
    cold_standby: bool = False  # a failover server on cold standby: no image server until it takes over
    # LocalMachine\CA: Windows builds (and a server sends in its handshake) the chain through these.
    intermediates: Tuple[str, ...] = ()
    restarting: bool = False  # Server Configurator is running and has the host's services down [L]

    def is_on(self, group: str) -> bool:
        return bool(self.enabled.get(group))


def view(state: Mapping[str, Any]) -> HostView:
    """The parts of a host state that connectivity and endpoints depend on."""
    my = {e["thumbprint"]: e for e in state.get("stores", {}).get("My", [])}
    enabled: Dict[str, bool] = {}
    bound: Dict[str, Optional[Bound]] = {}
    for group, rec in (state.get("encryption") or {}).items():
        enabled[group] = bool(rec.get("enabled"))
        tp = rec.get("thumbprint")
        if not tp:
            bound[group] = None
            continue
        entry = my.get(tp)
        bound[group] = Bound(
            thumbprint=tp,
            pem=entry["pem"] if entry else None,
            has_key=bool(entry and entry.get("key")),
            readers=tuple(entry.get("acl") or ()) if entry else (),
        )
    return HostView(
        name=state["name"],
        roles=tuple(state.get("roles") or ()),
        reachable=not (state.get("faults") or {}).get("unreachable"),
        enabled=enabled,
        bound=bound,
        roots=tuple(e["pem"] for e in state.get("stores", {}).get("Root", [])),
        accounts={s["role"]: s["username"] for s in state.get("services") or ()},
        cold_standby=(state.get("options") or {}).get("standby") == "cold",
        intermediates=tuple(e["pem"] for e in state.get("stores", {}).get("CA", [])),
        restarting=bool((state.get("configurator") or {}).get("running")),
    )


def accepts(
    roots: Sequence[str], cert_pem: Optional[str], name: str, now: datetime.datetime, intermediates: Sequence[str] = ()
) -> bool:
    """Would a Windows TLS client with these roots accept this certificate for ``name``?

    ``intermediates``: what the server sends with its certificate and the client's own CA store.
    """
    if not cert_pem:
        return False
    return certs.chain_trusted(cert_pem, roots, now, intermediates) and certs.covers(certs.load_pem(cert_pem), name)


def link_up(ms: Optional[HostView], rs: HostView, now: datetime.datetime) -> bool:
    """Recording/failover server <-> management server."""
    if ms is None or not ms.reachable or not rs.reachable:
        return False
    if ms.restarting or rs.restarting:
        # While Server Configurator restarts either side's services, they do not talk [L].
        return False
    if ms.is_on("server") != rs.is_on("server"):
        return False
    if not ms.is_on("server"):
        return True
    ms_cert, rs_cert = ms.bound.get("server"), rs.bound.get("server")
    if ms_cert is None or rs_cert is None:
        return False
    # Each side verifies the other: the recording server checks the management server's
    # certificate against its Root, and the other way round (seed page [H]).
    return accepts(rs.roots, ms_cert.pem, ms.name, now, ms.intermediates + rs.intermediates) and accepts(
        ms.roots, rs_cert.pem, rs.name, now, rs.intermediates + ms.intermediates
    )


def key_account(hv: HostView, group: str) -> Optional[str]:
    """The service account that must read the key of ``group`` on this host, if any."""
    if group == "streaming":
        role = "recording" if "recording" in hv.roles else "failover"
    elif group == "mobile":
        role = "mobile"
    else:
        return None
    return hv.accounts.get(role)


def serves_tls(hv: HostView, group: str, require_key_read: bool) -> bool:
    """Can the endpoint of ``group`` complete a TLS handshake at all?"""
    bound = hv.bound.get(group)
    if bound is None or bound.pem is None or not bound.has_key:
        return False
    account = key_account(hv, group)
    return not (require_key_read and account and not can_read(bound.readers, account))


def gets_video(client: HostView, rs: HostView, now: datetime.datetime, require_key_read: bool = True) -> bool:
    """Client -> recording server streams (7563)."""
    if not client.reachable or not rs.reachable or rs.restarting:
        return False
    if not rs.is_on("streaming"):
        return True
    if not serves_tls(rs, "streaming", require_key_read):
        return False
    return accepts(client.roots, rs.bound["streaming"].pem, rs.name, now, rs.intermediates + client.intermediates)


# ---- endpoints -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    default_port: int
    tls: bool
    group: Optional[str]
    thumbprint: Optional[str]
    ok: bool  # False: a TLS endpoint that cannot complete a handshake (no cert/key, key unreadable)


def endpoints(hv: HostView, settings: Mapping[str, Any]) -> List[Endpoint]:
    """The listening endpoints of a host, from its roles and encryption state (facts: Ports)."""
    out: List[Endpoint] = []
    if not hv.reachable or hv.restarting:
        # A Server Configurator run stops the services it reconfigures and starts them again at
        # its end [L]; the lab takes every XProtect endpoint of the host down for that time.
        return out

    def tls_ep(name: str, port: int, group: str, needs_key_read: bool = False) -> Endpoint:
        bound = hv.bound.get(group)
        return Endpoint(
            name, port, True, group, bound.thumbprint if bound else None, serves_tls(hv, group, needs_key_read)
        )

    roles = hv.roles
    if "management" in roles:
        # HTTPS 443 while the Server group is encrypted, else HTTP 80 [H ports].
        if hv.is_on("server"):
            out.append(tls_ep("management", 443, "server"))
        else:
            out.append(Endpoint("management", 80, False, "server", None, True))
    if "recording" in roles or "failover" in roles:
        # 7563 is served by the recording service itself: its account must read the key [L]. A
        # cold-standby failover server starts it only when it takes over: nothing listens.
        if hv.cold_standby and "recording" not in roles:
            pass
        elif hv.is_on("streaming"):
            out.append(tls_ep("image-server", 7563, "streaming", bool(settings.get("streaming_requires_key_read"))))
        else:
            out.append(Endpoint("image-server", 7563, False, "streaming", None, True))
        # 9001 is an HTTP.sys binding (netsh), which reads the key as SYSTEM.
        if hv.is_on("server"):
            out.append(tls_ep("webapi", 9001, "server"))
        else:
            out.append(Endpoint("webapi", 9001, False, "server", None, True))
    if "mobile" in roles:
        out.append(Endpoint("mobile-http", 8081, False, "mobile", None, True))
        if hv.is_on("mobile"):
            out.append(tls_ep("mobile-https", 8082, "mobile", bool(settings.get("mobile_requires_key_read"))))
    return out


ALL_DEFAULT_PORTS = (80, 443, 7563, 9001, 8081, 8082)


def planned_ports(roles: Sequence[str]) -> List[int]:
    """Every default port a host with these roles may ever listen on (for the port check)."""
    ports: List[int] = []
    if "management" in roles:
        ports += [80, 443]
    if "recording" in roles or "failover" in roles:
        ports += [7563, 9001]
    if "mobile" in roles:
        ports += [8081, 8082]
    return ports
