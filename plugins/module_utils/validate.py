# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of option values that an argument spec cannot express: ranges, patterns, formats.

Pure functions, shared by the modules, the action plugins and the run-level settings check
(``module_utils/settings.py``). Each takes the value and the name of the option (or variable)
it came from, and returns the value normalised, or raises :class:`ArgumentError` with a
sentence that names the option, the value and what is allowed. Type coercion of strings
(``-e retries=3`` gives ``"3"``) happens here too, so the checks also hold for values that
reach a plugin without an argument spec (host variables, ``-e``).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint

# Ansible's own boolean spellings (ansible.module_utils.parsing.convert_bool).
_TRUE = frozenset(("y", "yes", "on", "1", "true", "t", "1.0"))
_FALSE = frozenset(("n", "no", "off", "0", "false", "f", "0.0"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_HEX40 = re.compile(r"^[0-9A-F]{40}$")
# A certificate's validity and any "days before expiry": 100 years is far beyond any use and
# far below what a date can hold (a larger number overflows the date arithmetic).
MAX_DAYS = 36500


class ArgumentError(ValueError):
    """A value that is not allowed. ``option`` names the option or variable at fault."""

    def __init__(self, message: str, option: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.option = option


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def refuse(option: str, value: Any, allowed: str) -> ArgumentError:
    """The error for ``value`` of ``option``: "<option>: <value> is not allowed; <allowed>."."""
    return ArgumentError(f"{option}: {_show(value)} is not allowed; {allowed}.", option)


def _range_text(minimum, maximum, what: str, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        return f"give {what} from {minimum} to {maximum}{unit}"
    if minimum is not None:
        return f"give {what} of {minimum}{unit} or more"
    return f"give {what} of {maximum}{unit} or less"


def whole_number(value: Any, option: str, minimum: Optional[int] = None, maximum: Optional[int] = None, unit="") -> int:
    """An integer (or a string of one) within ``[minimum, maximum]``."""
    allowed = _range_text(minimum, maximum, "a whole number", unit)
    if isinstance(value, bool):
        raise refuse(option, value, allowed)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.match(r"^\s*[-+]?\d+\s*$", value):
        value = int(value)
    if not isinstance(value, int):
        raise refuse(option, value, allowed)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise refuse(option, value, allowed)
    return value


def number(
    value: Any,
    option: str,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    *,
    above: Optional[float] = None,
    unit: str = "seconds",
) -> float:
    """A number (or a string of one) within ``[minimum, maximum]``, and greater than ``above``."""
    if above is not None:
        allowed = f"give a number greater than {above}" + (f" and at most {maximum}" if maximum is not None else "")
        allowed += f" {unit}" if unit else ""
    else:
        allowed = _range_text(minimum, maximum, "a number", unit)
    given = value
    if isinstance(value, bool):
        raise refuse(option, given, allowed)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise refuse(option, given, allowed)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise refuse(option, given, allowed)
    if (
        (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
        or (above is not None and value <= above)
    ):
        raise refuse(option, given, allowed)
    return float(value)


def days(value: Any, option: str, minimum: int = 0) -> int:
    """A number of days from ``minimum`` to :data:`MAX_DAYS`."""
    return whole_number(value, option, minimum, MAX_DAYS, "days")


def boolean(value: Any, option: str) -> bool:
    """A boolean, or one of Ansible's spellings of one (``yes``, ``false``, ``1``...)."""
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower() if isinstance(value, (str, int, float)) else None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise refuse(option, value, "give true or false")


def one_of(value: Any, option: str, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise refuse(option, value, "use one of " + ", ".join(str(a) for a in allowed))
    return value


def text(value: Any, option: str, *, required: bool = True, max_length: Optional[int] = None, spaces=True) -> str:
    """A string without control characters (a newline or a NUL in a name is a typo or an injection)."""
    what = "a single line of text" if spaces else "a value without spaces"
    if max_length:
        what += f" of at most {max_length} characters"
    if not isinstance(value, str):
        raise refuse(option, value, f"give {what}")
    if required and not value.strip():
        raise refuse(option, value, f"give {what}; it cannot be empty")
    if _CONTROL.search(value) or (max_length and len(value) > max_length) or (not spaces and re.search(r"\s", value)):
        raise refuse(option, value, f"give {what}, without control characters")
    return value


def pattern(value: Any, option: str) -> str:
    """A regular expression (Python syntax) that compiles; returned as given."""
    if not isinstance(value, str) or not value:
        raise refuse(option, value, "give a non-empty regular expression")
    try:
        re.compile(value, re.IGNORECASE)
        return value
    except re.error as e:
        raise ArgumentError(f"{option}: {_show(value)} is not a valid regular expression ({e}).", option)


def thumbprint(value: Any, option: str) -> str:
    """A certificate thumbprint: 40 hex digits once :func:`_text.clean_thumbprint` (the one
    normaliser: spaces, colons, U+200E and the other invisible marks) has run; uppercase."""
    cleaned = clean_thumbprint(value) if isinstance(value, str) else None
    if cleaned is None or not _HEX40.fullmatch(cleaned):
        raise refuse(option, value, "give a SHA-1 thumbprint of 40 hex digits (spaces and colons are ignored)")
    return cleaned


def guid(value: Any, option: str) -> str:
    if not isinstance(value, str) or not _GUID.fullmatch(value.strip()):
        raise refuse(option, value, "give a GUID like 84430eb7-847c-422d-aa00-7915cd0d7a65")
    return value.strip().strip("{}").lower()


def percentage(value: Any, option: str) -> float:
    """0 to 100, as a number or ``"N%"`` (what a play's max_fail_percentage takes)."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    try:
        return number(match.group(1) if match else value, option, 0, 100, unit="(percent)")
    except ArgumentError:
        raise refuse(option, value, 'give a number from 0 to 100, or a percentage like "30%"')


def batch(value: Any, option: str):
    """What a play's ``serial`` takes: a whole number >= 0 (0: every host at once), a percentage
    ``"N%"`` from 1 to 100, or a non-empty list of those (growing batches)."""
    allowed = (
        'give a whole number of hosts (0 for all at once), a percentage like "20%", or a list of those '
        "like [1, 5, '50%']"
    )
    if isinstance(value, (list, tuple)):
        if not value:
            raise refuse(option, value, allowed)
        return [batch(v, f"{option}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and _PERCENT.match(value):
        share = float(_PERCENT.match(value).group(1))
        if 0 < share <= 100:
            return value.strip()
        raise refuse(option, value, allowed)
    try:
        return whole_number(value, option, 0)
    except ArgumentError:
        raise refuse(option, value, allowed)


def each(values: Any, option: str, check: Callable[[Any, str], Any]) -> list:
    """``check`` on every element of a list, each named ``option[i]``."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise refuse(option, values, "give a list")
    try:
        return [check(v, f"{option}[{i}]") for i, v in enumerate(values)]
    except ArgumentError as e:
        e.option = option  # the message names the element; the option is the list
        raise


def mapping(value: Any, option: str, keys: Iterable[str], check: Callable[[Any, str], Any]) -> dict:
    """A dict whose keys are among ``keys`` and whose values pass ``check`` (named ``option.key``)."""
    keys = list(keys)
    if not isinstance(value, Mapping):
        raise refuse(option, value, "give a dictionary")
    out = {}
    for key, item in value.items():
        if key not in keys:
            raise ArgumentError(f"{option}: key {_show(key)} is not known; use {', '.join(keys)}.", option)
        try:
            out[key] = check(item, f"{option}.{key}")
        except ArgumentError as e:
            e.option = option
            raise
    return out


def apply(params: dict, rules: Mapping[str, Callable[[Any, str], Any]]) -> dict:
    """Run ``rules`` (``{option: check(value, option)}``) on every option that is set (not None),
    in place; the first value that is not allowed raises :class:`ArgumentError`."""
    for option, rule in rules.items():
        if params.get(option) is not None:
            params[option] = rule(params[option], option)
    return params


def bounded(check: Callable[..., Any], *args, **kwargs) -> Callable[[Any, str], Any]:
    """``check`` with its limits bound: ``bounded(whole_number, 0, 100)`` for a rules table."""
    return lambda value, option: check(value, option, *args, **kwargs)


def list_of(check: Callable[[Any, str], Any]) -> Callable[[Any, str], list]:
    return lambda values, option: each(values, option, check)


def option_hint(msg: str, spec: Mapping[str, Mapping]) -> str:
    """``msg``, naming the options with sub-options when it names no option at all.

    ansible-core's own message for a list of dicts given a string ("dictionary requested, could
    not parse JSON or key=value") names no option; this says where to look."""
    if any(re.search(rf"\b{re.escape(name)}\b", msg) for name in spec):
        return msg
    nested = [name for name, opts in spec.items() if opts.get("options")]
    if not nested:
        return msg
    return f"{msg} (in {' or '.join(nested)}: give a list of dictionaries, one per item)"


def naming_options(module_class: type, spec: Mapping[str, Mapping]) -> type:
    """``module_class`` (AnsibleModule) whose failures always name an option (:func:`option_hint`)."""

    class Module(module_class):
        def fail_json(self, msg, **kwargs):
            super().fail_json(msg=option_hint(str(msg), spec), **kwargs)

    return Module
