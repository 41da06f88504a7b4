# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of a Milestone XProtect site, read from its Management Server REST API."""

from __future__ import annotations

DOCUMENTATION = r"""
name: xprotect
short_description: Recording and failover servers of a Milestone XProtect site, from its management server
version_added: 0.1.0
description:
  - Reads every recording server and failover recording server that the XProtect management server knows, through
    the Management Server REST API (API Gateway), so that no server is left out of an encryption rollout.
  - Builds the groups C(xprotect_management_servers) (the management server itself, named after the host in O(url)),
    C(xprotect_recording_servers) and C(xprotect_failover_servers).
  - A host is named after the host in the server's C(webServerUri), falling back to C(hostName), in lower case.
  - Host variables C(xprotect_id), C(xprotect_name), C(xprotect_display_name), C(xprotect_enabled),
    C(xprotect_web_server_uri); where set, C(xprotect_failover_group), C(xprotect_secondary_failover_group),
    C(xprotect_hot_standby), C(xprotect_failover_port), C(xprotect_failover_udp_port),
    C(xprotect_failover_position). The management server gets C(xprotect_api_url).
  - Mobile servers, event servers and clients are not in that API; put them in a static inventory file in the same
    inventory folder (see docs/inventory.md).
  - The inventory source must be a file whose name ends in C(.xprotect.yml) or C(.xprotect.yaml).
author: [xprotect.encryption maintainers (@xprotect)]
requirements:
  - requests
  - requests-ntlm (for O(auth_type=windows); both come with pywinrm)
  - jmespath (for O(query))
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory source of this plugin.
    type: str
    required: true
    choices: [xprotect.encryption.xprotect]
  url:
    description:
      - Base URL of the XProtect management server, for example V(https://ms.example.com).
      - The token comes from C(<url>/API/IDP/connect/token), falling back to C(<url>/IDP/connect/token) on a 404;
        the REST API is C(<url>/api/rest/v1/).
      - Use the name its certificate was issued for once the server is encrypted, or set O(tls_server_name)
        where the URL must use an address or another name.
    type: str
    required: true
    env:
      - name: XPROTECT_URL
  https_url:
    description:
      - The management server's HTTPS URL once the rollout has encrypted it, for example V(https://ms.example.com).
      - When set, and the site CA is at hand (O(ca_cert), or a O(ca_path) that exists), it is tried first, with the
        CA and O(tls_server_name); when nothing accepts the connection there (refused, no answer, not TLS), O(url) is
        read as configured. So one source lists the site before, during and after the switch from HTTP to HTTPS,
        as AWX syncs it at each job launch.
      - A server that answers there with a certificate the CA does not sign is an error, never a reason to fall
        back to plain HTTP.
      - The plugin says which URL it read (on stderr, and as C(xprotect_api_url) of the management server).
    type: str
    version_added: 0.1.0
    env:
      - name: XPROTECT_HTTPS_URL
  ca_cert:
    description:
      - The site CA certificate itself (PEM), instead of O(ca_path); it wins over O(ca_path).
      - It is kept in memory and never written to disk. The AWX credential type "XProtect Management Server API"
        injects it as E(XPROTECT_CA_CERT) (docs/awx.md). An empty value counts as not set.
    type: str
    version_added: 0.1.0
    env:
      - name: XPROTECT_CA_CERT
  auth_type:
    description:
      - V(basic) logs on as an XProtect basic user (password grant).
      - V(windows) logs on as a Windows user with NTLM (C(grant_type=windows_credentials)), always at
        C(<url>/IDP/connect/token) because the API gateway does not pass NTLM through. O(username) is C(DOMAIN\\user).
    type: str
    default: basic
    choices: [basic, windows]
  username:
    description: The user to log on as. It needs a Milestone role that may read recording servers and failover servers.
    type: str
    required: true
    env:
      - name: XPROTECT_USERNAME
  password:
    description:
      - The user's password. It is sent only to the token endpoint, and never logged, shown or cached.
      - Prefer the environment variable or an Ansible Vault encrypted value.
    type: str
    required: true
    env:
      - name: XPROTECT_PASSWORD
  validate_certs:
    description: Check the server's TLS certificate. Only switch this off on a lab.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates that may sign the management server's certificate.
      - After the rollout the management server presents a certificate of the rollout's CA; set this to that CA's
        certificate (C(ca.crt) in C(xprotect_ca_path)). Unset, the controller's default trust store is used.
    type: path
  tls_server_name:
    description:
      - The name the management server's certificate was issued for (its FQDN), when the host in O(url) is an IP
        address or a name that is not on the certificate (a site reached by address, an alias, the lab).
      - It is sent as the TLS server name (SNI) and the certificate is checked against it instead of the host in
        O(url); the connection still goes to the host in O(url). O(validate_certs) and O(ca_path) work as without
        it.
      - It is also the default inventory name of the management server (see O(management_server_name)).
      - It has no effect on an V(http://) O(url) (a warning says so).
    type: str
    env:
      - name: XPROTECT_TLS_SERVER_NAME
  timeout:
    description: Seconds to wait for the server to connect and to answer, per request.
    type: float
    default: 30
  include_disabled:
    description: Also make hosts of recording and failover servers that are disabled in XProtect.
    type: bool
    default: false
  query:
    description:
      - A jmespath expression applied to the list of records before hosts are made; it must return records.
      - A record is the REST API item (C(id), C(name), C(displayName), C(enabled), C(hostName), C(webServerUri),
        ...) plus C(kind) (V(recording_server) or V(failover_server)), C(host) (the inventory name),
        C(failoverGroup), C(secondaryFailoverGroup), C(hotStandby) and C(failoverPort).
      - The management server is always in the inventory.
      - For example V([?enabled && contains(name, 'Site A')]) or V([?kind=='recording_server']).
    type: str
  management_server_name:
    description:
      - Inventory name of the management server, when the host in O(url) is not the one to use (an IP address, an
        alias). Default is O(tls_server_name) when set, else the host of O(url).
    type: str
  failover_assignment:
    description:
      - How to read each recording server's failover settings (primary and secondary group, hot standby).
      - V(auto) reads them all in one request (C(recordingServerFailovers)) and falls back to one request per
        recording server, O(workers) at a time, where the server does not offer that list.
      - V(per_server) always asks each recording server, V(skip) does not read them (no C(xprotect_failover_group),
        C(xprotect_hot_standby) on recording servers).
    type: str
    default: auto
    choices: [auto, per_server, skip]
  workers:
    description: Requests in flight at once when reading failover settings one recording server at a time.
    type: int
    default: 8
  include_record:
    description: Also set the host variable C(xprotect_record), the whole record, for use in O(compose) or O(groups).
    type: bool
    default: false
"""

