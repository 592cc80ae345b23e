# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""secure_token with the command boundary mocked: every branch, every error, and where the secrets go."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _runner
from ansible_collections.macops.tokens.plugins.modules import secure_token
from ansible_collections.macops.tokens.tests.unit.plugins.modules.test_info_modules import (
    ALICE, BOB, HEALTHY, SHADOW, crypto, record)

GRANTED = dict(HEALTHY)
GRANTED[("diskutil", "apfs", "listCryptoUsers", "/")] = crypto((ALICE, "Local Open Directory User", True),
                                                               (BOB, "Local Open Directory User", True))
GRANTED[("dscl", ".", "-readall", "/Users")] = record("alice", 501, ALICE, "Alice", [SHADOW, ";SecureToken;"]) + \
    "\n-\n" + record("bob", 502, BOB, "Bob", [SHADOW, ";SecureToken;"]) + "\n"
GRANTED[("fdesetup", "list")] = "alice,%s\nbob,%s\n" % (ALICE, BOB)
DONE = "2026-01-01 00:00:00.000 sysadminctl[1:2] - Done!\n"
PREBOOT = "UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)=0\n"
ARGS = {"user": "bob", "user_password": "bob-secret", "admin_user": "alice", "admin_password": "alice-secret"}


class FakeMac(object):
    """Reads answer from ``before`` until a change takes effect, then from ``after``."""

    def __init__(self, before, after, passwords, sysadminctl_err=DONE, takes=True, preboot=PREBOOT):
        self.state, self.after = dict(before), dict(after)
        self.passwords, self.sysadminctl_err, self.takes, self.preboot = passwords, sysadminctl_err, takes, preboot
        self.calls, self.stdin = [], []
        self.group_edits = "edit"

    def run_command(self, args, data=None, **kwargs):
        tool = args[0].rsplit("/", 1)[-1]
        self.calls.append([tool] + args[1:])
        self.stdin.append(data)
        if tool == "sysadminctl":
            if self.takes:
                self.state = self.after
            return 0, "", self.sysadminctl_err  # exit 0 whatever happened, as the real tool
        if tool == "dseditgroup":
            return self.edit_group(args)
        if tool == "diskutil" and args[2] == "updatePreboot":
            return 0, self.preboot, ""
        key = tuple([tool] + args[1:])
        if key[:4] == ("dscl", ".", "-readall", "/Users"):
            key = key[:4]
        return 0, self.state[key], ""

    def edit_group(self, args):
        """``dseditgroup -o edit -a|-d NAME -t user admin`` changes what the admin group read answers."""
        if self.group_edits is None:
            return 0, "", ""
        key = ("dscl", ".", "-read", "/Groups/admin", "GroupMembership")
        members = self.state[key].split()[1:]
        name = args[4]
        if self.group_edits == "fail":
            return 64, "", "Record was not found.\n"
        if args[3] == "-a" and name not in members:
            members.append(name)
        elif args[3] == "-d" and self.group_edits != "sticky":
            members = [m for m in members if m != name]
        for table in (self.state, self.after):
            table[key] = "GroupMembership: " + " ".join(members) + "\n"
        return 0, "", ""

    def converse(self, tool, args, answers, timeout=None):
        name, password = args[-1], answers[0][1]
        self.calls.append([tool] + args)
        self.stdin.append(None)  # the password went to the terminal, not to stdin
        ok = self.passwords.get(name) == password
        out = "" if ok else ("Authentication for node /Local/Default failed. (-14090, eDSAuthFailed)\n"
                             "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)\n")
        return _runner.Result(["/usr/bin/dscl"] + args, 0 if ok else 255, out, "")


def run(monkeypatch, capsys, args, fake, check=False, diff=False):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", fake.run_command)
    monkeypatch.setattr(_runner.Runner, "converse", fake.converse)
    monkeypatch.setattr(_runner.os.path, "exists", lambda path: True)
    full = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            secure_token.main()
    return json.loads(capsys.readouterr().out)


PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret"}


def tools(fake):
    return [c[0] + " " + c[1] for c in fake.calls if c[0] in ("sysadminctl", "dseditgroup", "dscl") and
            c[1] in ("-secureTokenOn", "-secureTokenOff", "-o", "/Local/Default")]


def test_grant_checks_passwords_grants_verifies_and_updates_preboot(monkeypatch, capsys):
    fake = FakeMac(HEALTHY, GRANTED, PASSWORDS)
    result = run(monkeypatch, capsys, ARGS, fake, diff=True)
    assert result["changed"] and result["secure_token"] and result["preboot_updated"]
    assert result["diff"] == {"before": {"secure_token": False}, "after": {"secure_token": True}}
    assert tools(fake) == ["dscl /Local/Default", "dscl /Local/Default", "sysadminctl -secureTokenOn"]
    grant = fake.calls.index(next(c for c in fake.calls if c[0] == "sysadminctl"))
    assert fake.stdin[grant] == "alice-secret\nbob-secret\n"  # mkuser's order, on stdin
    assert not any("secret" in " ".join(c) for c in fake.calls)  # never on argv


def test_check_mode_checks_passwords_and_changes_nothing(monkeypatch, capsys):
    fake = FakeMac(HEALTHY, GRANTED, PASSWORDS)
    result = run(monkeypatch, capsys, ARGS, fake, check=True)
    assert result["changed"] and result["volume_owner"] is None
    assert tools(fake) == ["dscl /Local/Default", "dscl /Local/Default"]


def test_already_holding_a_token_changes_nothing(monkeypatch, capsys):
    fake = FakeMac(GRANTED, GRANTED, PASSWORDS)
    result = run(monkeypatch, capsys, ARGS, fake)
    assert result["changed"] is False and tools(fake) == []


@pytest.mark.parametrize("fake,message", [
    (FakeMac(HEALTHY, HEALTHY, PASSWORDS, takes=False), "the change did not take"),
    (FakeMac(HEALTHY, GRANTED, PASSWORDS, takes=False, sysadminctl_err="2026-01-01 00:00:00.000 sysadminctl[1:2] "
             "### Error:-14090 File:/x/DSAuthenticator.m Line:94\n"), "could not authenticate alice"),
    (FakeMac(HEALTHY, GRANTED, PASSWORDS, takes=False,
             sysadminctl_err="Operation is not permitted without secure token unlock.\n"),
     "needs a secure token unlock"),
    (FakeMac(HEALTHY, GRANTED, PASSWORDS, takes=False, sysadminctl_err="x errAuthorizationInteractionNotAllowed x\n"),
     "authorizationdb is hardened"),
    (FakeMac(HEALTHY, GRANTED, {"alice": "alice-secret", "bob": "other"}), "the password given for bob is wrong"),
    (FakeMac(HEALTHY, GRANTED, {"alice": "other", "bob": "bob-secret"}), "the password given for alice is wrong"),
    (FakeMac(HEALTHY, GRANTED, PASSWORDS, preboot="UpdatePreboot: ... overall error=(ZeroMeansSuccess)=22\n"),
     "updatePreboot / did not report success"),
])
def test_failures(monkeypatch, capsys, fake, message):
    result = run(monkeypatch, capsys, ARGS, fake)
    assert result["failed"] and message in result["msg"]


def test_promotion_is_undone_even_when_the_grant_fails(monkeypatch, capsys):
    before = dict(HEALTHY)
    before[("dscl", ".", "-read", "/Groups/admin", "GroupMembership")] = "GroupMembership: root bob\n"
    fake = FakeMac(before, before, PASSWORDS, takes=False)
    args = {"user": "bob", "user_password": "bob-secret", "admin_user": "alice", "admin_password": "alice-secret",
            "promote_grantor": True}
    result = run(monkeypatch, capsys, args, fake)
    assert result["failed"] and "the change did not take" in result["msg"]
    edits = [c for c in fake.calls if c[0] == "dseditgroup"]
    assert edits == [["dseditgroup", "-o", "edit", "-a", "alice", "-t", "user", "admin"],
                     ["dseditgroup", "-o", "edit", "-d", "alice", "-t", "user", "admin"]]


