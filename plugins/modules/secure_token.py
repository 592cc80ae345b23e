#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: secure_token
short_description: Grant or remove a user's secure token, verified afterwards
version_added: 0.1.0
description:
  - Makes sure a user holds (V(present)) or does not hold (V(absent)) a secure token.
  - Grants with C(sysadminctl -secureTokenOn), both passwords fed on stdin, never on the command line.
    C(sysadminctl) exits 0 even when it fails, so its exit code is ignored; the grant counts only when re-reading
    the Mac shows the token (the APFS crypto users and AuthenticationAuthority, and C(fdesetup list) when
    FileVault is on).
  - Checks both passwords first with C(dscl -authonly) answered on a pseudo-terminal, except where an
    authentication would itself grant the first token (nobody holds one, on 10.13 to 10.15, or the account is
    pre-hashed, on 11 and later). There the authentication is the change, done only as the deliberate first-token
    step and never in check mode.
  - When nobody holds a token, follows the version's first-token rule and says which in RV(first_token_rule).
    On 10.14.2 and later a grant authenticated by a token-less administrator gives both accounts a token (R11);
    before that, the only user with UID 500 or above gets it by authenticating (R10).
  - After a grant while FileVault is on, runs C(diskutil apfs updatePreboot /) so the user appears at the
    FileVault login window, and reports it.
  - Volume ownership (Apple silicon) is reported, never a goal.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
options:
  user:
    description: Short name of the account.
    type: str
    required: true
  state:
    description: Whether the account must hold a secure token.
    type: str
    choices: [present, absent]
    default: present
  user_password:
    description:
      - The account's password. Required to grant or remove a token; macOS needs it to wrap the token.
    type: str
  admin_user:
    description:
      - An administrator who holds a secure token and authorises the change.
      - When nobody holds a token (10.14.2 and later), a token-less administrator, who then gets a token too.
    type: str
  admin_password:
    description: The password of O(admin_user).
    type: str
  promote_grantor:
    description:
      - Allow O(admin_user) to be a standard user who holds a token. It is added to the C(admin) group for the
        grant and removed again afterwards, also when the grant fails.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), remove the token even from the last token holder, or the last administrator holding
        one. Without a holder nobody can unlock FileVault, grant tokens or authorise updates.
    type: bool
    default: false
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
    details: The action plugin only keeps the passwords out of ansible-core's report of a failed task.
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Passwords are checked in check mode only where checking cannot grant a first token.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: macOS
seealso:
  - module: macops.tokens.secure_token_info
"""

EXAMPLES = r"""
- name: Give a command-line created user a secure token
  macops.tokens.secure_token:
    user: labuser
    user_password: "{{ labuser_password }}"
    admin_user: "{{ macops_admin_user }}"
    admin_password: "{{ macops_admin_password }}"
  become: true
  no_log: true

- name: Let the only token holder, a standard user, grant the administrator a token
  macops.tokens.secure_token:
    user: macadmin
    user_password: "{{ macops_admin_password }}"
    admin_user: student
    admin_password: "{{ student_password }}"
    promote_grantor: true
  become: true
  no_log: true
"""

RETURN = r"""
user:
  description: The account.
  returned: always
  type: str
  sample: labuser
secure_token:
  description: Whether the account holds a secure token after the task (as re-read from the Mac).
  returned: success
  type: bool
  sample: true
first_token_rule:
  description: The first-token rule followed when nobody held a token (V(R10) or V(R11)), else V(null).
  returned: success
  type: str
  sample: R11
granted_also:
  description: Other accounts that got a token with this one (the administrator, under V(R11)).
  returned: success
  type: list
  elements: str
preboot_updated:
  description: Whether C(diskutil apfs updatePreboot /) ran after the grant (FileVault on).
  returned: success
  type: bool
promoted:
  description: Whether O(admin_user) was added to the admin group for the grant (and removed again).
  returned: success
  type: bool
volume_owner:
  description: Whether the account is a volume owner afterwards (Apple silicon; V(null) on Intel, and in check mode
    before a grant, since whether a grant confers ownership is not settled).
  returned: success
  type: bool
diff:
  description: Token state before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {secure_token: false}, after: {secure_token: true}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils._account import refuse_unusable_passwords, require_password
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner, ToolError
from ansible_collections.macops.tokens.plugins.module_utils._tokens import (PlanError,
                                                                            authentication_grants_first_token,
                                                                            find_user, plan_grant, plan_remove)

