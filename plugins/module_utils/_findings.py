# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""From a Mac's model to readiness and findings: pure functions, stable codes, plain words, next steps.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Rule numbers (Rn) and failure modes (Fn) refer to the collection's behaviour reference
(macOS secure token, bootstrap token and FileVault rules, failure modes and the order
admins remediate them in). Facts no local tool shows are inputs, or reported as unknown.
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils import _rules as rules

FINDING_CODES = (
    "no_token_holder", "only_standard_token_holders", "token_state_inconsistent", "local_user_without_token",
    "mobile_account_without_token", "managed_admin_without_token", "network_account_not_eligible",
    "filevault_off", "filevault_deferred", "filevault_encrypting", "filevault_decrypting",
    "filevault_restart_pending", "token_holder_not_filevault_user", "no_recovery_key", "not_enrolled_in_mdm",
    "bootstrap_token_unsupported", "bootstrap_token_not_escrowed", "no_volume_owner", "orphaned_crypto_user",
    "filevault_setup_incomplete", "holder_not_volume_owner", "credential_rejected", "recovery_key_not_escrowed",
    "icloud_recovery_only", "watched_account_missing", "watched_account_without_token",
    "watched_account_not_filevault_user", "watched_account_not_volume_owner", "recovery_key_revealed",
)
READINESS_FUNCTIONS = ("filevault", "software_updates", "startup_security_policy", "erase_all_content_and_settings",
                       "kext_approval", "bootstrap_token_authorisation", "grant_secure_tokens")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _v(model):
    return tuple(model["os"]["version_tuple"])


def _finding(code, severity, message, next_step, rule, users=None):
    return {"code": code, "severity": severity, "users": sorted(users or []), "message": message,
            "next_step": next_step, "rule": rule}


def _names(users):
    return ", ".join(u["name"] for u in users)


def findings(model):
    """Every problem found, most severe first, each with a stable code and the next step."""
    out = []
    version = _v(model)
    users = model.get("users")
    if users is not None:
        out.extend(_token_findings(model, users, version))
    if "filevault" in model:
        out.extend(_filevault_findings(model, users))
    if "mdm" in model:
        out.extend(_bootstrap_findings(model))
    if users is not None and model.get("watched_accounts"):
        out.extend(watched_account_findings(model, model["watched_accounts"], out))
    return sorted(out, key=lambda f: (SEVERITY_ORDER[f["severity"]], f["code"]))


