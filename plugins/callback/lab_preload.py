# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lab_preload
type: aggregate
short_description: Load the lab once before Ansible forks its workers, in a run against a lab site
description:
  - For runs against the lab only (M(xprotect.encryption.lab_site)); a run against real hosts is left alone.
  - When an inventory source of the run is a lab site's C(inventory.yml) (or its folder), it imports the lab's
    host adapter (and with it the lab and cryptography) once, in ansible-playbook's main process, at the start of
    the playbook. Ansible forks one worker per host and task; each inherits the lab instead of importing it
    again, which otherwise costs about 45 ms of CPU per host and task and slows a lab rollout down about twice.
  - It also reads each lab site's C(site.json) there, so that a worker only checks that the file is unchanged
    instead of parsing it again (about 1.3 ms of CPU per host and task on a site of 200 recording servers, a
    cost that grows with the site and that no real host has).
  - Production code never imports the lab (the C(rollout) callback only reports); this separate callback is the
    lab's own, so that a rehearsal on the lab keeps the timing of a real window.
  - Enabled in the collection's ansible.cfg (C(callbacks_enabled)); add it to yours to rehearse from your own
    project. See docs/lab.md and docs/performance.md.
version_added: 0.1.0
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - enable in configuration (callbacks_enabled)
"""

import importlib
import json
import os

from ansible import context
from ansible.plugins.callback import CallbackBase

# model.SITE_KIND, spelled out: deciding must not load the lab (tests hold the two equal).
SITE_KIND = "xprotect.encryption lab site"
_ADAPTER = "ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter"
_MODEL = "ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.model"


def lab_sites(sources) -> list:
    """The lab site folders among the inventory sources (a site's inventory.yml, or its folder)."""
    found = []
    for source in sources or ():
        if not isinstance(source, str) or "," in source:  # a host list, not a path
            continue
        path = os.path.abspath(os.path.expanduser(source))
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        if _is_site(folder):
            found.append(folder)
    return found


def _is_site(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "site.json"), "rb") as fh:
            spec = json.loads(fh.read())
    except (OSError, ValueError):
        return False
    return isinstance(spec, dict) and spec.get("kind") == SITE_KIND


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "xprotect.encryption.lab_preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        try:
            sites = lab_sites(context.CLIARGS.get("inventory"))
            if sites:
                importlib.import_module(_ADAPTER)
                model = importlib.import_module(_MODEL)
                for folder in sites:
                    model.Site(folder)  # parsed here once; a worker only checks it is unchanged
        except Exception as e:  # noqa: BLE001 - an optimisation only; the workers import what they need
            self._display.vvvv(f"xprotect.encryption: not preloading the lab: {e}")
