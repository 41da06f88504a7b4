"""Make ``ansible_collections.xprotect.encryption`` importable from this checkout."""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "xprotect" / "encryption"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to("../../..")
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
