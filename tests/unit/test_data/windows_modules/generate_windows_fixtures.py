# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regenerate the Windows module-result fixtures of this folder (run by hand, not by pytest).

    python tests/unit/test_data/windows_modules/generate_windows_fixtures.py

Each JSON file is one result as ``ActionBase._execute_module`` (or the win_copy action) hands
it to the adapter. No Windows host is reachable from here, so the results are reconstructed
from the source of ansible.windows 3.3.0 (the keys each .ps1 sets, Ansible.Basic's
``invocation`` and ``VALUE_SPECIFIED_IN_NO_LOG_PARAMETER``, Legacy Exit-Json/Fail-Json, the
``stdout_lines`` ActionBase adds) and filled with real certificates made here. See README.md.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = pathlib.Path(__file__).resolve().parent
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
CA_NOT_AFTER = datetime.datetime(2036, 1, 1, tzinfo=UTC)
RS_NOT_AFTER = datetime.datetime(2027, 6, 30, 12, 0, 0, tzinfo=UTC)
NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=UTC)


def _key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _ca():
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "XProtect Encryption CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1A2B3C4D5E6F)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server(ca_key, ca_cert, fqdn, short):
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(0x0F1E2D3C4B5A6978)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(RS_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn), x509.DNSName(short)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert


def _seconds(when):
    # New-TimeSpan(...).TotalSeconds, serialised by Ansible.Basic as a whole number here.
    return int((when - EPOCH).total_seconds())


def _cert_info(cert, has_private_key, san_label="DNS Name"):
    """The hashtable Get-CertificateInfo of win_certificate_info.ps1 builds for one certificate."""
    der = cert.public_bytes(serialization.Encoding.DER)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    issuer_cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    info = {
        "extensions": [],
        "friendly_name": "",
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - Windows thumbprint
        "subject": f"CN={cn}",
        "issuer": f"CN={issuer_cn}",
        "valid_from": _seconds(cert.not_valid_before_utc),
        "valid_from_iso8601": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_to": _seconds(cert.not_valid_after_utc),
        "valid_to_iso8601": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "serial_number": f"{cert.serial_number:X}".rjust(12, "0"),
        "archived": False,
        "version": 3,
        "has_private_key": has_private_key,
        "issued_by": issuer_cn,
        "issued_to": cn,
        "signature_algorithm": "sha256RSA",
        # [issued_to] + SAN entries whose Format($true) label is exactly 'DNS Name'
        "dns_names": [cn],
        "raw": base64.b64encode(der).decode(),
        "public_key": base64.b64encode(
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        ).decode(),
    }
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.BasicConstraints):
            info["is_ca"] = value.ca
            info["path_length_constraint"] = 0
            text = (
                "Subject Type=CA, Path Length Constraint=None"
                if value.ca
                else ("Subject Type=End Entity, Path Length Constraint=None")
            )
            info["extensions"].append({"critical": ext.critical, "field": "Basic Constraints", "value": text})
        elif isinstance(value, x509.KeyUsage):
            if value.key_cert_sign:
                info["key_usages"] = ["CrlSign", "KeyCertSign"]
                text = "Certificate Signing, Off-line CRL Signing, CRL Signing (06)"
            else:
                info["key_usages"] = ["KeyEncipherment", "DigitalSignature"]
                text = "Digital Signature, Key Encipherment (a0)"
            info["extensions"].append({"critical": ext.critical, "field": "Key Usage", "value": text})
        elif isinstance(value, x509.ExtendedKeyUsage):
            info["intended_purposes"] = ["Server Authentication"]
            info["extensions"].append(
                {
                    "critical": ext.critical,
                    "field": "Enhanced Key Usage",
                    "value": "Server Authentication (1.3.6.1.5.5.7.3.1)",
                }
            )
        elif isinstance(value, x509.SubjectAlternativeName):
            names = value.get_values_for_type(x509.DNSName)
            if san_label == "DNS Name":
                info["dns_names"].extend(names)
            info["extensions"].append(
                {
                    "critical": ext.critical,
                    "field": "Subject Alternative Name"
                    if san_label == "DNS Name"
                    else "Alternativer Antragstellername",
                    "value": ", ".join(f"{san_label}={n}" for n in names),
                }
            )
        elif isinstance(value, x509.SubjectKeyIdentifier):
            info["ski"] = value.digest.hex().upper()
            info["extensions"].append(
                {"critical": ext.critical, "field": "Subject Key Identifier", "value": value.digest.hex()}
            )
    return info


