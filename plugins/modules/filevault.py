#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: filevault
short_description: Enable or disable FileVault, add users to it, and escrow the recovery key on the controller
version_added: 0.1.0
description:
  - Makes sure FileVault is enabled (V(enabled)) or disabled (V(disabled)), and that the token holders named in
    O(users) can unlock it.
  - Enables with C(fdesetup enable -inputplist -outputplist); the credentials travel as a property list on stdin,
    never on the command line. Success is decided from the exit code and by re-reading the Mac, never from a
    message.
  - "The personal recovery key has one owner: this module's action plugin, on the controller, takes the key from
    the module's result, writes it to O(escrow_dir) (one file per Mac, named after the inventory host, encrypted
    with ansible-vault, mode 0600, written atomically; a replaced file is kept with a C(.superseded-) suffix),
    reads the file back, has the key it read validated on the Mac with C(fdesetup validaterecovery) (key on
    stdin), and only then reports success with RV(escrowed), RV(escrow_file) and RV(key_fingerprint). The key
    itself is never in the task result."
  - Escrow needs a vault password (C(--vault-password-file), C(--vault-id), C(ANSIBLE_VAULT_PASSWORD_FILE), or an
    AWX vault credential); the task fails before touching the Mac when there is none, or when O(escrow_dir) is
    missing or not writable.
  - Before enabling on macOS 10.15 and later, checks that Remote Login has Full Disk Access (by reading the
    system privacy database, which needs it), because C(fdesetup enable) refuses otherwise; the error gives the
    fix.
  - Encrypting, decrypting and deferred states are reported, not fought. Enabling while decrypting fails and
    says to wait; a deferral already configured for the same user is left as it is.
  - "The new key survives any interruption (a killed controller, a dropped connection, a cancelled job): a marker
    is written on the Mac before C(fdesetup enable) runs, the key replaces it on the Mac's disk before it is handed
    to the controller, and that copy is removed only after the controller has escrowed and validated the key. The
    next run escrows a key left there first (RV(collected_pending)); if only the marker is left on an encrypted Mac,
    the key was lost with a killed process, and the action plugin rotates and escrows a new one (it keeps the
    escrowed key when that one still unlocks the Mac)."
  - When fdesetup's output (which may hold the key) is quoted in a failure, it is withheld; a key printed by a
    failing enable is still escrowed.
  - When FileVault was enabled but the key could not be escrowed, the task fails and says how to recover; the key
    stays valid on the Mac (any FileVault user can still unlock it), and M(macops.tokens.filevault_recovery_key)
    with O(macops.tokens.filevault_recovery_key#module:force=true) rotates and escrows a new one.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.write_attributes
options:
  state:
    description: Whether FileVault must be enabled or disabled.
    type: str
    choices: [enabled, disabled]
    default: enabled
  user:
    description:
      - A secure token holder that authorises enabling or disabling, and adding O(users).
      - When neither O(user) nor O(password) is given and O(defer=true), enablement is deferred to the next
        login instead.
    type: str
  password:
    description: The password of O(user).
    type: str
  users:
    description:
      - Other users that must be FileVault users, each added with C(fdesetup add) (or with the enablement).
      - Each must hold a secure token; C(fdesetup) cannot add a user without one.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The user's short name.
        type: str
        required: true
      password:
        description: The user's password.
        type: str
        required: true
  institutional_key:
    description:
      - Path on the Mac of an institutional recovery key certificate (C(.cer)) given to C(fdesetup enable
        -certificate) when enabling.
    type: path
  defer:
    description:
      - Defer enablement to the next login (of O(defer_user) if given) with C(fdesetup enable -defer). Used only
        when O(user) and O(password) are not given.
      - macOS writes the recovery key to O(defer_output_path) on the Mac at enablement; escrow it afterwards with
        M(macops.tokens.filevault_recovery_key).
    type: bool
    default: false
  defer_user:
    description: The local or mobile account whose next login enables FileVault.
    type: str
  defer_output_path:
    description: Where macOS writes the recovery key on the Mac when a deferred enablement happens.
    type: path
    default: /var/db/fdesetup.plist
  force_at_login:
    description:
      - How many times the user may cancel enablement at login before it is forced (0 forces at the next login,
        -1 ignores the limit); C(fdesetup -forceatlogin).
    type: int
  dont_ask_at_logout:
    description: Do not ask at logout, only at login (C(fdesetup -dontaskatlogout)).
    type: bool
    default: false
  escrow_dir:
    description:
      - A directory on the controller, which must exist, where the action plugin writes each Mac's recovery key,
        vault-encrypted. Required to enable with credentials. There is no default location on purpose.
      - Under AWX, a job's execution environment is thrown away after the job; mount a persistent volume there.
    type: path
seealso:
  - module: macops.tokens.filevault_info
  - module: macops.tokens.filevault_recovery_key
"""

EXAMPLES = r"""
- name: Enable FileVault and escrow the recovery key on the controller
  macops.tokens.filevault:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
    escrow_dir: "{{ macops_escrow_dir }}"
  become: true

- name: Enable FileVault at the next login of whoever logs in, forced
  macops.tokens.filevault:
    defer: true
    force_at_login: 0
  become: true

- name: Make sure another token holder can unlock FileVault
  macops.tokens.filevault:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
    users:
      - name: jdoe
        password: "{{ macops_user_passwords['jdoe'] }}"
    escrow_dir: "{{ macops_escrow_dir }}"
  become: true
"""

RETURN = r"""
filevault:
  description: The FileVault state after the task, re-read from the Mac (as in M(macops.tokens.filevault_info)).
  returned: success
  type: dict
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["enable FileVault authorised by macadmin", "add jdoe to FileVault"]
escrowed:
  description: Whether a new recovery key was written to O(escrow_dir), read back and validated on the Mac.
  returned: always
  type: bool
escrow_file:
  description: The controller path of the vault-encrypted escrow file, when a key was escrowed.
  returned: when a key was escrowed
  type: str
key_fingerprint:
  description: The first 16 hexadecimal digits of the SHA-256 of the escrowed key, to match a key without showing it.
  returned: when a key was escrowed
  type: str
collected_pending:
  description: Whether the task escrowed a key an interrupted run had left on the Mac (nothing else is done then).
  returned: when such a key was found
  type: bool
diff:
  description: The FileVault state and users before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _filevault as F
from ansible_collections.macops.tokens.plugins.module_utils._account import refuse_unusable_passwords, require_password
from ansible_collections.macops.tokens.plugins.module_utils._change import (Action, ChangeError, Expect, Plan,
                                                                            carry_out, failing)
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner
from ansible_collections.macops.tokens.plugins.module_utils._tokens import find_user

PARTS = ("os", "users", "filevault")
ON = ("on", "encrypting")


def view(model):
    fv = model["filevault"]
    return {"state": fv["state"], "deferred_user": fv["deferred_user"],
            "users": sorted(u["name"] for u in model["users"] if u["filevault_user"])}


def require_token_holder(model, name, role):
    user = find_user(model, name)
    if user is None:
        raise ChangeError("%s %s is not an account on this Mac" % (role, name))
    if not user["secure_token"]:
        holders = [u["name"] for u in model["users"] if u["secure_token"]]
        raise ChangeError("%s %s holds no secure token, so FileVault cannot use it; grant one first with "
                          "macops.tokens.secure_token (token holders here: %s)" % (role, name, ", ".join(holders)
                                                                                   or "none"))
    return user


def check_full_disk_access(model):
    if tuple(model["os"]["version_tuple"]) < (10, 15):
        return
    if F.full_disk_access() is False:
        raise ChangeError("Remote Login has no Full Disk Access, and since macOS 10.15 fdesetup refuses to enable "
                          "FileVault without it. Fix: turn on 'Allow full disk access for remote users' (System "
                          "Settings > General > Sharing > Remote Login), or deploy a Privacy Preferences Policy "
                          "Control profile granting SystemPolicyAllFiles to /usr/libexec/sshd-keygen-wrapper; "
                          "nothing was changed")


# The actions: each is one fdesetup call, its input on stdin, its failure named.

def fdesetup(runner, args, what, data=None, ok=(0,)):
    run = runner.run("fdesetup", args, ok_codes=None, data=data)
    if run.rc not in ok:
        raise F.tool_failed(run, what)
    return run


def defer(runner, p):
    args = ["enable", "-defer", p["defer_output_path"]]
    if p["defer_user"]:
        args += ["-user", p["defer_user"]]
    if p["force_at_login"] is not None:
        args += ["-forceatlogin", str(p["force_at_login"])]
    if p["dont_ask_at_logout"]:
        args.append("-dontaskatlogout")
    fdesetup(runner, args, "deferred enablement failed", ok=(0, 32))


def enable_now(module, runner, p, additional, result):
    args = ["enable", "-inputplist", "-outputplist"]
    if p["institutional_key"]:
        args += ["-certificate", p["institutional_key"]]
    run, doc = F.run_keeping_key(runner, args, F.input_plist(p["user"], p["password"], additional), "enable", result)
    if run.rc == 24:
        return  # enabled meanwhile: the state re-read decides
    if run.rc != 0:
        raise F.tool_failed(run, "enabling FileVault failed%s" % (
            "; the key it printed is escrowed before this task fails" if doc.get("RecoveryKey") else ""))
    if not doc.get("RecoveryKey"):
        module.warn("fdesetup enable exited 0 but printed no recovery key: no key was escrowed. Once FileVault is on, "
                    "run macops.tokens.filevault_recovery_key (it rotates the key, since this run left a marker on "
                    "the Mac)")


# What the re-read Mac must show, and the cause named when it does not.

def comes_on(model):
    """FileVault on (or encrypting), or waiting for the restart that turns it on."""
    return Expect(model["filevault"]["state"] if model["filevault"]["state"] in ON else "on",
                  lambda state, after: state in ON or bool(after["filevault"]["restart_pending"]))


def holds_users(shown, names):
    return Expect(sorted(shown), lambda users, after: set(names) <= set(users or []))


def enable_not_taken(p):
    def cause(wrong, after):
        fv = after["filevault"]
        if "state" in wrong:
            if p["user"] and p["password"]:
                return ChangeError("fdesetup enable succeeded but FileVault is %s when re-read" % fv["state"],
                                   filevault=fv)
            return ChangeError("the deferred enablement is not configured when re-read (FileVault is %s)"
                               % fv["state"], filevault=fv)
        missing = [e["name"] for e in p["users"] if not (find_user(after, e["name"]) or {}).get("filevault_user")]
        return ChangeError("%s not FileVault user(s) after the change" % ", ".join(missing), filevault=fv)
    return cause


def disable_not_taken(wrong, after):
    fv = after["filevault"]
    return ChangeError("FileVault is still %s after fdesetup disable" % fv["state"], filevault=fv)


# The plans: every input checked against the model read once; nothing is changed here.

def plan_enable(module, runner, model, result):
    p, fv = module.params, model["filevault"]
    state = fv["state"]
    credentials = bool(p["user"] or p["password"])
    if credentials and not (p["user"] and p["password"]):
        raise ChangeError("user and password go together: give both (a token holder and its password), or "
                          "neither with defer=true")
    if not credentials and not p["defer"]:
        if state in ON or state == "deferred":
            if p["users"]:
                raise ChangeError("user and password are required to add users to FileVault")
            return Plan()
        raise ChangeError("FileVault is %s: give user and password (a token holder) to enable it now, or "
                          "defer=true to enable it at the next login" % state)
    if state == "decrypting":
        raise ChangeError("FileVault is decrypting (%s%% done); it cannot be enabled until decryption has "
                          "finished: wait and run this again" % ("%g" % fv["percent"] if fv["percent"] is not None
                                                                 else "?"))
    if not credentials:  # deferred enablement
        if state in ON:
            return Plan()
        if state == "deferred" and (p["defer_user"] is None or fv["deferred_user"] in (None, p["defer_user"])):
            return Plan()
        if p["defer_user"] and find_user(model, p["defer_user"]) is None:
            raise ChangeError("defer_user %s is not an account on this Mac" % p["defer_user"])
        check_full_disk_access(model)
        actions = [Action("remove the deferral for %s" % fv["deferred_user"],
                          lambda: fdesetup(runner, ["disable"], "the existing deferral could not be removed"))
                   ] if state == "deferred" else []
        actions.append(Action("defer FileVault enablement to the next login%s" % (
            " of %s" % p["defer_user"] if p["defer_user"] else ""), lambda: defer(runner, p)))
        return Plan(actions, {"state": Expect("deferred", lambda got, after: got in ON + ("deferred",)),
                              "deferred_user": Expect(p["defer_user"], lambda got, after: True)},
                    enable_not_taken(p))
    authoriser = require_token_holder(model, p["user"], "user")
    others = []
    for entry in p["users"]:
        other = require_token_holder(model, entry["name"], "users entry")
        if not other["filevault_user"] or state not in ON:
            others.append(entry)
    listed = [e["name"] for e in p["users"]]
    users = set(view(model)["users"]) | set(listed)
    if state in ON:
        if not authoriser["filevault_user"]:
            raise ChangeError("user %s is not a FileVault user, so it cannot add others; give a FileVault user "
                              "(FileVault users here: %s)" % (p["user"], ", ".join(view(model)["users"]) or "none"))
        actions = [Action(F.says_add(e["name"]), lambda e=e: fdesetup(
            runner, ["add", "-inputplist"], "adding %s to FileVault failed" % e["name"],
            data=F.input_plist(p["user"], p["password"], [(e["name"], e["password"])])))
            for e in others if e["name"] != p["user"]]
    else:
        check_full_disk_access(model)
        added = [e for e in others if e["name"] != p["user"]]
        actions = [Action(F.says_enable(p["user"], [e["name"] for e in added]),
                          lambda: enable_now(module, runner, p, [(e["name"], e["password"]) for e in added], result))]
        users |= set(u["name"] for u in model["users"] if u["secure_token"])  # APFS: every token holder unlocks (R6)
    return Plan(actions, {"state": comes_on(model), "users": holds_users(users, listed)}, enable_not_taken(p))


def plan_disable(module, runner, model, result):
    p, state = module.params, model["filevault"]["state"]
    if state in ("off", "decrypting"):
        return Plan()  # decrypting is already on its way off: reported, not fought
    off = {"state": Expect("off", lambda got, after: got in ("off", "decrypting"))}
    if state == "deferred":
        return Plan([Action("remove the deferred enablement",
                            lambda: fdesetup(runner, ["disable"], "disabling FileVault failed"))], off,
                    disable_not_taken)
    if not (p["user"] and p["password"]):
        raise ChangeError("user and password (a FileVault user) are required to disable FileVault")
    user = find_user(model, p["user"])
    if user is None or not user["filevault_user"]:
        raise ChangeError("user %s is not a FileVault user on this Mac (FileVault users: %s)"
                          % (p["user"], ", ".join(view(model)["users"]) or "none"))
    data = F.input_plist(p["user"], p["password"])
    return Plan([Action("disable FileVault authorised by %s" % p["user"], lambda: fdesetup(
        runner, ["disable", "-inputplist"], "disabling FileVault failed", data=data))], off, disable_not_taken)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            users=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True))),
            institutional_key=dict(type="path"),
            defer=dict(type="bool", default=False),
            defer_user=dict(type="str"),
            defer_output_path=dict(type="path", default="/var/db/fdesetup.plist"),
            force_at_login=dict(type="int"),
            dont_ask_at_logout=dict(type="bool", default=False),
            escrow_dir=dict(type="path"),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        supports_check_mode=True,
    )
    p = module.params
    refuse_unusable_passwords(module, [("password", p["user"], p["password"])] + [
        ("users[%d].password" % i, e["name"], e["password"]) for i, e in enumerate(p["users"])])
    before = read_mac(module, PARTS)
    runner = Runner(module, timeout=p["timeout"])
    result = {"changed": False, "actions": [], "escrowed": False}
    with failing(module, result):
        waiting = F.collect_pending(module, runner, before) if p["state"] == "enabled" else {}
        if waiting.get("recovery_key"):
            # A key an interrupted run left on the Mac: escrow it first; nothing else is done in this run.
            module.exit_json(changed=True, actions=[waiting["action"]], escrowed=False,
                             filevault=before["filevault"], **waiting["result"])
        plan = (plan_enable if p["state"] == "enabled" else plan_disable)(module, runner, before, result)
        if waiting.get("marker") and p["state"] == "enabled" and p["user"] and p["password"]:
            result["key_lost"] = True  # the action plugin rotates the key: the one an interrupted run created is lost
            module.warn(waiting["action"])
        if plan.actions and p["user"] and p["password"]:
            # The user holds a token (checked above), so this check cannot grant a first token.
            require_password(module, runner, p["user"], p["password"])
    after = carry_out(module, plan, before, view, lambda: read_mac(module, PARTS), result)
    module.exit_json(filevault=after["filevault"], **result)


if __name__ == "__main__":
    main()