def _token_findings(model, users, version):
    out = []
    eligible = [u for u in users if u["kind"] != "network"]
    holders = rules.holders(model)
    inconsistent = [u for u in users if u["token_state"] == "inconsistent"]
    if inconsistent:
        out.append(_finding(
            "token_state_inconsistent", "warning",
            "The token signals disagree for %s: AuthenticationAuthority, the APFS crypto users and the FileVault list "
            "do not tell the same story, so the token state is unknown." % _names(inconsistent),
            "Compare the signals listed in token_signals; a ;SecureToken; entry written by hand creates no token. "
            "Re-check with sysadminctl -secureTokenStatus before acting.", "R4, R7",
            [u["name"] for u in inconsistent]))
    orphans = model.get("orphan_crypto_users") or []
    fv_state = (model.get("filevault") or {}).get("state")
    if orphans:
        out.append(_finding(
            "orphaned_crypto_user", "warning" if holders else "critical",
            "The volume still holds the key of %d deleted account%s (a Local Open Directory crypto user with no "
            "account: %s); nobody can use it, and while it is there macOS may consider the first secure token "
            "already given." % (len(orphans), "" if len(orphans) == 1 else "s", ", ".join(orphans)),
            "Delete accounts with sysadminctl -deleteUser, never dscl . -delete. %s" % (
                "The remaining token holders are unaffected." if holders else
                "With no holder left, only the bootstrap token (a graphical login of a user while it is escrowed, "
                "macOS 11 and later) or an erase and reinstall gives this Mac a token holder again."),
            "R29c, F3"))
    if not holders and not inconsistent and fv_state in ("on", "encrypting") and not orphans:
        out.append(_finding(
            "filevault_setup_incomplete", "info",
            "FileVault reports On but no user key is on the volume yet; right after Setup Assistant this settles "
            "within minutes as the account's key is written.",
            "Wait and read the Mac again (transient_wait); if it persists, nobody can unlock FileVault: treat it as "
            "no token holder (an erase and reinstall may be the only fix).", "R9, R56"))
    elif not holders and not inconsistent:
        step = rules.first_token_step(model)
        if orphans:
            step = "No first-token rule can be relied on while the deleted account's key remains; " + step
        out.append(_finding("no_token_holder", "critical",
                            "Nobody on this Mac holds a secure token: FileVault cannot be managed, and nobody can "
                            "grant tokens or authorise protected operations.",
                            step + ".", "F1, R10-R16, R23"))
    elif holders and not any(u["admin"] for u in holders):
        out.append(_finding("only_standard_token_holders", "critical",
                            "Only standard users hold a secure token (%s); a standard user cannot grant tokens."
                            % _names(holders),
                            "Add %s to the admin group for the moment, grant an administrator a token with sysadminctl "
                            "-secureTokenOn, then remove it from the admin group again." % holders[0]["name"],
                            "F2, R27", [u["name"] for u in holders]))
    can_grant = any(rules.can_grant(u) for u in holders)
    by_kind = {}
    watched = model.get("watched_accounts") or {}
    service = set(n for n in watched if watched[n] == rules.SERVICE_SOURCE)
    for user in eligible:
        if user["secure_token"] is False and user["name"] not in service:  # those are named one by one below
            by_kind.setdefault(user["kind"], []).append(user)
    grant_step = ("grant a token with sysadminctl -secureTokenOn from an administrator who holds one, with both "
                  "passwords" if can_grant else "first give an administrator a token (see the finding above), then "
                  "grant one with sysadminctl -secureTokenOn")
    for kind, code, label in (("local", "local_user_without_token", "Local accounts"),
                              ("mobile", "mobile_account_without_token", "Mobile (Active Directory) accounts"),
                              ("managed_admin", "managed_admin_without_token", "The MDM's managed administrator")):
        members = by_kind.get(kind, [])
        if not members:
            continue
        route = rules.token_route(model, members[0])  # one route per kind: the rules depend on the kind only
        rule = rules.route_rule(model, route)
        if route == rules.ROUTE_AT_LOGIN:
            step, severity = rules.AT_LOGIN_STEP, "info"
        elif route == rules.ROUTE_FIRST_LOGIN:
            step = "Log in as the managed administrator at the login window: a pre-hashed account gets the first token."
            severity = "warning"
        else:
            severity = "warning"
            step = grant_step[0].upper() + grant_step[1:] + "."
            if rules.login_grants_token(model, kind, escrowed_now=True) and rules.bootstrap_could_be_escrowed(model):
                step += " Or escrow the bootstrap token, after which the next graphical login grants it."
        out.append(_finding(code, severity, "%s without a secure token: %s. They cannot unlock FileVault or authorise "
                                            "protected operations." % (label, _names(members)),
                            step, rule, [u["name"] for u in members]))
    network = [u for u in users if u["kind"] == "network"]
    if network:
        out.append(_finding("network_account_not_eligible", "info",
                            "Network (directory) accounts cannot hold a secure token: %s." % _names(network),
                            "Convert them to mobile accounts if they must unlock FileVault.", "R21",
                            [u["name"] for u in network]))
    if model["os"]["apple_silicon"] and holders and not any(u["volume_owner"] for u in holders):
        out.append(_finding("no_volume_owner", "critical",
                            "No account is a volume owner: nobody can authorise macOS updates or startup security "
                            "changes on this Apple silicon Mac.",
                            "Have the MDM authorise updates with the escrowed bootstrap token, or grant a token "
                            "from an owner; without an owner, an erase and reinstall is the remaining fix.",
                            "R49, R50"))
    return out


