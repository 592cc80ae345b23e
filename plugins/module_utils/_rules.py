# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The macOS rules about who gets a secure token and how, each in one function.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Every other part of the collection (the write modules' plans, the audit's findings, the remediation planner and
the filters built on it) asks these functions; none restates a rule. Each function names the rules of the
behaviour reference (Rn) it encodes. Pure: a Mac's model in, a decision out.
"""

from __future__ import annotations

from typing import Optional


def version(model: dict) -> tuple:
    return tuple(model["os"]["version_tuple"])


def holders(model: dict) -> list:
    """Accounts that hold a secure token (network accounts never do, R21)."""
    return [u for u in model.get("users") or [] if u["secure_token"] and u["kind"] != "network"]


def bootstrap_usable(model: dict, escrowed_now: bool = False) -> bool:
    """The bootstrap token is supported by the MDM and escrowed to it (or is escrowed by this run): R31, R39."""
    bt = model.get("bootstrap_token") or {}
    return bool(bt.get("supported") and (bt.get("escrowed") or escrowed_now))


def bootstrap_could_be_escrowed(model: dict) -> bool:
    """Escrowing the bootstrap token would help: the MDM supports it (R31) on 10.15 or later (R32)."""
    return bool((model.get("bootstrap_token") or {}).get("supported")) and version(model) >= (10, 15)


def login_grants_token(model: dict, kind: str, escrowed_now: bool = False) -> bool:
    """Does a graphical login, with the bootstrap token escrowed, give an account of ``kind`` a token?

    10.15: only mobile accounts and the MDM's managed administrator (R41); 11 and later: every account but a
    network one (R42, R21). Never before 10.15, and never without an escrowed bootstrap token.
    """
    if kind == "network" or version(model) < (10, 15) or not bootstrap_usable(model, escrowed_now):
        return False
    if version(model) < (11,):
        return kind in ("mobile", "managed_admin")
    return True


def login_rule(model: dict) -> str:
    return "R41" if version(model) < (11,) else "R42"


def prehashed_first_login(model: dict, kind: str) -> bool:
    """With nobody holding a token on 11 and later, the MDM's managed administrator (a pre-hashed account) gets
    the first token at its first login (R16)."""
    return kind == "managed_admin" and not holders(model) and version(model) >= (11,)


def authentication_grants_first_token(model: dict, user: Optional[dict]) -> bool:
    """Would authenticating ``user`` now grant the first token (R10, R12, R16; R22 for mobile accounts before
    10.15)? Then an authentication is a change."""
    if holders(model) or user is None or user["kind"] == "network":
        return False
    if version(model) < (10, 15):
        if user["kind"] == "mobile":
            return False
        others = [u for u in model["users"] if u["uid"] is not None and u["uid"] >= 500 and u is not user]
        return user["uid"] is not None and user["uid"] >= 500 and not others
    if version(model) < (11,):
        return bool(user["admin"])
    # 11+: pre-hashed accounts get the first token when they authenticate; no local tool tells a pre-hashed
    # account from a plain one, so any authentication is treated as possibly granting it.
    return True


def first_token_grant_rule(model: dict) -> Optional[str]:
    """With nobody holding a token, a grant authenticated by a token-less administrator gives both accounts a
    token from 10.14.2 (R11); before that there is no such grant."""
    return "R11" if version(model) >= (10, 14, 2) else None


def first_token_step(model: dict) -> str:
    """How this version gives out the first token, as a next step (R10-R16); on 10.15 and later with a mobile
    account here, also the first mobile login (R23)."""
    v = version(model)
    if v < (10, 14, 2):
        return ("authenticate (dscl . -authonly) as the only user with UID 500 or above: on 10.13 and 10.14 that "
                "user gets the first token, and only if no other such user exists")
    if v < (10, 15):
        return ("grant a user a token with sysadminctl -secureTokenOn, authenticated by an administrator without a "
                "token: on 10.14.2 and later that gives both of them a token")
    if v < (11,):
        step = ("authenticate an administrator (dscl . -authonly) or enable FileVault as an administrator: on 10.15 "
                "the first administrator to do so gets the first token")
    else:
        step = ("set a plain-text password for a user that has no ;DisabledTags;SecureToken tag, or have a pre-hashed "
                "account (such as the MDM's managed administrator) log in first: on macOS 11 and later that user gets "
                "the first token")
    if any(u["kind"] == "mobile" for u in model.get("users") or []):
        step += ("; on a Mac bound to Active Directory the first mobile account to log in at the login window also "
                 "gets it (R23)")
    return step


def can_grant(user: Optional[dict]) -> bool:
    """A grantor must be an administrator holding a token (R26); a standard holder cannot grant (R27)."""
    return bool(user and user["secure_token"] and user["admin"] and user["kind"] != "network")


# How an account without a token gets one, the one answer the audit and the remediation share.
ROUTE_AT_LOGIN = "at_login"  # the escrowed bootstrap token grants it at the next graphical login (R41, R42)
ROUTE_FIRST_LOGIN = "first_login"  # a pre-hashed managed administrator's first login gives the first token (R16)
ROUTE_GRANT = "grant"  # an administrator holding a token grants it with both passwords (R26)


def token_route(model: dict, user: dict, escrowed_now: bool = False) -> str:
    """How ``user`` (without a token) gets one on this Mac: one of the ROUTE_* values."""
    if login_grants_token(model, user["kind"], escrowed_now):
        return ROUTE_AT_LOGIN
    if prehashed_first_login(model, user["kind"]):
        return ROUTE_FIRST_LOGIN
    return ROUTE_GRANT


def route_rule(model: dict, route: str) -> str:
    return {ROUTE_AT_LOGIN: login_rule(model), ROUTE_FIRST_LOGIN: "R16"}.get(route, "R26")


AT_LOGIN_STEP = ("None needed from here: the token is granted at the user's next graphical login, because the "
                 "bootstrap token is escrowed (the MDM must be reachable then, and the password not blank).")
