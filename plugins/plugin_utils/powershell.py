# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only inline PowerShell of the collection, run through ``ansible.windows.win_powershell``.

Each snippet exists because no ansible.windows module reads that value (checked against
ansible.windows 3.3):

- ``FILE_VERSION``: ``win_stat`` returns no version resource, and ``win_file_version`` lives
  in community.windows, which this collection does not depend on.
- ``REMOVE_WITH_KEY`` (a ``powershell.exe -Command`` line run through ``win_command``):
  ``win_certificate_store state=absent`` removes a certificate but not its private key, and
  no ansible.windows module deletes a key container.
- ``KEY_READ_GRANTED``: ``win_acl`` is the module that *grants* private-key Read, but it parses
  its arguments with ``Parse-Args $args`` without ``-supports_check_mode``, so in check mode it
  returns ``skipped`` and never says whether the right is missing. This snippet reads the key's
  DACL, read-only, so that a check-mode audit can report a removed key ACL.

Rules for every snippet here (``tests/unit/plugin_utils/test_powershell.py`` parses them all
with tree-sitter-powershell):

- Windows PowerShell 5.1 syntax only (the runspace ``win_powershell`` uses by default).
- Values arrive as ``param()`` parameters (``win_powershell`` ``parameters``), never by
  string interpolation into the script text.
- ``[CmdletBinding(SupportsShouldProcess)]``: ``win_powershell`` skips any other script in check
  mode; these only read, so they must run during an audit.
- ``$Ansible.Changed = $false`` (it defaults to ``$true``); the answer goes in ``$Ansible.Result``.
"""

from __future__ import annotations

import re

# Returns {exists, version}; version is "major.minor.build.private" from the numeric parts of
# the version resource (the FileVersion *string* is free text and may carry a suffix).
# %VARS% are expanded like the `path` options of ansible.windows modules, so a caller can pass
# the same path it would give to slurp.
FILE_VERSION = r"""[CmdletBinding(SupportsShouldProcess)]
param([string]$Path)
$Ansible.Changed = $false
$file = [Environment]::ExpandEnvironmentVariables($Path)
$Ansible.Result = @{ exists = (Test-Path -LiteralPath $file -PathType Leaf); version = $null }
if ($Ansible.Result.exists) {
    $v = (Get-Item -LiteralPath $file).VersionInfo
    $Ansible.Result.version = '{0}.{1}.{2}.{3}' -f $v.FileMajorPart, $v.FileMinorPart,
        $v.FileBuildPart, $v.FilePrivatePart
}
"""

# Returns {granted}: whether Account has an allow ACE on the private key of
# Cert:\LocalMachine\<Store>\<Thumbprint> (My, or REQUEST for a pending certreq key) that lets it
# read the key. Read means GENERIC_READ,
# GENERIC_ALL, or every bit of FILE_GENERIC_READ (0x120089): the "Read" that win_acl writes
# (0x80120089) and the MMC "Manage Private Keys" Read and Full control all qualify.
# The key is read the way win_acl writes it. win_acl's _CertACLHelper.cs opens the key with
# CryptAcquireCertificatePrivateKey(CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG): CryptoAPI first, CNG only
# for a key CryptoAPI cannot open. So here too: X509Certificate2.PrivateKey opens the key through
# CryptoAPI (the default "Microsoft RSA SChannel Cryptographic Provider") and its DACL is
# CryptoKeySecurity (PP_KEYSET_SEC_DESCR, as win_acl). For a CNG key it throws ("Invalid provider
# type specified"); then the CNG "Security Descr" property, with 0x44 = DACL_SECURITY_INFORMATION |
# NCRYPT_SILENT_FLAG, as win_acl. (GetRSAPrivateKey would open even a CryptoAPI key through CNG.)
KEY_READ_GRANTED = r"""[CmdletBinding(SupportsShouldProcess)]
param([string]$Thumbprint, [string]$Account, [string]$Store = 'My')
$Ansible.Changed = $false
$cert = Get-Item -LiteralPath "Cert:\LocalMachine\$Store\$Thumbprint"
if (-not $cert.HasPrivateKey) { throw "Certificate $Thumbprint in LocalMachine\$Store has no private key." }
$csp = $null
try { $csp = $cert.PrivateKey } catch { $csp = $null }
if ($csp -is [Security.Cryptography.ICspAsymmetricAlgorithm]) {
    $sd = $csp.CspKeyContainerInfo.CryptoKeySecurity.GetSecurityDescriptorBinaryForm()
}
else {
    $key = [Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
    $sd = $key.Key.GetProperty('Security Descr', [Security.Cryptography.CngPropertyOptions]0x44).GetValue()
}
if ($Account -like '.\*') { $Account = $env:COMPUTERNAME + $Account.Substring(1) }
if ($Account -like 'S-1-*') { $sid = [Security.Principal.SecurityIdentifier]$Account }
else { $sid = ([Security.Principal.NTAccount]$Account).Translate([Security.Principal.SecurityIdentifier]) }
$dacl = (New-Object -TypeName Security.AccessControl.RawSecurityDescriptor -ArgumentList $sd, 0).DiscretionaryAcl
$read = @($dacl | Where-Object {
        $_.AceQualifier -eq 'AccessAllowed' -and $_.SecurityIdentifier -eq $sid -and (
            ($_.AccessMask -band [int]::MinValue) -or ($_.AccessMask -band 0x10000000) -or
            (($_.AccessMask -band 0x120089) -eq 0x120089))
    })
$Ansible.Result = @{ granted = ($read.Count -gt 0) }
"""

# Every snippet, by name: the syntax test iterates over this.
SNIPPETS = {
    "FILE_VERSION": FILE_VERSION,
    "KEY_READ_GRANTED": KEY_READ_GRANTED,
}

# A command line for ``powershell.exe -Command``, run through the adapter's ``run`` (win_command
# argv): the store and thumbprint are checked here, so they are safe to place in the text.
# ``-DeleteKey`` is the Certificate provider's dynamic parameter of Remove-Item [H]: it deletes the
# certificate *and* its private key container (MachineKeys). win_certificate_store state=absent
# calls X509Store.Remove, which leaves the key container behind.
REMOVE_WITH_KEY = "Remove-Item -LiteralPath 'Cert:\\LocalMachine\\{store}\\{thumbprint}' -DeleteKey -ErrorAction Stop"
_POWERSHELL_EXE = "powershell.exe"

_STORE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")


def remove_with_key_argv(store: str, thumbprint: str) -> list:
    """The argv that removes ``LocalMachine\\<store>\\<thumbprint>`` with its private key.

    Exit code 0 when both are gone, 1 when PowerShell reports an error (a missing certificate
    included). Raises ValueError for a store name or thumbprint that is not plain.
    """
    if not _STORE_NAME.match(str(store)):
        raise ValueError(f"{store!r} is not a certificate store name")
    if not _THUMBPRINT.match(str(thumbprint)):
        raise ValueError(f"{thumbprint!r} is not a normalised thumbprint (40 uppercase hexadecimal characters)")
    command = REMOVE_WITH_KEY.format(store=store, thumbprint=thumbprint)
    return [_POWERSHELL_EXE, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", command]


# Every command line, by name (with sample values): the syntax test parses these too.
COMMANDS = {
    "REMOVE_WITH_KEY": REMOVE_WITH_KEY.format(store="REQUEST", thumbprint="0" * 40),
}