def _filevault_findings(model, users):
    fv = model["filevault"]
    out = []
    state = fv["state"]
    if state == "off":
        out.append(_finding("filevault_off", "warning", "FileVault is off: the data on this Mac is not protected "
                                                        "by a login password at startup.",
                            "Enable FileVault with the credentials of a secure-token holder, and escrow the recovery "
                            "key.", "R51, R52"))
    elif state == "deferred":
        who = fv["deferred_user"] or "the next user who logs in"
        out.append(_finding("filevault_deferred", "info",
                            "FileVault enablement is deferred until %s logs out or in." % who,
                            "Nothing to do unless it has been pending for long: the user must log in or out at the "
                            "login window.", "R55", [fv["deferred_user"]] if fv["deferred_user"] else []))
    elif state in ("encrypting", "decrypting"):
        done = "" if fv["percent"] is None else " (%g%% done)" % fv["percent"]
        if fv.get("paused"):
            out.append(_finding("filevault_" + state, "info",
                                "FileVault encryption is pending: the Mac runs on battery, and encryption only "
                                "proceeds on mains power.", "Connect the Mac to power; nothing to change here.",
                                "R54"))
        else:
            out.append(_finding("filevault_" + state, "info", "FileVault is %s%s." % (state, done),
                                "Wait until it has finished before changing FileVault.", "R54"))
    if fv["restart_pending"]:
        out.append(_finding("filevault_restart_pending", "info", "A FileVault change finishes at the next restart.",
                            "Restart the Mac.", "R54"))
    if state in ("on", "encrypting", "decrypting"):
        out.extend(_recovery_findings(model))
        if users is not None:
            missing = [u for u in users if u["secure_token"] and u["filevault_user"] is False]
            addable = [u for u in missing if rules.filevault_addable(model, u)]
            not_owner = [u for u in missing if u not in addable]
            if addable:
                out.append(_finding("token_holder_not_filevault_user", "warning",
                                    "Token holders who cannot unlock FileVault at startup: %s." % _names(addable),
                                    "Add them with fdesetup add, authorised by a FileVault user.", "R29b",
                                    [u["name"] for u in addable]))
            if not_owner:
                out.append(_finding("holder_not_volume_owner", "warning",
                                    "Token holders who are not volume owners, so on Apple silicon they can neither "
                                    "unlock FileVault nor authorise updates: %s." % _names(not_owner),
                                    "Ownership comes with a token granted by a volume owner, or by the bootstrap "
                                    "token at a graphical login: remove the token (sysadminctl -secureTokenOff) and "
                                    "grant it again from a volume owner.", "R3, R47",
                                    [u["name"] for u in not_owner]))
    return out


ESCROW_SAYS = {rules.ESCROW_ABSENT: "the escrow on this controller holds no key for this Mac",
               rules.ESCROW_INVALID: "the key escrowed on this controller does not validate on the Mac (it was "
                                     "rotated elsewhere, or belongs to another Mac)"}


def _recovery_findings(model):
    """Who can recover the Mac (rules.recovery_path), as a finding when the organisation cannot."""
    path = rules.recovery_path(model)
    if path == rules.RECOVERY_NONE:
        return [_finding("no_recovery_key", "critical",
                         "FileVault is on and there is no recovery key: if every FileVault user forgets their "
                         "password the data is lost.",
                         "Create and escrow a personal recovery key: run macops.tokens.filevault_recovery_key with "
                         "escrow_dir (macops_escrow_dir) and a FileVault user's credentials, or remediate.yml with "
                         "filevault_enforce_rotate_unescrowed_keys: true.", "R52, R58")]
    if model["filevault"]["state"] == "decrypting":
        return []  # the key stops mattering when decryption ends; no key is rotated meanwhile (the remediation waits)
    if path == rules.RECOVERY_ESCROWED and model["filevault"].get("escrow_revealed"):
        return [_finding("recovery_key_revealed", "warning",
                         "The recovery key escrowed for this Mac was %s: whoever saw it can unlock this Mac until "
                         "it is rotated." % model["filevault"]["escrow_revealed"],
                         "Run remediate.yml (filevault_enforce rotates a revealed key, "
                         "filevault_enforce_rotate_revealed_keys) or macops.tokens.filevault_recovery_key with "
                         "escrow_dir: the new key is escrowed and validated, the old one kept as superseded.",
                         "R52, R58")]
    if path == rules.RECOVERY_ICLOUD_ONLY:
        return [_finding("icloud_recovery_only", "warning",
                         "Only the user's Apple Account (iCloud) can recover this Mac: the volume has an iCloud "
                         "Recovery User and no personal or institutional recovery key, so the organisation holds "
                         "no recovery key for it.",
                         "The organisation holds no recovery key for this Mac: " + rules.ROTATE_AND_ESCROW_STEP
                         + " (this creates a personal recovery key).", "R52, R58")]
    if path == rules.RECOVERY_PERSONAL_NOT_ESCROWED:
        why = ESCROW_SAYS[model["filevault"]["escrow"]]
        return [_finding("recovery_key_not_escrowed", "warning",
                         "The Mac has a personal recovery key, but %s: whoever holds that key (the user, or an MDM), "
                         "the organisation cannot recover this Mac from here." % why,
                         "The organisation holds no recovery key for this Mac: " + rules.ROTATE_AND_ESCROW_STEP + ".",
                         "R52, R58")]
    return []


