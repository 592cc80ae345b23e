# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The remediation planner for secure tokens: which accounts a step grants, and what it says of the rest.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Pure: one Mac's model (``chain_of_trust_info``'s ``mac``), the run's inputs and what earlier steps of this run did
(or, in check mode, are predicted to do) in; the step's plan out. The rules come from ``_rules``, so the plan for
an account always agrees with the audit's finding about it. The roles carry the order (administrator first, then
the bootstrap token, then local accounts, then mobile accounts) and call the modules; this module decides.
"""

from __future__ import annotations

from typing import List, Optional

from ansible_collections.macops.tokens.plugins.module_utils._filevault import says_add, says_enable
from ansible_collections.macops.tokens.plugins.module_utils import _rules as rules

STEP_KINDS = {"cli_users": ("local", "managed_admin"), "mobile_accounts": ("mobile",)}
LABELS = {"local": "", "managed_admin": " (the MDM's managed administrator)", "mobile": " (mobile account)"}
PREFIX = {"cli_users": "", "mobile_accounts": "mobile account "}  # how a grant names the account
ADMIN_STEP = "cli_users"  # the administrator step runs first in the cli_users role
CREDENTIALS_STEP = "set macops_admin_user and macops_admin_password (an AWX credential or ansible-vault)"


def _left(detail: str, next_step: str) -> dict:
    return {"action": "left", "detail": detail, "next_step": next_step}


def admin_plan(model: dict, admin: Optional[str], have_password: bool, known: Optional[List[str]] = None,
               promote: bool = True) -> dict:
    """How the administrator whose credentials were given gets a token: ``action`` none, grant or left."""
    if not admin or not have_password:
        return _left("no administrator credentials given", CREDENTIALS_STEP)
    users = model.get("users") or []
    me = [u for u in users if u["name"] == admin]
    if not me:
        return _left("administrator %s is not an account on this Mac" % admin,
                     "create it, or give another administrator in macops_admin_user")
    if me[0]["secure_token"]:
        return {"action": "none"}
    current = rules.holders(model)
    if not current:
        return {"action": "grant", "grantor": admin, "grantor_is_admin": True, "promote": False,
                "how": "first token (nobody held one)"}
    grantors = [u["name"] for u in current if rules.can_grant(u)]
    if grantors:
        return _left("administrator %s holds no token, but %s do" % (admin, ", ".join(grantors)),
                     "give the credentials of a token-holding administrator in macops_admin_user")
    standard = [u["name"] for u in current]
    able = [name for name in standard if name in (known or [])]
    if able and promote:
        return {"action": "grant", "grantor": able[0], "grantor_is_admin": False, "promote": True,
                "how": "from standard token holder %s, promoted for the grant" % able[0]}
    if able:
        return _left("only standard users hold a token (%s); the password of %s is known, but promoting a standard "
                     "holder for the grant is switched off" % (", ".join(standard), able[0]),
                     "set cli_users_promote_standard_holder: true to let this run add %s to the admin group for the "
                     "grant (and remove it again), or have %s grant a token to %s" % (able[0], able[0], admin))
    return _left("only standard users hold a token (%s) and none of their passwords is known" % ", ".join(standard),
                 "add one of their passwords to macops_user_passwords, or have that user grant a token to %s" % admin)


def admin_outcomes(plan: dict, admin: Optional[str], result: Optional[dict] = None, check_mode: bool = False) -> dict:
    """What the administrator step did: ``admin_token`` (whether the administrator holds a token after it, or will
    in check mode) and its ``outcomes`` for the report, from the plan and the grant's registered result."""
    if plan["action"] == "none":
        return {"admin_token": True, "outcomes": []}
    if plan["action"] == "left":
        return {"admin_token": False, "outcomes": [_outcome(ADMIN_STEP, "left", plan["detail"], plan["next_step"])]}
    result = result or {}
    if result.get("failed") or not result:
        return {"admin_token": False, "outcomes": [_outcome(
            ADMIN_STEP, "left", "administrator %s got no token: %s" % (admin, result.get("msg") or "failed"),
            "fix the cause above and run again")]}
    done = "%s a secure token to administrator %s (%s)" % ("would grant" if check_mode else "granted", admin,
                                                           plan["how"])
    return {"admin_token": True, "outcomes": [_outcome(ADMIN_STEP, "changed", done)]}