def _cert_info_result(certs, store):
    return {
        "changed": False,
        "exists": bool(certs),
        "certificates": sorted(certs, key=lambda c: c["thumbprint"]),
        "invocation": {"module_args": {"thumbprint": None, "store_name": store, "store_location": "LocalMachine"}},
        "_ansible_parsed": True,
    }


def _win_command(argv, cmd, rc, stdout, *, stderr="", failed=None):
    result = {
        "cmd": cmd,
        "rc": rc,
        "changed": True,
        "stdout": stdout,
        "stderr": stderr,
        "start": "2026-03-02 09:14:07.120993",
        "end": "2026-03-02 09:14:08.402117",
        "delta": "0:00:01.281124",
        "invocation": {
            "module_args": {
                "_raw_params": None,
                "cmd": None,
                "argv": argv,
                "chdir": None,
                "creates": None,
                "removes": None,
                "stdin": None,
                "output_encoding_override": None,
            }
        },
        "_ansible_parsed": True,
        "stdout_lines": stdout.splitlines(),
        "stderr_lines": stderr.splitlines(),
    }
    if failed:
        result["failed"] = True
        result["msg"] = failed
    return result


def _service(name, display, path, username, pid, *, state="started"):
    return {
        "checkpoint": 0,
        "controls_accepted": ["stop", "shutdown"] if state == "started" else [],
        "dependencies": ["HTTP"],
        "dependency_of": [],
        "description": display,
        "desktop_interact": False,
        "display_name": display,
        "error_control": "normal",
        "failure_actions": [
            {"type": "restart", "delay_ms": 60000},
            {"type": "restart", "delay_ms": 60000},
            {"type": "restart", "delay_ms": 60000},
        ],
        "failure_actions_on_non_crash_failure": False,
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 86400,
        "launch_protection": "none",
        "load_order_group": "",
        "name": name,
        "path": path,
        "pre_shutdown_timeout_ms": 10000,
        "preferred_node": None,
        "process_id": pid if state == "started" else 0,
        "required_privileges": [],
        "service_exit_code": 0,
        "service_flags": [],
        "service_type": "win32_own_process",
        "sid_info": "none",
        "start_mode": "auto",
        "state": state,
        "triggers": [],
        "username": username,
        "wait_hint_ms": 0,
        "win32_exit_code": 0 if state == "started" else 1077,
    }


def _powershell(result, failed=False, error=None, args=None):
    out = {
        "changed": False,
        "result": result,
        "host_out": "",
        "host_err": "",
        "output": [],
        "error": error or [],
        "warning": [],
        "verbose": [],
        "debug": [],
        "information": [],
        "invocation": {
            "module_args": {
                "arguments": None,
                "chdir": None,
                "creates": None,
                "depth": 2,
                "error_action": "stop",
                "executable": None,
                "parameters": args or {},
                "path": None,
                "remote_src": False,
                "removes": None,
                "script": "<the snippet>",
                "sensitive_parameters": None,
            }
        },
        "_ansible_parsed": True,
    }
    if failed:
        out["failed"] = True
    return out


def _reg_stat_binary(data):
    return {
        "changed": False,
        "exists": True,
        "type": "REG_BINARY",
        "value": list(data),
        "raw_value": [f"0x{b:02x}" for b in data],
        "_ansible_parsed": True,
    }


def _utf8_bom(text):
    return base64.b64encode(b"\xef\xbb\xbf" + text.encode("utf-8")).decode()


