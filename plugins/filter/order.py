# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that hand hostvars and probe results to the order guard and the failure policy."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.xprotect.encryption.plugins.module_utils import order


def _checked(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except order.OrderError as e:
            raise AnsibleFilterError(str(e)) from None

    return wrapper


class FilterModule:
    def filters(self):
        return {
            "order_guard_endpoints": order.guard_endpoints,
            "order_guard": _checked(
                lambda hosts, hostvars, management, probes, state, check_mode=False, context=None, site=None: (
                    order.guard(
                        hosts,
                        hostvars,
                        management,
                        probes or [],
                        state,
                        check_mode=check_mode,
                        context=context,
                        site=site,
                    )
                )
            ),
            "switch_outcome": _checked(
                lambda hostvars, management, recording, failover, policy="stop", check_mode=False, context=None: (
                    order.outcome(
                        hostvars, management, recording, failover, policy=policy, check_mode=check_mode, context=context
                    )
                )
            ),
        }