def _outcome(step: str, status: str, detail: str, next_step: Optional[str] = None) -> dict:
    out = {"step": step, "status": status, "detail": detail}
    if next_step:
        out["next_step"] = next_step
    return out


def account_plan(model: dict, step: str, admin: Optional[str] = None, known: Optional[List[str]] = None,
                 admin_token: Optional[bool] = None, escrowed_now: bool = False, check_mode: bool = False) -> dict:
    """The accounts of one step (``cli_users``: local accounts and the MDM's managed administrator;
    ``mobile_accounts``: AD mobile accounts) that hold no token: ``grant`` (names to grant now, in one call),
    ``predicted`` (check mode: granted once the administrator has the token this run predicts) and ``outcomes``
    for the accounts that are not granted here, each with its next step.

    ``admin_token`` is what the administrator step did (True: holds a token now, or is predicted to in check
    mode; False: does not; None: that step did not run, so the Mac's reading decides).
    """
    if step not in STEP_KINDS:
        raise ValueError("step must be one of %s, not %r" % (", ".join(sorted(STEP_KINDS)), step))
    known = list(known or [])
    users = model.get("users") or []
    me = [u for u in users if u["name"] == admin]
    holds = bool(me and rules.can_grant(me[0]))
    ready = holds or (bool(admin_token) and not check_mode and bool(me) and bool(me[0]["admin"]))
    predicted_ready = not ready and bool(admin_token) and check_mode
    plan = {"step": step, "grant": [], "predicted": [], "outcomes": []}
    for user in users:
        if user["kind"] not in STEP_KINDS[step] or user["secure_token"] is not False or user["name"] == admin:
            continue
        name, label = user["name"], LABELS[user["kind"]]
        route = rules.token_route(model, user, escrowed_now)
        login_first = user["kind"] == "mobile"  # accounts that log in at the login window anyway
        if route == rules.ROUTE_AT_LOGIN and (login_first or name not in known or not (ready or predicted_ready)):
            plan["outcomes"].append(_outcome(
                step, "pending", "%s%s: granted at next graphical login (bootstrap token escrowed%s)"
                % (name, label, " by this run" if escrowed_now else ""),
                "have %s log in at the login window with the MDM reachable; the audit after that shows the token"
                % name))
        elif route == rules.ROUTE_FIRST_LOGIN:
            plan["outcomes"].append(_outcome(
                step, "left", "%s%s has no secure token, and nobody here holds one" % (name, label),
                "log in as %s at the login window: a pre-hashed account gets the first token (R16)" % name))
        elif name in known and ready:
            plan["grant"].append(name)
        elif name in known and predicted_ready:
            plan["predicted"].append(name)
            plan["outcomes"].append(_outcome(step, "changed", "would grant a secure token to %s%s (after the "
                                                              "administrator gets one)" % (PREFIX[step], name)))
        elif name in known:
            plan["outcomes"].append(_outcome(
                step, "left", "%s%s has no secure token and no administrator here can grant one" % (name, label),
                ("first give administrator %s a token (see above)" % admin) if admin else CREDENTIALS_STEP))
        else:
            plan["outcomes"].append(_outcome(step, "left", "%s%s has no secure token and its password is not known"
                                             % (name, label), _unknown_password_step(model, user)))
    if step == ADMIN_STEP:
        plan["outcomes"].extend(watched_left(model))
    return plan


def watched_left(model: dict) -> list:
    """What no step of this run fixes for the accounts the organisation relies on (``mac.watched_accounts``): an
    account that is not on the Mac, and a token that did not make its holder a volume owner (Apple silicon)."""
    out = []
    users = dict((u["name"], u) for u in model.get("users") or [])
    for name, source in sorted((model.get("watched_accounts") or {}).items()):
        user = users.get(name)
        if user is None:
            if source == rules.SERVICE_SOURCE:
                out.append(_outcome(ADMIN_STEP, "left", "%s (named in %s) is not an account on this Mac"
                                    % (name, source), "create it (the LAPS tool or the MDM does), or correct %s"
                                    % source))
        elif user["secure_token"] and rules.LINK_OWNER in rules.missing_links(model, user):
            out.append(_outcome(ADMIN_STEP, "left", "%s holds a secure token but is not a volume owner" % name,
                                "remove its token (sysadminctl -secureTokenOff) and grant it again from a volume "
                                "owner; this collection does not remove tokens"))
    return out


