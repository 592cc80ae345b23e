# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read a whole Mac in one pass into one model: platform, accounts, tokens, MDM, bootstrap token, FileVault.

PRIVATE: this module is internal to macops.tokens and may change without notice.

The number of tool calls does not depend on the number of accounts: every account is
read with one ``dscl -readall``; token state comes from three signals read once each
(AuthenticationAuthority, APFS crypto users, ``fdesetup list``), never from one
``sysadminctl`` per user. Platform facts come only from Apple's tools (``sw_vers``,
``uname``, ``sysctl``), never from the Python interpreter, which may be a translated or
managed one and says nothing reliable about the Mac.
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P

PRK_UUID = "EBC6C064-0000-11AA-AA11-00306543ECAC"
USER_KEYS = ["RecordName", "RealName", "UniqueID", "GeneratedUID", "AuthenticationAuthority", "OriginalNodeName",
             "NFSHomeDirectory"]
ALL_PARTS = ("os", "users", "filevault", "mdm")


def _platform(runner):
    sw = runner.parse(P.parse_sw_vers, runner.run("sw_vers", []))
    machine = runner.parse(P.parse_single_value, runner.run("uname", ["-m"]))
    brand = runner.parse(P.parse_single_value, runner.run("sysctl", ["-n", "machdep.cpu.brand_string"]))
    version = P.version_tuple(sw["product_version"])
    # uname -m says x86_64 under Rosetta; the CPU brand names the Apple chip even then.
    apple_silicon = brand.startswith("Apple") or machine == "arm64"
    return {
        "product_name": sw["product_name"], "version": sw["product_version"], "build": sw["build_version"],
        "version_extra": sw["product_version_extra"], "major": version[0],
        "version_tuple": list(version), "machine": machine, "cpu_brand": brand, "apple_silicon": apple_silicon,
        "architecture": "apple_silicon" if apple_silicon else "intel",
        "t2": None if not apple_silicon else False,
        "t2_reason": "no local tool read here tells a T2 Mac from an older Intel Mac" if not apple_silicon else None,
    }


def _kind(record, managed_admins):
    info = P.parse_authentication_authority(record.get("AuthenticationAuthority", []))
    name = record["name"]
    if name in managed_admins:
        return "managed_admin"
    if info["local_cached_user"]:
        return "mobile"
    if info["netlogon"] and not info["shadow_hash"]:
        return "network"
    if record["uid"] is not None and record["uid"] < 500 or name.startswith("_"):
        return "service"
    return "local"


def _users(runner, managed_admins):
    result = runner.run("dscl", [".", "-readall", "/Users"] + USER_KEYS)
    records = runner.parse(P.parse_dscl_readall, result)
    admins_result = runner.run("dscl", [".", "-read", "/Groups/admin", "GroupMembership"])
    admins = set(runner.parse(P.parse_dscl_read, admins_result).get("GroupMembership", []))
    users = []
    for raw in records:
        names = raw.get("RecordName") or []
        if not names:
            continue
        try:
            uid = int((raw.get("UniqueID") or [""])[0])
        except ValueError:
            uid = None
        record = {"name": names[0], "uid": uid, "AuthenticationAuthority": raw.get("AuthenticationAuthority", [])}
        authority = P.parse_authentication_authority(record["AuthenticationAuthority"])
        users.append({
            "name": names[0],
            "full_name": " ".join(raw.get("RealName") or []) or None,
            "uid": uid,
            "guid": ((raw.get("GeneratedUID") or [None])[0] or "").upper() or None,
            "admin": names[0] in admins,
            "kind": _kind(record, managed_admins),
            "home": (raw.get("NFSHomeDirectory") or [None])[0],
            "original_node": " ".join(raw.get("OriginalNodeName") or []) or None,
            "disabled_tags": authority["disabled_tags"],
            "authority_token_tag": authority["secure_token_tag"],
        })
    return users


