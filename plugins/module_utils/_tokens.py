# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plans for granting and removing secure tokens: pure decisions from a Mac's model.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Rule numbers refer to the collection's behaviour reference: R10 (10.13-10.14.1: the only
user with UID 500 or above gets the first token when it authenticates), R11 (10.14.2+: a
grant authenticated by a token-less administrator, while nobody holds a token, gives both
accounts a token), R12/R16 (10.15: the first administrator, 11+: a pre-hashed user, gets the
first token when it authenticates), R26/R27 (a grantor must be an administrator holding a
token; a standard holder can be promoted for the grant).
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils._rules import (authentication_grants_first_token,
                                                                           first_token_grant_rule, holders)


class PlanError(Exception):
    """The request cannot be carried out; the message names the cause and the next step."""


def find_user(model, name):
    for user in model["users"]:
        if user["name"] == name:
            return user
    return None


def _target(model, name):
    user = find_user(model, name)
    if user is None:
        raise PlanError("no account named %s on this Mac (accounts with UID 500 or above and token holders are "
                        "listed); create it first, or check the name" % name)
    if user["kind"] == "network":
        raise PlanError("%s is a network (directory) account: macOS gives secure tokens only to local and mobile "
                        "accounts; make it a mobile account first" % name)
    if user["token_state"] == "inconsistent":
        raise PlanError("the token state of %s is inconsistent (signals: %s); resolve that by hand before changing "
                        "it" % (name, user["token_signals"]))
    return user


def plan_grant(model, name, admin_name, promote_grantor=False):
    """What ``state=present`` does: a dict with ``action`` none, grant, grant_both or authenticate."""
    user = _target(model, name)
    if user["secure_token"]:
        return {"action": "none", "rule": None, "grantor": None, "promote": False}
    current = holders(model)
    if not current:
        rule = first_token_grant_rule(model)
        if rule:
            admin = _grantor(model, admin_name, need_token=False)
            return {"action": "grant_both", "rule": rule, "grantor": admin["name"], "promote": False}
        if authentication_grants_first_token(model, user):
            return {"action": "authenticate", "rule": "R10", "grantor": None, "promote": False}
        raise PlanError("nobody holds a secure token and macOS %s has no rule that gives %s the first one: on "
                        "10.13 and 10.14 before 10.14.2 only the single user with UID 500 or above gets it, by "
                        "logging in or authenticating" % (model["os"]["version"], name))
    admin = _grantor(model, admin_name, need_token=True, promote_grantor=promote_grantor)
    return {"action": "grant", "rule": "R26" if admin["admin"] else "R27", "grantor": admin["name"],
            "promote": not admin["admin"]}


def _grantor(model, admin_name, need_token, promote_grantor=False):
    if not admin_name:
        raise PlanError("admin_user is required: granting a token needs an administrator's credentials")
    admin = find_user(model, admin_name)
    if admin is None:
        raise PlanError("admin_user %s is not an account on this Mac" % admin_name)
    if need_token and not admin["secure_token"]:
        able = [u["name"] for u in holders(model) if u["admin"]]
        raise PlanError("admin_user %s holds no secure token, so it cannot grant one; %s" % (
            admin_name, "administrators who hold one here: %s" % ", ".join(able) if able else
            "no administrator here holds one (see the only_standard_token_holders finding)"))
    if not admin["admin"] and not (need_token and promote_grantor):
        raise PlanError("admin_user %s is not an administrator; give the credentials of an administrator who "
                        "holds a secure token%s" % (admin_name, ", or set promote_grantor: true to add this token "
                                                                "holder to the admin group for the grant"
                                                    if admin["secure_token"] else ""))
    return admin


def plan_remove(model, name, admin_name, force=False):
    """What ``state=absent`` does: ``action`` none or remove; refuses the last holders unless forced."""
    user = _target(model, name)
    if not user["secure_token"]:
        return {"action": "none", "grantor": None}
    current = holders(model)
    if not force:
        if current == [user]:
            raise PlanError("%s is the last secure token holder: without one nobody can unlock FileVault, grant "
                            "tokens or authorise updates; set force: true to remove it anyway" % name)
        admins = [u for u in current if u["admin"]]
        if admins == [user]:
            raise PlanError("%s is the last administrator holding a secure token: nobody could grant tokens "
                            "afterwards; set force: true to remove it anyway" % name)
    admin = _grantor(model, admin_name, need_token=True)
    return {"action": "remove", "grantor": admin["name"]}
