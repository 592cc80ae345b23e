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
  - macops.tokens._common.write_attributes
options:
  user:
    description:
      - Short name of the account.
      - Exactly one of O(user) and O(users) is required.
    type: str
  users:
    description:
      - Grant a token to each of these accounts in one task (O(state=present) only), reading the Mac once before
        and once after, with C(diskutil apfs updatePreboot /) run once at the end when FileVault is on.
      - Every account is planned, checked and verified on its own; an account that cannot get a token is
        reported in RV(users) with the reason, the others are still granted, and the task then fails naming them.
      - Needs a token holder already; the first token on a Mac is given with O(user), which follows the
        version's first-token rule.
    type: list
    elements: str
    version_added: 0.2.0
  user_passwords:
    description:
      - With O(users), short name to password, one for every listed account.
    type: dict
    version_added: 0.2.0
  state:
    description: Whether the account must hold a secure token.
    type: str
    choices: [present, absent]
    default: present
  user_password:
    description:
      - The account's password. Required to grant or remove a token with O(user); macOS needs it to wrap the
        token.
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
    details: The action plugin only keeps the passwords out of ansible-core's report of a failed task.
  check_mode:
    details: Passwords are checked in check mode only where checking cannot grant a first token.
seealso:
  - module: macops.tokens.secure_token_info
"""

EXAMPLES = r"""
- name: Give every command-line created user whose password is known a token, in one task
  macops.tokens.secure_token:
    users: [labuser, kiosk]
    user_passwords: "{{ macops_user_passwords }}"
    admin_user: "{{ macops_admin_user }}"
    admin_password: "{{ macops_admin_password }}"
  become: true
  no_log: true

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
  description: The account (V(null) with O(users)).
  returned: always
  type: str
  sample: labuser
users:
  description:
    - With O(users), one entry per listed account, failed or not - C(user), C(changed), C(secure_token) (as
      re-read), C(volume_owner) (after a grant) and C(error) (why it got no token, else V(null)).
  returned: with O(users)
  type: list
  elements: dict
  sample: [{user: labuser, changed: true, secure_token: true, volume_owner: false, error: null}]
actions:
  description: With O(user), the change made (or that check mode would make); empty when the account is already as
    asked.
  returned: with O(user), when the task got as far as deciding
  type: list
  elements: str
  sample: ["grant a secure token to labuser authorised by macadmin"]
secure_token:
  description: Whether the account holds a secure token after the task (as re-read from the Mac).
  returned: success, with O(user)
  type: bool
  sample: true
first_token_rule:
  description: The first-token rule followed when nobody held a token (V(R10) or V(R11)), else V(null).
  returned: success, with O(user)
  type: str
  sample: R11
granted_also:
  description: Other accounts that got a token with this one (the administrator, under V(R11)).
  returned: success, with O(user)
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
  returned: success, with O(user)
  type: bool
diff:
  description: Token state before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {secure_token: false}, after: {secure_token: true}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils._account import (LONG_PASSWORD, MAX_PROMPT_BYTES,
                                                                             check_password,
                                                                             refuse_unusable_passwords,
                                                                             require_password)
from ansible_collections.macops.tokens.plugins.module_utils._change import (Action, ChangeError, Expect, Plan,
                                                                            as_change_error, carry_out, failing,
                                                                            mismatches)
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner, ToolError
from ansible_collections.macops.tokens.plugins.module_utils._rules import authentication_grants_first_token
from ansible_collections.macops.tokens.plugins.module_utils._tokens import (PlanError, find_user, plan_grant,
                                                                            plan_remove)

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


def sysadminctl(runner, verb, user, admin, user_password, admin_password, cleanup=None):
    """Run a token verb with both passwords on stdin; raise ChangeError on a known error text, after ``cleanup``
    (a callable returning an extra sentence or None) has run, so nothing this task changed is left behind."""
    data = "%s\n%s\n" % (admin_password, user_password)  # mkuser's order: the administrator's line first
    try:
        result = runner.run("sysadminctl", [verb, user, "-password", "-", "-adminUser", admin, "-adminPassword",
                                            "-"], data=data, ok_codes=None)
    except ToolError as exc:
        extra = cleanup() if cleanup else None
        raise as_change_error(exc, suffix="; " + extra if extra else "")
    extra = cleanup() if cleanup else None
    code = P.sysadminctl_error(result.err + "\n" + result.out)
    if code or extra:
        msg = SYSADMINCTL_ERRORS[code] % {"admin": admin, "user": user} if code else "the grant command ran"
        raise ChangeError(msg + ("; " + extra if extra else ""), cmd=result.command, rc=result.rc, stderr=result.err)
    return result