def test_removal_needs_the_users_password_and_refuses_the_last_admin(monkeypatch, capsys):
    fake = FakeMac(GRANTED, HEALTHY, PASSWORDS)
    result = run(monkeypatch, capsys, {"user": "bob", "state": "absent", "admin_user": "alice",
                                       "admin_password": "alice-secret"}, fake)
    assert result["failed"] and "user_password is required to remove" in result["msg"]
    result = run(monkeypatch, capsys, {"user": "alice", "state": "absent", "user_password": "alice-secret",
                                       "admin_user": "alice", "admin_password": "alice-secret"}, fake)
    assert result["failed"] and "last administrator holding a secure token" in result["msg"]
    fake = FakeMac(GRANTED, HEALTHY, PASSWORDS)
    result = run(monkeypatch, capsys, dict(ARGS, state="absent"), fake)
    assert result["changed"] and result["secure_token"] is False
    assert "sysadminctl -secureTokenOff" in tools(fake)


ADMIN_READ = ("dscl", ".", "-read", "/Groups/admin", "GroupMembership")
PROMOTE = {"user": "bob", "user_password": "bob-secret", "admin_user": "alice", "admin_password": "alice-secret",
           "promote_grantor": True}


REPLIES = ["", "\n", "GroupMembership:\n", "garbage\n", "GroupMembership: alice bob\n", "RecordName: admin\n"]


def _grantor_not_admin():
    """A Mac where alice holds a token but is not in admin, so promote_grantor adds her for the grant."""
    before = dict(HEALTHY)
    before[ADMIN_READ] = "GroupMembership: root bob\n"
    return FakeMac(before, GRANTED, PASSWORDS)


@pytest.mark.parametrize("reply", REPLIES, ids=["empty", "blank", "no-members", "garbage", "no-root", "no-key"])
def test_an_unreadable_admin_group_fails_and_no_membership_changes(monkeypatch, capsys, reply):
    """Defect 1: an admin group read that lists nothing recognisable is a failed read, never 'not an admin'."""
    before = dict(HEALTHY)
    before[ADMIN_READ] = reply
    fake = FakeMac(before, GRANTED, PASSWORDS)
    result = run(monkeypatch, capsys, PROMOTE, fake)
    assert result["failed"] and "/Groups/admin" in " ".join(result.get("cmd") or []) + result["msg"]
    assert [c for c in fake.calls if c[0] in ("dseditgroup", "sysadminctl")] == []


def test_an_administrator_is_never_removed_from_admin(monkeypatch, capsys):
    """Defect 1: the grantor is an administrator after all (a second read says so): the group is left alone."""
    fake = _grantor_not_admin()
    reads = {"n": 0}
    real = fake.run_command

    def flapping(*call, **kwargs):  # set on the class by run(): the module comes first
        args = call[-1]
        if tuple(args[1:]) == ADMIN_READ[1:]:
            reads["n"] += 1
            if reads["n"] > 1:  # the module's own re-read before promoting: alice is an admin
                return 0, "GroupMembership: root alice bob\n", ""
        return real(args, **kwargs)

    fake.run_command = flapping
    result = run(monkeypatch, capsys, PROMOTE, fake)
    assert result["failed"] and "left alone" in result["msg"]
    assert [c for c in fake.calls if c[0] in ("dseditgroup", "sysadminctl")] == []