EXAMPLES = r"""
---
# site.xprotect.yml: every recording and failover server of the site
plugin: xprotect.encryption.xprotect
url: https://ms.example.com
username: ansible-inventory        # an XProtect basic user; the password comes from XPROTECT_PASSWORD
ca_path: /etc/xprotect/pki/ca.crt  # after the rollout: the CA that signed the management server's certificate

---
# After the rollout, the management server reached by its address: check its certificate against its FQDN
plugin: xprotect.encryption.xprotect
url: https://10.20.0.5
tls_server_name: ms.example.com    # the name on the certificate; also the management server's inventory name
username: ansible-inventory
ca_path: /etc/xprotect/pki/ca.crt

---
# A Windows user, one site's servers only, grouped by failover group
plugin: xprotect.encryption.xprotect
url: https://ms.example.com
auth_type: windows
username: EXAMPLE\svc-ansible
query: "[?enabled && contains(name, 'Site A')]"
keyed_groups:
  - key: xprotect_failover_group | default('none')
    prefix: failover_group

---
# Cached for an hour between runs
plugin: xprotect.encryption.xprotect
url: http://ms.example.com
username: ansible-inventory
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/xprotect-inventory
cache_timeout: 3600
"""

import os
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
except ImportError:
    HTTPAdapter = object  # only for the class statement below; _settings refuses to run without requests
    HAS_REQUESTS = False

try:
    from requests_ntlm import HttpNtlmAuth

    HAS_REQUESTS_NTLM = True
except ImportError:
    HAS_REQUESTS_NTLM = False


class CAContentAdapter(HTTPAdapter):  # type: ignore[misc, valid-type]
    """HTTPS trusting only the CA certificates given as PEM text (ca_cert), held in memory.

    With an ``ssl_context`` in the pool manager's keywords and ``verify=True``, requests adds no CA
    file of its own, so the context's CA is the one trusted. With ``server_name`` the connection's
    SNI and host name check use it instead of the URL's host (see ServerNameAdapter).
    """

    __attrs__ = [*getattr(HTTPAdapter, "__attrs__", []), "ssl_context", "server_name"]

    def __init__(self, ssl_context: Any, server_name: Optional[str] = None, **kwargs: Any) -> None:
        self.ssl_context = ssl_context
        self.server_name = server_name
        super().__init__(**kwargs)

    def _extra(self) -> Dict[str, Any]:
        extra: Dict[str, Any] = {"ssl_context": self.ssl_context}
        if self.server_name:
            extra.update(server_hostname=self.server_name, assert_hostname=self.server_name)
        return extra

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **dict(pool_kwargs, **self._extra()))

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, **dict(proxy_kwargs, **self._extra()))