def admin_members(runner):
    """The admin group's members, read again now (a reply without root is a failed read, never a fact)."""
    return set(runner.read("dscl", [".", "-read", "/Groups/admin", "GroupMembership"], P.parse_admin_group))


def set_admin(runner, name, add):
    runner.run("dseditgroup", ["-o", "edit", "-a" if add else "-d", name, "-t", "user", "admin"])


def promote(runner, name, result):
    """Add ``name`` to admin for the grant; True only when this run added it, proven by reading the group again."""
    if name in admin_members(runner):
        raise ChangeError("admin_user %s is a member of the admin group when read again, although the first read "
                          "said it was not; the admin group is left alone and nothing was changed: run again" % name)
    try:
        set_admin(runner, name, add=True)
    except ToolError as exc:
        left = demote(runner, name) if name in admin_members(runner) else None
        raise ChangeError("adding %s to the admin group for the grant failed (%s)%s" % (
            name, exc, "; " + left if left else "; the admin group is as it was"), **exc.details())
    if name not in admin_members(runner):
        raise ChangeError("dseditgroup did not add %s to the admin group (read again: not a member); nothing else "
                          "was changed" % name)
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


def not_taken(name, user, want, cause=""):
    """The message for a change that the re-read Mac does not show (sysadminctl exits 0 even when it fails)."""
    return ("the change did not take: after the command %s %s a secure token (signals: %s); sysadminctl exits 0 "
            "even when it fails, so the Mac was re-read to check%s"
            % (name, "still holds" if not want else "does not hold", user.get("token_signals"), cause))


def update_preboot(runner, names):
    """After grants while FileVault is on: ``diskutil apfs updatePreboot /``, so they appear at the FileVault login
    window; raises ChangeError when it does not report success."""
    preboot = runner.run("diskutil", ["apfs", "updatePreboot", "/"], ok_codes=None)
    if not P.parse_updatepreboot(preboot.out + preboot.err):
        raise ChangeError("the token%s granted but diskutil apfs updatePreboot / did not report success; %s may not "
                          "appear at the FileVault login window until it runs"
                          % (" was" if len(names) == 1 else "s were", ", ".join(names)),
                          cmd=preboot.command, rc=preboot.rc, stdout=preboot.out, stderr=preboot.err)


def _password_refused(module, runner, name, password):
    problem, _refusal, checked = check_password(runner, name, password)
    if not checked and not problem:
        module.warn(LONG_PASSWORD % (name, MAX_PROMPT_BYTES))
    return problem


