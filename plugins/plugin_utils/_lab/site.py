# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, start, stop, inspect and destroy a lab site; write its inventory.

Used by the ``lab_site`` action plugin (on the controller) and by tests and benchmarks.
Creating a site makes no RSA key: hosts start with empty stores (plus one stand-in for the
roots Windows ships) and every group unencrypted, so even 270 hosts take well under a second.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _roles, fileutil, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adcs, certs, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn

ROLE_COUNTS = (
    ("management", "management_servers", "mgmt", 2),
    ("recording", "recording_servers", "rs", 3),
    ("failover", "failover_servers", "fo", 2),
    ("mobile", "mobile_servers", "mob", 2),
    ("event", "event_servers", "ev", 2),
    ("client", "clients", "cl", 2),
)
DEFAULT_COUNTS = {
    "management_servers": 1,
    "recording_servers": 3,
    "failover_servers": 1,
    "mobile_servers": 1,
    "event_servers": 0,
    "clients": 2,
}
INVENTORY_GROUPS = _roles.INVENTORY_GROUPS  # the inventory contract, from the one role table
SERVER_MODULE = "ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.server"
FAILOVER_GROUP = "Failover group 1"
API_USER = "lab-admin"
BECOME_USER = "LAB\\milestone-admin"
# Files and folders a site consists of: ``absent`` removes these and nothing else.
LAB_FILES = (
    "site.json",
    "inventory.yml",
    "site.xprotect.yml",
    "site-https.xprotect.yml",
    "events.jsonl",
    "status.json",
    "connectivity.json",
    "generation",
    "server.pid",
    "server.log",
    ".status.lock",
    ".connectivity.lock",
)
# Files that hold a secret (the REST API password, the token secret): the owner's only.
SECRET_MODE = 0o600
_HOST_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


# ---- planning -------------------------------------------------------------------------------


def plan_hosts(
    counts: Optional[Mapping[str, Any]] = None,
    hosts: Optional[Sequence[Mapping[str, Any]]] = None,
    domain: str = "lab.xprotect.test",
) -> List[Dict[str, Any]]:
    """[{name, roles}] from counts per role, or from an explicit host list."""
    out: List[Dict[str, Any]] = []
    if hosts:
        seen = set()
        for i, item in enumerate(hosts):
            if not isinstance(item, Mapping) or not item.get("name"):
                raise model.LabError(f"hosts[{i}] needs a name (and roles).", option="hosts")
            name = str(item["name"]).strip().lower().rstrip(".")
            if "." not in name:
                name = f"{name}.{domain}"
            if not _HOST_RE.match(name) or len(name) > 253:
                raise model.LabError(f"hosts[{i}]: {item['name']!r} is not a valid host name.", option="hosts")
            roles = item.get("roles") or []
            if isinstance(roles, str):
                roles = [r.strip() for r in roles.split(",") if r.strip()]
            bad = [r for r in roles if r not in model.ROLES]
            if not roles or bad:
                raise model.LabError(
                    f"hosts[{i}] ({name}): roles must be a non-empty list of {', '.join(model.ROLES)}"
                    + (f"; {', '.join(map(str, bad))} is not one" if bad else "")
                    + ".",
                    option="hosts",
                )
            if name in seen:
                raise model.LabError(f"hosts: {name} is listed twice.", option="hosts")
            seen.add(name)
            entry = {"name": name, "roles": [r for r in model.ROLES if r in roles]}
            options = model.host_options(item, f"hosts[{i}] ({name})", entry["roles"])
            if options:
                entry["options"] = options
            out.append(entry)
        if not any("management" in h["roles"] for h in out):
            raise model.LabError("hosts: a site needs one host with the management role.", option="hosts")
        return out
    merged = dict(DEFAULT_COUNTS)
    merged.update({k: v for k, v in (counts or {}).items() if v is not None})
    for role, option, prefix, min_width in ROLE_COUNTS:
        n = merged.get(option, 0)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > 9999:
            raise model.LabError(f"{option} must be a whole number from 0 to 9999 (got {n!r}).", option=option)
        width = max(min_width, len(str(n)))
        out += [{"name": f"{prefix}{i:0{width}d}.{domain}", "roles": [role]} for i in range(1, n + 1)]
    if merged.get("management_servers", 0) < 1:
        raise model.LabError(
            "management_servers must be at least 1: every XProtect site has a management server.",
            option="management_servers",
        )
    return out


