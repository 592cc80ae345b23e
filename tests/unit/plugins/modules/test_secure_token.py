# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""secure_token on a simulated Mac (tests/unit/plugins/harness.py): every branch, every error, and where the secrets
go. Each table row is the Mac (a state and its faults), the module's arguments, the calls that act on the Mac (argv
and what they read on stdin or at their terminal) and the result."""

from __future__ import annotations

import json

import pytest

from ansible_collections.macops.tokens.plugins.modules import secure_token
from ansible_collections.macops.tokens.tests.unit.plugins.harness import expect, fault
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import (
    GRANTED_STATE, HEALTHY_STATE, WITH_CAROL, holding, users_of)

DONE = "2026-01-01 00:00:00.000 sysadminctl[1:2] - Done!\n"
ARGS = {"user": "bob", "user_password": "bob-secret", "admin_user": "alice", "admin_password": "alice-secret"}
PROMOTE = dict(ARGS, promote_grantor=True)
GRANTOR_NOT_ADMIN = users_of(HEALTHY_STATE, alice={"admin": False}, bob={"admin": True})  # alice holds, is no admin
ADMIN_READ = ("dscl", "/Groups/admin", "GroupMembership")


def auth(name, password=None):
    return "dscl", ["/Local/Default", "-authonly", name], [password or name + "-secret"]


def token(name, password=None, admin="alice", admin_password="alice-secret", verb="-secureTokenOn"):
    """sysadminctl reads the administrator's password, then the user's, on stdin (mkuser's order)."""
    return ("sysadminctl", [verb, name, "-password", "-", "-adminUser", admin, "-adminPassword", "-"],
            "%s\n%s\n" % (admin_password, password or name + "-secret"))


def group(flag, name):
    return "dseditgroup", ["-o", "edit", flag, name, "-t", "user", "admin"], None


PREBOOT = ("diskutil", ["apfs", "updatePreboot", "/"], None)
NO_TAKE = fault("sysadminctl", "-secureTokenOn", rc=0, out="", err=DONE)  # exit 0 whatever happened, as the tool


def sysadminctl_says(err):
    return fault("sysadminctl", "-secureTokenOn", rc=0, out="", err=err)


# ---- one account ---------------------------------------------------------------------------------------------------
ROWS = [
    # id, Mac, faults, args, check mode, acts, result, failure message
    ("grant: checks both passwords, grants, verifies, updates preboot", HEALTHY_STATE, [], ARGS, False,
     [auth("bob"), auth("alice"), token("bob"), PREBOOT],
     {"changed": True, "secure_token": True, "preboot_updated": True,
      "diff": {"before": {"secure_token": False}, "after": {"secure_token": True}}}, None),
    ("check mode checks the passwords and changes nothing", HEALTHY_STATE, [], ARGS, True,
     [auth("bob"), auth("alice")], {"changed": True, "volume_owner": None}, None),
    ("already holding a token changes nothing", GRANTED_STATE, [], ARGS, False, [], {"changed": False}, None),
    ("a grant that does not take", HEALTHY_STATE, [NO_TAKE], ARGS, False,
     [auth("bob"), auth("alice"), token("bob")], {}, "the change did not take"),
    ("sysadminctl could not authenticate", HEALTHY_STATE, [sysadminctl_says(
        "2026-01-01 00:00:00.000 sysadminctl[1:2] ### Error:-14090 File:/x/DSAuthenticator.m Line:94\n")], ARGS, False,
     None, {}, "could not authenticate alice"),
    ("sysadminctl needs a secure token unlock", HEALTHY_STATE, [sysadminctl_says(
        "Operation is not permitted without secure token unlock.\n")], ARGS, False, None, {},
     "needs a secure token unlock"),
    ("hardened authorizationdb", HEALTHY_STATE, [sysadminctl_says("x errAuthorizationInteractionNotAllowed x\n")],
     ARGS, False, None, {}, "authorizationdb is hardened"),
    ("wrong user password", users_of(HEALTHY_STATE, bob={"password": "other"}), [], ARGS, False, [auth("bob")], {},
     "the password given for bob is wrong"),
    ("wrong admin password", users_of(HEALTHY_STATE, alice={"password": "other"}), [], ARGS, False,
     [auth("bob"), auth("alice")], {}, "the password given for alice is wrong"),
    ("updatePreboot fails", HEALTHY_STATE, [fault("diskutil", "updatePreboot", rc=0, err="", out=(
        "UpdatePreboot: ... overall error=(ZeroMeansSuccess)=22\n"))], ARGS, False,
     [auth("bob"), auth("alice"), token("bob"), PREBOOT], {}, "updatePreboot / did not report success"),
    ("promotion is undone even when the grant fails", GRANTOR_NOT_ADMIN, [NO_TAKE], PROMOTE, False,
     [auth("bob"), auth("alice"), group("-a", "alice"), token("bob"), group("-d", "alice")], {},
     "the change did not take"),
    ("removal needs the user's password", GRANTED_STATE, [],
     {"user": "bob", "state": "absent", "admin_user": "alice", "admin_password": "alice-secret"}, False, [], {},
     "user_password is required to remove"),
    ("the last administrator holding a token is not removed", GRANTED_STATE, [],
     {"user": "alice", "state": "absent", "user_password": "alice-secret", "admin_user": "alice",
      "admin_password": "alice-secret"}, False, [], {}, "last administrator holding a secure token"),
    ("removal", GRANTED_STATE, [], dict(ARGS, state="absent"), False,
     [auth("alice"), token("bob", verb="-secureTokenOff")],
     {"changed": True, "secure_token": False}, None),
    ("a failed promotion changes nothing else", GRANTOR_NOT_ADMIN,
     [fault("dseditgroup", "-a", rc=64, out="", err="Record was not found.\n")], PROMOTE, False,
     [auth("bob"), auth("alice"), group("-a", "alice")], {}, "admin group is as it was"),
    ("a demotion that does not take fails naming the fix", GRANTOR_NOT_ADMIN,
     [fault("dseditgroup", "-d", rc=0, out="", err="")], PROMOTE, False,
     [auth("bob"), auth("alice"), group("-a", "alice"), token("bob"), group("-d", "alice")], {},
     "could not be removed again"),
]


@pytest.mark.parametrize("mac,faults,args,check,acts,result,message", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_secure_token_table(harness, mac, faults, args, check, acts, result, message):
    mac = harness.sim(mac, faults)
    outcome = harness.run(secure_token, args, mac, check=check, diff=True)
    expect(outcome, mac, result, message, acts)


def test_the_demotion_failure_names_the_command_to_run(harness):
    mac = harness.sim(GRANTOR_NOT_ADMIN, [fault("dseditgroup", "-d", rc=0, out="", err="")])
    outcome = harness.run(secure_token, PROMOTE, mac)
    assert "dseditgroup -o edit -d alice -t user admin" in outcome["msg"]


def test_a_removal_that_is_done_leaves_the_token_off(harness):
    mac = harness.sim(GRANTED_STATE)
    harness.run(secure_token, dict(ARGS, state="absent"), mac)
    assert not [u for u in mac.state()["users"] if u["name"] == "bob"][0]["secure_token"]


REPLIES = ["", "\n", "GroupMembership:\n", "garbage\n", "GroupMembership: alice bob\n", "RecordName: admin\n"]


@pytest.mark.parametrize("reply", REPLIES, ids=["empty", "blank", "no-members", "garbage", "no-root", "no-key"])
def test_an_unreadable_admin_group_fails_and_no_membership_changes(harness, reply):
    """Defect 1: an admin group read that lists nothing recognisable is a failed read, never 'not an admin'."""
    mac = harness.sim(HEALTHY_STATE, [fault(*ADMIN_READ, rc=0, out=reply, err="")])
    result = harness.run(secure_token, PROMOTE, mac)
    assert result["failed"] and "/Groups/admin" in " ".join(result.get("cmd") or []) + result["msg"]
    assert mac.find("dseditgroup") == [] and mac.find("sysadminctl") == []


def test_an_administrator_is_never_removed_from_admin(harness):
    """Defect 1: the grantor is an administrator after all (a second read says so): the group is left alone."""
    mac = harness.sim(GRANTOR_NOT_ADMIN, [fault(*ADMIN_READ, skip=1, rc=0, out="GroupMembership: root alice bob\n",
                                                err="")])
    result = harness.run(secure_token, PROMOTE, mac)
    assert result["failed"] and "left alone" in result["msg"]
    assert mac.find("dseditgroup") == [] and mac.find("sysadminctl") == []


def test_promotion_removed_only_when_this_run_added_it_and_proven(harness):
    mac = harness.sim(GRANTOR_NOT_ADMIN)
    result = harness.run(secure_token, PROMOTE, mac)
    assert not result.get("failed"), result.get("msg")
    admins = dict((u["name"], u["admin"]) for u in mac.state()["users"])
    assert result["promoted"] is True and admins == {"alice": False, "bob": True}
    reads = [i for i, c in enumerate(mac.calls) if c.tool == "dscl" and "/Groups/admin" in c.argv]
    edits = [i for i, c in enumerate(mac.calls) if c.tool == "dseditgroup"]
    assert len(edits) == 2 and any(edits[0] < r < edits[1] for r in reads) and reads[-1] > edits[1]


# --- users: one task for several accounts, one read before and one after -----------------------------------------
BEFORE3 = WITH_CAROL
AFTER3 = holding(WITH_CAROL, "bob", "carol")
BATCH = {"users": ["bob", "carol"], "user_passwords": {"bob": "bob-secret", "carol": "carol-secret"},
         "admin_user": "alice", "admin_password": "alice-secret"}


def readalls(mac):
    return mac.reads("-readall")


def test_users_are_granted_in_one_task_with_one_read_before_and_one_after(harness):
    mac = harness.sim(BEFORE3)
    result = harness.run(secure_token, BATCH, mac, diff=True)
    assert result["changed"] and result["preboot_updated"] and not result.get("failed")
    assert [(e["user"], e["changed"], e["secure_token"], e["error"]) for e in result["users"]] == [
        ("bob", True, True, None), ("carol", True, True, None)]
    assert len(readalls(mac)) == 2  # the Mac is read once before and once after, not per account
    # passwords checked, then one grant each (the secrets on stdin), then one preboot update for the batch
    assert mac.acts() == [auth("alice"), auth("bob"), auth("carol"), token("bob"), token("carol"), PREBOOT]
    assert result["diff"]["before"] == {"bob": {"secure_token": False}, "carol": {"secure_token": False}}
    assert result["diff"]["after"] == {"bob": {"secure_token": True}, "carol": {"secure_token": True}}


def test_one_wrong_password_leaves_that_account_and_grants_the_others(harness):
    mac = harness.sim(users_of(BEFORE3, carol={"password": "not-this"}))
    result = harness.run(secure_token, BATCH, mac)
    assert result["failed"] and result["changed"] and "1 of 2 accounts got no secure token" in result["msg"]
    entries = dict((e["user"], e) for e in result["users"])
    assert entries["bob"]["changed"] and entries["bob"]["error"] is None
    assert "password given for carol is wrong" in entries["carol"]["error"] and not entries["carol"]["changed"]
    assert len(mac.find("sysadminctl", "-secureTokenOn")) == 1
    assert "not-this" not in json.dumps(result) and "carol-secret" not in json.dumps(result)


def test_a_grant_that_does_not_take_is_reported_for_that_account(harness):
    mac = harness.sim(BEFORE3, [fault("sysadminctl", "-secureTokenOn", "carol", rc=0, out="", err=DONE)])
    result = harness.run(secure_token, BATCH, mac)
    entries = dict((e["user"], e) for e in result["users"])
    assert result["failed"] and entries["bob"]["changed"] and "the change did not take" in entries["carol"]["error"]


@pytest.mark.parametrize("before,changed,acts", [
    (BEFORE3, True, [auth("alice"), auth("bob"), auth("carol")]),  # check mode: passwords checked, nothing granted
    (AFTER3, False, []),  # both hold one already: nothing to check or change
])
def test_users_in_check_mode_and_when_nothing_is_to_do(harness, before, changed, acts):
    mac = harness.sim(before)
    result = harness.run(secure_token, BATCH, mac, check=True)
    assert result["changed"] is changed and mac.acts() == acts and len(readalls(mac)) == 1
    assert all(e["secure_token"] for e in result["users"])


@pytest.mark.parametrize("args,message", [
    (dict(BATCH, user_passwords={"bob": "bob-secret"}), "user_passwords has no (or a blank) password for carol"),
    (dict(BATCH, users=["bob", "bob"]), "users lists an account twice"),
    (dict(BATCH, state="absent"), "users grants tokens (state=present)"),
    (dict(BATCH, user="bob"), "mutually exclusive"),
])
def test_users_bad_input_is_named(harness, args, message):
    mac = harness.sim(BEFORE3)
    result = harness.run(secure_token, args, mac)
    assert result["failed"] and message in (result["msg"] + json.dumps(result.get("users"))), result
    assert mac.find("sysadminctl") == []


def test_an_account_that_is_not_there_is_named_and_the_others_are_granted(harness):
    mac = harness.sim(BEFORE3)
    result = harness.run(secure_token, dict(BATCH, users=["bob", "nobody"],
                                            user_passwords={"bob": "bob-secret", "nobody": "x"}), mac)
    entries = dict((e["user"], e) for e in result["users"])
    assert result["failed"] and entries["bob"]["changed"] and "no account named nobody" in entries["nobody"]["error"]