def grant_many(module, p):
    """``users``: grant every listed account a token in one task, reading the Mac once before and once after.

    Each account is planned on its own (R26; accounts that already hold one are left alone); an account whose plan
    or password fails is reported in ``users`` with the reason, the others are still granted. Needs a token holder
    already (the first token is a single-account task: it follows the version's first-token rule).
    """
    names, passwords, admin = p["users"], p["user_passwords"] or {}, p["admin_user"]
    if len(set(names)) != len(names):
        module.fail_json(msg="users lists an account twice; list each account once")
    missing = [n for n in names if not passwords.get(n)]
    if missing:
        module.fail_json(msg="user_passwords has no (or a blank) password for %s: macOS needs each account's own "
                             "password to wrap its token; add it, or leave the account out of users"
                             % ", ".join(missing))
    refuse_unusable_passwords(module, [("user_passwords", n, passwords[n]) for n in names]
                              + [("admin_password", admin, p["admin_password"])])
    before = read_mac(module, PARTS)
    entries = dict((n, {"user": n, "changed": False, "secure_token": None, "error": None}) for n in names)
    todo, grantor, promote_needed = [], None, False
    for name in names:
        try:
            plan = plan_grant(before, name, admin, p["promote_grantor"])
        except PlanError as exc:
            entries[name]["error"] = str(exc)
            continue
        if plan["action"] == "none":
            entries[name]["secure_token"] = True
        elif plan["action"] != "grant":
            entries[name]["error"] = ("nobody holds a secure token on this Mac, so %s cannot be granted one in a "
                                      "batch: give the first token with user=%s (it follows the version's "
                                      "first-token rule), then run the batch" % (name, name))
        else:
            todo.append(name)
            grantor, promote_needed = plan["grantor"], plan["promote"]
    # One list of the entries, in the order given: every failure and the final result report all of them.
    result = {"changed": False, "user": None, "users": [entries[n] for n in names], "promoted": False,
              "preboot_updated": False}
    if todo and not p["admin_password"]:
        module.fail_json(msg="admin_password is required (and must not be blank) for admin_user %s" % grantor,
                         users=result["users"])
    if module._diff:
        result["diff"] = {"before": dict((n, {"secure_token": _had(before, n)}) for n in names),
                          "after": dict((n, {"secure_token": True if n in todo else entries[n]["secure_token"]})
                                        for n in names)}
    runner = Runner(module, timeout=p["timeout"])
    if todo:
        with failing(module, result):
            problem = _password_refused(module, runner, grantor, p["admin_password"])
            if problem:
                raise ChangeError(problem + " (nothing was changed)")
        for name in list(todo):
            problem = _password_refused(module, runner, name, passwords[name])
            if problem:
                entries[name]["error"] = problem + " (nothing was changed for it)"
                todo.remove(name)
    result["changed"] = bool(todo)
    if module.check_mode or not todo:
        for name in todo:
            entries[name].update(changed=True, secure_token=True)
        _finish(module, result)
    with failing(module, result):
        added = promote_needed and promote(runner, grantor, result)
        try:
            for name in todo:
                try:
                    sysadminctl(runner, "-secureTokenOn", name, grantor, passwords[name], p["admin_password"])
                except ChangeError as exc:
                    entries[name]["error"] = exc.msg
        finally:
            left = demote(runner, grantor) if added else None
        if left:
            raise ChangeError(left)
    after = read_mac(module, PARTS)
    granted = []
    for name in todo:
        user = find_user(after, name) or {}
        wrong = mismatches({"secure_token": True, "token_state": "enabled"},
                           {"secure_token": bool(user.get("secure_token")), "token_state": user.get("token_state")})
        entries[name].update(secure_token=bool(user.get("secure_token")), volume_owner=user.get("volume_owner"))
        if not wrong:
            entries[name]["changed"] = True
            granted.append(name)
        elif not entries[name]["error"]:
            entries[name]["error"] = not_taken(name, user, want=True)
    result["changed"] = bool(granted)
    if granted and after["filevault"]["state"] in ("on", "encrypting", "decrypting"):
        with failing(module, result):
            update_preboot(runner, granted)
        result["preboot_updated"] = True
    _finish(module, result)


def _had(model, name):
    user = find_user(model, name)
    return bool(user["secure_token"]) if user else None


