# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Macs of the module tests: macsim state documents for the simulated Mac, and raw tool output for the tests
that need exact text (tests/unit/plugins/harness.py runs either)."""

from __future__ import annotations

import copy
import plistlib

ALICE = "1C2D3E4F-0000-4000-8000-0000000001F5"
BOB = "1C2D3E4F-0000-4000-8000-0000000001F6"
CAROL = "1C2D3E4F-0000-4000-8000-0000000001F7"
PRK = "EBC6C064-0000-11AA-AA11-00306543ECAC"
BT = "9F978E27-950F-54C4-9A73-26E06B52BC47"
SHADOW = ";ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2,SRP-RFC5054-4096-SHA512-PBKDF2>"
KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"  # the published CoreStorage -outputplist sample's key
OTHER_KEY = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"
SERIAL = "C02XXXX"


# ---- state documents (macsim) ---------------------------------------------------------------------------------
def user(name, uid, guid=None, password=None, **fields):
    out = {"name": name, "full_name": name.capitalize(), "uid": uid, "password": password or name + "-secret"}
    if guid:
        out["guid"] = guid
    out.update(fields)
    return out


def state(users=None, filevault="on", key=KEY, escrowed=True, **changes):
    """macOS 14.4.1 on an Apple M2, enrolled through ADE; by default (as HEALTHY below): alice an administrator
    holding the first token, volume owner and FileVault user; bob a standard user without a token; FileVault on with
    a personal recovery key; the bootstrap token escrowed. ``filevault`` is a state or the whole section;
    ``changes`` replace whole top-level sections."""
    doc = {
        "hostname": "unitmac", "os": {"version": "14.4.1", "build": "23E224"},
        "hardware": {"arch": "apple_silicon", "cpu_brand": "Apple M2", "serial": SERIAL},
        "remote_login_full_disk_access": True,
        "users": users if users is not None else [
            user("alice", 501, ALICE, admin=True, secure_token=True, volume_owner=True, full_name="Alice Appleseed"),
            user("bob", 502, BOB, full_name="Bob Builder")],
        "mdm": {"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": escrowed,
                "bootstrap_on_device": escrowed},
        "filevault": filevault if isinstance(filevault, dict) else {
            "state": filevault, "personal_recovery_key": key if filevault != "off" else None, "rate": None},
    }
    doc.update(copy.deepcopy(changes))
    return doc


def users_of(doc, **changes):
    """The state with some users' fields changed: ``bob={"secure_token": True}``."""
    doc = copy.deepcopy(doc)
    for entry in doc["users"]:
        entry.update(changes.get(entry["name"], {}))
    return doc


def holding(doc, *names):
    """``names`` hold a secure token (and, on Apple silicon, own the volume and unlock FileVault)."""
    return users_of(doc, **dict((n, {"secure_token": True, "volume_owner": True}) for n in names))


HEALTHY_STATE = state()
GRANTED_STATE = holding(HEALTHY_STATE, "bob")
OFF_STATE = state(filevault="off")
THREE_STATE = state(users=[  # alice: admin with a token; bob: a standard user with one; carol: standard, none
    user("alice", 501, ALICE, admin=True, secure_token=True, volume_owner=True),
    user("bob", 502, BOB, secure_token=True, volume_owner=True),
    user("carol", 503, CAROL)])
WITH_CAROL = state(users=HEALTHY_STATE["users"] + [user("carol", 503, CAROL)])
NETWORK_STATE = state(users=HEALTHY_STATE["users"] + [
    {"name": "netuser", "uid": 1100, "kind": "network", "password": "net-secret", "logged_in_graphically": True}])


def key_plist(key, change=False, serial=SERIAL):
    doc = {"EnabledDate": "2026-01-01 10:00:00 +0000", "EnabledUser": "alice", "HardwareUUID": "F6329A14-0000",
           "RecoveryKey": key, "SerialNumber": serial}
    if change:
        doc["Change"] = True
    return plistlib.dumps(doc).decode()


# ---- raw output (the info modules' table) -----------------------------------------------------------------------
def crypto(*entries):
    if not entries:
        return "No cryptographic users for disk3s5\n"
    lines = ["Cryptographic %s for disk3s5 (%d found)" % ("user" if len(entries) == 1 else "users", len(entries)), "|"]
    for index, (uuid, kind, owner) in enumerate(entries):
        indent = "    " if index == len(entries) - 1 else "|   "
        lines += ["+-- " + uuid, indent + "Type: " + kind]
        if owner is not None:
            lines.append(indent + "Volume Owner: " + ("Yes" if owner else "No"))
        if index < len(entries) - 1:
            lines.append("|")
    return "\n".join(lines) + "\n"


def record(name, uid, guid, real, authority):
    lines = ["AuthenticationAuthority: " + " ".join(authority)] if authority else []
    lines += ["GeneratedUID: " + guid, "NFSHomeDirectory: /Users/" + name, "RealName:", " " + real,
              "RecordName: " + name, "UniqueID: %d" % uid]
    return "\n".join(lines)


HEALTHY = {
    ("sw_vers",): "ProductName:\t\tmacOS\nProductVersion:\t\t14.4.1\nBuildVersion:\t\t23E224\n",
    ("uname", "-m"): "arm64\n",
    ("sysctl", "-n", "machdep.cpu.brand_string"): "Apple M2\n",
    ("diskutil", "apfs", "listCryptoUsers", "/"): crypto((ALICE, "Local Open Directory User", True),
                                                         (PRK, "Personal Recovery User", False),
                                                         (BT, "MDM Bootstrap Token External Key", False)),
    ("dscl", ".", "-readall", "/Users"): "\n-\n".join([
        record("_mbsetupuser", 248, "FFFFEEEE-DDDD-CCCC-BBBB-AAAA000000F8", "Setup User", []),
        record("alice", 501, ALICE, "Alice Appleseed", [SHADOW, ";SecureToken;"]),
        record("bob", 502, BOB, "Bob Builder", [SHADOW]),
    ]) + "\n",
    ("dscl", ".", "-read", "/Groups/admin", "GroupMembership"): "GroupMembership: root alice\n",
    ("ls", "-1", "/Users"): "Shared\nalice\nbob\n",
    ("fdesetup", "status"): "FileVault is On.\n",
    ("fdesetup", "list"): "alice,%s\n" % ALICE,
    ("fdesetup", "haspersonalrecoverykey"): "true\n",
    ("fdesetup", "hasinstitutionalrecoverykey"): "false\n",
    ("fdesetup", "showdeferralinfo"): "Not found.\n",
    ("profiles", "status", "-type", "enrollment"):
        "Enrolled via DEP: Yes\nMDM enrollment: Yes (User Approved)\nMDM server: https://mdm.example.com/mdm\n",
    ("profiles", "status", "-type", "bootstraptoken"):
        "profiles: Bootstrap Token supported on server: YES\nprofiles: Bootstrap Token escrowed to server: YES\n",
}

NETWORK_BOB = ("AuthenticationAuthority: ;Kerberosv5;;bob@CORP.EXAMPLE.COM;CORP.EXAMPLE.COM; ;NetLogon;bob;CORP\n"
               "GeneratedUID: 5E0D1C2B-0000-4000-8000-00000000044C\nNFSHomeDirectory: /Users/bob\nRealName:\n Bob Net\n"
               "RecordName: bob\nUniqueID: 1100\n")


def variant(**changes):
    """HEALTHY with some outputs replaced; a key is the command's words joined by '__'."""
    outputs = dict(HEALTHY)
    for key, value in changes.items():
        outputs[tuple(key.split("__"))] = value
    return outputs