def _unknown_password_step(model: dict, user: dict) -> str:
    """The next step for an account whose password nobody gave: the same two ways the audit's finding names."""
    step = "add its password to macops_user_passwords and run again"
    if rules.login_grants_token(model, user["kind"], escrowed_now=True):
        if rules.bootstrap_could_be_escrowed(model):
            return step + ("; or escrow the bootstrap token (the bootstrap_escrow step, with a token-holding "
                           "administrator's credentials), after which %s's next graphical login grants it"
                           % user["name"])
    if rules.version(model) >= (10, 15) and user["kind"] != "local":
        mdm = model.get("mdm") or {}
        why = "the MDM server lacks the capability" if mdm.get("enrolled") else "the Mac is not enrolled in an MDM"
        return step + " (no bootstrap token is available here: %s)" % why
    return step


def grant_outcomes(result: dict, step: str, check_mode: bool = False) -> list:
    """The outcomes of one batched ``secure_token`` call (its ``users`` result), failed or not."""
    out = []
    for entry in result.get("users") or []:
        name, prefix = entry.get("user"), PREFIX.get(step, "")
        if entry.get("error"):
            out.append(_outcome(step, "left", "%s got no token: %s" % (name, entry["error"]),
                                "fix the cause above and run again"))
        elif entry.get("changed"):
            out.append(_outcome(step, "changed", "%s a secure token to %s%s"
                                % ("would grant" if check_mode else "granted", prefix, name)))
        else:
            out.append(_outcome(step, "ok", "%s%s already holds a secure token" % (prefix, name)))
    if result.get("failed") and not result.get("users"):
        out.append(_outcome(step, "left", "no token was granted: %s" % result.get("msg", "the task failed"),
                            "fix the cause above and run again"))
    return out


# ---- FileVault ---------------------------------------------------------------------------------------------------

FV_STEP = "filevault_enforce"


def filevault_plan(model: dict, admin: Optional[str] = None, have_password: bool = False,
                   known: Optional[List[str]] = None, admin_token: Optional[bool] = None, check_mode: bool = False,
                   defer_without_credentials: bool = True) -> dict:
    """What the FileVault step does on one Mac: ``enable`` (enable FileVault, or add the token holders in ``add``
    to it), ``check_key`` (validate the escrowed recovery key of an encrypted Mac), ``defer`` (no administrator
    password given: defer enablement to the next login), ``predicted`` (check mode: enabled once the administrator
    has the token this run predicts). Enabling and adding need a token holder's credentials (R51, R29b)."""
    state = model["filevault"]["state"]
    users = model.get("users") or []
    me = [u for u in users if u["name"] == admin]
    ready = bool(admin) and have_password and (bool(me and me[0]["secure_token"])
                                               or (bool(admin_token) and not check_mode))
    predicted = bool(admin_token) and check_mode
    add = [u["name"] for u in users if rules.filevault_addable(model, u) and u["name"] in (known or [])
           and u["name"] != admin]
    encrypted = state in ("on", "encrypting")
    return {"state": state, "ready": ready, "predicted": predicted and not ready, "add": add,
            "enable": ready and (state == "off" or (encrypted and bool(add))),
            "check_key": ready and encrypted,
            "defer": state == "off" and not ready and not predicted and defer_without_credentials and not have_password}


def key_action(key_check: dict, rotate_unescrowed: bool = False) -> str:
    """What to do with an encrypted Mac's recovery key after the check: ``collect`` (an interrupted run of this
    collection left its key on the Mac), ``valid`` (the escrowed key unlocks the Mac), ``rotate`` (allowed: opted in,
    the key this collection made was lost, or the escrowed key was revealed and the check would rotate it) or
    ``left`` (someone else may hold the key: rotation is opt-in)."""
    if key_check.get("collected_pending"):
        return "collect"
    if key_check.get("valid") is True:
        return "rotate" if key_check.get("revealed") and key_check.get("actions") else "valid"
    if rotate_unescrowed or key_check.get("pending"):
        return "rotate"
    return "left"


def _failed(result: dict, what: str) -> Optional[dict]:
    if result.get("failed"):
        return _outcome(FV_STEP, "left", "%s%s" % (what, result.get("msg", "failed")),
                        "fix the cause above and run again")
    return None