class ServerNameAdapter(HTTPAdapter):  # type: ignore[misc, valid-type]
    """HTTPS to the host in the URL, with another name for SNI and for the certificate check.

    urllib3 connects to the URL's host but sends ``server_hostname`` as SNI and, with
    ``assert_hostname``, matches the certificate against that name instead of the URL's host. Both
    are pool keys, so they go to every pool this adapter makes: direct, and through a proxy (the
    tunnelled connection to the server is the one that is checked). Certificate trust
    (``verify``: the CA file, the trust store, or off) stays per request, as without it.
    """

    __attrs__ = [*getattr(HTTPAdapter, "__attrs__", []), "server_name"]

    def __init__(self, server_name: str, **kwargs: Any) -> None:
        self.server_name = server_name
        super().__init__(**kwargs)

    def _name_kwargs(self) -> Dict[str, str]:
        return {"server_hostname": self.server_name, "assert_hostname": self.server_name}

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **dict(pool_kwargs, **self._name_kwargs()))

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, **dict(proxy_kwargs, **self._name_kwargs()))


class _Client:
    """HTTP to the management server: one keep-alive session, the token, and error mapping."""

    def __init__(self, opts: Dict[str, Any]) -> None:
        self.base = opts["url"]
        self.opts = opts
        self.token: Optional[str] = None
        self.session = requests.Session()
        size = max(int(opts["workers"]), 1)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=size)
        self.session.mount("http://", adapter)
        server_name = opts.get("tls_server_name")
        ca_cert = opts.get("ca_cert") if opts["validate_certs"] else None
        if ca_cert:
            try:
                context = ssl.create_default_context(cadata=ca_cert)
            except (ssl.SSLError, ValueError) as exc:
                raise inv.InventoryError(f"ca_cert is not a PEM CA certificate that can be trusted: {exc}")
            adapter = CAContentAdapter(context, server_name, pool_connections=1, pool_maxsize=size)
        elif server_name:
            adapter = ServerNameAdapter(server_name, pool_connections=1, pool_maxsize=size)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "xprotect.encryption-inventory"})
        # Passed with every request: a session-wide verify loses to REQUESTS_CA_BUNDLE in requests.
        self.verify: Any = True
        if not opts["validate_certs"]:
            self.verify = False
            requests.packages.urllib3.disable_warnings(requests.packages.urllib3.exceptions.InsecureRequestWarning)
        elif opts["ca_path"] and not ca_cert:
            self.verify = opts["ca_path"]

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        timeout = self.opts["timeout"]
        try:
            return self.session.request(
                method, url, timeout=(timeout, timeout), allow_redirects=False, verify=self.verify, **kwargs
            )
        except requests.exceptions.SSLError as exc:
            raise inv.InventoryError(
                inv.msg_tls(url, _reason(exc), self.opts["ca_path"], server_name=self.opts.get("tls_server_name"))
            )
        except requests.exceptions.Timeout:
            raise inv.InventoryError(inv.msg_timeout(url, timeout))
        except requests.exceptions.ConnectionError as exc:
            raise inv.InventoryError(inv.msg_connection(url, _reason(exc)))
        except requests.exceptions.RequestException as exc:
            raise inv.InventoryError(f"Request to {inv.redact_url(url)} failed: {_reason(exc)}")

    @staticmethod
    def _json(resp: Any, url: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise inv.InventoryError(inv.msg_not_json(url, resp.text, resp.headers.get("Content-Type", "")))

    def fetch_token(self) -> None:
        auth_type = self.opts["auth_type"]
        form = inv.token_form(auth_type, self.opts["username"], self.opts["password"])
        auth = HttpNtlmAuth(self.opts["username"], self.opts["password"]) if auth_type == "windows" else None
        urls = inv.token_urls(self.base, auth_type)
        for number, url in enumerate(urls, 1):
            resp = self._send("POST", url, data=form, auth=auth)
            if resp.status_code == 404 and number < len(urls):
                continue  # older servers have no gateway route to the IDP [H]
            if resp.status_code != 200:
                detail = _detail(resp)
                raise inv.InventoryError(
                    inv.msg_status(
                        resp.status_code,
                        url,
                        phase="token",
                        username=self.opts["username"],
                        detail=detail,
                        auth_type=auth_type,
                    )
                )
            reply = self._json(resp, url)
            if not isinstance(reply, dict) or not reply.get("access_token"):
                raise inv.InventoryError(inv.msg_token_reply(url, reply.keys() if isinstance(reply, dict) else ()))
            self.token = str(reply["access_token"])
            return

    def get(self, resource: str, include_disabled: bool = False, missing_ok: bool = False) -> Optional[List[Dict]]:
        """GET a list resource; None when missing_ok and the server has no such resource (404)."""
        url = inv.api_url(self.base, resource, include_disabled)
        for attempt in (1, 2):
            resp = self._send("GET", url, headers={"Authorization": f"Bearer {self.token}"})
            if resp.status_code == 401 and attempt == 1:
                self.fetch_token()  # expired during a long read: renew once
                continue
            break
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code != 200:
            raise inv.InventoryError(
                inv.msg_status(resp.status_code, url, phase="api", username=self.opts["username"], detail=_detail(resp))
            )
        return inv.list_from_reply(self._json(resp, url), url)


def _reason(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the long wrapper text."""
    inner: BaseException = exc
    for _depth in range(10):  # bounded: exception contexts can form cycles
        if inner.__context__ is None:
            break
        inner = inner.__context__
    text = str(exc.args[0]) if exc.args else str(exc)
    reason = str(inner)
    return reason if reason and reason != text and len(reason) < len(text) else text


def _detail(resp: Any) -> str:
    try:
        return inv.error_text(resp.json())
    except ValueError:
        return ""


def fetch_records(opts: Dict[str, Any], warn: Optional[Callable[[str], None]] = None) -> List[Dict[str, Any]]:
    """Read the site from the REST API and return its records (see module_utils/inventory.py)."""
    client = _Client(opts)
    try:
        client.fetch_token()
        disabled = opts["include_disabled"]
        servers = client.get("recordingServers", disabled) or []
        groups = client.get("failoverGroups", missing_ok=True)
        members = {
            str(g.get("id", "")): client.get(f"failoverGroups/{g.get('id')}/failoverRecorders", disabled)
            for g in groups or []
        }
        loose = client.get("failoverRecorders", disabled, missing_ok=True)
        if groups is None and loose is None and warn:
            warn(inv.msg_no_failover_lists(opts["url"]))
        assignments = _assignments(client, servers, opts)
    finally:
        client.close()
    return inv.build_records(servers, groups or [], members, loose or [], assignments)


def _assignments(client: _Client, servers: List[Dict], opts: Dict[str, Any]) -> Optional[Dict[str, Dict]]:
    mode = opts["failover_assignment"]
    if mode == "skip" or not servers:
        return None
    if mode == "auto":
        # One request for every server [M]; relations.parent says whose settings each item holds.
        bulk = client.get("recordingServerFailovers", missing_ok=True)
        # An empty list while servers exist, or items that name no server, cannot be trusted.
        if bulk and all(inv.parent_id(item) for item in bulk):
            return inv.assignments_by_server(bulk)

    def one(server: Dict) -> List[Dict]:
        items = client.get(f"recordingServers/{server.get('id')}/recordingServerFailovers", missing_ok=True) or []
        owner = str(server.get("id", "")).lower()
        return [dict(item, relations={"parent": {"type": "recordingServers", "id": owner}}) for item in items[:1]]

    with ThreadPoolExecutor(max_workers=max(int(opts["workers"]), 1)) as pool:
        return inv.assignments_by_server(item for items in pool.map(one, servers) for item in items)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """The xprotect.encryption.xprotect inventory plugin."""

    NAME = "xprotect.encryption.xprotect"

    def verify_file(self, path: str) -> bool:
        if super().verify_file(path) and path.endswith((".xprotect.yml", ".xprotect.yaml")):
            return True
        self.display.vvv(f"{path}: skipped by {self.NAME}, the file name must end in .xprotect.yml or .xprotect.yaml")
        return False

    def _opt(self, name: str) -> Any:
        value = self.get_option(name)
        if isinstance(value, str) and self.templar.is_template(value):
            value = self.templar.template(value)
        return value

    def _settings(self) -> Dict[str, Any]:
        opts = {
            name: self._opt(name)
            for name in (
                "url",
                "https_url",
                "ca_cert",
                "auth_type",
                "username",
                "password",
                "validate_certs",
                "ca_path",
                "tls_server_name",
                "timeout",
                "include_disabled",
                "query",
                "management_server_name",
                "failover_assignment",
                "workers",
                "include_record",
            )
        }
        opts["url"] = inv.normalize_url(opts["url"])
        opts["tls_server_name"] = inv.normalize_server_name(opts["tls_server_name"])
        if opts["tls_server_name"] and not opts["url"].startswith("https://") and not opts["https_url"]:
            self.display.warning(f"{self.NAME}: {inv.msg_server_name_unused(opts['url'])}")
        opts["ca_cert"] = opts["ca_cert"] or None
        opts["https_url"] = inv.normalize_url(opts["https_url"]) if opts["https_url"] else None
        ca_missing = opts["ca_path"] and not os.path.isfile(opts["ca_path"])
        if ca_missing and not (opts["https_url"] or opts["ca_cert"]):
            raise inv.InventoryError(f"ca_path {opts['ca_path']!r} is not a file: set it to the CA certificate (PEM)")
        # Where the site CA comes from, for https_url; None when it is not there (yet).
        has_path = bool(opts["ca_path"]) and not ca_missing
        opts["ca_source"] = "ca_cert" if opts["ca_cert"] else ("ca_path" if has_path else None)
        if ca_missing:
            opts["ca_path"] = None
        if not HAS_REQUESTS:
            raise inv.InventoryError("The xprotect inventory needs the Python package requests: pip install requests")
        if opts["auth_type"] == "windows" and not HAS_REQUESTS_NTLM:
            raise inv.InventoryError(
                "auth_type windows needs the Python package requests-ntlm: pip install requests-ntlm"
            )
        return opts

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            opts = self._settings()
            cache_key = self.get_cache_key(path)
            use_cache = self.get_option("cache") and cache
            update_cache = self.get_option("cache") and not cache
            records = None
            if use_cache:
                try:
                    records = self._cache[cache_key]
                except KeyError:
                    update_cache = True
            if records is None:
                records, opts["url"] = self._read(opts)
            if update_cache:
                # Only what the API listed; no credential or token is ever cached.
                self._cache[cache_key] = records
            chosen = inv.select_records(records, opts["include_disabled"], opts["query"])
        except inv.InventoryError as exc:
            raise AnsibleParserError(f"{self.NAME} ({path}): {exc}")
        recording, failover = inv.summarize(chosen)
        self.display.vv(f"{self.NAME}: {recording} recording and {failover} failover servers from {opts['url']}")
        self._populate(chosen, opts)

    def _read(self, opts: Dict[str, Any]) -> Any:
        """The records from the first URL that answers (https_url, then url), and that URL."""
        urls, notes = inv.url_attempts(opts["url"], opts["https_url"], opts["ca_source"])
        tried: List[Any] = []
        for number, url in enumerate(urls, 1):
            attempt = dict(opts, url=url)
            if not url.startswith("https://"):
                attempt.update(ca_cert=None, tls_server_name=None)
            try:
                records = fetch_records(attempt, warn=lambda text: self.display.warning(f"{self.NAME}: {text}"))
            except inv.InventoryError as exc:
                if number < len(urls) and inv.is_connect_failure(str(exc)):
                    tried.append((url, str(exc)))
                    continue
                raise inv.InventoryError(" Then: ".join([t[1] for t in tried] + [str(exc)]))
            if opts["https_url"]:
                self.display.display(f"{self.NAME}: {inv.msg_used(url, tried, notes)}", stderr=True)
            return records, url
        raise inv.InventoryError("No url to read.")  # pragma: no cover - url_attempts always gives url

    def _populate(self, records: List[Dict[str, Any]], opts: Dict[str, Any]) -> None:
        management = inv.management_host(opts["url"], opts["management_server_name"], opts.get("tls_server_name"))
        built = inv.build_inventory(records, management, {"xprotect_api_url": opts["url"]}, opts["include_record"])
        for warning in built.warnings:
            self.display.warning(f"{self.NAME}: {warning}")
        # For a job whose inventory slice does not hold the management server (AWX job slicing keeps
        # the groups' variables, not their hosts): the order guard observes it from this variable.
        ms_vars = built.hosts.get(management) or {}
        self.inventory.set_variable(
            "all",
            "xprotect_management_server",
            {
                "name": management,
                "fqdn": ms_vars.get("xprotect_fqdn") or management,
                "address": ms_vars.get("ansible_host") or management,
            },
        )
        for group, members in built.groups.items():
            self.inventory.add_group(group)
            for host in members:
                self.inventory.add_host(host, group=group)
        strict = self.get_option("strict")
        for host, hostvars in built.hosts.items():
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, wrap_var(value))
            variables = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
