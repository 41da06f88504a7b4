# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab host adapter does per contract method, with the outcomes of the real modules.

Each function mirrors one ansible.windows / ansible.builtin module (win_certificate_info,
win_certificate_store, win_acl on ``Cert:``, win_service_info, win_reg_stat, slurp, win_copy, win_file) on a
simulated host, including their failure messages where a playbook could meet them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import uuid
from typing import Any, Dict, List, Optional, Union

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs, model, programs
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn

try:
    from cryptography.hazmat.primitives.serialization import pkcs12

    HAS_PKCS12 = True
except ImportError:  # pragma: no cover
    HAS_PKCS12 = False


class LabUnreachable(model.LabError):
    """The host does not answer (the ``unreachable`` fault)."""


def check_reachable(site: model.Site, host: str, state: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    state = state if state is not None else site.read_state(host)
    if (state.get("faults") or {}).get("unreachable"):
        # What Ansible reports for a WinRM host that does not answer.
        raise LabUnreachable(
            f"ntlm: HTTPSConnectionPool(host='{host}', port=5986): Max retries exceeded with url: /wsman "
            f"(Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object>, "
            f"'Connection to {host} timed out. (connect timeout=30)'))"
        )
    return state


# ---- certificate stores ---------------------------------------------------------------------


def list_certificates(site: model.Site, host: str, store_name: str) -> List[Dict[str, Any]]:
    """win_certificate_info of LocalMachine\\<store>: unknown stores are simply empty."""
    state = check_reachable(site, host)
    out = []
    for entry in model.store(state, store_name):
        cert = certs.load_pem(entry["pem"])
        out.append(
            {
                "thumbprint": entry["thumbprint"],
                "subject": certs.dotnet_name(cert.subject),
                "issuer": certs.dotnet_name(cert.issuer),
                "dns_names": certs.windows_dns_names(cert),
                "not_after": pki.not_after(cert),
                "has_private_key": bool(entry.get("key")),
                "der": pki.cert_der(cert),
            }
        )
    return out


def _is_aes_pfx(data: bytes) -> bool:
    # The DER prefix of the NIST AES OIDs (2.16.840.1.101.3.4.1.x) inside the PKCS#12 bags.
    return b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01" in data


def _load_import(site: model.Site, data: bytes, password: Optional[str]):
    """(key or None, [certs]) from a PFX, PEM or DER file, as X509Certificate2Collection.Import."""
    if data[:1] == b"\x30" and HAS_PKCS12:
        with contextlib.suppress(ValueError):
            return None, [certs.x509.load_der_x509_certificate(data)]
        if site.settings.get("reject_aes_pfx") and _is_aes_pfx(data):
            # Windows Server 2016 cannot read AES-256 PFX files and says this [H].
            raise model.LabError("Failed to load cert from file: The specified network password is not correct.")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, (password or "").encode("utf-8") or None)
        except ValueError:
            raise model.LabError("Failed to load cert from file: The specified network password is not correct.")
        return key, [c for c in [cert, *(extra or [])] if c is not None]
    try:
        return None, certs.load_any(data)
    except ValueError:
        raise model.LabError("Failed to load cert from file: Cannot find the requested object.")


def import_certificate(
    site: model.Site,
    host: str,
    path: str,
    store_name: str,
    *,
    password: Optional[str] = None,
    key_exportable: bool = False,
) -> List[str]:
    """win_certificate_store state=present: every certificate of the file into one store."""
    check_reachable(site, host)
    data = _read_bytes(site, host, path)
    key, found = _load_import(site, data, password)
    thumbprints = []
    with site.transaction(host) as tx:
        for cert in found:
            matches = key is not None and pki.cert_has_private_key_match(cert, key)
            model.add_certificate(tx, store_name, cert, key=key if matches else None, exportable=key_exportable)
            thumbprints.append(pki.thumbprint(cert))
    return thumbprints


def remove_certificate(site: model.Site, host: str, thumbprint: str, store_name: str) -> bool:
    check_reachable(site, host)
    with site.transaction(host) as tx:
        return model.remove_certificate(tx, store_name, thumbprint)


def account_exists(site: model.Site, account: str) -> bool:
    """Built-in accounts, the site's service accounts, its Milestone administrators and the
    ``accounts`` setting exist; nothing else does."""
    who = conn.canon_account(account)
    if who.startswith(("nt authority\\", "builtin\\")) or who in ("localsystem", "system"):
        return True
    settings = site.settings
    known = list(settings["service_accounts"].values()) + list(settings["milestone_administrators"])
    known += list(settings["default_key_readers"]) + list(settings.get("accounts") or [])
    return who in {conn.canon_account(a) for a in known}


def grant_key_read(
    site: model.Site, host: str, thumbprint: str, account: str, check: bool = False, *, store_name: str = "My"
) -> bool:
    """win_acl path=Cert:\\LocalMachine\\<store>\\<thumbprint> rights=Read type=allow.

    The right belongs to the key: granted on a pending request (``REQUEST``), it stays with the
    key when ``certreq -accept`` installs the certificate onto it.
    """
    check_reachable(site, host)
    if not account_exists(site, account):
        raise model.LabError(
            f'account_name {account} is not a valid account, cannot get SID: Exception calling "Translate" with '
            '"1" argument(s): "Some or all identity references could not be translated."'
        )
    tp = model.normalize_thumbprint(thumbprint)
    with site.transaction(host) as tx:
        entry = model.find(tx.state, store_name, tp)
        if entry is None:
            raise model.LabError(f"{tx.name}: path Cert:\\LocalMachine\\{store_name}\\{tp} does not exist")
        if not entry.get("key"):
            raise model.LabError(
                f"{tx.name}: the certificate Cert:\\LocalMachine\\{store_name}\\{tp} has no private key, so there "
                "is no key to grant read access to"
            )
        if conn.can_read(entry.get("acl") or [], account):
            return False  # already allowed (SYSTEM always is)
        if check:
            return True
        entry.setdefault("acl", []).append(account)
        tx.touch()
        tx.emit("key_access_granted", thumbprint=tp, account=account, store=store_name)
        return True


