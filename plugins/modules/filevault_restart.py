#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: filevault_restart
short_description: Restart a Mac with FileVault on and bring it back unlocked, over SSH
version_added: 0.2.0
description:
  - Restarts the Mac and waits until it is back in macOS, reachable with the connection's usual key login, on a new
    boot (C(sysctl kern.boottime) changed). A Mac with FileVault on would otherwise stop at the FileVault login
    window, where nobody reached over SSH can type a password.
  - "It takes one of three paths (RV(method)), chosen by the module and explained in RV(reason):"
  - V(plain) - FileVault is off; C(/sbin/shutdown -r now) and the Mac boots by itself.
  - V(authrestart) - FileVault is on and C(fdesetup supportsauthrestart) says true; C(fdesetup authrestart
    -inputplist) with a FileVault user's password, or the recovery key escrowed in O(escrow_dir), in a property list
    on stdin, unlocks the next boot once and restarts.
  - V(preboot_ssh) - macOS 26 or later on Apple silicon; a plain restart, then, when the Mac answers SSH at
    pre-boot (key login refused, host key unchanged), the FileVault user's password is typed at the pre-boot
    server's prompt through a pseudo-terminal of the controller's C(ssh). That server drops the connection on
    purpose once the Data volume is unlocked; the action plugin waits for macOS to boot and logs in with keys again.
    If an C(authrestart) did not unlock the boot, this path is tried as well when it is possible.
  - Before anything restarts, the module checks that O(user) is a FileVault user and that its password is the
    account's (C(dscl -authonly), on a terminal), so a typing mistake never reaches the pre-boot screen, where
    failed attempts count towards the FileVault limit. A wrong password at pre-boot is never retried.
  - The password is only typed to a server that shows the host key the Mac had before the restart (read with
    C(ssh-keyscan) just before it).
  - Check mode reads the Mac and says which path a run would take and why, without restarting; a Mac on which no
    path brings it back (FileVault on, no authrestart, no pre-boot SSH, or no credentials) is refused with the
    reason, in check mode too.
  - A restart is always a change; there is nothing to make idempotent. Use it in a handler, or guard it with a
    condition, when a restart is only sometimes needed.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.write_attributes
attributes:
  diff_mode:
    details: The diff shows the boot before and after (the boot time), and the path taken.
options:
  method:
    description:
      - V(auto) takes V(authrestart) when the Mac supports it and credentials are given, else V(preboot_ssh) when
        the Mac is macOS 26 or later on Apple silicon and O(user) and O(password) are given, else V(plain) when
        FileVault is off.
      - Any other value insists on that path and fails with the reason when it is not possible.
    type: str
    choices: [auto, plain, authrestart, preboot_ssh]
    default: auto
  user:
    description:
      - A FileVault user of the Mac, whose password authorises C(authrestart) or unlocks the Mac at pre-boot.
    type: str
  password:
    description: The password of O(user).
    type: str
  escrow_dir:
    description:
      - The controller directory of escrowed recovery keys (see M(macops.tokens.filevault)). Without O(user), the
        escrowed key of this Mac authorises C(authrestart). Using it there does not reveal it to anybody, so the
        escrow's ledger is not changed. The pre-boot SSH server does not take a recovery key.
    type: path
  reboot_timeout:
    description:
      - Seconds to wait, from the restart, for the Mac to be back in macOS with key login. Real Macs take one to
        three minutes; pre-boot networking can take longer to come up.
    type: int
    default: 900
  down_timeout:
    description: Seconds to wait for the Mac to go down after the restart was asked for.
    type: int
    default: 300
  preboot_user:
    description:
      - The account name typed at the pre-boot SSH server; defaults to O(user).
    type: str
  recovery_key:
    description: The action plugin fills it in from O(escrow_dir); do not set it in a task.
    type: str
  phase:
    description:
      - For the collection's action plugin only - V(plan) reads the Mac and decides, V(restart) asks for the restart,
        V(verify) reads the new boot. Do not set it in a task.
    type: str
    choices: [plan, restart, verify]
    default: plan
