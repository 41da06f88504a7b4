# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the lab tests: drive a host the way the rollout does."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter

ADMIN = "LAB\\milestone-admin"
MS = "mgmt01.lab.xprotect.test"
RS = "rs001.lab.xprotect.test"
FO = "fo01.lab.xprotect.test"
MOB = "mob01.lab.xprotect.test"
EV = "ev01.lab.xprotect.test"
CL = "cl01.lab.xprotect.test"
HOSTS = [
    {"name": MS, "roles": ["management"]},
    {"name": RS, "roles": ["recording"]},
    {"name": FO, "roles": ["failover"]},
    {"name": MOB, "roles": ["mobile"]},
    {"name": EV, "roles": ["event"]},
    {"name": CL, "roles": ["client"]},
]
CFG = model.CONFIGURATOR_PATH
GUID = dict(model.DEFAULT_GROUP_IDS)
TEMP = "C:\\Windows\\Temp"
PASSPHRASE = b"lab-test-passphrase"


def openssl(*args: str, input_: bytes | None = None) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is on every CI image here
        pytest.skip("openssl CLI not installed")
    return subprocess.run(["openssl", *args], input=input_, capture_output=True, check=False)


def write_pki(folder, ca) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ca.crt"), "w", encoding="ascii") as fh:
        fh.write(ca.cert_pem)
    with open(os.path.join(folder, "ca.key"), "wb") as fh:
        fh.write(pki.serialize_ca_key(ca, PASSPHRASE))
    with open(os.path.join(folder, "passphrase"), "wb") as fh:
        fh.write(PASSPHRASE)


def adapter(lab_site, host, run_as=ADMIN) -> LabAdapter:
    return LabAdapter(lab_site.path, host, run_as=run_as)


def trust(lab_site, host, ca) -> None:
    a = adapter(lab_site, host)
    a.write_file(TEMP + "\\ca.crt", ca.cert_pem)
    a.import_certificate(TEMP + "\\ca.crt", "Root")


def certreq(lab_site, host, ca, *, names=None, grant=True, days=730) -> str:
    """The key-born-on-the-host flow: certreq -new, sign, certreq -accept, grant. Returns the thumbprint."""
    a = adapter(lab_site, host)
    names = names or pki.host_names(host)
    a.write_file(TEMP + "\\req.inf", _certreq.certreq_inf(host, names))
    res = a.run(["certreq.exe", "-new", "-q", "-f", TEMP + "\\req.inf", TEMP + "\\req.csr"])
    assert res.rc == 0, res
    csr = pki.check_csr(a.read_file(TEMP + "\\req.csr").encode(), names, host=host)
    cert = pki.sign_csr(ca, csr, host, names, days=days, clamp_to_ca=True)
    a.write_file(TEMP + "\\req.cer", pki.cert_pem(cert))
    res = a.run(["certreq.exe", "-accept", "-q", TEMP + "\\req.cer"])
    assert res.rc == 0, res
    tp = pki.thumbprint(cert)
    if grant:
        for svc in a.list_services():
            a.grant_key_read(tp, svc.username)
    return tp


def enable(lab_site, host, group, thumbprint, run_as=ADMIN):
    return adapter(lab_site, host, run_as).run(
        [CFG, "/quiet", "/enableencryption", f"/certificategroup={GUID[group]}", f"/thumbprint={thumbprint}"]
    )


def disable(lab_site, host, group, run_as=ADMIN):
    return adapter(lab_site, host, run_as).run(
        [CFG, "/quiet", "/disableencryption", f"/certificategroup={GUID[group]}"]
    )


def group_state(lab_site, host, group):
    return lab_site.read_state(host)["encryption"][group]


def events(lab_site, kind=None, host=None):
    return [
        e for e in lab_site.events() if (kind is None or e["event"] == kind) and (host is None or e["host"] == host)
    ]