def localised_service_fixtures():
    """German and French hosts: SCManager.cs (ansible.windows) reports the StartName "LocalSystem" as
    the NTAccount of S-1-5-18, translated into the host's language; other StartNames come as the
    installer stored them, here in the host's language too."""
    rs_path = '"C:\\Program Files\\Milestone\\XProtect Recording Server\\VideoOS.Recorder.Service.exe"'
    ev_path = '"C:\\Program Files\\Milestone\\XProtect Event Server\\VideoOS.Event.Server.exe"'
    out = {}
    for lang, system, network in (
        ("de", "NT-AUTORITÄT\\SYSTEM", "NT-AUTORITÄT\\NETZWERKDIENST"),
        ("fr", "AUTORITE NT\\Système", "AUTORITE NT\\Service réseau"),
    ):
        out[f"win_service_info_milestone_{lang}.json"] = {
            "changed": False,
            "exists": True,
            "services": [
                _service(
                    "Milestone XProtect Recording Server", "Milestone XProtect Recording Server", rs_path, network, 4120
                ),
                _service("Milestone XProtect Event Server", "Milestone XProtect Event Server", ev_path, system, 4512),
            ],
            "invocation": {"module_args": {"name": "Milestone*"}},
            "_ansible_parsed": True,
        }
    return out


def remove_request_fixtures():
    """win_command running powershell.exe Remove-Item -DeleteKey on a pending request: done, and gone already."""
    tp = "5E0C6D2A1B3F4E5D6C7B8A9F0E1D2C3B4A596877"
    command = f"Remove-Item -LiteralPath 'Cert:\\LocalMachine\\REQUEST\\{tp}' -DeleteKey -ErrorAction Stop"
    argv = ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", command]
    cmd = f'powershell.exe -NoLogo -NoProfile -NonInteractive -Command "{command}"'
    missing = (
        f"Remove-Item : Cannot find path 'Cert:\\LocalMachine\\REQUEST\\{tp}' because it does not exist.\r\n"
        "At line:1 char:1\r\n"
        f"+ Remove-Item -LiteralPath 'Cert:\\LocalMachine\\REQUEST\\{tp}' -DeleteKey ...\r\n"
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n"
        f"    + CategoryInfo          : ObjectNotFound: (Cert:\\LocalMachine\\REQUEST\\{tp}:String) [Remove-Item], "
        "ItemNotFoundException\r\n"
        "    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand\r\n"
        " \r\n"
    )
    return {
        "win_command_remove_request_with_key.json": _win_command(argv, cmd, 0, ""),
        "win_command_remove_request_with_key_missing.json": _win_command(
            argv, cmd, 1, "", stderr=missing, failed="non-zero return code"
        ),
    }


def async_fixtures():
    """Server Configurator started as an async job (win_command with ansible-core's ``async``) and the
    ``ansible.builtin.async_status`` action's answers for it.

    The start: what ansible-core's executor/powershell/async_wrapper.ps1 writes and returns
    (``started``, ``finished``, ``results_file``, ``ansible_job_id``, ``ansible_async_watchdog_pid``;
    ``_ansible_suppress_tmpdir_delete`` is taken out by ActionBase) plus the ``changed: true`` that
    ActionBase sets for ``wrap_async``. The status: ansible.windows' async_status.ps1 returns the job
    file (the watchdog's result merged with win_command's), and the async_status action merges it over
    its own keys and turns ``started``/``finished`` into booleans. A job past its limit: the
    watchdog's ``failure during async watchdog: timed out waiting for module completion``, no ``rc``.
    """
    sc = "C:\\Program Files\\Milestone\\Server Configurator\\ServerConfigurator.exe"
    enable = [
        sc,
        "/quiet",
        "/enableencryption",
        "/certificategroup=2ee3d3f4-5c41-4f8e-9d6b-7a0c8e2b1f3a",
        "/thumbprint=6A3F0C1D2E4B5A69788796A5B4C3D2E1F0A1B2C3",
    ]
    jid = "j480159737652"
    results_file = f"C:\\Users\\ansible\\.ansible_async\\{jid}"
    status = {"ansible_job_id": jid, "results_file": results_file, "started": True, "stdout": "", "stderr": ""}
    cmd = f'"{sc}" ' + " ".join(enable[1:])
    done = _win_command(enable, cmd, 0, "")
    done.pop("_ansible_parsed")
    minus4 = _win_command(enable, cmd, 4294967292, "", failed="non-zero return code")
    minus4.pop("_ansible_parsed")
    retry = _win_command(enable, cmd, 20000, "", failed="non-zero return code")
    retry.pop("_ansible_parsed")
    return {
        "win_command_async_started.json": {
            "_ansible_parsed": True,
            "ansible_async_watchdog_pid": 5412,
            "ansible_job_id": jid,
            "changed": True,
            "finished": False,
            "results_file": results_file,
            "started": True,
        },
        "async_status_running.json": dict(status, finished=False, changed=False),
        "async_status_finished_0.json": dict(status, **done, finished=True),
        "async_status_finished_minus4.json": dict(status, **minus4, finished=True),
        "async_status_finished_20000.json": dict(status, **retry, finished=True),
        "async_status_timed_out.json": dict(
            status,
            finished=True,
            changed=False,
            failed=True,
            stdout=None,
            msg="failure during async watchdog: timed out waiting for module completion",
            exception="timed out waiting for module completion\r\nAt line:1 char:1",
        ),
    }