notes:
  - "The controller needs the OpenSSH client (C(ssh), C(ssh-keyscan)) for the V(preboot_ssh) path; the connection
    itself may be any SSH connection Ansible can reset."
  - "Pre-boot networking on macOS 26 is Ethernet without 802.1X, or a Wi-Fi network the Mac joined before
    (Apple's apple_ssh_and_filevault(7)); a Mac on any other network cannot be unlocked this way."
  - "On macOS 26 the pre-boot server works only while Remote Login was on when the Mac last booted into macOS; the
    Mac's copy of that switch lives on its Preboot volume, which this module cannot read."
seealso:
  - module: macops.tokens.filevault
  - name: apple_ssh_and_filevault(7)
    description: Apple's manual page on unlocking FileVault over SSH at pre-boot (macOS 26).
    link: https://github.com/apple-oss-distributions/OpenSSH
"""

EXAMPLES = r"""
- name: Restart every Mac and bring it back unlocked (authrestart, or the pre-boot SSH unlock on macOS 26)
  macops.tokens.filevault_restart:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
  become: true

- name: Which path would each Mac take?
  macops.tokens.filevault_restart:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
  check_mode: true
  become: true

- name: Restart with the escrowed recovery key authorising authrestart
  macops.tokens.filevault_restart:
    escrow_dir: "{{ macops_escrow_dir }}"
    method: authrestart
  become: true
"""

RETURN = r"""
method:
  description: The path taken (or that check mode would take), V(null) when none is possible.
  returned: always
  type: str
  sample: authrestart
reason:
  description: Why that path, or why none.
  returned: always
  type: str
supports_authrestart:
  description: What C(fdesetup supportsauthrestart) said.
  returned: when read
  type: bool
filevault:
  description: FileVault's state before the restart (on, off, encrypting, ...).
  returned: when read
  type: str
boottime_before:
  description: The boot time (seconds since the epoch) before the restart.
  returned: when read
  type: float
boottime:
  description: The boot time after the restart (from C(phase=verify), the boot time read).
  returned: after a restart
  type: float
unlocked_by:
  description:
    - What unlocked the new boot - V(authrestart), V(preboot_ssh), V(none) (FileVault off), or V(unknown) (the Mac
      came back with keys after an authrestart the module could not confirm).
  returned: after a restart
  type: str
preboot_attempts:
  description: How many times the password was typed at the pre-boot server (0 or 1; a refusal is never retried).
  returned: on the preboot_ssh path
  type: int
elapsed:
  description: Seconds from the restart to key login on the new boot.
  returned: after a restart
  type: float
actions:
  description: What was done (or check mode would do).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _filevault as F
from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils import _rules as rules
from ansible_collections.macops.tokens.plugins.module_utils._account import password_ok, refuse_unusable_passwords
from ansible_collections.macops.tokens.plugins.module_utils._change import ChangeError, failing
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner
from ansible_collections.macops.tokens.plugins.module_utils._tokens import find_user

PARTS = ("os", "users", "filevault")


def boottime(runner):
    return runner.read("sysctl", ["-n", "kern.boottime"], P.parse_boottime)


def plan(module, runner, p):
    """Read the Mac and choose the path (rules.restart_path); fail with the reason when there is none."""
    model = read_mac(module, PARTS, runner)
    fv_state = model["filevault"]["state"]
    model["restart"] = {"supports_authrestart": runner.read("fdesetup", ["supportsauthrestart"],
                                                            P.parse_fdesetup_bool)}
    result = {"changed": False, "filevault": fv_state, "boottime_before": boottime(runner),
              "supports_authrestart": model["restart"]["supports_authrestart"],
              "preboot_ssh_unlock": rules.preboot_ssh_unlock(model), "os_version": model["os"]["version"]}
    if p["user"]:
        user = find_user(model, p["user"])
        if fv_state in rules.ENCRYPTED and (user is None or not user["filevault_user"]):
            raise ChangeError("user %s is not a FileVault user on this Mac, so it can neither authorise authrestart "
                              "nor unlock it at pre-boot (FileVault users: %s); nothing was restarted" % (
                                  p["user"], ", ".join(u["name"] for u in model["users"] if u["filevault_user"])
                                  or "none"))
    method, reason = rules.restart_path(model, p["method"], bool(p["user"] and p["password"]),
                                        bool(p["recovery_key"]))
    result.update(method=method, reason=reason)
    if method is None:
        raise ChangeError("this Mac cannot be restarted so that it comes back by itself: %s; nothing was restarted"
                          % reason, **result)
    if method != rules.RESTART_PLAIN and p["user"] and p["password"]:
        accepted = password_ok(runner, p["user"], p["password"])[0]
        if not accepted:
            raise ChangeError("the password given for %s is not that account's password on this Mac (dscl "
                              "-authonly refused it); nothing was restarted, and nothing was typed at pre-boot, where "
                              "failed attempts count towards FileVault's limit" % p["user"], **result)
    result["changed"] = True
    result["actions"] = ["restart the Mac (%s): %s" % (method, reason)]
    return result


def restart(runner, p):
    """Ask for the restart; returns what the tool said (the connection may drop before this returns)."""
    if p["method"] == rules.RESTART_AUTHRESTART:
        data = (F.input_plist(p["user"], p["password"]) if p["user"] and p["password"]
                else F.input_plist(key_only=(p["recovery_key"] or "").strip()))
        run = runner.run("fdesetup", ["authrestart", "-inputplist"], data=data, ok_codes=None)
        if run.rc != 0:
            raise ChangeError("fdesetup authrestart refused to restart the Mac (exit code %s: %s); nothing was "
                              "restarted" % (run.rc, F.explain(run.rc)), rc=run.rc,
                              stderr=F.redact(run.err.strip()))
        return {"changed": True, "asked": "fdesetup authrestart"}
    runner.run("shutdown", ["-r", "now"])
    return {"changed": True, "asked": "shutdown -r now"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            method=dict(type="str", choices=["auto", "plain", "authrestart", "preboot_ssh"], default="auto"),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            escrow_dir=dict(type="path"),
            reboot_timeout=dict(type="int", default=900),
            down_timeout=dict(type="int", default=300),
            preboot_user=dict(type="str"),
            recovery_key=dict(type="str", no_log=True),
            phase=dict(type="str", choices=["plan", "restart", "verify"], default="plan"),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        required_together=[("user", "password")],
        supports_check_mode=True,
    )
    p = module.params
    refuse_unusable_passwords(module, [("password", p["user"], p["password"])])
    runner = Runner(module, timeout=p["timeout"])
    result = {"changed": False}
    with failing(module, result):
        if p["phase"] == "verify":
            status = runner.read("fdesetup", ["status"], P.parse_fdesetup_status)
            module.exit_json(changed=False, boottime=boottime(runner), filevault_enabled=bool(status["enabled"]))
        if p["phase"] == "restart":
            if module.check_mode:
                module.fail_json(msg="phase=restart is the action plugin's and never runs in check mode")
            module.exit_json(**restart(runner, p))
        module.exit_json(**plan(module, runner, p))


if __name__ == "__main__":
    main()
