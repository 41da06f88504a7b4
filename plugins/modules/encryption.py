# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: encryption
version_added: 0.1.0
short_description: Switch XProtect encryption per certificate group with Server Configurator
description:
  - Sets the desired state of each certificate group of the host (Server, Streaming media, Mobile streaming media,
    Event server) to a thumbprint or to disabled. By default the groups follow the host's roles, from its inventory
    groups (or C(xprotect_roles)).
  - "Reads the current state first: the XProtect configuration file, then the thumbprint bound on the port it names
    (registry C(HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters\\SslBindingInfo), or
    C(netsh http show sslcert) when the registry does not show it); for streaming media, where no stored flag is
    known, a TLS handshake from the controller on the image server port. A cold-standby failover server that does
    not answer there reads C(UNKNOWN), and that group is left as it is."
  - "When a group differs, it runs C(ServerConfigurator.exe /quiet /enableencryption /certificategroup=<GUID>
    /thumbprint=<TP>) (or C(/disableencryption)), the group IDs resolved by name from C(/listcertificategroups)."
  - Every known exit code is turned into a message a person can act on. After exit 0, and after the codes reported
    when the change was applied locally but something else failed (20, 100, 100000, 300000), the state is read back
    and decides, the exit code alone is not trusted - the change in place gives C(changed) with a warning that says
    what is left to do (registration, usually); the change not in place fails the task with the code's explanation.
    Any other code fails the task at once.
  - "Server Configurator must run as a Milestone administrator with an interactive logon, so the task must use
    C(become: true) and the runas become plugin (C(become_method: ansible.builtin.runas) or C(runas); the plugin
    loaded decides, not the spelling) with that user. Without it the task fails before any change."
  - It refuses Server Configurator older than 20.3 (2020 R3), which has no command line for encryption.
  - The order between hosts (management server, then recording servers, then failover servers, then mobile
    servers) is the playbook's job; see C(playbooks/site.yml).
  - "Options the task does not set take the matching host variable of the encryption role when it is set and not
    empty: O(state) from C(xprotect_encryption_state), O(thumbprint) from C(xprotect_certificate.thumbprint) (the
    certificate the certificates role registered), O(groups) from C(xprotect_encryption_groups),
    O(stop_stale_configurator) from C(xprotect_stop_stale_configurator), O(retries) from
    C(xprotect_encryption_retries), O(retry_delay) from C(xprotect_encryption_retry_delay), O(configurator_path)
    from C(xprotect_configurator_path), O(configurator) from C(xprotect_server_configurator) and
    O(override_markers) from C(xprotect_override_markers). So the role's task inside the disconnection window
    has no template of its own, which each forked worker would compile and render again."
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  state:
    description: C(enabled) binds O(thumbprint) to every group; C(disabled) switches every group off.
    type: str
    choices: [enabled, disabled]
    default: enabled
  thumbprint:
    description:
      - The certificate (in C(LocalMachine\My), with its key) to use. Required when O(state=enabled).
      - Spaces, colons, lower case and the invisible U+200E mark of a thumbprint copied from certlm.msc are removed;
        what is left must be 40 hexadecimal digits, or the task fails before reading the host.
      - In check mode a missing thumbprint skips the task (the certificate would only be issued by the run).
    type: str
  groups:
    description: The certificate groups to manage. Default, from the host's roles.
    type: list
    elements: str
    choices: [server, streaming, mobile, event]
  roles:
    description: The host's XProtect roles; default from C(xprotect_roles) or the inventory groups.
    type: list
    elements: str
  fqdn:
    description:
      - The host's name, for messages and the TLS handshake.
      - Default C(xprotect_fqdn), then C(inventory_hostname).
    type: str
  address:
    description: Address the controller uses for the TLS handshake. Default C(ansible_host).
    type: str
  port_offset:
    description:
      - Added to every probed port (a host reached through port translation, and the lab); the roles pass
        C(xprotect_port_offset). Default 0.
    type: int
  configurator_path:
    description: Path of C(ServerConfigurator.exe). Default, found from the Milestone services.
    type: str
  configurator:
    description:
      - Server Configurator as M(xprotect.encryption.xprotect_info) found it with
        O(xprotect.encryption.xprotect_info#module:certificate_groups=true) (its C(server_configurator)), with the
        keys C(path), C(version) and C(group_ids).
      - What it covers is not looked up again when something has to change, which saves up to three round trips per
        host (the Milestone services, the file version and C(/listcertificategroups)) inside the disconnection window.
        A version older than 20.3 is refused as if it had been read from the file. Anything it lacks is looked up.
      - When O(configurator_path) names another file, this is ignored.
    type: dict
  config_paths:
    description:
      - Override the location of a configuration file, by kind.
      - Kinds are C(recording), C(management), C(mobile) and C(event).
    type: dict
    default: {}
  stop_stale_configurator:
    description: When Server Configurator reports another instance (exit -4), end it and try once more.
    type: bool
    default: false
  retries:
    description: How often to retry exit codes 10000 and 20000 (a Milestone service would not stop or start), 0 to 100.
    type: int
    default: 3
  retry_delay:
    description: Seconds between those retries, 0 to 3600.
    type: float
    default: 10.0
  probe_timeout:
    description: Timeout in seconds of the TLS handshake that reads the streaming media state; more than 0, at most 600.
    type: float
    default: 5.0
  settle_timeout:
    description:
      - After Server Configurator ran, how long to keep reading the state back until it is as asked. It restarts
        the affected Milestone services, and their endpoints come back after a while. Seconds, 0 to 3600.
    type: float
    default: 180.0
  settle_interval:
    description: Seconds between those readings; more than 0, at most 600.
    type: float
    default: 2.0
  override_markers:
    description:
      - Regular expressions (case-insensitive) that show, in the configuration file read, that
        C(/overridelocalmanagementserver) was used on the host. Then only the Server Configurator GUI can change
        encryption, and the task refuses before running anything.
      - How the override shows on a host is not verified; the defaults are documented in docs/troubleshooting.md.
    type: list
    elements: str
  readings:
    description:
      - The state of the host's groups as this run has read it already, oldest first, later ones winning. A group
        found here is not read again before the switch; a group in none is read as usual.
      - Each reading maps a group key (C(server)) or name (C(Server certificate)) to the bound thumbprint, or null
        when off. The encryption role passes the verify role's preflight reading (C(xprotect_preflight_encryption),
        from M(xprotect.encryption.xprotect_info), by group name), then RV(thumbprints) of its own last result.
      - It saves two host calls (C(netsh) and the configuration file) per host inside the disconnection window.
        The state is still read back after every change. A group changed on the host since that reading is not
        seen before the switch - one now as asked is switched again, one now otherwise is left as it is - and is
        found by the next real reading; in the rollout that is the gate after each phase, which fails the host.
      - The configuration files are then not read before the switch, so O(override_markers) is checked only on
        what is read; the preflight checks it (M(xprotect.encryption.xprotect_info) returns C(override)).
      - Leave it empty wherever the point is to read, as in a gate.
    type: list
    elements: dict
    default: []
  mode:
    description:
      - C(sync) runs Server Configurator for each change and waits for it, holding the task (and a fork) for the
        whole run, then reads the state back.
      - C(start) is the fan-out's first step. It reads and decides as C(sync) does, then starts the first Server
        Configurator run on the host without waiting for it (C(win_command) with ansible-core's C(async) under the
        task's runas become) and returns RV(job). A fork is held only for the start, so every recording server of
        a play starts its run at about the same time, whatever C(forks) is.
      - C(collect) is the second step, with the start's registered result as O(started). It waits for that run (its
        status read every half second, or every O(settle_interval) seconds when that is shorter, for at most
        O(settle_timeout) seconds), retries exit codes 10000 and 20000 and ends a stale instance as C(sync) does,
        runs the host's other changes, then reads the state back until it settles and judges it by the same rules.
        A start result without RV(job) (nothing to change, check mode) is returned as it is, so check mode, diff
        mode and drift correction are those of C(sync).
      - The encryption role chooses with C(xprotect_encryption_fan_out).
    type: str
    choices: [sync, start, collect]
    default: sync
    version_added: 0.1.0
  started:
    description:
      - With O(mode=collect), the registered result of the same task with O(mode=start). Its RV(job) carries the
        host's context and the retry and settle options of the start, so the collect task needs no other option.
    type: dict
    version_added: 0.1.0
  options:
    description:
      - The other options as one dictionary, merged with those given directly; an option given both ways, or a key
        that is not an option, fails the task naming C(options.<key>).
      - For a role that passes many options inside the disconnection window. Ansible compiles each templated option
        again in every forked worker; the encryption role works the dictionary out before the window (its
        C(tasks_from=plan), a fact) and its switch names that variable with O(plan).
    type: dict
    version_added: 0.1.0
  plan:
    description:
      - The name of a host variable that holds O(options), a dictionary, instead of O(options).
      - The module reads the variable as the host has it, so a dictionary that C(ansible.builtin.set_fact) set
        (the encryption role's C(tasks_from=plan)) is not templated again inside the disconnection window. A
        template (the role's default, when the switch was not planned) is rendered once.
      - A name that is not a variable of the host, a value that is not a dictionary, or O(plan) with O(options),
        fails the task naming the option, before the host is touched.
    type: str
    version_added: 0.1.0
extends_documentation_fragment:
  - xprotect.encryption.raw_record
notes:
  - Supports check mode and diff mode; in check mode nothing runs on the host except reads.
"""

EXAMPLES = r"""
- name: Encrypt the groups of this host's roles
  xprotect.encryption.encryption:
    thumbprint: "{{ cert.thumbprint }}"
  become: true
  become_method: ansible.builtin.runas
  become_user: EXAMPLE\milestone-admin
"""

RETURN = r"""
groups:
  description: State of each group after the task (before, in check mode), by group name.
  returned: success
  type: dict
  sample: {"Server certificate": "enabled (6A3F...)", "Streaming media certificate": "disabled"}
reasons:
  description: What differed, e.g. C(encryption off for group Streaming media certificate, wanted 6A3F...).
  returned: success
  type: list
  elements: str
applied:
  description:
    - The Server Configurator runs, per group, with every exit code seen (C(exit_codes)); the last is 0 or a code
      reported after a local change (20, 100, 100000, 300000), which the state read back has judged.
  returned: when something changed
  type: list
  elements: dict
  sample: [{"group": "Server certificate", "action": "enable", "exit_codes": [100]}]
warnings:
  description:
    - Besides Ansible's own, one per group that exited with a code reported after a local change while the state read
      back shows the change - the code's meaning and what is left to do (usually registering the server again).
  returned: when such a code was seen
  type: list
  elements: str
looked_up:
  description:
    - What had to be looked up on the host before Server Configurator could run (C(services), C(version),
      C(groups)); empty when O(configurator) covered it all.
  returned: when something changed, outside check mode
  type: list
  elements: str
job:
  description:
    - With O(mode=start), when a Server Configurator run was started; what O(mode=collect) needs to finish the
      switch. C(id) is the async job, C(changes) the changes to make, in order (the first one started).
  returned: when O(mode=start) started a run
  type: dict
  sample: {"id": "j123456789", "changes": [["server", "enable", "6A3F..."]]}
thumbprints:
  description:
    - The thumbprint bound per group key (C(server), C(streaming), C(mobile), C(event)), or null when off, after the
      task (before, in check mode). The next switch of the host can take it as one of its O(readings).
  returned: success
  type: dict
  sample: {"server": "6A3F...", "streaming": null}
notes:
  description:
    - Why a group reads as it does, by group name, where that needs saying, e.g. no certificate bound on the port
      the component's configuration names, or a state that cannot be read.
    - A group whose state cannot be read (C(UNKNOWN) in RV(thumbprints)) is never switched; a warning says so.
  returned: when there is something to say
  type: dict
reused:
  description: The groups whose state was taken from an earlier reading (O(readings)), by name.
  returned: when O(readings) gave any
  type: list
  elements: str
roles:
  description: The roles the groups were derived from.
  returned: success
  type: list
  elements: str
"""