def default_address_range(path: str, n_hosts: int) -> str:
    """A block of 127.0.0.0/8 derived from the site path, so two sites can run side by side.

    /20 blocks (about 4,000 hosts) unless the site needs more; never the block of 127.0.0.1.
    """
    prefix = 20 if n_hosts <= 4000 else 16
    blocks = 1 << (prefix - 8)
    digest = int.from_bytes(hashlib.sha256(os.path.abspath(path).encode("utf-8")).digest()[:8], "big")
    index = 1 + digest % (blocks - 1)
    base = (127 << 24) | (index << (32 - prefix))
    return f"{ipaddress.IPv4Address(base)}/{prefix}"


def _usable(network: ipaddress.IPv4Network):
    for addr in network:
        last = int(addr) & 0xFF
        if 0 < last < 255 and str(addr) != "127.0.0.1":
            yield str(addr)


def parse_range(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise model.LabError(f"address_range {text!r} is not a network like 127.20.0.0/20.", option="address_range")
    if not net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
        raise model.LabError(
            f"address_range {text} is outside 127.0.0.0/8: the lab never leaves loopback.", option="address_range"
        )
    return net


def assign_addresses(network_text: str, names: Sequence[str], existing: Mapping[str, str]) -> Dict[str, str]:
    """Keep the address of every existing host; give new ones the next free addresses."""
    net = parse_range(network_text)
    if net.prefixlen == 32:
        return {n: str(net.network_address) for n in names}  # single-address mode
    taken = {a for n, a in existing.items() if n in names}
    free = (a for a in _usable(net) if a not in taken)
    out = {}
    for name in names:
        if name in existing and ipaddress.IPv4Address(existing[name]) in net:
            out[name] = existing[name]
            continue
        try:
            out[name] = next(free)
        except StopIteration:
            raise model.LabError(
                f"address_range {network_text} has no room for {len(names)} hosts; give a larger one (e.g. a /16).",
                option="address_range",
            )
    return out


def multi_address_works() -> bool:
    """Linux routes all of 127.0.0.0/8 to lo; macOS has only 127.0.0.1 unless aliased."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def default_port_offset() -> int:
    """Real ports as root; +10000 for an ordinary user (ports below 1024 need root)."""
    return 0 if hasattr(os, "geteuid") and os.geteuid() == 0 else 10000


# ---- the site folder ------------------------------------------------------------------------


def is_site(path: str) -> bool:
    spec = model.read_json(os.path.join(path, "site.json"))
    return isinstance(spec, dict) and spec.get("kind") == model.SITE_KIND


def _tighten(file: str) -> None:
    """Make a secret file the owner's only, as it is written now (SECRET_MODE)."""
    with contextlib.suppress(FileNotFoundError):
        if os.stat(file).st_mode & 0o077:
            os.chmod(file, SECRET_MODE)


def _refuse_foreign(path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise model.LabError(f"{path} is a file, not a lab site folder. Choose another path.", option="path")
    if os.path.isdir(path) and os.listdir(path) and not is_site(path):
        raise model.LabError(
            f"{path} holds something other than a lab site (no site.json of kind {model.SITE_KIND!r}). "
            "The lab will not overwrite or remove it; choose an empty or new folder.",
            option="path",
        )


def ensure_site(
    path: str,
    *,
    counts: Optional[Mapping[str, Any]] = None,
    hosts: Optional[Sequence[Mapping[str, Any]]] = None,
    address_range: Optional[str] = None,
    port_offset: Optional[int] = None,
    pki_dir: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Create the site, or bring an existing one to the requested shape. Idempotent.

    Returns {changed, created, added, removed, updated, path}. Hosts that stay keep their state.
    """
    path = os.path.abspath(path)
    _refuse_foreign(path)
    old = model.read_json(os.path.join(path, "site.json")) if is_site(path) else None
    overrides = dict(settings if settings is not None else (old or {}).get("settings") or {})
    unknown = model.unknown_settings(overrides)
    if unknown:
        raise model.LabError(
            f"settings: unknown lab setting(s) {', '.join(unknown)}. "
            f"Known: {', '.join(sorted(model.DEFAULT_SETTINGS))}.",
            option="settings",
        )
    overrides = model.check_settings(overrides)
    merged = model.merged_settings(overrides)
    counts = {k: v for k, v in (counts or {}).items() if v is not None}
    if hosts is None and not counts and old is not None:
        plan = [
            {"name": h["name"], "roles": list(h["roles"]), **({"options": h["options"]} if h.get("options") else {})}
            for h in old["hosts"]
        ]
    else:
        if hosts is None and old is not None:
            # An existing site keeps the counts it has for every role not given now.
            base = {opt: sum(1 for h in old["hosts"] if role in h["roles"]) for role, opt, _p, _w in ROLE_COUNTS}
            counts = {**base, **counts}
        plan = plan_hosts(counts, hosts, merged["domain"])
    if port_offset is not None and not (0 <= int(port_offset) <= 50000):
        raise model.LabError("port_offset must be from 0 to 50000.", option="port_offset")
    names = [h["name"] for h in plan]
    old_hosts = {h["name"]: h for h in (old or {}).get("hosts", [])}
    if address_range:
        parse_range(address_range)
        rng = address_range
    elif old is not None:
        rng = old["address_range"]
    else:
        rng = default_address_range(path, len(plan)) if multi_address_works() else "127.0.0.1/32"
    mode = "single" if parse_range(rng).prefixlen == 32 else "multi"
    addresses = assign_addresses(rng, names, {n: h["address"] for n, h in old_hosts.items()})
    offset = int(port_offset if port_offset is not None else (old or {}).get("port_offset", default_port_offset()))
    pki = (
        os.path.abspath(pki_dir)
        if pki_dir
        else ((old or {}).get("pki_dir") or os.path.join(os.path.dirname(path), "pki"))
    )
    spec_hosts = []
    for i, h in enumerate(plan):
        prev = old_hosts.get(h["name"])
        spec_hosts.append(
            {
                "name": h["name"],
                "roles": h["roles"],
                "address": addresses[h["name"]],
                "id": prev["id"] if prev else str(uuid.uuid4()),
                "index": i,
                **({"options": h["options"]} if h.get("options") else {}),
            }
        )
    spec = {
        "kind": model.SITE_KIND,
        "version": model.SITE_VERSION,
        "created": (old or {}).get("created") or time.time(),
        "hosts": spec_hosts,
        "settings": overrides,
        "address_range": rng,
        "address_mode": mode,
        "single_base_port": 20000,
        "port_offset": offset,
        "pki_dir": pki,
        "api": (old or {}).get("api")
        or {"user": API_USER, "password": secrets.token_urlsafe(18), "token_secret": secrets.token_hex(32)},
    }
    added = [n for n in names if n not in old_hosts]
    removed = [n for n in old_hosts if n not in names]
    role_changed = [
        n
        for n in names
        if n in old_hosts
        and (
            old_hosts[n]["roles"] != spec_hosts[names.index(n)]["roles"]
            or old_hosts[n].get("options") != spec_hosts[names.index(n)].get("options")
        )
    ]
    comparable = {k: v for k, v in spec.items() if k != "created"}
    old_comparable = {k: v for k, v in (old or {}).items() if k != "created"}
    changed = old is None or comparable != old_comparable
    result = {
        "changed": changed,
        "created": old is None,
        "added": added if old is not None else [],
        "removed": removed,
        "updated": role_changed,
        "path": path,
    }
    if not check_mode and old is not None:
        _tighten(os.path.join(path, "site.json"))  # written world-readable by earlier versions
    if not changed or check_mode:
        return result
    if old is not None and running_pid(path):
        # The site process reads site.json once: a changed site means a restart.
        stop(path)
        result["restart_needed"] = True
    os.makedirs(os.path.join(path, "hosts"), exist_ok=True)
    # 0600: it holds the REST API password and the token secret.
    model.write_json(os.path.join(path, "site.json"), spec, mode=SECRET_MODE, indent=1)
    site = model.Site(path)
    roots = _stand_in_roots(path) + adcs.group_policy_roots(site)
    for h in spec_hosts:
        if h["name"] in added or old is None:
            _create_host(site, h, roots)
        elif h["name"] in role_changed:
            _change_roles(site, h)
        else:
            _readdress(site, h)
    for name in removed:
        shutil.rmtree(site.host_dir(name), ignore_errors=True)
    _ensure_passphrase(pki)
    write_inventory(site)
    site.update_connectivity(None, emit=False)
    if old is None:
        site.emit("", "site_created", hosts=len(spec_hosts), address_range=rng, port_offset=offset)
    else:
        site.emit("", "site_changed", added=added, removed=removed, updated=role_changed)
    site.bump()
    if not site.server_pid():
        site.write_status()
    return result


def _stand_in_roots(path: str) -> List[Any]:
    """One self-signed root standing for the roots Windows ships, shared by every host.

    It makes the Root store non-empty, as on a real host, so code must pick its CA out of many.
    An EC key: no RSA key generation at site creation.
    """
    existing = model.read_json(os.path.join(path, "hosts", ".stand-in-root.json"))
    if existing:
        return [(existing["thumbprint"], existing["pem"])]
    from cryptography.hazmat.primitives.asymmetric import ec

    cert = certs.self_signed(
        ec.generate_private_key(ec.SECP256R1()), "Lab Stand-in Root (Windows built-in roots)", days=3650, ca=True
    )
    pem = pki.cert_pem(cert)
    model.write_json(
        os.path.join(path, "hosts", ".stand-in-root.json"), {"thumbprint": pki.thumbprint(cert), "pem": pem}
    )
    return [(pki.thumbprint(cert), pem)]


# Folders every Windows host has that a playbook may write into (win_copy wants the parent).
_FOLDERS = ("C:\\Windows\\Temp", "C:\\ProgramData\\Milestone")


def _create_host(site: model.Site, host: Mapping[str, Any], roots) -> None:
    folder = site.host_dir(host["name"])
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(os.path.join(folder, "keys"), mode=0o700)
    for win in _FOLDERS:
        os.makedirs(site.host_path(host["name"], win), exist_ok=True)
    state = model.initial_state(host, site.settings, roots)
    model.write_json(site.state_path(host["name"]), state)
    site.write_config_files(state)


def _change_roles(site: model.Site, host: Mapping[str, Any]) -> None:
    with site.transaction(host["name"]) as tx:
        st = tx.state
        st["roles"] = list(host["roles"])
        st["address"] = host["address"]
        st["options"] = dict(host.get("options") or {})
        st["services"] = model.services_for(host["roles"], site.settings, st["options"])
        groups = model.groups_of(host["roles"])
        st["encryption"] = {g: st["encryption"].get(g) or {"enabled": False, "thumbprint": None} for g in groups}
        st["configurator"]["installed"] = any(r != "client" for r in host["roles"])
        tx.touch()


def _readdress(site: model.Site, host: Mapping[str, Any]) -> None:
    state = site.read_state(host["name"])
    settings_accounts = model.services_for(host["roles"], site.settings, host.get("options"))
    if state.get("address") != host["address"] or state.get("services") != settings_accounts:
        with site.transaction(host["name"]) as tx:
            tx.state["address"] = host["address"]
            tx.state["services"] = settings_accounts
            tx.state["configurator"]["version"] = site.settings["configurator_version"]
            tx.touch()


def _ensure_passphrase(pki_dir: str) -> None:
    """The CA passphrase file the inventory points at (the rollout makes the CA itself)."""
    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    path = os.path.join(pki_dir, "passphrase")
    if not os.path.exists(path):
        model.atomic_write(path, secrets.token_urlsafe(32).encode("ascii"), 0o600)


def api_records(site: model.Site) -> List[Dict[str, Any]]:
    """The site's hosts as the REST API handler wants them."""
    has_failover = any("failover" in h["roles"] for h in site.hosts)
    return [
        {
            "name": h["name"],
            "roles": list(h["roles"]),
            "address": h["address"],
            "id": h["id"],
            "enabled": True,
            "failover_group": FAILOVER_GROUP
            if has_failover and ("failover" in h["roles"] or "recording" in h["roles"])
            else None,
            "hot_standby": None,
        }
        for h in site.hosts
    ]


def api_settings(site: model.Site) -> Dict[str, Any]:
    api = site.spec["api"]
    return {"api_user": api["user"], "api_password": api["password"], "token_secret": api["token_secret"]}


# ---- inventory --------------------------------------------------------------------------------


def _q(value: Any) -> str:
    """A YAML scalar: JSON is valid YAML, so quote strings the JSON way."""
    return json.dumps(value)


def inventory_text(site: model.Site) -> str:
    pki = site.pki_dir
    lines = [
        f"# Written by the xprotect.encryption lab for the site {site.path}.",
        "# lab_site rewrites it; change the site with lab_site, not here.",
        "all:",
        "  vars:",
        # An ordinary endpoint variable (the lab's ports are shifted as behind port translation).
        f"    xprotect_port_offset: {int(site.spec.get('port_offset', 0))}",
        f"    xprotect_ca_path: {_q(pki)}",
        # The measured links (recording server <-> management server, client video) for the site report.
        f"    xprotect_report_status_file: {_q(site.file('status.json'))}",
        "    xprotect_ca_passphrase: "
        + _q("{{ lookup('ansible.builtin.file', " + repr(os.path.join(pki, "passphrase")) + ") }}"),
    ]
    lines += _inventory_api_lines(site)
    lines += _management_lines(site)
    lines.append("  children:")
    placed = set()
    for role in model.ROLES:
        group = INVENTORY_GROUPS[role]
        members = [h for h in site.hosts if role in h["roles"]]
        if not members:
            lines += [f"    {group}:", "      hosts: {}"]
            continue
        lines += [f"    {group}:", "      hosts:"]
        for h in members:
            if h["name"] in placed:
                lines.append(f"        {h['name']}: {{}}")
                continue
            placed.add(h["name"])
            ports = {p: site.port(h["name"], p) for p in conn.planned_ports(h["roles"])}
            lines += [
                f"        {h['name']}:",
                f"          ansible_host: {h['address']}",
                "          ansible_connection: local",
                '          ansible_python_interpreter: "{{ ansible_playbook_python }}"',
                "          xprotect_host_adapter: lab",
                f"          xprotect_lab_site: {_q(site.path)}",
                f"          xprotect_fqdn: {h['name']}",
                # Per host, not in all.vars: implicit localhost (the CA play, delegate_to) must not
                # inherit a runas become, which fails any module run on Linux.
                "          ansible_become: true",
                "          ansible_become_method: runas",
                f"          ansible_become_user: {_q(BECOME_USER)}",
                f"          ansible_become_password: {_q('lab')}",
            ]
            if ports:
                lines.append("          xprotect_lab_ports: {" + ", ".join(f"{k}: {v}" for k, v in ports.items()) + "}")
    return "\n".join(lines) + "\n"


def _management_lines(site: model.Site) -> List[str]:
    """The management server for a job whose inventory does not hold its host (an AWX slice):
    xprotect_management_server for the order guard, and how the lab reaches a host that only the
    group all describes (the site lock, delegated to the management server by name)."""
    ms = site.management_name()
    if not ms:
        return []
    return [
        f"    xprotect_management_server: {{name: {ms}, address: {site.by_name[ms]['address']}, fqdn: {ms}}}",
        "    xprotect_host_adapter: lab",
        f"    xprotect_lab_site: {_q(site.path)}",
    ]


def _inventory_api_lines(site: model.Site) -> List[str]:
    """Where the preflight's inventory check reads the site (xprotect_inventory_api).

    The credentials come from site.xprotect.yml (0600), never from this file. Both URLs: plain
    HTTP answers before the management server is encrypted, HTTPS after; the first that accepts
    a connection is read.
    """
    ms = site.management_name()
    address = site.by_name[ms]["address"]
    http, https = site.port(ms, 80), site.port(ms, 443)
    urls = [
        f"http://{address}" + ("" if http == 80 else f":{http}"),
        f"https://{address}" + ("" if https == 443 else f":{https}"),
    ]
    return [
        "    xprotect_inventory_api:",
        f"      source: {_q(site.file('site.xprotect.yml'))}",
        f"      url: {_q(urls)}",
        f"      ca_path: {_q(os.path.join(site.pki_dir, 'ca.crt'))}",
        f"      tls_server_name: {_q(ms)}",
    ]


def xprotect_inventory_text(site: model.Site) -> str:
    """The plugin config of the lab: plain HTTP as configured, and HTTPS with the site CA first.

    Written with the site (``make demo``), before the CA exists: until the rollout's phase 0 makes
    ``ca.crt`` the plugin reads plain HTTP and says that https_url was not tried; after the switch
    it reads HTTPS, with no edit (the AWX inventory source syncs across the switch).
    """
    ms = site.management_name()
    host = site.by_name[ms]
    port, tls_port = site.port(ms, 80), site.port(ms, 443)
    api = site.spec["api"]
    url = f"http://{host['address']}" + ("" if port == 80 else f":{port}")
    https_url = f"https://{host['address']}" + ("" if tls_port == 443 else f":{tls_port}")
    ca = os.path.join(site.pki_dir, "ca.crt")
    return "\n".join(
        [
            "# The lab's Management Server REST API, for the xprotect.encryption.xprotect inventory plugin.",
            "plugin: xprotect.encryption.xprotect",
            f"url: {_q(url)}",
            "# Tried first once the site CA exists; the certificate names the FQDN, not the address.",
            f"https_url: {_q(https_url)}",
            f"tls_server_name: {_q(ms)}",
            f"ca_path: {_q(ca)}",
            f"username: {_q(api['user'])}",
            f"password: {_q(api['password'])}",
            "validate_certs: true",
            "",
        ]
    )


def xprotect_https_inventory_text(site: model.Site) -> Optional[str]:
    """The plugin config for after the rollout: HTTPS on 443, trusted with the site CA; None before the CA exists.

    The url is the management server's loopback address, which is on no certificate (and lab FQDNs
    do not resolve), so ``tls_server_name`` carries the FQDN the rollout's certificate names.
    """
    ca = os.path.join(site.pki_dir, "ca.crt")
    if not os.path.isfile(ca):
        return None
    ms = site.management_name()
    host = site.by_name[ms]
    port = site.port(ms, 443)
    api = site.spec["api"]
    url = f"https://{host['address']}" + ("" if port == 443 else f":{port}")
    return "\n".join(
        [
            "# The lab's Management Server REST API over HTTPS, for the xprotect.encryption.xprotect inventory plugin.",
            "# It answers once the rollout has encrypted the management server; before, use site.xprotect.yml.",
            "plugin: xprotect.encryption.xprotect",
            f"url: {_q(url)}",
            f"username: {_q(api['user'])}",
            f"password: {_q(api['password'])}",
            "validate_certs: true",
            f"ca_path: {_q(ca)}",
            f"tls_server_name: {_q(ms)}",
            "",
        ]
    )


def write_inventory(site: model.Site) -> None:
    model.write_if_different(site.file("inventory.yml"), inventory_text(site).encode("utf-8"), 0o644)
    model.write_if_different(site.file("site.xprotect.yml"), xprotect_inventory_text(site).encode("utf-8"), 0o600)
    https = xprotect_https_inventory_text(site)
    if https is not None:
        model.write_if_different(site.file("site-https.xprotect.yml"), https.encode("utf-8"), 0o600)
    else:
        # The CA is gone (a new pki_dir, or removed): a config naming it would only fail.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(site.file("site-https.xprotect.yml"))


# ---- the site process -------------------------------------------------------------------------


def collections_root() -> str:
    """The folder holding ``ansible_collections``, from this file's path as imported.

    The path is not resolved: ``.collections/`` is a symlink farm whose target has no
    ``ansible_collections`` folder above it.
    """
    parts = os.path.abspath(__file__).split(os.sep)
    if "ansible_collections" not in parts:
        raise model.LabError(
            f"Cannot find the ansible_collections folder above {__file__}; install the collection "
            "(or run `make dev`) so that the lab's site process can import it."
        )
    idx = len(parts) - 1 - parts[::-1].index("ansible_collections")
    return os.sep.join(parts[:idx]) or os.sep


def check_ports(site: model.Site) -> List[str]:
    """'address:port (reason)' for every port the site needs that cannot be bound now."""
    busy = []
    for h in site.hosts:
        for default in conn.planned_ports(h["roles"]):
            port = site.port(h["name"], default)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((h["address"], port))
            except OSError as e:
                reason = "in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
                busy.append(f"{h['address']}:{port} ({h['name']}, {reason})")
            finally:
                s.close()
    return busy


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _is_our_server(pid: int, path: str) -> bool:
    line = _cmdline(pid)
    return not line or (SERVER_MODULE in line and path in line) if os.path.isdir("/proc") else True


def running_pid(path: str) -> Optional[int]:
    pid = model.Site(path).server_pid()
    return pid if pid and _is_our_server(pid, os.path.abspath(path)) else None


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:]).strip()
    except OSError:
        return ""


def start(path: str, timeout: float = 60.0) -> Dict[str, Any]:
    """Start the site process (detached) and wait until status.json says it is ready."""
    site = model.Site(path)
    pid = running_pid(site.path)
    if pid:
        return {"changed": False, "pid": pid}
    busy = check_ports(site)
    if busy:
        raise model.LabError(
            f"Cannot start the lab site {site.path}: {len(busy)} port(s) cannot be bound, first "
            f"{busy[0]}. Stop what uses it, or recreate the site with another address_range or port_offset.",
            option="port_offset",
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([collections_root(), *[p for p in [env.get("PYTHONPATH")] if p]])
    log_path = site.file("server.log")
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own module, argv list
            [sys.executable, "-m", SERVER_MODULE, site.path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=site.path,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    deadline = t0 + timeout
    while True:
        status = model.read_json(site.file("status.json"), {}) or {}
        if status.get("pid") == proc.pid and status.get("ready"):
            break
        if proc.poll() is not None:
            raise model.LabError(
                f"The lab site process for {site.path} exited with {proc.returncode} while starting. "
                f"From {log_path}:\n{_log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            _terminate(proc.pid)
            raise model.LabError(f"The lab site process did not get ready in {timeout:.0f} s; see {log_path}.")
        time.sleep(0.05)
    return {"changed": True, "pid": proc.pid, "startup_seconds": round(time.monotonic() - t0, 3)}


def _terminate(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while model.pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if model.pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        while model.pid_alive(pid):
            _reap(pid)
            time.sleep(0.02)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect our own child's exit status (when the site was started from this process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(path: str, timeout: float = 10.0) -> bool:
    """End the site process: SIGTERM, then SIGKILL. Returns whether one was running."""
    site = model.Site(path)
    pid = running_pid(site.path)
    if not pid:
        if os.path.exists(site.file("server.pid")):
            os.unlink(site.file("server.pid"))
        return False
    _terminate(pid, timeout)
    if os.path.exists(site.file("server.pid")):
        os.unlink(site.file("server.pid"))
    site.write_status(runtime=None)
    return True


def destroy(path: str) -> bool:
    """Stop the process and remove what the lab created; refuse a folder that is not a site."""
    path = os.path.abspath(path)
    if not os.path.exists(path):
        return False
    _refuse_foreign(path)
    if not is_site(path):
        return False  # an empty folder: nothing of ours
    stop(path)
    shutil.rmtree(os.path.join(path, "hosts"), ignore_errors=True)
    for name in LAB_FILES:
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
    for entry in os.listdir(path):
        if fileutil.is_temp_name(entry):  # left by a write that a crash interrupted
            os.unlink(os.path.join(path, entry))
    if not os.listdir(path):
        os.rmdir(path)
    return True


def read_status(path: str) -> Dict[str, Any]:
    """status.json, checked: ``ready`` only while its process is alive.

    The site process clears ``ready`` when it ends; one that was killed (``kill -9``, a crash, a
    reboot) cannot, and its status.json would keep ``ready: true`` and a dead pid. Without a
    running process the file is rebuilt from the host states (``ready: false``, no pid, and an
    ``error`` saying what happened to a killed one), so that its next reader sees the truth too.
    """
    site = model.Site(path)
    data = model.read_json(site.file("status.json"), None) or {}
    pid = running_pid(site.path)
    if pid:
        return data  # its own status (or, while it starts, the one it is about to replace)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(site.file("server.pid"))  # a killed process's
    dead = data.get("pid") if data.get("ready") else None
    error = f"The site process (pid {dead}) is gone; start it with lab_site state=started." if dead else None
    return site.write_status({"ready": False, "pid": None, "error": error} if dead else None)


def status(path: str) -> Dict[str, Any]:
    """The site's status, fresh: from the running process, or rebuilt from the host states."""
    pid = running_pid(path)
    return {"running": bool(pid), "pid": pid, "status": read_status(path)}


def wait_current(path: str, timeout: float = 10.0) -> Dict[str, Any]:
    """Wait until the running site process has published the latest generation in status.json."""
    site = model.Site(path)
    deadline = time.monotonic() + timeout
    while True:
        gen = site.generation()
        data = model.read_json(site.file("status.json"), {}) or {}
        if data.get("generation") == gen or not site.server_pid():
            return data if data.get("generation") == gen else site.write_status()
        if time.monotonic() > deadline:
            raise model.LabError(f"status.json of {site.path} did not catch up within {timeout:.0f} s.")
        time.sleep(0.02)


# ---- lab_site -----------------------------------------------------------------------------------


def describe(path: str) -> Dict[str, Any]:
    """What lab_site returns about a site: files, hosts, addresses and ports."""
    site = model.Site(path)
    https = site.file("site-https.xprotect.yml")
    return {
        "path": site.path,
        "inventory": site.file("inventory.yml"),
        "xprotect_inventory": site.file("site.xprotect.yml"),
        # Written once the site CA exists (see write_inventory); None before.
        "xprotect_inventory_https": https if os.path.isfile(https) else None,
        "events": site.file("events.jsonl"),
        "status_file": site.file("status.json"),
        "pki_dir": site.pki_dir,
        "address_range": site.spec["address_range"],
        "port_offset": site.spec.get("port_offset", 0),
        "management_server": site.management_name(),
        "hosts": [{"name": h["name"], "roles": h["roles"], "address": h["address"]} for h in site.hosts],
    }


def apply(path: str, params: Mapping[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    """The whole of lab_site: bring the site at ``path`` to ``params['state']``."""
    path = os.path.abspath(path)
    state = params.get("state") or "present"
    if state == "absent":
        _refuse_foreign(path)
        present = is_site(path)
        if present and not check_mode:
            destroy(path)
        return {"changed": present, "path": path, "state": state}
    if state in ("status", "stopped"):
        if not is_site(path):
            raise model.LabError(
                f"There is no lab site at {path}; create it with lab_site state=present or started.", option="path"
            )
        if state == "status":
            out = status(path)
            return dict(
                describe(path), changed=False, state=state, running=out["running"], pid=out["pid"], status=out["status"]
            )
        running = bool(running_pid(path))
        if running and not check_mode:
            stop(path)
        return dict(describe(path), changed=running, state=state, running=False)
    counts = {k: params.get(k) for _r, k, _p, _w in ROLE_COUNTS}
    result = ensure_site(
        path,
        counts=counts,
        hosts=params.get("hosts"),
        address_range=params.get("address_range"),
        port_offset=params.get("port_offset"),
        pki_dir=params.get("pki_dir"),
        settings=params.get("settings"),
        check_mode=check_mode,
    )
    if check_mode and not is_site(path):
        return dict(result, state=state, running=False)
    if not check_mode:
        write_inventory(model.Site(path))  # ca_path appears once the rollout made the CA
    if state == "started":
        if check_mode:
            result["changed"] = result["changed"] or not running_pid(path)
        else:
            try:
                started = start(path, float(params.get("timeout") or 60))
            except model.LabError:
                if result["created"]:
                    destroy(path)  # bad input changes nothing
                raise
            result["changed"] = result["changed"] or started["changed"]
            result["pid"] = started["pid"]
            if "startup_seconds" in started:
                result["startup_seconds"] = started["startup_seconds"]
    running = bool(running_pid(path))
    if result.get("restart_needed") and not running:
        result["warning"] = "The site process was stopped to change the site; start it with state=started."
    return dict(describe(path), **result, state=state, running=running)