def _bootstrap_findings(model):
    mdm, bt = model["mdm"], model["bootstrap_token"]
    if not mdm["enrolled"]:
        return [_finding("not_enrolled_in_mdm", "info",
                         "This Mac is not enrolled in an MDM, so it has no bootstrap token.",
                         "Enroll it in the MDM (Automated Device Enrollment where possible).", "R30")]
    if bt.get("allowed") is False:
        return [_finding("bootstrap_token_unsupported", "warning",
                         "The MDM has not allowed the bootstrap token for this Mac ('Bootstrap Token functionality "
                         "is not supported on the server').",
                         "Have the MDM send the Settings command with MDMOptions BootstrapTokenAllowed set (Jamf: "
                         "enable bootstrap token escrow for the device), then escrow it.", "R31, F6")]
    if not bt["supported"]:
        return [_finding("bootstrap_token_unsupported", "warning",
                         "The MDM server does not tell this Mac that it supports the bootstrap token.",
                         "Re-enroll with an enrollment profile that advertises the bootstrap token capability.",
                         "R31, F6")]
    if not bt["escrowed"]:
        local = " A bootstrap token exists on the Mac but the server does not have it." if bt["local_record"] else ""
        return [_finding("bootstrap_token_not_escrowed", "warning",
                         "The bootstrap token is not escrowed to the MDM." + local,
                         "Escrow it with profiles install -type bootstraptoken as an administrator who holds a "
                         "secure token, or let a token holder log in at the login window while the MDM is reachable.",
                         "R33, R35, R38, F6")]
    return []


WATCHED_CODES = {rules.LINK_TOKEN: "watched_account_without_token", rules.LINK_FILEVAULT:
                 "watched_account_not_filevault_user", rules.LINK_OWNER: "watched_account_not_volume_owner"}
PASSWORD_STEP = ("put its current password in macops_user_passwords (a LAPS account: the password in use now, read "
                 "from the LAPS store just before the run)")


# The findings that already name an account for one link of its chain: a watched account is not named twice.
COVERED_BY = {rules.LINK_TOKEN: ("managed_admin_without_token", "local_user_without_token",
                                 "mobile_account_without_token", "token_state_inconsistent"),
              rules.LINK_FILEVAULT: ("token_holder_not_filevault_user", "holder_not_volume_owner"),
              rules.LINK_OWNER: ("holder_not_volume_owner",)}


def watched_account_findings(model, watched, found=()):
    """For each account the organisation relies on (``watched``: name -> the input that names it, such as
    macops_managed_admins or macops_service_accounts), a finding per missing link of its chain that no finding in
    ``found`` names it for already. Without a token only that link is reported: the others need one."""
    out = []
    users = dict((u["name"], u) for u in model.get("users") or [])
    named = set((f["code"], n) for f in found for n in f.get("users") or [])
    for name in sorted(watched):
        source = watched[name]
        user = users.get(name)
        if user is None:
            if source != rules.SERVICE_SOURCE:
                continue  # macops_managed_admins is fleet-wide: the MDM creates its account on the Macs it enrolled
            out.append(_finding("watched_account_missing", "warning",
                                "%s names %s, but no such account is on this Mac." % (source, name),
                                "Create the account (the MDM or the LAPS tool does), or correct %s." % source,
                                "R26", [name]))
            continue
        links = rules.missing_links(model, user)
        for link in links[:1] if rules.LINK_TOKEN in links else links:
            if not any((code, name) in named for code in COVERED_BY[link]):
                out.append(_watched_finding(model, user, source, link))
    return out


def _watched_finding(model, user, source, link):
    name = user["name"]
    if link == rules.LINK_TOKEN:
        route = rules.token_route(model, user)
        if route == rules.ROUTE_AT_LOGIN:
            step = rules.AT_LOGIN_STEP
        else:
            step = ("Grant it a token: %s and run remediate.yml (the cli_users role) with a token-holding "
                    "administrator's credentials." % PASSWORD_STEP)
            if route == rules.ROUTE_FIRST_LOGIN:
                step = "Log in as %s at the login window: a pre-hashed account gets the first token. Or: %s" % (
                    name, step[0].lower() + step[1:])
        return _finding(WATCHED_CODES[link], "warning",
                        "%s (named in %s) holds no secure token: it cannot grant tokens, unlock FileVault, own the "
                        "volume or authorise protected operations on this Mac." % (name, source), step,
                        rules.route_rule(model, rules.token_route(model, user)), [name])
    if link == rules.LINK_FILEVAULT:
        return _finding(WATCHED_CODES[link], "warning",
                        "%s (named in %s) is not a FileVault user: it cannot unlock this Mac at startup."
                        % (name, source),
                        "Add it to FileVault: %s and run remediate.yml (the filevault_enforce role adds token "
                        "holders whose password is known), authorised by a FileVault user. A password reset "
                        "without the old one (LAPS rotation without it) leaves FileVault with the old password "
                        "(R29d): rotate it with the old password given." % PASSWORD_STEP, "R29b, R29d",
                        [name])
    return _finding(WATCHED_CODES[link], "warning",
                    "%s (named in %s) is not a volume owner: on this Apple silicon Mac it cannot authorise updates "
                    "or startup security changes." % (name, source),
                    "Ownership comes with a token granted by a volume owner (or by the bootstrap token at a "
                    "graphical login); its token did not come from one: remove it (sysadminctl -secureTokenOff) and "
                    "grant it again from a volume owner (cli_users, with a volume owner's credentials). This "
                    "collection does not remove a token by itself.",
                    "R3, R47", [name])


