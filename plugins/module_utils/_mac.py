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

With ``parallel`` above 1 the reads run that many at a time: the reads whose argv depends on nothing read
(``independent_reads``) start together, and the rest as soon as what they depend on is read: the bootstrap token
status once the enrollment is, the directory lookups of home folders once the local accounts and /Users are.
The model is built from the results in the serial order, so it, ``runner.calls`` and any failure are the serial
gather's.
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P

PRK_UUID = "EBC6C064-0000-11AA-AA11-00306543ECAC"
USER_KEYS = ["RecordName", "RealName", "UniqueID", "GeneratedUID", "AuthenticationAuthority", "OriginalNodeName",
             "NFSHomeDirectory"]
ALL_PARTS = ("os", "users", "filevault", "mdm")
# The system privacy (TCC) database: opening it needs Full Disk Access, which a process started over SSH has only
# when Remote Login has it. No tool reports that right; this read is the probe.
TCC_DB = "/Library/Application Support/com.apple.TCC/TCC.db"


def independent_reads(parts):
    """The reads of ``gather(parts=parts)`` whose argv depends on nothing read, in the order gather makes them."""
    reads = [("sw_vers", []), ("uname", ["-m"]), ("sysctl", ["-n", "machdep.cpu.brand_string"])]
    if "users" in parts or "filevault" in parts or "mdm" in parts:
        reads.append(("diskutil", ["apfs", "listCryptoUsers", "/"]))
    if "filevault" in parts:
        reads.extend(("fdesetup", [word]) for word in ("status", "list", "haspersonalrecoverykey",
                                                       "hasinstitutionalrecoverykey", "showdeferralinfo"))
    if "mdm" in parts:
        reads.append(("profiles", ["status", "-type", "enrollment"]))
    if "users" in parts:
        reads.extend([("dscl", [".", "-readall", "/Users"] + USER_KEYS), ("ls", ["-1", "/Users"]),
                      ("dscl", [".", "-read", "/Groups/admin", "GroupMembership"])])
    return reads


def _platform(runner):
    sw = runner.read("sw_vers", [], P.parse_sw_vers)
    machine = runner.read("uname", ["-m"], P.parse_single_value)
    brand = runner.read("sysctl", ["-n", "machdep.cpu.brand_string"], P.parse_single_value)
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


def _network_accounts(runner, records):
    """Directory accounts that logged in: a home folder in /Users with no local record, found under /Search.

    A network account (no local cached record) leaves only its home folder; /Search still answers for it while
    the directory is reachable. A folder whose account /Search does not know is a deleted account's home.
    """
    local_homes = set()
    for raw in records:
        for value in (raw.get("NFSHomeDirectory") or []) + ["/Users/%s" % n for n in raw.get("RecordName") or []]:
            local_homes.add(value)
    found = []
    folders = [name for name in runner.read("ls", ["-1", "/Users"], P.parse_home_folders)
               if "/Users/" + name not in local_homes]
    runner.ahead([("dscl", ["/Search", "-read", "/Users/" + folder] + USER_KEYS) for folder in folders])
    for folder in folders:
        result = runner.run("dscl", ["/Search", "-read", "/Users/" + folder] + USER_KEYS, ok_codes=None)
        if result.rc != 0 or not result.out.strip():
            continue  # not in the directory (a deleted account's home, or the directory is unreachable)
        record = runner.parse(P.parse_dscl_read, result)
        if P.parse_authentication_authority(record.get("AuthenticationAuthority", []))["netlogon"]:
            found.append(record)
    return found


def _users(runner, managed_admins):
    records = runner.read("dscl", [".", "-readall", "/Users"] + USER_KEYS, P.parse_dscl_readall)
    records = records + _network_accounts(runner, records)
    admins = set(runner.read("dscl", [".", "-read", "/Groups/admin", "GroupMembership"], P.parse_admin_group))
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


ICLOUD_TYPES = ("iCloud Recovery User", "iCloud Recovery External Key")