def test_promotion_removed_only_when_this_run_added_it_and_proven(monkeypatch, capsys):
    fake = _grantor_not_admin()
    result = run(monkeypatch, capsys, PROMOTE, fake)
    assert not result.get("failed"), result.get("msg")
    assert result["promoted"] is True and fake.state[ADMIN_READ] == "GroupMembership: root bob\n"
    reads = [i for i, c in enumerate(fake.calls) if tuple(c[1:]) == ADMIN_READ[1:]]
    edits = [i for i, c in enumerate(fake.calls) if c[0] == "dseditgroup"]
    assert len(edits) == 2 and any(edits[0] < r < edits[1] for r in reads) and reads[-1] > edits[1]


def test_a_demotion_that_does_not_take_fails_the_task_naming_the_fix(monkeypatch, capsys):
    fake = _grantor_not_admin()
    fake.group_edits = "sticky"
    result = run(monkeypatch, capsys, PROMOTE, fake)
    assert result["failed"] and "could not be removed again" in result["msg"]
    assert "dseditgroup -o edit -d alice -t user admin" in result["msg"]


def test_a_failed_promotion_changes_nothing_else(monkeypatch, capsys):
    fake = _grantor_not_admin()
    fake.group_edits = "fail"
    result = run(monkeypatch, capsys, PROMOTE, fake)
    assert result["failed"] and "admin group is as it was" in result["msg"]
    assert [c for c in fake.calls if c[0] == "sysadminctl"] == []


# --- users: one task for several accounts, one read before and one after -----------------------------------------

CAROL = "1C2D3E4F-0000-4000-8000-0000000001F7"


def _with_carol(table, carol_token):
    out = dict(table)
    bob_token = ";SecureToken;" in table[("dscl", ".", "-readall", "/Users")].split("RecordName: bob")[0].rsplit(
        "AuthenticationAuthority:", 1)[-1]
    holders = [(ALICE, True), (BOB, bob_token), (CAROL, carol_token)]
    out[("diskutil", "apfs", "listCryptoUsers", "/")] = crypto(
        *[(uuid, "Local Open Directory User", True) for uuid, holds in holders if holds])
    out[("dscl", ".", "-readall", "/Users")] = "\n-\n".join([
        record("alice", 501, ALICE, "Alice", [SHADOW, ";SecureToken;"]),
        record("bob", 502, BOB, "Bob", [SHADOW] + ([";SecureToken;"] if bob_token else [])),
        record("carol", 503, CAROL, "Carol", [SHADOW] + ([";SecureToken;"] if carol_token else []))]) + "\n"
    out[("ls", "-1", "/Users")] = "Shared\nalice\nbob\ncarol\n"
    out[("fdesetup", "list")] = "".join("%s,%s\n" % (n, u) for n, u, holds in
                                        (("alice", ALICE, True), ("bob", BOB, bob_token), ("carol", CAROL, carol_token))
                                        if holds)
    return out


BEFORE3, AFTER3 = _with_carol(HEALTHY, False), _with_carol(GRANTED, True)
PASSWORDS3 = dict(PASSWORDS, carol="carol-secret")
BATCH = {"users": ["bob", "carol"], "user_passwords": {"bob": "bob-secret", "carol": "carol-secret"},
         "admin_user": "alice", "admin_password": "alice-secret"}


def reads(fake):
    return [c for c in fake.calls if c[:3] == ["dscl", ".", "-readall"]]


def test_users_are_granted_in_one_task_with_one_read_before_and_one_after(monkeypatch, capsys):
    fake = FakeMac(BEFORE3, AFTER3, PASSWORDS3)
    result = run(monkeypatch, capsys, BATCH, fake, diff=True)
    assert result["changed"] and result["preboot_updated"] and not result.get("failed")
    assert [(e["user"], e["changed"], e["secure_token"], e["error"]) for e in result["users"]] == [
        ("bob", True, True, None), ("carol", True, True, None)]
    assert len(reads(fake)) == 2  # the Mac is read once before and once after, not per account
    assert tools(fake) == ["dscl /Local/Default"] * 3 + ["sysadminctl -secureTokenOn"] * 2
    assert [c for c in fake.calls if c[:2] == ["diskutil", "apfs"] and c[2] == "updatePreboot"] == [
        ["diskutil", "apfs", "updatePreboot", "/"]]  # once for the batch
    stdin = [fake.stdin[i] for i, c in enumerate(fake.calls) if c[0] == "sysadminctl"]
    assert stdin == ["alice-secret\nbob-secret\n", "alice-secret\ncarol-secret\n"]
    assert not any("secret" in " ".join(c) for c in fake.calls)
    assert result["diff"]["before"] == {"bob": {"secure_token": False}, "carol": {"secure_token": False}}
    assert result["diff"]["after"] == {"bob": {"secure_token": True}, "carol": {"secure_token": True}}