def filevault_outcomes(model: dict, plan: dict, admin: Optional[str] = None, enabled: Optional[dict] = None,
                       key_check: Optional[dict] = None, key_failure: Optional[dict] = None,
                       deferred: Optional[dict] = None, rotate_unescrowed: bool = False,
                       check_mode: bool = False) -> list:
    """The FileVault step's outcomes from its plan and the registered results of the tasks that ran (a failed
    task's result included): enable or add, the key check and rotation (``key_failure``: the failed result of
    either), the deferral, and what is left."""
    out = []
    would = "would " if check_mode else ""
    if plan["enable"] and enabled is not None:
        failure = _failed(enabled, "FileVault: ")
        if failure:
            out.append(failure)
        elif enabled.get("changed"):
            detail = would + "; ".join(enabled.get("actions") or [])
            if enabled.get("escrowed"):
                detail += "; recovery key escrowed (fingerprint %s)" % enabled.get("key_fingerprint")
            out.append(_outcome(FV_STEP, "changed", detail))
        else:
            out.append(_outcome(FV_STEP, "ok", "FileVault already as wanted"))
    if plan["check_key"] and key_check is not None:
        failure = _failed(key_failure or {}, "recovery key: ")
        action = None if failure else key_action(key_check, rotate_unescrowed)
        if failure:
            out.append(failure)
        elif action == "collect":
            out.append(_outcome(FV_STEP, "changed", "%s the recovery key an interrupted run left on the Mac"
                                % ("would escrow" if check_mode else "escrowed")))
        elif action == "rotate":
            out.append(_outcome(FV_STEP, "changed", "%s (%s)" % (
                "would rotate the recovery key and escrow it" if check_mode
                else "rotated the recovery key and escrowed it", key_check.get("reason"))))
        elif action == "left":
            out.append(_outcome(FV_STEP, "left", "FileVault is on but no valid recovery key is escrowed here (%s)"
                                % key_check.get("reason"),
                                "set filevault_enforce_rotate_unescrowed_keys: true to rotate and escrow a new key"))
    state = plan["state"]
    deferred_to = model["filevault"].get("deferred_user") or ""
    if state == "off" and plan["predicted"]:
        out.append(_outcome(FV_STEP, "changed", "would enable FileVault authorised by %s (after the administrator "
                                                "gets a token)" % admin))
    elif (deferred or {}).get("changed"):
        out.append(_outcome(FV_STEP, "changed", "%s FileVault enablement to the next login"
                            % ("would defer" if check_mode else "deferred")))
    elif state == "off" and not plan["ready"]:
        out.append(_outcome(FV_STEP, "left", "FileVault is off and no token-holding administrator can enable it",
                            "give an administrator a token first (cli_users), then run again"))
    elif state == "deferred":
        out.append(_outcome(FV_STEP, "pending", "FileVault enablement is deferred to the next login"
                            + (" of " + deferred_to if deferred_to else ""),
                            "the user logs in; then escrow its key with filevault_recovery_key"))
    elif state == "decrypting":
        out.append(_outcome(FV_STEP, "left", "FileVault is decrypting",
                            "wait until decryption finishes, then run again"))
    return out


# ---- the bootstrap token ------------------------------------------------------------------------------------------

BT_STEP = "bootstrap_escrow"


def bootstrap_plan(model: dict, admin: Optional[str] = None, admin_token: Optional[bool] = None,
                   check_mode: bool = False) -> dict:
    """What the bootstrap token step does on one Mac: ``needed`` (enrolled, the server supports it, not escrowed:
    R31), ``ready`` (a token-holding administrator's credentials are given, now or after the administrator step:
    profiles needs one, R38), ``escrow`` (both), ``predicted`` (check mode: escrowed once the administrator has the
    token this run predicts)."""
    bt, mdm = model.get("bootstrap_token") or {}, model.get("mdm") or {}
    me = [u for u in model.get("users") or [] if u["name"] == admin]
    needed = bool(mdm.get("enrolled") and bt.get("supported") and not bt.get("escrowed"))
    ready = bool(admin) and (bool(me and me[0]["secure_token"]) or (bool(admin_token) and not check_mode))
    return {"needed": needed, "ready": ready, "escrow": needed and ready,
            "predicted": needed and not ready and bool(admin_token) and check_mode}


