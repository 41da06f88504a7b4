# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one DNS name matcher: does a name in a certificate cover a host name, as a TLS client
decides (RFC 6125 section 6.4, as tightened by RFC 9525 section 6.3).

Used both to decide whether a certificate still names its host (the re-issue policy) and to
judge a served certificate (the TLS probe), so that the two can never disagree.
"""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils._text import is_ip


def _norm(name: str) -> str:
    # DNS names compare without case, and an absolute name (trailing dot) is the same name.
    return str(name or "").strip().lower().rstrip(".")


def dns_name_matches(pattern: str, name: str) -> bool:
    """Whether the DNS name ``pattern`` of a certificate (SAN dNSName, or the CN) covers ``name``.

    - Equal without case and without a trailing dot.
    - A wildcard only as the whole left-most label (``*.example.com``), standing for exactly one
      non-empty label: it covers ``rs01.example.com``, never ``example.com`` nor
      ``a.rs01.example.com``. A partial-label wildcard (``rs*.example.com``), a wildcard further
      right (``rs01.*.com``) or a second one covers only its own literal spelling, as RFC 9525
      asks (RFC 6125 allowed clients to match the partial form; Windows and browsers do not).
    - A wildcard never covers an IP address: addresses match SAN iPAddress entries only.
    """
    pattern, name = _norm(pattern), _norm(name)
    if not pattern or not name:
        return False
    if pattern == name:
        return True
    if not pattern.startswith("*.") or is_ip(name.strip("[]")):
        return False
    suffix = pattern[2:]
    label, dot, rest = name.partition(".")
    return bool(label and dot and suffix) and "*" not in suffix and "*" not in label and rest == suffix