def _filevault(runner):
    status = runner.read("fdesetup", ["status"], P.parse_fdesetup_status)
    listed = runner.read("fdesetup", ["list"], P.parse_fdesetup_list)
    prk = runner.read("fdesetup", ["haspersonalrecoverykey"], P.parse_fdesetup_bool)
    irk = runner.read("fdesetup", ["hasinstitutionalrecoverykey"], P.parse_fdesetup_bool)
    deferral = runner.read("fdesetup", ["showdeferralinfo"], P.parse_showdeferralinfo)
    if status["encrypting"]:
        state = "encrypting"
    elif status["decrypting"]:
        state = "decrypting"
    elif status["enabled"]:
        state = "on"
    elif status["deferred"] or deferral["active"]:
        state = "deferred"
    else:
        state = "off"
    deferred_user = status["deferred_user"] or (deferral["users"][0] if deferral["users"] else None)
    return {
        "state": state, "enabled": bool(status["enabled"]), "percent": status["percent"], "paused": status["paused"],
        "restart_pending": status["restart_pending"], "deferred_user": deferred_user,
        "deferral_configured": deferral["active"] or status["deferred"],
        "personal_recovery_key": prk, "institutional_recovery_key": irk or status["master_keychain"],
        "users": [e for e in listed if e["user"] is not None],
    }


def _mdm(runner):
    enrollment = runner.read("profiles", ["status", "-type", "enrollment"], P.parse_enrollment_status)
    bootstrap = {"supported": False, "escrowed": None, "allowed": None}
    if enrollment["mdm_enrolled"]:
        bootstrap = runner.read("profiles", ["status", "-type", "bootstraptoken"], P.parse_bootstrap_status)
    return enrollment, bootstrap


def gather(runner, managed_admins=(), parts=ALL_PARTS):
    """The model of one Mac. ``parts`` limits what is read (the platform is always read).

    The reads run ``runner.parallel`` at a time (see the module's docstring); 1 reads one by one.
    """
    with runner.in_parallel():
        runner.ahead(independent_reads(parts))
        return _gather(runner, set(managed_admins or ()), parts)


def full_disk_access(path=TCC_DB):
    """Whether this process (so Remote Login, whose rights it inherits) has Full Disk Access: True when the system
    privacy database can be read, False when opening it is refused, None when it is not there (nothing to tell)."""
    try:
        with open(path, "rb") as handle:
            handle.read(16)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    return True


def _gather(runner, managed, parts):
    model = {"os": _platform(runner)}
    apfs_users = None
    if "users" in parts or "filevault" in parts or "mdm" in parts:
        apfs_users = runner.read("diskutil", ["apfs", "listCryptoUsers", "/"], P.parse_crypto_users)
        model["crypto_users"] = apfs_users
    if "filevault" in parts:
        model["filevault"] = _filevault(runner)
        # Legacy Apple Account (iCloud) recovery: the iCloud Recovery User and its External Key on the volume.
        model["filevault"]["icloud_recovery"] = any(c["type"] in ICLOUD_TYPES for c in apfs_users or [])
    if "mdm" in parts:
        enrollment, bootstrap = _mdm(runner)
        local_bt = any(c["type"] == "MDM Bootstrap Token External Key" for c in (apfs_users or []))
        model["mdm"] = {"enrolled": enrollment["mdm_enrolled"], "dep": enrollment["dep"],
                        "user_approved": enrollment["user_approved"], "server": enrollment["server"]}
        model["bootstrap_token"] = {"supported": bootstrap["supported"], "escrowed": bootstrap["escrowed"],
                                    "allowed": bootstrap["allowed"],
                                    "local_record": local_bt if apfs_users is not None else None}
    if "users" in parts:
        records = _users(runner, managed)
        model["users"] = _assess_users(records, apfs_users, model.get("filevault"), model["os"]["apple_silicon"])
        known = {u["guid"] for u in records}
        # A Local Open Directory crypto user whose account is gone: a deleted holder's key still on the volume.
        model["orphan_crypto_users"] = sorted(
            c["uuid"] for c in apfs_users or [] if (c["type"] or "").startswith("Local Open Directory")
            and c["uuid"] not in known)
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
    # With FileVault on, someone unlocks the volume: an empty fdesetup list next to Local Open Directory crypto users
    # is a failed read (seen from LaunchDaemons on 10.15), not a fact about every user.
    account_keys = set(crypto) & {u["guid"] for u in users}
    list_trusted = not (fv_on and filevault is not None and not filevault.get("users") and account_keys)
    out = []
    for user in users:
        in_crypto = user["guid"] in crypto
        listed = user["guid"] in fv_listed if filevault is not None and list_trusted else None
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
            "filevault_user": bool(listed) if listed is not None else (None if filevault is not None and fv_on
                                                                       else False),
            "volume_owner": owner,
        })
        out.append(entry)
    return out
