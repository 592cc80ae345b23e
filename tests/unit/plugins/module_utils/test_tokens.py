# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The grant and removal plans: which rule applies, and when an authentication is itself a change."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _rules, _tokens as T


def user(name, uid, token=False, admin=False, kind="local", state=None):
    return {"name": name, "uid": uid, "secure_token": token, "admin": admin, "kind": kind,
            "token_state": state or ("enabled" if token else "disabled"), "token_signals": {}}


def model(version, *users):
    parts = [int(p) for p in version.split(".")] + [0, 0]
    return {"os": {"version": version, "version_tuple": parts[:3]}, "users": list(users)}


def test_grant_by_a_token_admin():
    m = model("14.4", user("admin", 501, token=True, admin=True), user("bob", 502))
    assert T.plan_grant(m, "bob", "admin") == {"action": "grant", "rule": "R26", "grantor": "admin", "promote": False}
    assert T.plan_grant(m, "admin", "admin")["action"] == "none"


@pytest.mark.parametrize("version,action,rule", [("10.14.2", "grant_both", "R11"), ("14.4", "grant_both", "R11")])
def test_nobody_holds_a_token_from_10_14_2(version, action, rule):
    m = model(version, user("admin", 501, admin=True), user("bob", 502))
    plan = T.plan_grant(m, "bob", "admin")
    assert (plan["action"], plan["rule"], plan["grantor"]) == (action, rule, "admin")


def test_before_10_14_2_only_the_single_user_authenticates():
    assert T.plan_grant(model("10.13.6", user("solo", 501)), "solo", None)["action"] == "authenticate"
    with pytest.raises(T.PlanError, match="has no rule that gives bob the first one"):
        T.plan_grant(model("10.14.1", user("admin", 501, admin=True), user("bob", 502)), "bob", "admin")


@pytest.mark.parametrize("version,users,who,expected", [
    ("10.13.6", [user("solo", 501)], "solo", True),
    ("10.13.6", [user("a", 501), user("b", 502)], "a", False),
    ("10.14.6", [user("jdoe", 1103, kind="mobile")], "jdoe", False),  # R22: no token by itself before 10.15
    ("10.15.7", [user("std", 501), user("adm", 502, admin=True)], "adm", True),
    ("10.15.7", [user("std", 501), user("adm", 502, admin=True)], "std", False),
    ("14.4", [user("any", 501)], "any", True),
    ("14.4", [user("holder", 501, token=True), user("any", 502)], "any", False),
])
def test_authentication_is_a_change_only_while_nobody_holds_a_token(version, users, who, expected):
    m = model(version, *users)
    assert _rules.authentication_grants_first_token(m, T.find_user(m, who)) is expected


@pytest.mark.parametrize("users,name,admin,promote,message", [
    ([user("admin", 501, token=True, admin=True)], "ghost", "admin", False, "no account named ghost"),
    ([user("admin", 501, token=True, admin=True), user("net", 502, kind="network")], "net", "admin", False,
     r"network \(directory\) account"),
    ([user("admin", 501, token=True, admin=True), user("odd", 502, state="inconsistent")], "odd", "admin", False,
     "inconsistent"),
    ([user("admin", 501, token=True, admin=True), user("bob", 502)], "bob", None, False, "admin_user is required"),
    ([user("admin", 501, token=True, admin=True), user("bob", 502)], "bob", "nobody", False, "not an account"),
    ([user("admin", 501, token=True, admin=True), user("plain", 502, admin=True), user("bob", 503)], "bob", "plain",
     False, "plain holds no secure token, so it cannot grant one; administrators who hold one here: admin"),
    ([user("std", 501, token=True), user("bob", 502)], "bob", "std", False, "set promote_grantor: true"),
])
def test_grant_errors_name_the_cause_and_the_next_step(users, name, admin, promote, message):
    with pytest.raises(T.PlanError, match=message):
        T.plan_grant(model("14.4", *users), name, admin, promote)


def test_promote_a_standard_holder():
    m = model("13.6", user("std", 501, token=True), user("admin", 502, admin=True))
    assert T.plan_grant(m, "admin", "std", promote_grantor=True) == {
        "action": "grant", "rule": "R27", "grantor": "std", "promote": True}


def test_remove_refuses_the_last_holders_unless_forced():
    m = model("14.4", user("admin", 501, token=True, admin=True), user("bob", 502, token=True))
    with pytest.raises(T.PlanError, match="last administrator holding a secure token"):
        T.plan_remove(m, "admin", "admin")
    assert T.plan_remove(m, "admin", "admin", force=True) == {"action": "remove", "grantor": "admin"}
    assert T.plan_remove(m, "bob", "admin") == {"action": "remove", "grantor": "admin"}
    solo = model("14.4", user("admin", 501, token=True, admin=True))
    with pytest.raises(T.PlanError, match="last secure token holder"):
        T.plan_remove(solo, "admin", "admin")
    assert T.plan_remove(model("14.4", user("admin", 501, token=True, admin=True), user("x", 502)), "x",
                         "admin")["action"] == "none"
