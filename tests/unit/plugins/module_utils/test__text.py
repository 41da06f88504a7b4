# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_text.py: the one thumbprint normaliser, GUIDs and IP addresses."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _text, validate

PASTED = "\u200e6a 3f 9c 01 d2 e4 5b 77 80 aa 19 c3 4e 5f 60 71 82 93 a4 b5"  # as certlm.msc copies it


@pytest.mark.parametrize(
    "value",
    [PASTED, PASTED.replace(" ", ":"), PASTED.upper(), "\ufeff" + PASTED[1:] + "\u200f", PASTED.replace(" ", "\t")],
)
def test_pasted_thumbprints_normalise(value):
    assert _text.normalize_thumbprint(value) == "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5"
    assert validate.thumbprint(value, "thumbprint") == "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5"


@pytest.mark.parametrize("value", ["", "6A3F", "Z" * 40, PASTED + " 00", "6A3F-9C01"])
def test_a_bad_thumbprint_option_names_the_option_value_and_rule(value):
    # Options are checked by validate.thumbprint, on the same normaliser.
    with pytest.raises(validate.ArgumentError) as info:
        validate.thumbprint(value, "retired_thumbprints[1]")
    text = str(info.value)
    assert text.startswith("retired_thumbprints[1]: ") and repr(value) in text
    assert "40 hex digits" in text


def test_clean_thumbprint_of_read_values():
    assert _text.clean_thumbprint(None) is None and _text.clean_thumbprint(" \u200e ") is None
    assert _text.clean_thumbprint("ab cd") == "ABCD"