def credential_finding(name, source, exists, admin):
    """A password the run was given that the Mac refuses (or an account that is not there)."""
    if not exists:
        return _finding("credential_rejected", "critical" if admin else "warning",
                        "%s names an account (%s) that does not exist on this Mac." % (source, name),
                        "Correct %s: give an account that exists here." % source, "R26", [name])
    return _finding("credential_rejected", "critical" if admin else "warning",
                    "The password in %s for %s is wrong: the Mac refused it (dscl -authonly)." % (source, name),
                    "Correct %s; until then nothing that needs %s's password can be done on this Mac."
                    % (source, name), "R26", [name])


def readiness(model, bootstrap_allowed_for_authentication="unknown"):
    """Which token-gated functions work on this Mac, and who or what can authorise each."""
    os_ = model["os"]
    version = _v(model)
    users = [u for u in model.get("users", []) if u["secure_token"]]
    admins = [u["name"] for u in model.get("users", []) if u["admin"] and u["kind"] != "network"]
    owners = [u["name"] for u in users if u["volume_owner"]]
    bt = rules.bootstrap_usable(model)
    allowed = bootstrap_allowed_for_authentication
    bt_auth = None if not bt else (True if allowed == "allowed" else (False if allowed == "disallowed" else None))
    mdm_label = ["MDM (bootstrap token)"] if bt_auth else []
    out = {}

    def entry(available, by, reason):
        return {"available": available, "authorised_by": by, "reason": reason}

    fv = model.get("filevault") or {}
    if fv.get("state") in ("on", "encrypting", "decrypting"):
        fv_users = [e["user"] for e in fv.get("users", [])]
        out["filevault"] = entry(bool(fv_users), fv_users, "FileVault is on; these users unlock it at startup")
    else:
        out["filevault"] = entry(bool(users), [u["name"] for u in users],
                                 "enabling FileVault needs the credentials of a secure-token holder"
                                 if users else "nobody holds a secure token")
    if os_["apple_silicon"]:
        by = owners + mdm_label
        unknown = bt and bt_auth is None
        reason = "on Apple silicon only volume owners, or the MDM with the bootstrap token, authorise this"
        if unknown:
            reason += "; whether the MDM may use the bootstrap token for authorisation is unknown (an input)"
        for name in ("software_updates", "startup_security_policy", "kext_approval"):
            avail = True if by else (None if unknown else False)
            out[name] = entry(avail, by, reason)
        if version >= (12,):
            out["erase_all_content_and_settings"] = entry(True if (owners or bt) else False, owners + (
                ["MDM (bootstrap token)"] if bt else []), "on Apple silicon the bootstrap token authorises EACS")
        else:
            out["erase_all_content_and_settings"] = entry(False, [], "needs macOS 12 or later")
        out["bootstrap_token_authorisation"] = entry(
            bt_auth, mdm_label, "needs an escrowed bootstrap token that the MDM may use for authentication"
            if bt else "the bootstrap token is not escrowed")
    else:
        out["software_updates"] = entry(bool(admins), admins, "on Intel Macs administrators authorise updates")
        out["startup_security_policy"] = entry(None if admins else False, admins,
                                               "T2 Macs need an administrator; older Intel Macs have no such policy")
        out["erase_all_content_and_settings"] = entry(None if version >= (12,) else False, admins,
                                                      "needs a T2 chip and macOS 12, and no local tool read here "
                                                      "shows the T2 chip" if version >= (12,) else
                                                      "needs macOS 12 or later")
        out["kext_approval"] = entry(bool(admins), admins, "on Intel Macs administrators approve extensions")
        out["bootstrap_token_authorisation"] = entry(False, [], "only Apple silicon Macs use the bootstrap token "
                                                                "for authorisation")
    grantors = [u["name"] for u in users if rules.can_grant(u)]
    out["grant_secure_tokens"] = entry(bool(grantors), grantors, "an administrator who holds a token grants tokens"
                                       if grantors else "no administrator holds a token")
    return out