# ---- services and files ---------------------------------------------------------------------


def list_services(site: model.Site, host: str, pattern: str = "Milestone*") -> List[Dict[str, Any]]:
    state = check_reachable(site, host)
    pat = (pattern or "*").lower()
    return [
        dict(s)
        for s in state.get("services") or []
        if fnmatch.fnmatchcase(s["name"].lower(), pat) or fnmatch.fnmatchcase(s["display_name"].lower(), pat)
    ]


def file_version(site: model.Site, host: str, path: str) -> Optional[str]:
    """The file version of Server Configurator or an installed Milestone service executable."""
    state = check_reachable(site, host)
    cfg = state.get("configurator") or {}
    if cfg.get("installed") and model.same_windows_path(path, model.configurator_path(state)):
        return cfg.get("version")
    for svc in state.get("services") or []:
        if model.same_windows_path(path, svc["path"].strip('"')):
            return cfg.get("version")
    return None


# ---- registry -------------------------------------------------------------------------------

_HTTP_PARAMETERS = "hklm:\\system\\currentcontrolset\\services\\http\\parameters\\"
_REGISTRY_PATH_RE = re.compile(r"^HK(CC|CR|CU|LM|U):\\", re.IGNORECASE)


def read_registry(site: model.Site, host: str, key: str, name: str) -> Dict[str, Any]:
    """win_reg_stat ``path``/``name``, on the registry values the host's state implies.

    Modelled: HTTP.sys's ``SslBindingInfo\\<ip:port>`` and ``SslSniBindingInfo\\<host:port>``
    keys, one per binding netsh shows, with ``SslCertHash`` (REG_BINARY, the 20 bytes of the
    thumbprint), ``AppId`` (REG_BINARY, 16 bytes) and ``SslCertStoreName`` (REG_SZ). Anything
    else does not exist. The result has the module's keys: ``exists``, ``type``, ``value`` (a
    list of byte values for REG_BINARY) and ``raw_value``.
    """
    state = check_reachable(site, host)
    if not _REGISTRY_PATH_RE.match(key or ""):
        raise model.LabError(f"path: {key} is not a valid registry path, see module documentation for examples.")
    low = key.lower()
    values: Dict[str, Any] = {}
    for kind, binding, thumbprint in programs.all_bindings(state):
        folder = "sslbindinginfo" if kind == "ip" else "sslsnibindinginfo"
        if low == f"{_HTTP_PARAMETERS}{folder}\\{binding}":
            port = int(binding.rsplit(":", 1)[1])
            app_id = programs.app_id(port)
            values = {
                "sslcerthash": ("REG_BINARY", bytes.fromhex(thumbprint)),
                "appid": ("REG_BINARY", uuid.UUID(app_id).bytes_le),
                "sslcertstorename": ("REG_SZ", "MY" if kind == "ip" else "WebHosting"),
            }
    found = values.get((name or "").lower())
    if found is None:
        return {"changed": False, "exists": False}
    reg_type, value = found
    if reg_type == "REG_BINARY":
        return {
            "changed": False,
            "exists": True,
            "type": reg_type,
            "value": list(value),
            "raw_value": [f"0x{b:02x}" for b in value],
        }
    return {"changed": False, "exists": True, "type": reg_type, "value": value, "raw_value": value}


def _read_bytes(site: model.Site, host: str, path: str) -> bytes:
    local = site.host_path(host, path)
    if os.path.isdir(local):
        raise model.LabError(f"Path {path} is a directory")
    try:
        with open(local, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise model.LabFileNotFound(f"Path {path} is not found")


def decode_text(data: bytes) -> str:
    """Text as the Windows adapter decodes slurp output: BOMs honoured, UTF-8 otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def read_file(site: model.Site, host: str, path: str) -> str:
    check_reachable(site, host)
    return decode_text(_read_bytes(site, host, path))


def write_file(site: model.Site, host: str, path: str, content: Union[str, bytes]) -> bool:
    """win_copy content/src -> dest: the parent folder must exist, as win_copy insists."""
    check_reachable(site, host)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    local = site.host_path(host, path)
    parent = os.path.dirname(local)
    if not os.path.isdir(parent):
        win_parent = path.replace("/", "\\").rsplit("\\", 1)[0]
        raise model.LabError(f"Destination directory '{win_parent}' does not exist")
    with model.flock(os.path.join(site.host_dir(host), ".lock")):
        try:
            return model.write_if_different(local, data)
        except IsADirectoryError:
            raise model.LabError(f"cannot copy to '{path}': it is a directory")


def delete_file(site: model.Site, host: str, path: str) -> bool:
    """win_file state=absent: files or whole folders; absent is not an error."""
    check_reachable(site, host)
    local = site.host_path(host, path)
    if len(model.split_windows_path(path)) < 2:
        raise model.LabError(f"win_file refuses to remove the drive root {path}")
    with model.flock(os.path.join(site.host_dir(host), ".lock")):
        if os.path.isdir(local) and not os.path.islink(local):
            shutil.rmtree(local)
            return True
        try:
            os.unlink(local)
        except FileNotFoundError:
            return False
    return True