PARTS = ("os", "users", "filevault")
SYSADMINCTL_ERRORS = {
    "authentication_failed": "sysadminctl could not authenticate %(admin)s (-14090): the admin password is wrong",
    "no_secure_token_unlock": "sysadminctl says the operation needs a secure token unlock: %(admin)s holds no usable "
                              "token (its password may have been reset without the old one, which breaks the token)",
    "interaction_not_allowed": "sysadminctl refused with errAuthorizationInteractionNotAllowed: the authorizationdb "
                               "is hardened against non-interactive use by root; run 'security authorizationdb reset' "
                               "or make the change at the Mac",
    "framework_auth_failed": "sysadminctl failed to authenticate with the SystemAdministration framework",
    "unknown_user": "sysadminctl does not know %(user)s",
    "own_sep_credential": "sysadminctl refuses to remove the secure token of %(admin)s authorised by %(admin)s itself "
                          "('User cannot disable their own SEP credential'): authorise the removal with another "
                          "administrator who holds a token (macOS offers no way to remove the last holder's token)",
}


def sysadminctl(module, runner, verb, user, admin, user_password, admin_password, cleanup=None):
    """Run a token verb with both passwords on stdin; fail on a known error text, after ``cleanup`` (a callable
    returning an extra sentence or None) has run, so nothing this task changed is left behind by a failure."""
    data = "%s\n%s\n" % (admin_password, user_password)  # mkuser's order: the administrator's line first
    try:
        result = runner.run("sysadminctl", [verb, user, "-password", "-", "-adminUser", admin, "-adminPassword",
                                            "-"], data=data, ok_codes=None)
    except ToolError as exc:
        extra = cleanup() if cleanup else None
        module.fail_json(msg=str(exc) + ("; " + extra if extra else ""), **exc.details())
    extra = cleanup() if cleanup else None
    code = P.sysadminctl_error(result.err + "\n" + result.out)
    if code or extra:
        msg = SYSADMINCTL_ERRORS[code] % {"admin": admin, "user": user} if code else "the grant command ran"
        module.fail_json(msg=msg + ("; " + extra if extra else ""), cmd=result.command, rc=result.rc,
                         stderr=result.err)
    return result


def admin_members(runner):
    """The admin group's members, read again now (a reply without root is a failed read, never a fact)."""
    return set(runner.read("dscl", [".", "-read", "/Groups/admin", "GroupMembership"], P.parse_admin_group))


def set_admin(runner, name, add):
    runner.run("dseditgroup", ["-o", "edit", "-a" if add else "-d", name, "-t", "user", "admin"])


def promote(module, runner, name, result):
    """Add ``name`` to admin for the grant; True only when this run added it, proven by reading the group again."""
    if name in admin_members(runner):
        module.fail_json(msg="admin_user %s is a member of the admin group when read again, although the first read "
                             "said it was not; the admin group is left alone and nothing was changed: run again"
                             % name, **result)
    try:
        set_admin(runner, name, add=True)
    except ToolError as exc:
        left = demote(runner, name) if name in admin_members(runner) else None
        module.fail_json(msg="adding %s to the admin group for the grant failed (%s)%s" % (
            name, exc, "; " + left if left else "; the admin group is as it was"), **dict(exc.details(), **result))
    if name not in admin_members(runner):
        module.fail_json(msg="dseditgroup did not add %s to the admin group (read again: not a member); nothing "
                             "else was changed" % name, **result)
    result["promoted"] = True
    return True