def test_one_wrong_password_leaves_that_account_and_grants_the_others(monkeypatch, capsys):
    fake = FakeMac(BEFORE3, _with_carol(GRANTED, False), dict(PASSWORDS3, carol="not-this"))
    result = run(monkeypatch, capsys, BATCH, fake)
    assert result["failed"] and result["changed"] and "1 of 2 accounts got no secure token" in result["msg"]
    entries = dict((e["user"], e) for e in result["users"])
    assert entries["bob"]["changed"] and entries["bob"]["error"] is None
    assert "password given for carol is wrong" in entries["carol"]["error"] and not entries["carol"]["changed"]
    assert tools(fake).count("sysadminctl -secureTokenOn") == 1
    assert "not-this" not in json.dumps(result) and "carol-secret" not in json.dumps(result)


def test_a_grant_that_does_not_take_is_reported_for_that_account(monkeypatch, capsys):
    fake = FakeMac(BEFORE3, _with_carol(GRANTED, False), PASSWORDS3)  # carol's grant is silently lost
    result = run(monkeypatch, capsys, BATCH, fake)
    entries = dict((e["user"], e) for e in result["users"])
    assert result["failed"] and entries["bob"]["changed"] and "the change did not take" in entries["carol"]["error"]


@pytest.mark.parametrize("before,changed,calls", [
    (BEFORE3, True, ["dscl /Local/Default"] * 3),  # check mode: passwords checked, nothing granted
    (AFTER3, False, []),  # both hold one already: nothing to check or change
])
def test_users_in_check_mode_and_when_nothing_is_to_do(monkeypatch, capsys, before, changed, calls):
    fake = FakeMac(before, AFTER3, PASSWORDS3)
    result = run(monkeypatch, capsys, BATCH, fake, check=True)
    assert result["changed"] is changed and tools(fake) == calls and len(reads(fake)) == 1
    assert all(e["secure_token"] for e in result["users"])


@pytest.mark.parametrize("args,message", [
    (dict(BATCH, user_passwords={"bob": "bob-secret"}), "user_passwords has no (or a blank) password for carol"),
    (dict(BATCH, users=["bob", "bob"]), "users lists an account twice"),
    (dict(BATCH, state="absent"), "users grants tokens (state=present)"),
    (dict(BATCH, user="bob"), "mutually exclusive"),
])
def test_users_bad_input_is_named(monkeypatch, capsys, args, message):
    fake = FakeMac(BEFORE3, AFTER3, PASSWORDS3)
    result = run(monkeypatch, capsys, args, fake)
    assert result["failed"] and message in (result["msg"] + json.dumps(result.get("users"))), result
    assert "sysadminctl" not in [c[0] for c in fake.calls]


def test_an_account_that_is_not_there_is_named_and_the_others_are_granted(monkeypatch, capsys):
    fake = FakeMac(BEFORE3, _with_carol(GRANTED, False), PASSWORDS3)
    result = run(monkeypatch, capsys, dict(BATCH, users=["bob", "nobody"],
                                           user_passwords={"bob": "bob-secret", "nobody": "x"}), fake)
    entries = dict((e["user"], e) for e in result["users"])
    assert result["failed"] and entries["bob"]["changed"] and "no account named nobody" in entries["nobody"]["error"]