def _finish(module, result):
    errors = ["%s: %s" % (e["user"], e["error"]) for e in result["users"] if e["error"]]
    if errors:
        module.fail_json(msg="%d of %d accounts got no secure token: %s" % (len(errors), len(result["users"]),
                                                                            "; ".join(errors)), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str"),
            users=dict(type="list", elements="str"),
            user_passwords=dict(type="dict", no_log=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            user_password=dict(type="str", no_log=True),
            admin_user=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
            promote_grantor=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        required_one_of=[("user", "users")],
        mutually_exclusive=[("user", "users"), ("users", "user_password"), ("users", "force")],
        required_together=[("users", "user_passwords")],
        supports_check_mode=True,
    )
    p = module.params
    if p["users"] is not None:
        if p["state"] != "present":
            module.fail_json(msg="users grants tokens (state=present); remove tokens one account at a time with user")
        grant_many(module, p)
    if p["state"] == "present" and p["user_password"] is None:
        module.fail_json(msg="state is present but the following are missing: user_password")
    name = p["user"]
    refuse_unusable_passwords(module, [("user_password", name, p["user_password"]),
                                       ("admin_password", p["admin_user"], p["admin_password"])])
    before = read_mac(module, PARTS)
    try:
        plan = (plan_grant(before, name, p["admin_user"], p["promote_grantor"]) if p["state"] == "present"
                else plan_remove(before, name, p["admin_user"], p["force"]))
    except PlanError as exc:
        module.fail_json(msg=str(exc), user=name)
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
    runner = Runner(module, timeout=p["timeout"])
    target = find_user(before, name)
    # Checking passwords is safe unless an authentication itself grants the first token (R10, R12, R16).
    if plan["action"] in ("grant", "remove"):
        with failing(module):
            if want:
                require_password(module, runner, name, p["user_password"])
            require_password(module, runner, plan["grantor"], p["admin_password"])
    change = single_plan(module, runner, before, plan, result)
    after = carry_out(module, change, before, lambda model: {"secure_token": _had(model, name)},
                      lambda: read_mac(module, PARTS), result)
    if change.actions and module.check_mode:
        result["first_token_rule"] = plan.get("rule") if plan["action"] in ("grant_both", "authenticate") else None
        if plan["action"] == "grant_both":
            result["granted_also"] = [plan["grantor"]]
        # Whether a grant confers volume ownership is not settled by the sources: unknown until it is done.
        module.exit_json(secure_token=want, volume_owner=None if want else target["volume_owner"], **result)
    user = find_user(after, name)
    if change.actions and want and after["filevault"]["state"] in ("on", "encrypting", "decrypting"):
        with failing(module, result):
            update_preboot(runner, [name])
        result["preboot_updated"] = True
    module.exit_json(secure_token=bool(user["secure_token"]), volume_owner=user["volume_owner"], **result)


def single_plan(module, runner, before, plan, result):
    """The one action of a single-account task (none when the account is already as asked), its tool calls, and
    what the re-read must show: the token as asked, its signals consistent (R7)."""
    p = module.params
    name, grantor, want = p["user"], plan["grantor"], p["state"] == "present"
    target = find_user(before, name)
    if plan["action"] == "none":
        return Plan()
    if plan["action"] == "authenticate":
        says = "authenticate %s, which gives it the first secure token (%s)" % (name, plan["rule"])

        def make():
            if not authentication_grants_first_token(before, target):  # pragma: no cover - guarded by the plan
                raise ChangeError("internal error: no first-token rule applies")
            require_password(module, runner, name, p["user_password"])
            result["first_token_rule"] = plan["rule"]
    elif plan["action"] == "remove":
        says = "remove the secure token of %s authorised by %s" % (name, grantor)

        def make():
            sysadminctl(runner, "-secureTokenOff", name, grantor, p["user_password"] or "", p["admin_password"])
    else:
        says = ("grant secure tokens to %s and to %s, the first token holder (%s)" % (name, grantor, plan["rule"])
                if plan["action"] == "grant_both" else "grant a secure token to %s authorised by %s%s" % (
                    name, grantor, " (added to the admin group for the grant)" if plan["promote"] else ""))

        def make():
            added = plan["promote"] and promote(runner, grantor, result)
            sysadminctl(runner, "-secureTokenOn", name, grantor, p["user_password"], p["admin_password"],
                        cleanup=(lambda: demote(runner, grantor)) if added else None)
            if plan["action"] == "grant_both":
                result["first_token_rule"] = plan["rule"]
                result["granted_also"] = [grantor]

    def did_not_take(wrong, after):
        cause = ""
        if want and not before["token_holders"] and after.get("orphan_crypto_users"):
            cause = ("; the volume still holds the key of a deleted account (%s), which macOS may count as the "
                     "first secure token (see the orphaned_crypto_user finding)"
                     % ", ".join(after["orphan_crypto_users"]))
        return ChangeError(not_taken(name, find_user(after, name), want, cause))
    consistent = Expect(want, lambda got, after: got == want and (find_user(after, name) or {}).get(
        "token_state") != "inconsistent")
    return Plan([Action(says, make)], {"secure_token": consistent}, did_not_take)


if __name__ == "__main__":
    main()
