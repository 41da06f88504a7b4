# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconstructed Windows outputs (tests/unit/test_data/windows) as a host hands them over,
and the facts-file values the parser tests compare with."""

from __future__ import annotations

import pathlib

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows"

SERVER_GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
STREAMING_GUID = "549df21d-047c-456b-958e-99e65dd8b3ec"
MOBILE_GUID = "76cfc719-a852-4210-913e-703eadab139a"
EVENT_GUID = "7e02e0f5-549d-4113-b8de-bda2c1f38dbf"
TP_9001 = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
TP_443 = "3F2A9C1B7E4D5A6B8C9D0E1F2A3B4C5D6E7F8091"


def fixture(name: str, crlf: bool = True, bom: bool = False) -> str:
    """A reconstructed output as win_command/slurp hand it over: CRLF line ends, a BOM if asked.

    The files are stored with LF and no BOM (ansible-test's line-endings and shebang rules).
    """
    text = (FIXTURES / name).read_bytes().decode("utf-8")
    text = text.replace("\n", "\r\n") if crlf else text
    return "\ufeff" + text if bom else text
