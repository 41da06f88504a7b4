# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust decision: given what LocalMachine\\Root holds and the CA wanted (or retired), what
to add, what to remove, and why. Pure: no host access; the trusted_ca action reads Root and
carries the plan out."""

from __future__ import annotations

import dataclasses
from typing import Iterable, List, Sequence

# LocalMachine\CA, Intermediate Certification Authorities: the one name both ansible.windows
# modules take. win_certificate_info opens the store by the name it is given (X509Store(string)),
# so "CertificateAuthority" there would open another, empty store; win_certificate_store maps
# CertificateAuthority to CA and takes CA as it is. Windows builds a server's chain from it.
INTERMEDIATE_STORE = "CA"


@dataclasses.dataclass(frozen=True)
class TrustPlan:
    add: bool  # import the CA into Root
    remove: List[str]  # thumbprints to take out of Root
    reasons: List[str]  # one sentence per change; empty when Root is as wanted
    before: dict  # for --diff: what Root shows now
    after: dict  # and what it will show

    @property
    def changed(self) -> bool:
        return bool(self.reasons)


def decide(root: Iterable[str], ca: str, present: bool = True, retired: Sequence[str] = ()) -> TrustPlan:
    """What to change in Root so that it holds the CA ``ca`` (``present``) or not, and none of the
    ``retired`` CAs. Thumbprints are normalised (upper-case hex) by the caller.

    A retired thumbprint equal to the CA itself is ignored: the CA named to be trusted wins over
    a list that still carries it (a renewal that kept the key would otherwise remove and re-add).
    """
    root = set(root)
    retired_in_root = [t for t in dict.fromkeys(retired) if t in root and t != ca]
    has_ca = ca in root
    add = present and not has_ca
    remove = retired_in_root + ([ca] if not present and has_ca else [])
    reasons = ["CA missing from Root"] if add else []
    reasons += [f"retired CA {t} still in Root" for t in retired_in_root]
    if not present and has_ca:
        reasons.append("CA to be removed from Root")
    after = (root | ({ca} if add else set())) - set(remove)
    return TrustPlan(
        add=add,
        remove=remove,
        reasons=reasons,
        before={"root_contains_ca": has_ca, "retired_present": sorted(set(retired) & root)},
        after={"root_contains_ca": ca in after, "retired_present": sorted(set(retired) & after)},
    )


@dataclasses.dataclass(frozen=True)
class IntermediatePlan:
    add: List[str]  # thumbprints to import into LocalMachine\CA
    remove: List[str]  # thumbprints to take out of it
    reasons: List[str]


def decide_intermediates(ca_store: Iterable[str], wanted: Sequence[str], present: bool = True) -> IntermediatePlan:
    """What to change in ``LocalMachine\\CA`` for an intermediate site CA: its certificate and the
    issuing CAs between it and the root (``wanted``, thumbprints) are there (``present``) or not.

    Windows builds a server's chain from that store, and sends it in the TLS handshake; clients
    need only the root in Root. Nothing else in the store is touched.
    """
    have = set(ca_store)
    if present:
        add = [t for t in dict.fromkeys(wanted) if t not in have]
        return IntermediatePlan(add, [], [f"intermediate CA {t} missing from CA" for t in add])
    remove = [t for t in dict.fromkeys(wanted) if t in have]
    return IntermediatePlan([], remove, [f"intermediate CA {t} to be removed from CA" for t in remove])


def not_trusted_message(host: str, subject: str, thumbprint: str) -> str:
    """The error when the CA must already be trusted (``install: false``, an enterprise root) and is not."""
    return (
        f"{host}: the CA {subject} ({thumbprint}) is not in LocalMachine\\Root, "
        "and this run installs no CA (install: false; the trust role's xprotect_trust_install). An enterprise root "
        "usually comes by Group Policy: check that the host is in the domain and gets the policy (gpupdate /force, "
        "certutil -viewstore -enterprise Root), or set xprotect_trust_install: true to install it. Nothing was changed."
    )