def main():  # noqa: PLR0915 - one flat list of fixtures
    ca_key, ca = _ca()
    rs = _server(ca_key, ca, "rs01.site.local", "rs01")
    # a certificate someone else put in My, issued by "another" CA (self-signed here)
    other_key = _key()
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WMSVC-SHA2")])
    other = (
        x509.CertificateBuilder()
        .subject_name(other_name)
        .issuer_name(other_name)
        .public_key(other_key.public_key())
        .serial_number(0x5A)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(datetime.datetime(2036, 3, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(other_key, hashes.SHA256())
    )
    rs_info = _cert_info(rs, True)
    ca_info = _cert_info(ca, False)
    rs_tp = rs_info["thumbprint"]
    ca_tp = ca_info["thumbprint"]

    fixtures = {}
    fixtures["win_certificate_info_my.json"] = _cert_info_result([rs_info, _cert_info(other, True)], "My")
    fixtures["win_certificate_info_root.json"] = _cert_info_result([ca_info], "Root")
    fixtures["win_certificate_info_empty.json"] = _cert_info_result([], "My")
    # The DOCUMENTATION of win_certificate_info names the DER 'cert_data'; the .ps1 sets 'raw'.
    documented = dict(ca_info)
    documented["cert_data"] = documented.pop("raw")
    fixtures["win_certificate_info_cert_data_variant.json"] = _cert_info_result([documented], "Root")
    # German Windows: Format($true) says "DNS-Name=", so the module's dns_names miss the SANs.
    fixtures["win_certificate_info_my_de.json"] = _cert_info_result([_cert_info(rs, True, san_label="DNS-Name")], "My")

    # win_reg_stat (Legacy module: no invocation) of an HTTP.sys binding's SslCertHash: REG_BINARY
    # comes back as a list of byte values (value) and of "0x.." strings (raw_value); a missing key
    # or value is only exists: false.
    fixtures["win_reg_stat_sslcerthash.json"] = _reg_stat_binary(bytes.fromhex(rs_tp))
    fixtures["win_reg_stat_absent.json"] = {"changed": False, "exists": False, "_ansible_parsed": True}

    sc = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
    fixtures["win_command_netsh_sslcert.json"] = _win_command(
        ["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"],
        r"C:\Windows\system32\netsh.exe http show sslcert ipport=0.0.0.0:9001",
        0,
        "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"
        "    IP:port                      : 0.0.0.0:9001\r\n"
        f"    Certificate Hash             : {rs_tp.lower()}\r\n"
        "    Application ID               : {2c9aba71-d2b5-4f9d-a3c7-5a6f8b1c6e35}\r\n"
        "    Certificate Store Name       : My\r\n"
        "    Verify Client Certificate Revocation : Enabled\r\n"
        "    Verify Revocation Using Cached Client Certificate Only : Disabled\r\n"
        "    Usage Check                  : Enabled\r\n"
        "    Revocation Freshness Time    : 0\r\n"
        "    URL Retrieval Timeout        : 0\r\n"
        "    Ctl Identifier               : (null)\r\n"
        "    Ctl Store Name               : (null)\r\n"
        "    DS Mapper Usage              : Disabled\r\n"
        "    Negotiate Client Certificate : Disabled\r\n"
        "    Reject Connections           : Disabled\r\n"
        "    Disable HTTP2                : Not Set\r\n\r\n",
    )
    fixtures["win_command_listcertificategroups.json"] = _win_command(
        [sc, "/quiet", "/listcertificategroups"],
        f'"{sc}" /quiet /listcertificategroups',
        0,
        "Found 'Server certificate' group with ID = 84430eb7-847c-422d-aa00-7915cd0d7a65\r\n"
        "Found 'Streaming media certificate' group with ID = 549df21d-047c-456b-958e-99e65dd8b3ec\r\n"
        "Found 'Mobile streaming media certificate' group with ID = 76cfc719-a852-4210-913e-703eadab139a\r\n",
    )
    enable = [
        sc,
        "/quiet",
        "/enableencryption",
        "/certificategroup=84430eb7-847c-422d-aa00-7915cd0d7a65",
        f"/thumbprint={rs_tp}",
    ]
    fixtures["win_command_serverconfigurator_exit_minus4.json"] = _win_command(
        enable, f'"{sc}" ' + " ".join(enable[1:]), 4294967292, "", failed="non-zero return code"
    )
    fixtures["win_command_serverconfigurator_exit_0.json"] = _win_command(
        enable, f'"{sc}" ' + " ".join(enable[1:]), 0, ""
    )
    fixtures["win_command_certreq_error.json"] = _win_command(
        ["certreq", "-accept", "-machine", r"C:\Windows\Temp\xprotect-rs01.cer"],
        r"C:\Windows\system32\certreq.exe -accept -machine C:\Windows\Temp\xprotect-rs01.cer",
        2147942402,
        "Certificate Request Processor: The system cannot find the file specified. "
        "0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\n",
        failed="non-zero return code",
    )
    missing = {
        "cmd": f'"{sc}" /quiet /listcertificategroups',
        "rc": 2,
        "changed": False,
        "failed": True,
        "msg": f'Failed to run: \'"{sc}" /quiet /listcertificategroups\': Exception calling "CreateProcess" with '
        '"7" argument(s): "CreateProcessW() failed (The system cannot find the file specified, '
        'Win32ErrorCode 2 - 0x00000002)"',
        "invocation": fixtures["win_command_listcertificategroups.json"]["invocation"],
        "_ansible_parsed": True,
    }
    fixtures["win_command_missing_executable.json"] = missing
    fixtures["win_command_check_mode_skipped.json"] = {
        "changed": False,
        "skipped": True,
        "msg": "remote module (ansible.windows.win_command) does not support check mode",
        "invocation": fixtures["win_command_netsh_sslcert.json"]["invocation"],
        "_ansible_parsed": True,
    }

    recorder = (
        '<?xml version="1.0" encoding="utf-8"?>\r\n'
        "<recorderconfig>\r\n"
        "  <!-- Aufnahmeserver München – Halle 2 -->\r\n"
        "  <server>\r\n"
        "    <address>http://ms01.site.local:80/</address>\r\n"
        "    <webapiport>9000</webapiport>\r\n"
        "    <authorizationserveraddress>http://ms01.site.local/IDP</authorizationserveraddress>\r\n"
        "  </server>\r\n"
        "  <webserver>\r\n    <port>7563</port>\r\n  </webserver>\r\n"
        "  <webapi>\r\n    <port>9001</port>\r\n  </webapi>\r\n"
        "</recorderconfig>\r\n"
    )
    fixtures["slurp_recorderconfig_utf8_bom.json"] = {
        "changed": False,
        "content": _utf8_bom(recorder),
        "encoding": "base64",
        "_ansible_parsed": True,
    }
    server_config = (
        '<?xml version="1.0" encoding="utf-8"?>\n<server>\n  <WebApiConfig>\n    <Port>9000</Port>\n'
        "    <AuthorizationServerUri>http://ms01.site.local/IDP</AuthorizationServerUri>\n"
        "  </WebApiConfig>\n</server>\n"
    )
    fixtures["slurp_serverconfig_utf8.json"] = {
        "changed": False,
        "content": base64.b64encode(server_config.encode()).decode(),
        "encoding": "base64",
        "_ansible_parsed": True,
    }
    inf = (
        '[Version]\r\nSignature="$Windows NT$"\r\n\r\n[NewRequest]\r\nSubject = "CN=rs01.site.local"\r\n'
        "KeyLength = 2048\r\nMachineKeySet = TRUE\r\nExportable = FALSE\r\n"
        'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"\r\n'
    )
    fixtures["slurp_utf16le_bom.json"] = {
        "changed": False,
        "content": base64.b64encode(b"\xff\xfe" + inf.encode("utf-16-le")).decode(),
        "encoding": "base64",
        "_ansible_parsed": True,
    }
    fixtures["slurp_utf16be_bom.json"] = {
        "changed": False,
        "content": base64.b64encode(b"\xfe\xff" + inf.encode("utf-16-be")).decode(),
        "encoding": "base64",
        "_ansible_parsed": True,
    }
    fixtures["slurp_not_found.json"] = {
        "changed": False,
        "failed": True,
        "msg": r"Path C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml is not found",
        "_ansible_parsed": True,
    }

    fixtures["win_service_info_milestone.json"] = {
        "changed": False,
        "exists": True,
        "services": [
            _service(
                "Milestone XProtect Recording Server",
                "Milestone XProtect Recording Server",
                '"C:\\Program Files\\Milestone\\XProtect Recording Server\\VideoOS.Recorder.Service.exe"',
                "NT AUTHORITY\\NetworkService",
                4120,
            ),
            _service(
                "Milestone XProtect Mobile Server",
                "Milestone XProtect Mobile Server",
                '"C:\\Program Files\\Milestone\\XProtect Mobile Server\\VideoOS.MobileServer.Service.exe"',
                "NT AUTHORITY\\SYSTEM",
                4388,
            ),
            _service(
                "Milestone XProtect Failover Server",
                "Milestone XProtect Failover Server",
                '"C:\\Program Files\\Milestone\\XProtect Failover Server\\VideoOS.Failover.Service.exe"',
                "SITE\\svc-xprotect-fo",
                0,
                state="stopped",
            ),
        ],
        "invocation": {"module_args": {"name": "Milestone*"}},
        "_ansible_parsed": True,
    }
    fixtures.update(localised_service_fixtures())
    fixtures.update(remove_request_fixtures())
    fixtures.update(async_fixtures())
    # A mobile server installed outside C:\\Program Files (its .exe.config sits beside the exe).
    fixtures["win_service_info_mobile_d_drive.json"] = {
        "changed": False,
        "exists": True,
        "services": [
            _service(
                "Milestone XProtect Mobile Server",
                "Milestone XProtect Mobile Server",
                '"D:\\Milestone\\XProtect Mobile Server\\VideoOS.MobileServer.Service.exe"',
                "SITE\\svc-xprotect-mobile",
                5120,
            ),
        ],
        "invocation": {"module_args": {"name": "Milestone*"}},
        "_ansible_parsed": True,
    }
    fixtures["win_service_info_none.json"] = {
        "changed": False,
        "exists": False,
        "services": [],
        "invocation": {"module_args": {"name": "Milestone*"}},
        "_ansible_parsed": True,
    }

    store_args = {
        "state": "present",
        "path": r"C:\Windows\Temp\xprotect-rs01.pfx",
        "thumbprint": None,
        "store_name": "My",
        "store_location": "LocalMachine",
        "store_type": "system",
        "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        "key_exportable": False,
        "key_storage": "machine",
        "file_type": "der",
    }
    fixtures["win_certificate_store_import.json"] = {
        "changed": True,
        "thumbprints": [rs_tp],
        "invocation": {"module_args": store_args},
        "_ansible_parsed": True,
    }
    fixtures["win_certificate_store_bad_password.json"] = {
        "changed": False,
        "failed": True,
        "thumbprints": [],
        "msg": "Failed to load cert from file: The specified network password is not correct.\r\n",
        "invocation": {"module_args": store_args},
        "_ansible_parsed": True,
    }
    fixtures["win_certificate_store_absent.json"] = {
        "changed": True,
        "thumbprints": [ca_tp],
        "invocation": {
            "module_args": dict(
                store_args, state="absent", path=None, thumbprint=ca_tp, store_name="Root", password=None
            )
        },
        "_ansible_parsed": True,
    }

    # win_acl is a Legacy module: Exit-Json/Fail-Json, no invocation.
    fixtures["win_acl_changed.json"] = {"changed": True, "_ansible_parsed": True}
    fixtures["win_acl_unchanged.json"] = {"changed": False, "_ansible_parsed": True}
    fixtures["win_acl_invalid_user.json"] = {
        "changed": False,
        "failed": True,
        "msg": 'account_name SITE\\svc-missing is not a valid account, cannot get SID: Exception calling "Translate" '
        'with "1" argument(s): "Some or all identity references could not be translated."',
        "_ansible_parsed": True,
    }
    fixtures["win_acl_check_mode_skipped.json"] = {
        "changed": False,
        "skipped": True,
        "msg": "remote module does not support check mode",
        "_ansible_parsed": True,
    }

    fixtures["win_powershell_file_version.json"] = _powershell(
        {"exists": True, "version": "23.2.47.1"}, args={"Path": sc}
    )
    fixtures["win_powershell_file_version_missing.json"] = _powershell(
        {"exists": False, "version": None}, args={"Path": sc}
    )
    key_args = {"Thumbprint": rs_tp, "Account": "S-1-5-20"}
    fixtures["win_powershell_key_read_granted.json"] = _powershell({"granted": True}, args=key_args)
    fixtures["win_powershell_key_read_missing.json"] = _powershell({"granted": False}, args=key_args)
    fixtures["win_powershell_key_read_no_account.json"] = _powershell(
        {},
        failed=True,
        args={"Thumbprint": rs_tp, "Account": "SITE\\svc-missing"},
        error=[
            {
                "output": 'Exception calling "Translate" with "1" argument(s): "Some or all identity references could '
                'not be translated."\r\nAt line:15 char:8\r\n',
                "error_details": None,
                "exception": {
                    "message": 'Exception calling "Translate" with "1" argument(s): "Some or all identity references '
                    'could not be translated."',
                    "type": "System.Management.Automation.MethodInvocationException",
                    "help_link": None,
                    "source": "System.Management.Automation",
                    "hresult": -2146233087,
                    "inner_exception": {
                        "message": "Some or all identity references could not be translated.",
                        "type": "System.Security.Principal.IdentityNotMappedException",
                        "help_link": None,
                        "source": "mscorlib",
                        "hresult": -2146233087,
                        "inner_exception": None,
                    },
                },
                "target_object": None,
                "category_info": {
                    "category": "NotSpecified",
                    "category_id": 0,
                    "activity": "",
                    "reason": "MethodInvocationException",
                    "target_name": "",
                    "target_type": "",
                },
                "fully_qualified_error_id": "IdentityNotMappedException",
                "script_stack_trace": "at <ScriptBlock>, <No file>: line 15",
                "pipeline_iteration_info": [],
            }
        ],
    )

    # What the ansible.windows.win_copy *action* returns (its own keys merged with the module's).
    local = "/root/.ansible/tmp/ansible-local-4242/xprotect-abc123/xprotect-rs01.inf"
    fixtures["win_copy_action_changed.json"] = {
        "src": local,
        "dest": r"C:\Windows\Temp\xprotect-rs01.inf",
        "operation": "file_copy",
        "original_basename": "xprotect-rs01.inf",
        "checksum": "1f0f6a4b4bb2b7a3f0b5a1c85ab0de6b4c2b8c51",
        "size": 214,
        "changed": True,
        "_ansible_parsed": True,
    }
    fixtures["win_copy_action_unchanged.json"] = dict(
        fixtures["win_copy_action_changed.json"], changed=False, failed=False
    )
    fixtures["win_copy_action_missing_dir.json"] = {
        "src": local,
        "dest": r"C:\Missing\xprotect-rs01.inf",
        "operation": "file_copy",
        "original_basename": "xprotect-rs01.inf",
        "checksum": "1f0f6a4b4bb2b7a3f0b5a1c85ab0de6b4c2b8c51",
        "size": 214,
        "changed": True,
        "failed": True,
        "msg": f"failed to copy file {local}: Destination directory 'C:\\Missing' does not exist",
    }

    fixtures["win_file_absent_changed.json"] = {"changed": True, "_ansible_parsed": True}
    fixtures["win_file_absent_unchanged.json"] = {"changed": False, "_ansible_parsed": True}

    fixtures["unreachable.json"] = {
        "unreachable": True,
        "changed": False,
        "msg": "psrp connection failure during runspace open: Received a broken response packet",
    }

    for name, data in fixtures.items():
        (HERE / name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(fixtures)} fixtures; rs01 thumbprint {rs_tp}, CA thumbprint {ca_tp}")  # noqa: T201


if __name__ == "__main__":
    main()
