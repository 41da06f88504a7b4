# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PKI modules through real `ansible` and `ansible-playbook` runs, from outside the checkout."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

REPO = pathlib.Path(__file__).resolve().parents[2]
CA_PASS = "integration ca phrase"  # noqa: S105 - a test value
PFX_PASS = "integration pfx phrase"  # noqa: S105 - a test value


def _env() -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        PATH=f"{pathlib.Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


def ansible(tmp_path, module: str, args: dict, *extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["ansible", "localhost", "-m", module, "-a", json.dumps(args), "-e",
         f"ansible_python_interpreter={sys.executable}", *extra],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def playbook(tmp_path, path: pathlib.Path, *extra: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
         f"ansible_python_interpreter={sys.executable}", str(path), *extra],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def test_ca_module_ad_hoc(tmp_path):
    folder = tmp_path / "pki"
    args = {"path": str(folder), "passphrase": CA_PASS, "key_size": 3072}
    rc, out = ansible(tmp_path, "xprotect.encryption.ca", args)
    assert rc == 0, out
    assert "localhost | CHANGED" in out and '"created": true' in out
    assert sorted(os.listdir(folder)) == [".lock", "ca.crt", "ca.key"]
    rc, out = ansible(tmp_path, "xprotect.encryption.ca", args)
    assert rc == 0 and "localhost | SUCCESS" in out and '"changed": false' in out, out
    assert CA_PASS not in out
    rc, out = ansible(tmp_path, "xprotect.encryption.ca", {**args, "passphrase": "wrong phrase"})
    assert rc != 0 and "wrong passphrase" in out and '"option": "passphrase"' in out, out


def test_server_certificates_playbook_twice(tmp_path):
    folder = tmp_path / "pki"
    book = tmp_path / "site.yml"
    book.write_text(
        f"""
- name: PKI on the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The site CA
      xprotect.encryption.ca:
        path: {folder}
        passphrase: "{CA_PASS}"
        key_size: 3072
    - name: A PFX per server
      xprotect.encryption.server_certificates:
        path: {folder}/servers
        ca_cert_path: {folder}/ca.crt
        ca_key_path: {folder}/ca.key
        ca_passphrase: "{CA_PASS}"
        pfx_passphrase: "{PFX_PASS}"
        hosts:
          - name: ms01.vms.example.com
          - name: rs01.vms.example.com
            dns_names: [video.vms.example.com]
      register: pfx
    - name: Show what was issued
      ansible.builtin.debug:
        msg: "issued={{{{ pfx.issued | join(',') }}}}"
"""
    )
    rc, out = playbook(tmp_path, book)
    assert rc == 0, out
    assert "changed=2" in out and "issued=ms01.vms.example.com,rs01.vms.example.com" in out
    crt = folder / "servers" / "rs01.vms.example.com.crt"
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(folder / "ca.crt"), str(crt)], capture_output=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    rc, out = playbook(tmp_path, book)
    assert rc == 0, out
    assert "changed=0" in out and '"msg": "issued="' in out
    rc, out = playbook(tmp_path, book, "--check", "--diff")
    assert rc == 0 and "changed=0" in out, out
