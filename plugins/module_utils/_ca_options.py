# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA options shared by modules and action plugins (doc fragment ``xprotect.encryption.ca``):
their argument spec, and the CA they name, read from files on the controller or from values
(as an AWX credential injects them).

Kept apart from ``pki`` so that pki stays a library of certificate decisions, and the module
backends have one place to take the options from.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_chain, fileutil
from ansible_collections.xprotect.encryption.plugins.module_utils.pki import (
    CA,
    PkiError,
    check_ca_certificate,
    load_ca,
    load_certificate,
    read_input_file,
    to_bytes,
)

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - exercised by ansible-test sanity's import test
    x509 = None  # type: ignore[assignment]


def ca_argument_spec() -> dict:
    """The argument spec matching doc fragment ``xprotect.encryption.ca``."""
    return {
        "ca_cert_path": {"type": "path"},
        "ca_key_path": {"type": "path", "no_log": False},
        "ca_passphrase": {"type": "str", "no_log": True},
        "ca_cert_content": {"type": "str"},
        "ca_key_content": {"type": "str", "no_log": True},
    }


def read_ca_files(params: Mapping[str, Any], options: tuple) -> list:
    """The files named by ``options`` (``ca_cert_path``, ``ca_key_path``), read under the CA folder's
    shared lock: a CA the ca module is writing at the same moment is read whole or not at all.

    A file that an interrupted ca run left staged (``ca.crt.new``) is named in the error, with
    the way to complete it.
    """
    folder = os.path.dirname(os.path.abspath(params[options[0]]))
    if not os.path.isdir(folder):
        return [read_input_file(params[o], o) for o in options]
    try:
        with fileutil.locked(folder, shared=True):
            for o in options:
                path = params[o]
                if not os.path.exists(path) and os.path.exists(path + ".new"):
                    raise PkiError(
                        f"{o}: {path} does not exist, but {path}.new does: a run of the ca module was interrupted "
                        "while it wrote the CA. Run the ca module (the ca role, or site.yml) once to complete it.",
                        o,
                    )
            return [read_input_file(params[o], o) for o in options]
    except fileutil.LockError as e:
        raise PkiError(f"{options[0]}: {e}", options[0]) from None


def load_ca_certificate_from_options(params: Mapping[str, Any]) -> x509.Certificate:
    """The CA certificate only (enough to check what is issued); checked to be a CA."""
    if params.get("ca_cert_content"):
        option, data = "ca_cert_content", to_bytes(params["ca_cert_content"])
    elif params.get("ca_cert_path"):
        option, data = "ca_cert_path", read_ca_files(params, ("ca_cert_path",))[0]
    else:
        raise PkiError(
            "ca_cert_path: give the CA as ca_cert_path and ca_key_path (files on the controller), or as "
            "ca_cert_content and ca_key_content (values, e.g. from an AWX credential).",
            "ca_cert_path",
        )
    cert = load_certificate(data, option)
    check_ca_certificate(cert, option)
    return cert


def load_ca_chain_from_options(params: Mapping[str, Any], ca_cert: x509.Certificate, now) -> list:
    """The chain above an intermediate site CA (issuer first, root last; ``[]`` for a root CA).

    Read from the certificates after the first in ``ca_cert_content`` or the ``ca_cert_path`` file
    (the ca module keeps an intermediate CA's ``ca.crt`` so); checked link by link and in date
    (``_ca_chain.build_chain``), so an expired enterprise root is refused here.
    """
    if params.get("ca_cert_content"):
        option, data = "ca_cert_content", to_bytes(params["ca_cert_content"])
    elif params.get("ca_cert_path"):
        option, data = "ca_cert_path", read_ca_files(params, ("ca_cert_path",))[0]
    else:
        return []
    candidates = _ca_chain.load_bundle(data, option)[1:]
    if not candidates:
        return []
    return _ca_chain.build_chain(ca_cert, candidates, now, option)


def load_ca_from_options(params: Mapping[str, Any], trusted_key: bool = False) -> CA:
    """The signing CA from the ``ca_*`` options: files, or values as an AWX credential injects them.

    ``trusted_key``: see :func:`load_private_key`; the public half is compared with the certificate
    in every case.
    """
    content = bool(params.get("ca_cert_content") or params.get("ca_key_content"))
    files = bool(params.get("ca_cert_path") or params.get("ca_key_path"))
    if content and files:
        raise PkiError(
            "ca_cert_content: give the CA either as files (ca_cert_path, ca_key_path) or as values "
            "(ca_cert_content, ca_key_content), not both.",
            "ca_cert_content",
        )
    if content:
        for opt in ("ca_cert_content", "ca_key_content"):
            if not params.get(opt):
                raise PkiError(f"{opt}: content mode needs both ca_cert_content and ca_key_content.", opt)
        cert_data = to_bytes(params["ca_cert_content"])
        key_data = to_bytes(params["ca_key_content"])
        cert_opt, key_opt = "ca_cert_content", "ca_key_content"
    else:
        for opt in ("ca_cert_path", "ca_key_path"):
            if not params.get(opt):
                raise PkiError(
                    f"{opt}: signing needs the CA certificate and key: give ca_cert_path and ca_key_path, or "
                    "ca_cert_content and ca_key_content.",
                    opt,
                )
        cert_data, key_data = read_ca_files(params, ("ca_cert_path", "ca_key_path"))
        cert_opt, key_opt = "ca_cert_path", "ca_key_path"
    return load_ca(
        cert_data,
        key_data,
        to_bytes(params.get("ca_passphrase")),
        cert_option=cert_opt,
        key_option=key_opt,
        phrase_option="ca_passphrase",
        trusted_key=trusted_key,
    )