def bootstrap_outcomes(plan: dict, escrowed: Optional[dict] = None, check_mode: bool = False) -> dict:
    """The step's ``outcomes`` and ``escrowed_now`` (escrowed by this run, or predicted to be, for the steps after
    it) from its plan and the registered result of the escrow (failed or not)."""
    if plan["escrow"] and escrowed is not None:
        if escrowed.get("failed"):
            return {"escrowed_now": False, "outcomes": [_outcome(
                BT_STEP, "left", "bootstrap token not escrowed: %s" % escrowed.get("msg", "failed"),
                "fix the cause above and run again")]}
        return {"escrowed_now": True, "outcomes": [_outcome(
            BT_STEP, "changed" if escrowed.get("changed") else "ok",
            "%s the bootstrap token to the MDM" % ("would escrow" if check_mode else "escrowed"))]}
    if plan["predicted"]:
        return {"escrowed_now": True, "outcomes": [_outcome(
            BT_STEP, "changed", "would escrow the bootstrap token to the MDM (after the administrator gets a token)")]}
    if plan["needed"]:
        return {"escrowed_now": False, "outcomes": [_outcome(
            BT_STEP, "left",
            "bootstrap token not escrowed: no token-holding administrator whose credentials were given",
            "set macops_admin_user and macops_admin_password to an administrator with a secure token, or log in "
            "graphically as a token holder with the MDM reachable")]}
    return {"escrowed_now": False, "outcomes": []}


# ---- The whole run -----------------------------------------------------------------------------------------------

RUN_ORDER = ("administrator", BT_STEP, "cli_users", "mobile_accounts", FV_STEP)  # the order of remediate.yml


def remediation_plan(model: dict, admin: Optional[str] = None, have_password: bool = False,
                     known: Optional[List[str]] = None, promote: bool = True, check_mode: bool = True) -> dict:
    """Every step of one Mac's remediation in ``remediate.yml``'s order, each planned with what the steps before it
    predict (the administrator's token, the bootstrap token escrowed by this run): ``steps`` (name, plan,
    outcomes) and ``outcomes`` (all of them, in order). With ``check_mode`` (the default) it is the whole prediction
    of a check-mode run (the recovery key's check excepted: it needs the escrowed key); the roles call the same step
    functions one at a time with what really happened."""
    known = list(known or [])
    steps = []
    admin_step = admin_plan(model, admin, have_password, known, promote)
    admin_done = admin_outcomes(admin_step, admin, {"changed": True} if admin_step["action"] == "grant" else None,
                                check_mode)
    # The roles hand on the administrator's token only when the step ran: "none" leaves it to the Mac's reading.
    admin_token = admin_done["admin_token"] if admin_step["action"] != "none" else None
    steps.append({"step": "administrator", "plan": admin_step, "outcomes": admin_done["outcomes"]})
    bt = bootstrap_plan(model, admin, admin_token, check_mode)
    bt_done = bootstrap_outcomes(bt, {"changed": True} if bt["escrow"] else None, check_mode)
    steps.append({"step": BT_STEP, "plan": bt, "outcomes": bt_done["outcomes"]})
    for step in ("cli_users", "mobile_accounts"):
        plan = account_plan(model, step, admin, known, admin_token, bt_done["escrowed_now"], check_mode)
        granted = {"users": [{"user": n, "changed": True} for n in plan["grant"]]}
        steps.append({"step": step, "plan": plan,
                      "outcomes": (grant_outcomes(granted, step, check_mode) if plan["grant"] else [])
                      + plan["outcomes"]})
    fv = filevault_plan(model, admin, have_password, known, admin_token, check_mode)
    # The recovery key's check needs the escrowed key, which only the step itself reads: it is not predicted here.
    enabled = {"changed": True, "actions": ([says_add(n) for n in fv["add"]] if fv["state"] in ("on", "encrypting")
                                            else [says_enable(admin, fv["add"])])} if fv["enable"] else None
    steps.append({"step": FV_STEP, "plan": fv, "outcomes": filevault_outcomes(
        model, fv, admin, enabled=enabled, deferred={"changed": True} if fv["defer"] else None,
        check_mode=check_mode)})
    return {"steps": steps, "outcomes": [o for s in steps for o in s["outcomes"]]}
