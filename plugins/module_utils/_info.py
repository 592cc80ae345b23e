# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glue shared by the read-only modules: read the Mac once, shape one view, fail with the command named.

PRIVATE: this module is internal to macops.tokens and may change without notice.
"""

from __future__ import annotations

import time

from ansible_collections.macops.tokens.plugins.module_utils import _findings
from ansible_collections.macops.tokens.plugins.module_utils import _rules as rules
from ansible_collections.macops.tokens.plugins.module_utils._filevault import validate_key
from ansible_collections.macops.tokens.plugins.module_utils._account import (
    MAX_PROMPT_BYTES, password_ok, password_problem)
from ansible_collections.macops.tokens.plugins.module_utils._mac import full_disk_access, gather
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner, ToolError
from ansible_collections.macops.tokens.plugins.module_utils._rules import authentication_grants_first_token
from ansible_collections.macops.tokens.plugins.module_utils._tokens import find_user

TOKEN_CODES = {"no_token_holder", "only_standard_token_holders", "token_state_inconsistent",
               "local_user_without_token", "mobile_account_without_token", "managed_admin_without_token",
               "network_account_not_eligible", "no_volume_owner", "orphaned_crypto_user", "holder_not_volume_owner"}
BOOTSTRAP_CODES = {"not_enrolled_in_mdm", "bootstrap_token_unsupported", "bootstrap_token_not_escrowed"}
FILEVAULT_CODES = {"filevault_off", "filevault_deferred", "filevault_encrypting", "filevault_decrypting",
                   "filevault_restart_pending", "token_holder_not_filevault_user", "no_recovery_key",
                   "filevault_setup_incomplete", "holder_not_volume_owner", "recovery_key_not_escrowed",
                   "icloud_recovery_only"}
PARTS = {
    "all": ("os", "users", "filevault", "mdm"),
    "secure_token": ("os", "users", "filevault", "mdm"),
    "bootstrap_token": ("os", "mdm"),
    "filevault": ("os", "users", "filevault"),
}


# Findings that describe a Mac in the middle of a change that settles by itself: the audit waits for them
# (transient_wait) and the remediation never repairs the step they concern while they last.
TRANSIENT_CODES = ("filevault_setup_incomplete", "filevault_encrypting", "filevault_decrypting",
                   "filevault_restart_pending")
SETTLES = ("filevault_setup_incomplete",)  # worth waiting for: minutes, not hours
POLL = 5


def read_mac(module, parts, runner=None):
    """Gather the model, or fail the task naming the command and quoting what it printed.

    The reads run ``parallel_reads`` at a time (1, or a module without the option: one by one); the model, the
    calls counted and any failure do not depend on it.

    With ``transient_wait``, a Mac in a state that settles within minutes (FileVault on before its user's key is
    written) is read again until it has settled or the time is up; the model says which transient states remain.
    """
    if module.params["timeout"] < 1:
        module.fail_json(msg="timeout must be at least 1 second; got %s" % module.params["timeout"])
    wait = module.params.get("transient_wait") or 0
    if wait < 0:
        module.fail_json(msg="transient_wait must be 0 (do not wait) or a number of seconds; got %s" % wait)
    parallel = module.params.get("parallel_reads")
    parallel = 1 if parallel is None else parallel
    if parallel < 1:
        module.fail_json(msg="parallel_reads must be at least 1 (1 reads one tool at a time); got %s" % parallel)
    runner = runner or Runner(module, timeout=module.params["timeout"])
    runner.parallel = parallel
    deadline = time.time() + wait
    settling = False
    try:
        while True:
            model = gather(runner, managed_admins=module.params.get("managed_admins") or [], parts=parts)
            transient = [f["code"] for f in _findings.findings(model) if f["code"] in TRANSIENT_CODES]
            # A reading taken while the Mac settles can straddle the change (one tool read before it, the next
            # after), and then the token signals disagree: that reading is torn, not a state; read again.
            torn = settling and any(u["token_state"] == "inconsistent" for u in model.get("users") or [])
            settling = settling or any(code in SETTLES for code in transient)
            if (not any(code in SETTLES for code in transient) and not torn) or time.time() >= deadline:
                model["transient"] = transient
                model["tool_calls"] = len(runner.calls)
                return model
            time.sleep(min(POLL, max(0.0, deadline - time.time())))
    except ToolError as exc:
        module.fail_json(msg=str(exc), **exc.details())


def verify_credentials(module, runner, model, credentials):
    """Check the passwords the run was given, where an authentication cannot itself grant the first token.

    Returns one entry per credential (``verified`` true, false, or null with the reason it was not checked) and
    a finding for each refused one, naming the account and where its password came from.
    """
    results, found = [], []
    for item in credentials or []:
        name, source = item.get("user"), item.get("source") or "the credentials given"
        entry = {"user": name, "source": source, "verified": None, "reason": None}
        user = find_user(model, name)
        password = item.get("password")
        if user is None:
            entry["reason"] = "no account named %s on this Mac" % name
            if not item.get("required", True):
                continue  # a fleet-wide password map names accounts that only some Macs have
        elif password is None or password == "":
            entry["reason"] = "no password given"
        elif authentication_grants_first_token(model, user):
            entry["reason"] = ("not checked: nobody holds a secure token, and authenticating %s could itself grant "
                               "the first token" % name)
        elif password_problem(password):
            entry["reason"] = "not checked: it cannot be used: %s" % password_problem(password)
        elif len(password.encode("utf-8")) > MAX_PROMPT_BYTES:
            entry["reason"] = ("not checked: longer than %d bytes, which macOS password prompts do not take"
                               % MAX_PROMPT_BYTES)
        else:
            try:
                entry["verified"] = password_ok(runner, name, password)[0]
            except ToolError as exc:
                entry["reason"] = "not checked: %s" % exc
        if user is None or entry["verified"] is False:
            admin = bool(user and user["admin"])
            found.append(_findings.credential_finding(name, source, user is not None, admin))
        results.append(entry)
    return results, found


def watched(params):
    """The accounts the organisation relies on, each with the input that names it (a service account wins)."""
    out = dict((name, rules.MANAGED_SOURCE) for name in params.get("managed_admins") or [])
    out.update((name, rules.SERVICE_SOURCE) for name in params.get("service_accounts") or [])
    return out


def check_escrow(module, runner, model):
    """What this controller's escrow says of the Mac's personal recovery key, then who can recover the Mac.

    The action plugin reads the escrow (O(escrow_dir)) and hands the key in O(recovery_key) (no_log); it is
    validated read-only with ``fdesetup validaterecovery``, the key on stdin in an input plist, never on argv.
    """
    fv = model.get("filevault")
    if fv is None:
        return
    params = module.params
    if not params.get("escrow_dir") or fv["state"] not in rules.ENCRYPTED:
        fv["escrow"] = rules.ESCROW_NOT_CHECKED
    elif not params.get("recovery_key"):
        fv["escrow"] = rules.ESCROW_ABSENT
    else:
        try:
            valid = validate_key(runner, params["recovery_key"])
        except ToolError as exc:
            module.fail_json(msg="validating the escrowed recovery key failed: %s" % exc, **exc.details())
        fv["escrow"] = rules.ESCROW_VALID if valid else rules.ESCROW_INVALID
    # A key revealed from the escrow (the ledger, via the action plugin) is still valid but used: said so.
    fv["escrow_revealed"] = params.get("revealed") if fv["escrow"] == rules.ESCROW_VALID else None
    fv["recovery_path"] = rules.recovery_path(model)


def run_info(module, view):
    runner = Runner(module, timeout=module.params["timeout"])
    model = read_mac(module, PARTS[view], runner)
    check_escrow(module, runner, model)
    if view == "all":
        model["watched_accounts"] = watched(module.params)
    found = _findings.findings(model)
    if view == "all":
        checked, refused = verify_credentials(module, runner, model, module.params.get("verify_credentials"))
        found = sorted(found + refused, key=lambda f: (_findings.SEVERITY_ORDER[f["severity"]], f["code"]))
        model["tool_calls"] = len(runner.calls)
        model["remote_login_full_disk_access"] = full_disk_access()
        allowed = module.params.get("bootstrap_allowed_for_authentication", "unknown")
        module.exit_json(changed=False, mac=model, readiness=_findings.readiness(model, allowed), findings=found,
                         credentials=checked)
    wanted = module.params.get("users") or []
    if view == "secure_token":
        users = model["users"]
        unknown = sorted(set(wanted) - {u["name"] for u in users})
        if unknown:
            module.fail_json(msg="no account named %s on this Mac (accounts with UID 500 or above and token "
                                 "holders are listed)" % ", ".join(unknown))
        if wanted:
            users = [u for u in users if u["name"] in wanted]
        module.exit_json(changed=False, os=model["os"], users=users, token_holders=model["token_holders"],
                         admin_token_holders=model["admin_token_holders"], volume_owners=model["volume_owners"],
                         bootstrap_token=model["bootstrap_token"], tool_calls=model["tool_calls"],
                         findings=[f for f in found if f["code"] in TOKEN_CODES])
    if view == "bootstrap_token":
        module.exit_json(changed=False, os=model["os"], mdm=model["mdm"], bootstrap_token=model["bootstrap_token"],
                         tool_calls=model["tool_calls"], findings=[f for f in found if f["code"] in BOOTSTRAP_CODES])
    users = [{"name": u["name"], "secure_token": u["secure_token"], "filevault_user": u["filevault_user"],
              "volume_owner": u["volume_owner"]} for u in model["users"]]
    module.exit_json(changed=False, os=model["os"], filevault=model["filevault"], users=users,
                     tool_calls=model["tool_calls"], findings=[f for f in found if f["code"] in FILEVAULT_CODES])
