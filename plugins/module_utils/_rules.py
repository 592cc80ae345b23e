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


# Who can recover an encrypted Mac whose users have all forgotten their passwords (R52, R58), best first: the one
# answer the audit's finding, the module's result and the fleet report share.
RECOVERY_ESCROWED = "escrowed"  # a personal recovery key escrowed on this controller validates on the Mac
RECOVERY_INSTITUTIONAL = "institutional"  # an institutional recovery key (FileVaultMaster.keychain) is on the volume
RECOVERY_PERSONAL_NOT_ESCROWED = "personal_not_escrowed_here"  # a personal key exists; no valid copy in this escrow
RECOVERY_PERSONAL_UNCHECKED = "personal_escrow_not_checked"  # a personal key exists; no escrow was given to check
RECOVERY_ICLOUD_ONLY = "icloud_only"  # only the user's Apple Account (the iCloud Recovery User) unlocks the volume
RECOVERY_NONE = "none"  # no recovery key of any kind
RECOVERY_NOT_APPLICABLE = "not_applicable"  # FileVault is off or deferred: nothing is encrypted yet
RECOVERY_PATHS = (RECOVERY_ESCROWED, RECOVERY_INSTITUTIONAL, RECOVERY_PERSONAL_NOT_ESCROWED,
                  RECOVERY_PERSONAL_UNCHECKED, RECOVERY_ICLOUD_ONLY, RECOVERY_NONE, RECOVERY_NOT_APPLICABLE)
ENCRYPTED = ("on", "encrypting", "decrypting")
# model["filevault"]["escrow"]: what this controller's escrow says of the Mac's personal recovery key.
ESCROW_VALID, ESCROW_INVALID, ESCROW_ABSENT, ESCROW_NOT_CHECKED = "valid", "invalid", "absent", "not_checked"


def recovery_path(model: dict) -> Optional[str]:
    """Who can recover this Mac: one of RECOVERY_PATHS (None when FileVault was not read).

    The escrowed key counts only when it was validated on the Mac (``fdesetup validaterecovery``); an institutional
    key is the organisation's by construction; a personal key that no escrow here validates is someone else's, or
    nobody's. The iCloud Recovery User counts only when there is neither (legacy Apple Account escrow).
    """
    fv = model.get("filevault")
    if fv is None:
        return None
    if fv.get("state") not in ENCRYPTED:
        return RECOVERY_NOT_APPLICABLE
    if fv.get("personal_recovery_key") and fv.get("escrow") == ESCROW_VALID:
        return RECOVERY_ESCROWED
    if fv.get("institutional_recovery_key"):
        return RECOVERY_INSTITUTIONAL
    if fv.get("personal_recovery_key"):
        unchecked = fv.get("escrow", ESCROW_NOT_CHECKED) == ESCROW_NOT_CHECKED
        return RECOVERY_PERSONAL_UNCHECKED if unchecked else RECOVERY_PERSONAL_NOT_ESCROWED
    if fv.get("icloud_recovery"):
        return RECOVERY_ICLOUD_ONLY
    return RECOVERY_NONE


def filevault_addable(model: dict, user: dict) -> bool:
    """A token holder that is not (or, FileVault off, not yet) a FileVault user and that fdesetup add, or enabling
    FileVault with it, can make one (R29b); on Apple silicon only a volume owner can be (R3): a holder without
    ownership needs its token granted again by an owner first."""
    if not user["secure_token"] or user["filevault_user"]:
        return False
    return not (model["os"]["apple_silicon"] and user["volume_owner"] is False)


# How a Mac with FileVault comes back from a restart it was told to make over SSH (macops.tokens.filevault_restart).
RESTART_PLAIN = "plain"  # FileVault is off: the Mac boots into macOS by itself
RESTART_AUTHRESTART = "authrestart"  # fdesetup authrestart: the next boot is unlocked once, without anyone at pre-boot
RESTART_PREBOOT_SSH = "preboot_ssh"  # macOS 26 on Apple silicon: a FileVault user's password unlocks pre-boot over SSH
RESTART_METHODS = (RESTART_PLAIN, RESTART_AUTHRESTART, RESTART_PREBOOT_SSH)


def preboot_ssh_unlock(model: dict) -> bool:
    """macOS 26 and later on Apple silicon answer SSH at the FileVault pre-boot screen and unlock the Data volume with
    a FileVault user's password (apple_ssh_and_filevault(7); both public implementations say Apple silicon only)."""
    return bool(model["os"]["apple_silicon"]) and version(model) >= (26, 0, 0)