def _filevault(runner):
    status = runner.parse(P.parse_fdesetup_status, runner.run("fdesetup", ["status"]))
    listed = runner.parse(P.parse_fdesetup_list, runner.run("fdesetup", ["list"]))
    prk = runner.parse(P.parse_fdesetup_bool, runner.run("fdesetup", ["haspersonalrecoverykey"], ok_codes=None))
    irk = runner.parse(P.parse_fdesetup_bool, runner.run("fdesetup", ["hasinstitutionalrecoverykey"], ok_codes=None))
    deferral = runner.parse(P.parse_showdeferralinfo, runner.run("fdesetup", ["showdeferralinfo"], ok_codes=None))
    if status["encrypting"]:
        state = "encrypting"
    elif status["decrypting"]:
        state = "decrypting"
    elif status["enabled"]:
        state = "on"
    elif status["deferred_user"] or deferral["active"]:
        state = "deferred"
    else:
        state = "off"
    deferred_user = status["deferred_user"] or (deferral["users"][0] if deferral["users"] else None)
    return {
        "state": state, "enabled": bool(status["enabled"]), "percent": status["percent"],
        "restart_pending": status["restart_pending"], "deferred_user": deferred_user,
        "deferral_configured": deferral["active"] or bool(status["deferred_user"]),
        "personal_recovery_key": prk, "institutional_recovery_key": irk or status["master_keychain"],
        "users": [e for e in listed if e["user"] is not None],
    }


def _mdm(runner):
    enrollment = runner.parse(P.parse_enrollment_status, runner.run("profiles", ["status", "-type", "enrollment"]))
    bootstrap = {"supported": False, "escrowed": None}
    if enrollment["mdm_enrolled"]:
        bootstrap = runner.parse(P.parse_bootstrap_status,
                                 runner.run("profiles", ["status", "-type", "bootstraptoken"]))
    return enrollment, bootstrap


def gather(runner, managed_admins=(), parts=ALL_PARTS):
    """The model of one Mac. ``parts`` limits what is read (the platform is always read)."""
    managed = set(managed_admins or ())
    model = {"os": _platform(runner)}
    apfs_users = None
    if "users" in parts or "filevault" in parts or "mdm" in parts:
        crypto = runner.run("diskutil", ["apfs", "listCryptoUsers", "/"])
        apfs_users = runner.parse(P.parse_crypto_users, crypto)
        model["crypto_users"] = apfs_users
    if "filevault" in parts:
        model["filevault"] = _filevault(runner)
    if "mdm" in parts:
        enrollment, bootstrap = _mdm(runner)
        local_bt = any(c["type"] == "MDM Bootstrap Token External Key" for c in (apfs_users or []))
        model["mdm"] = {"enrolled": enrollment["mdm_enrolled"], "dep": enrollment["dep"],
                        "user_approved": enrollment["user_approved"], "server": enrollment["server"]}
        model["bootstrap_token"] = {"supported": bootstrap["supported"], "escrowed": bootstrap["escrowed"],
                                    "local_record": local_bt if apfs_users is not None else None}
    if "users" in parts:
        model["users"] = _assess_users(_users(runner, managed), apfs_users, model.get("filevault"),
                                       model["os"]["apple_silicon"])
        holders = [u for u in model["users"] if u["secure_token"]]
        model["token_holders"] = len(holders)
        model["admin_token_holders"] = len([u for u in holders if u["admin"]])
        model["volume_owners"] = len([u for u in holders if u["volume_owner"]])
    model["tool_calls"] = len(runner.calls)
    return model


def _assess_users(users, crypto_users, filevault, apple_silicon):
    """Token state from every signal; when they disagree the user is inconsistent, never guessed."""
    crypto = {}
    for entry in crypto_users or []:
        if entry["type"] and entry["type"].startswith("Local Open Directory"):
            crypto[entry["uuid"]] = entry
    fv_on = bool(filevault and filevault["state"] in ("on", "encrypting", "decrypting"))
    fv_listed = {e["uuid"] for e in (filevault or {}).get("users", [])}
    out = []
    for user in users:
        in_crypto = user["guid"] in crypto
        listed = user["guid"] in fv_listed if filevault is not None else None
        signals = {"authentication_authority": user["authority_token_tag"], "crypto_user": in_crypto,
                   "filevault_list": listed if fv_on else None}
        agree = user["authority_token_tag"] == in_crypto and not (fv_on and listed and not in_crypto)
        owner = crypto[user["guid"]]["volume_owner"] if in_crypto else (False if apple_silicon else None)
        if not apple_silicon:
            owner = None
        if user["uid"] is None or user["uid"] < 500 and not in_crypto and not user["authority_token_tag"]:
            continue  # system accounts that hold nothing are not reported
        entry = dict(user)
        del entry["authority_token_tag"]
        entry.update({
            "secure_token": in_crypto if agree else None,
            "token_state": ("enabled" if in_crypto else "disabled") if agree else "inconsistent",
            "token_signals": signals,
            "crypto_user": in_crypto,
            "filevault_user": bool(listed) if listed is not None else False,
            "volume_owner": owner,
        })
        out.append(entry)
    return out
