# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AnsibleModule side of the controller modules' backends.

The backends under ``_backends/`` are the only code in module_utils that knows an AnsibleModule;
the pure decisions they call (``pki``, ``reissue``, ``tls_probe``, ``validate``) do not. Each
backend's ``run(params, check_mode)`` raises on bad input; :func:`checked_run` turns every
refusal into one failed task that names the option at fault, the same way in every module
(:func:`run_module`) and in an action plugin that runs a backend in its worker
(``plugin_utils/controller.py``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Tuple

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki, validate


def checked_run(
    params: dict,
    check_mode: bool,
    run: Callable[[dict, bool], dict],
    write_error: Callable[[OSError], str],
    rules: Optional[Mapping[str, Callable[[Any, str], Any]]] = None,
    *,
    diff_mode: bool,
) -> Tuple[dict, Optional[dict]]:
    """``(run(params, check_mode), None)`` after the ``rules`` value checks, or ``({}, failure)``.
    The result's ``diff`` is dropped unless the task runs in diff mode (``diff_mode``).

    The argument spec and its declared relations (``mutually_exclusive``, ``required_together``
    ...) have already been checked by the caller; ``rules`` are the checks a spec cannot express
    (ranges, patterns, see ``validate``). No cryptography, a :class:`pki.PkiError` or
    :class:`validate.ArgumentError` (its option), the folder lock held by another run (``path``)
    and a failed write (``path``, text from ``write_error``) each give the failure: the keys of
    one failed task (``msg``, and ``option`` or ``exception``).
    """
    if not pki.HAS_CRYPTOGRAPHY:
        return {}, {"msg": missing_required_lib("cryptography"), "exception": str(pki.CRYPTOGRAPHY_IMPORT_ERROR)}
    try:
        validate.apply(params, rules or {})
        result = run(params, check_mode)
    except (pki.PkiError, validate.ArgumentError) as e:
        return {}, {"msg": str(e), "option": e.option}
    except fileutil.LockError as e:
        return {}, {"msg": str(e), "option": "path"}
    except OSError as e:
        return {}, {"msg": write_error(e), "option": "path"}
    if not diff_mode:
        result.pop("diff", None)
    return result, None


def run_module(
    module: Any,
    run: Callable[[dict, bool], dict],
    write_error: Callable[[OSError], str],
    rules: Optional[Mapping[str, Callable[[Any, str], Any]]] = None,
) -> dict:
    """``run(module.params, module.check_mode)`` as :func:`checked_run`, or ``fail_json``."""
    result, failure = checked_run(module.params, module.check_mode, run, write_error, rules, diff_mode=module._diff)
    if failure is not None:
        module.fail_json(**failure)
    return result