def restart_path(model: dict, method: str, has_user_password: bool, has_recovery_key: bool) -> tuple:
    """(path, reason) for a restart that must come back unlocked, or (None, why not).

    ``method`` is ``auto`` or one of RESTART_METHODS; ``model`` carries ``filevault.state`` and
    ``restart.supports_authrestart``. ``supportsauthrestart`` answers about the hardware, not FileVault (fdesetup(8),
    munki #627), so FileVault's state is asked first.
    """
    state = (model.get("filevault") or {}).get("state")
    if state not in ENCRYPTED:
        if method in ("auto", RESTART_PLAIN):
            return RESTART_PLAIN, "FileVault is %s, so the Mac boots into macOS without an unlock" % state
        return None, ("FileVault is %s on this Mac: nothing is unlocked at pre-boot, so method=%s does not apply "
                      "(use method=auto or plain)" % (state, method))
    supports = bool((model.get("restart") or {}).get("supports_authrestart"))
    reasons = []
    if method in ("auto", RESTART_AUTHRESTART):
        if not supports:
            reasons.append("fdesetup supportsauthrestart says false, so authrestart cannot unlock the next boot")
        elif not (has_user_password or has_recovery_key):
            reasons.append("authrestart needs a FileVault user's password (user and password) or the escrowed "
                           "recovery key (escrow_dir)")
        else:
            how = "a FileVault user's password" if has_user_password else "the escrowed recovery key"
            return RESTART_AUTHRESTART, ("FileVault is %s and the Mac supports authrestart: %s unlocks the next "
                                         "boot once" % (state, how))
    if method in ("auto", RESTART_PREBOOT_SSH):
        if not preboot_ssh_unlock(model):
            reasons.append("unlocking at pre-boot over SSH needs macOS 26 or later on Apple silicon (this Mac: "
                           "macOS %s, %s)" % (model["os"]["version"], model["os"]["architecture"]))
        elif not has_user_password:
            reasons.append("unlocking at pre-boot over SSH needs a FileVault user's name and password (user and "
                           "password); a recovery key is not accepted there")
        else:
            return RESTART_PREBOOT_SSH, ("FileVault is %s and this Mac answers SSH at pre-boot (macOS %s on Apple "
                                         "silicon): a plain restart, then the FileVault user's password unlocks it "
                                         "over SSH" % (state, model["os"]["version"]))
    if method == RESTART_PLAIN:
        reasons.append("FileVault is %s, so a plain restart would leave the Mac at the FileVault login window "
                       "until someone types a password there" % state)
    return None, "; ".join(reasons)


def organisation_can_recover(path: Optional[str]) -> bool:
    """The organisation holds a way in: an escrowed key it validated, or its institutional key."""
    return path in (RECOVERY_ESCROWED, RECOVERY_INSTITUTIONAL)


ROTATE_AND_ESCROW_STEP = ("rotate the personal recovery key and escrow the new one: run remediate.yml (the "
                          "filevault_enforce role) with filevault_enforce_rotate_unescrowed_keys: true, or "
                          "macops.tokens.filevault_recovery_key with escrow_dir (macops_escrow_dir) and a FileVault "
                          "user's credentials (force=true when a valid key is already escrowed)")


# The links an account the organisation relies on (the MDM's managed administrator, a LAPS or service account) needs
# to do its job: a secure token (R26), a FileVault user when FileVault is on (R29b), and on Apple silicon a volume
# owner (R47, R49).
LINK_TOKEN, LINK_FILEVAULT, LINK_OWNER = "secure_token", "filevault_user", "volume_owner"
# The inputs that name them (model["watched_accounts"]: name -> input). Managed administrators are named fleet-wide.
MANAGED_SOURCE, SERVICE_SOURCE = "macops_managed_admins", "macops_service_accounts"


def missing_links(model: dict, user: dict) -> list:
    """The links ``user`` lacks on this Mac, in the order they are fixed (a token first: the others need one)."""
    out = []
    if user["secure_token"] is not True:
        out.append(LINK_TOKEN)
    fv_state = (model.get("filevault") or {}).get("state")
    if fv_state in ("on", "encrypting") and user["filevault_user"] is not True:
        out.append(LINK_FILEVAULT)
    if model["os"]["apple_silicon"] and user["volume_owner"] is not True:
        out.append(LINK_OWNER)
    return out