def demote(runner, name):
    """Undo promote(): remove ``name`` from admin and prove it by reading again; a failure is reported, never hidden."""
    try:
        set_admin(runner, name, add=False)
        still = name in admin_members(runner)
    except ToolError as exc:
        still, cause = None, str(exc)
    else:
        cause = "read again, it is still a member"
    if still is False:
        return None
    return ("%s was added to the admin group for the grant by this task and could not be removed again (%s): remove "
            "it with 'dseditgroup -o edit -d %s -t user admin'" % (name, cause, name))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            user_password=dict(type="str", no_log=True),
            admin_user=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
            promote_grantor=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=60),
        ),
        required_if=[("state", "present", ("user_password",))],
        supports_check_mode=True,
    )
    p = module.params
    name = p["user"]
    refuse_unusable_passwords(module, [("user_password", name, p["user_password"]),
                                       ("admin_password", p["admin_user"], p["admin_password"])])
    before = read_mac(module, PARTS)
    try:
        plan = (plan_grant(before, name, p["admin_user"], p["promote_grantor"]) if p["state"] == "present"
                else plan_remove(before, name, p["admin_user"], p["force"]))
    except PlanError as exc:
        module.fail_json(msg=str(exc), user=name)
    had = bool(find_user(before, name)["secure_token"])
    result = {"changed": plan["action"] != "none", "user": name, "first_token_rule": None, "granted_also": [],
              "preboot_updated": False, "promoted": False}
    if plan["action"] != "none":
        if p["state"] == "present" and p["user_password"] == "":
            module.fail_json(msg="user_password is empty: macOS cannot wrap a secure token with a blank password; "
                                 "set a password for %s first" % name, user=name)
        if p["state"] == "absent" and not p["user_password"]:
            module.fail_json(msg="user_password is required to remove the secure token of %s: sysadminctl needs "
                                 "the account's own password for that" % name, user=name)
        if plan["grantor"] and not p["admin_password"]:
            module.fail_json(msg="admin_password is required (and must not be blank) for admin_user %s"
                                 % plan["grantor"], user=name)
    want = p["state"] == "present"
    if module._diff:
        result["diff"] = {"before": {"secure_token": had},
                          "after": {"secure_token": want if result["changed"] else had}}
    if plan["action"] == "none":
        user = find_user(before, name)
        module.exit_json(secure_token=had, volume_owner=user["volume_owner"], **result)
    runner = Runner(module, timeout=p["timeout"])
    target = find_user(before, name)
    # Checking passwords is safe unless an authentication itself grants the first token (R10, R12, R16).
    if plan["action"] in ("grant", "remove"):
        try:
            if want:
                require_password(module, runner, name, p["user_password"])
            require_password(module, runner, plan["grantor"], p["admin_password"])
        except ToolError as exc:
            module.fail_json(msg=str(exc), **exc.details())
    if module.check_mode:
        result["first_token_rule"] = plan.get("rule") if plan["action"] in ("grant_both", "authenticate") else None
        if plan["action"] == "grant_both":
            result["granted_also"] = [plan["grantor"]]
        # Whether a grant confers volume ownership is not settled by the sources: unknown until it is done.
        module.exit_json(secure_token=want, volume_owner=None if want else target["volume_owner"], **result)
    try:
        if plan["action"] == "authenticate":
            if not authentication_grants_first_token(before, target):  # pragma: no cover - guarded by the plan
                module.fail_json(msg="internal error: no first-token rule applies")
            require_password(module, runner, name, p["user_password"])
            result["first_token_rule"] = plan["rule"]
        elif plan["action"] == "remove":
            sysadminctl(module, runner, "-secureTokenOff", name, plan["grantor"], p["user_password"] or "",
                        p["admin_password"])
        else:
            added = plan["promote"] and promote(module, runner, plan["grantor"], result)
            sysadminctl(module, runner, "-secureTokenOn", name, plan["grantor"], p["user_password"],
                        p["admin_password"], cleanup=(lambda: demote(runner, plan["grantor"])) if added else None)
            if plan["action"] == "grant_both":
                result["first_token_rule"] = plan["rule"]
                result["granted_also"] = [plan["grantor"]]
    except ToolError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    after = read_mac(module, PARTS)
    user = find_user(after, name)
    if bool(user["secure_token"]) != want or user["token_state"] == "inconsistent":
        cause = ""
        if want and not before["token_holders"] and after.get("orphan_crypto_users"):
            cause = ("; the volume still holds the key of a deleted account (%s), which macOS may count as the "
                     "first secure token (see the orphaned_crypto_user finding)"
                     % ", ".join(after["orphan_crypto_users"]))
        module.fail_json(msg="the change did not take: after the command %s %s a secure token (signals: %s); "
                             "sysadminctl exits 0 even when it fails, so the Mac was re-read to check%s"
                         % (name, "still holds" if not want else "does not hold", user["token_signals"], cause),
                         **result)
    if want and after["filevault"]["state"] in ("on", "encrypting", "decrypting"):
        try:
            preboot = runner.run("diskutil", ["apfs", "updatePreboot", "/"], ok_codes=None)
        except ToolError as exc:
            module.fail_json(msg=str(exc), **exc.details())
        if not P.parse_updatepreboot(preboot.out + preboot.err):
            module.fail_json(msg="the token was granted but diskutil apfs updatePreboot / did not report success; "
                                 "%s may not appear at the FileVault login window until it runs" % name,
                             cmd=preboot.command, rc=preboot.rc, stdout=preboot.out, stderr=preboot.err)
        result["preboot_updated"] = True
    module.exit_json(secure_token=bool(user["secure_token"]), volume_owner=user["volume_owner"], **result)


if __name__ == "__main__":
    main()
