# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an action plugin in-process, as the task executor does, against a scripted host.

``Host`` answers each adapter method from what a test gives it (stores, files, registry values,
services, and a queue of ``run`` answers that may change the host, as Server Configurator does);
it records every call. ``run_action`` builds the ActionModule with a task stub and hands it
``Host`` instead of the adapter ``get_adapter`` would pick, so the result and the calls the
plugin made are what a test asserts.
"""

from __future__ import annotations

import datetime
import importlib
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import become_loader

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action as action_base
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    CertificateEntry,
    HostAdapter,
    RegistryValue,
    RunResult,
    ServiceInfo,
)

FQDN = "ms01.example.com"
EXE = "C:\\Program Files\\Milestone\\Server Configurator\\ServerConfigurator.exe"
MS_CONFIG = r"C:\ProgramData\Milestone\XProtect Management Server\ServerConfig.xml"
# The management server's web API on 9000 is where its Server certificate group is bound.
SERVER_CONFIG = "<server><WebApiConfig><Port>9000</Port></WebApiConfig></server>"
BINDING_9000 = r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9000\SslCertHash"
SERVICES = [
    ServiceInfo(
        "Milestone XProtect Management Server",
        "Milestone XProtect Management Server",
        "NT AUTHORITY\\NetworkService",
        '"C:\\Program Files\\Milestone\\Management Server\\VideoOS.Server.Service.exe"',
        "started",
    )
]


def entry(cert, has_key=True) -> CertificateEntry:
    """A certificate as win_certificate_info lists it."""
    return CertificateEntry(
        thumbprint=pki.thumbprint(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=tuple(pki.host_names(FQDN, ())) if not pki.is_ca_certificate(cert) else (),
        not_after=pki.not_after(cert),
        has_private_key=has_key,
        der=pki.cert_der(cert),
    )


def bound(thumbprint):
    """The registry value of a binding to ``thumbprint`` (win_reg_stat's REG_BINARY list)."""
    return RegistryValue(
        BINDING_9000.rsplit("\\", 1)[0], "SslCertHash", True, "REG_BINARY", list(bytes.fromhex(thumbprint))
    )


class Host(HostAdapter):
    """A scripted Windows host. ``runs``: answers to ``run`` in order (a RunResult, or a callable
    of argv that may change the host and returns one). ``unreadable_keys``: accounts that cannot
    read a certificate's key yet."""

    kind = "test"

    def __init__(self, *, stores=None, files=None, registry=None, services=None, runs=(), unreadable_keys=()):
        super().__init__(FQDN)
        self.stores = {k: list(v) for k, v in (stores or {}).items()}
        self.files = dict(files or {})
        self.registry = dict(registry or {})
        self.services = list(SERVICES if services is None else services)
        self.runs = list(runs)
        self.unreadable_keys = set(unreadable_keys)
        self.argvs, self.written, self.deleted, self.imported, self.removed, self.grants = [], {}, [], [], [], []

    def _run(self, argv):
        self.argvs.append(argv)
        if not self.runs:
            raise AssertionError(f"unexpected run: {argv}")
        answer = self.runs.pop(0)
        return answer(argv) if callable(answer) else answer

    def _read_file(self, path):
        if path not in self.files:
            raise AdapterError(f"{path} not found")
        return self.files[path]

    def _write_file(self, path, content):
        self.written[path] = content
        self.files[path] = content
        return True

    def _delete_file(self, path):
        self.deleted.append(path)
        self.files.pop(path, None)
        return True

    def _list_certificates(self, store):
        return list(self.stores.get(store, []))

    def _import_certificate(self, path, store, password, key_exportable):
        content = self.files[path]
        self.imported.append((path, store))
        if password is not None:  # a PFX: the certificate lands with its key
            _key, cert, _others = pki.read_pfx(content, password.encode() or None)
        else:
            cert = pki.load_certificate(content.encode() if isinstance(content, str) else content)
        self.stores.setdefault(store, []).append(entry(cert, has_key=password is not None))
        return [pki.thumbprint(cert)]

    def _remove_certificate(self, thumbprint, store):
        self.removed.append((store, thumbprint))
        self.stores[store] = [e for e in self.stores.get(store, []) if e.thumbprint != thumbprint]
        return True

    def _grant_key_read(self, thumbprint, account, check, store):
        self.grants.append((thumbprint, account, check, store))
        needed = account in self.unreadable_keys
        if needed and not check:
            self.unreadable_keys.discard(account)
        return needed

    def _list_services(self, name):
        return self.services

    def _file_version(self, path):
        return "24.2.0.1"

    def _read_registry(self, key, value):
        return self.registry.get(f"{key}\\{value}") or RegistryValue(key, value, False)


def ok(stdout=""):
    return RunResult(0, stdout, "")


@pytest.fixture(scope="session")
def site_ca():
    return pki.create_ca("Action Test CA", key_size=3072, now=datetime.datetime.now(datetime.timezone.utc))


@pytest.fixture(scope="session")
def ca_dir(site_ca, tmp_path_factory):
    """The CA as the ca role leaves it on the controller: ca.crt and an encrypted ca.key."""
    folder = tmp_path_factory.mktemp("pki")
    (folder / "ca.crt").write_text(site_ca.cert_pem)
    (folder / "ca.key").write_bytes(pki.private_key_pem(site_ca.key, b"a passphrase"))
    return folder


@pytest.fixture
def run_action(monkeypatch):
    """``run_action(name, args, host, check=False, diff=False, runas=True, templar=None, **task_vars)`` -> result.

    ``templar``: a function of the task's variables that returns the templar to give the plugin
    (by default one that returns every value as it is)."""

    def run(name, args, host, *, check=False, diff=False, runas=True, templar=None, **task_vars):
        module = importlib.import_module(f"ansible_collections.xprotect.encryption.plugins.action.{name}")
        task = SimpleNamespace(
            args=dict(args),
            async_val=0,
            check_mode=check,
            diff=diff,
            action=name,
            delegate_to=None,
            get_name=lambda: name,
        )
        become = become_loader.get("runas") if runas else None
        connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent"), become=become)
        play_context = SimpleNamespace(become=runas, become_method="runas" if runas else None, become_user=None)
        hostvars = {"inventory_hostname": FQDN, "group_names": ["xprotect_management_servers"], **task_vars}
        engine = templar(hostvars) if templar else SimpleNamespace(template=lambda value: value)
        plugin = module.ActionModule(task, connection, play_context, DataLoader(), engine, None)
        monkeypatch.setattr(action_base, "get_adapter", lambda _action, _vars: host)
        try:
            return plugin.run(task_vars=hostvars)
        except AnsibleActionFail as e:
            return dict(e.result, failed=True, msg=e.message)

    return run
