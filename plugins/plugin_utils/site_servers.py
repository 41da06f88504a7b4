# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the servers a site knows from its Management Server REST API, with the inventory plugin's code.

The settings are the inventory plugin's options (url, username, password, auth_type,
validate_certs, ca_path, tls_server_name, timeout), taken from an inventory plugin config file
(``source``), from explicit options, and from the same environment variables the plugin reads.
``url`` may list several addresses: the first that accepts a connection is read, so one setting
serves before the rollout (plain HTTP) and after it (HTTPS).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv

API_OPTIONS = (
    "url",
    "username",
    "password",
    "auth_type",
    "validate_certs",
    "ca_path",
    "tls_server_name",
    "timeout",
    "management_server_name",
)
ENV = {
    "url": "XPROTECT_URL",
    "username": "XPROTECT_USERNAME",
    "password": "XPROTECT_PASSWORD",
    "tls_server_name": "XPROTECT_TLS_SERVER_NAME",
}
DEFAULTS = {"auth_type": "basic", "validate_certs": True, "timeout": 30.0}
# Failures that say "nothing listens here (in this form)": the next url is tried.
_CONNECT = ("refused", "did not answer within", "does not speak tls", "cannot connect to", "closed the connection")


class SiteServersError(Exception):
    """The API cannot be read; the message says why and what to do."""


def settings(source_data: Optional[Dict[str, Any]], explicit: Dict[str, Any], source: str = "") -> Dict[str, Any]:
    """The API settings: explicit options win over the source file, which wins over the environment."""
    merged: Dict[str, Any] = {}
    for name in API_OPTIONS:
        value = explicit.get(name)
        if value in (None, "", []) and source_data:
            value = source_data.get(name)
        if value in (None, "", []) and name in ENV:
            value = os.environ.get(ENV[name]) or None
        merged[name] = DEFAULTS.get(name) if value in (None, "", []) else value
    urls = merged["url"]
    merged["url"] = [urls] if isinstance(urls, str) else list(urls or [])
    where = f" (source {source})" if source else ""
    if not merged["url"]:
        raise SiteServersError(
            "The inventory check has no management server to ask: set xprotect_inventory_api.source to the inventory "
            "plugin's config file (site.xprotect.yml), or xprotect_inventory_api.url, username and password (or "
            "XPROTECT_URL, XPROTECT_USERNAME, XPROTECT_PASSWORD). To skip the check, set xprotect_inventory_check: "
            "false."
        )
    try:
        merged["url"] = [inv.normalize_url(str(url)) for url in merged["url"]]
    except inv.InventoryError as error:
        raise SiteServersError(f"{error}{where} (the inventory check's url, xprotect_inventory_api.url).")
    for name in ("username", "password"):
        if not merged[name]:
            raise SiteServersError(
                f"The inventory check has no {name} for the Management Server REST API{where}: set "
                f"xprotect_inventory_api.{name}, the source file's {name}, or XPROTECT_{name.upper()}."
            )
    if merged["auth_type"] not in inv.AUTH_TYPES:
        raise SiteServersError(
            f"auth_type {merged['auth_type']!r}{where} is not one of {', '.join(inv.AUTH_TYPES)}: basic for an "
            "XProtect basic user, windows for a Windows user."
        )
    try:
        merged["timeout"] = float(merged["timeout"])
    except (TypeError, ValueError):
        raise SiteServersError(f"timeout {merged['timeout']!r}{where} is not a number of seconds.")
    if not 0 < merged["timeout"] <= 600:
        raise SiteServersError(f"timeout {merged['timeout']!r}{where} is out of range: give 1 to 600 seconds.")
    return merged


def _opts(url: str, merged: Dict[str, Any]) -> Dict[str, Any]:
    opts = dict(merged, url=inv.normalize_url(url), include_disabled=True, failover_assignment="skip", workers=1)
    opts["tls_server_name"] = inv.normalize_server_name(opts["tls_server_name"])
    if not opts["url"].startswith("https://"):
        opts["tls_server_name"] = None
        opts["ca_path"] = None
    elif opts["ca_path"] and not os.path.isfile(str(opts["ca_path"])):
        raise inv.InventoryError(
            f"ca_path {opts['ca_path']!r} is not a file: set it to the CA certificate (PEM) that signed the "
            "management server's certificate"
        )
    return opts


def read(merged: Dict[str, Any], fetch: Callable[..., List[Dict[str, Any]]]) -> Dict[str, Any]:
    """Read the servers from the first url that answers; ``fetch`` is the inventory plugin's fetch_records."""
    tried: List[str] = []
    for number, url in enumerate(merged["url"], 1):
        try:
            opts = _opts(str(url), merged)
            records = fetch(opts)
        except inv.InventoryError as error:
            text = str(error)
            tried.append(text)
            if number < len(merged["url"]) and any(k in text.lower() for k in _CONNECT):
                continue
            raise SiteServersError(
                "Cannot read the Management Server REST API, so the inventory cannot be compared with the site: "
                + " Then: ".join(tried)
                + " Nothing was switched. Fix the access, or skip the check with xprotect_inventory_check: false."
            )
        management = [
            inv.management_host(opts["url"], merged.get("management_server_name"), opts.get("tls_server_name")),
            inv.host_from_uri(opts["url"]),
        ]
        servers = [
            {
                "kind": r.get("kind"),
                "host": r.get("host"),
                "name": r.get("name"),
                "id": r.get("id"),
                "enabled": r.get("enabled", True) is not False,
            }
            for r in records
        ]
        return {"url": opts["url"], "servers": servers, "management": sorted({m for m in management if m})}
    raise SiteServersError("No url to read.")  # pragma: no cover - settings() refuses an empty list
