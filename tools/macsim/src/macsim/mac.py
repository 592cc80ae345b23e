"""The token rules of macOS (``macos-behaviour.md`` §2-§6, transitions §9b).

``Mac`` wraps one validated state dictionary. Tools and events change the Mac
only through these methods, so each rule lives in one place. Rule numbers
(Rn) and transitions (Tn) refer to ``macos-behaviour.md``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Iterable

from .schema import Version, name_uuid

KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PRK_UUID = "EBC6C064-0000-11AA-AA11-00306543ECAC"


def new_recovery_key() -> str:
    return "-".join("".join(secrets.choice(KEY_ALPHABET) for _ in range(4)) for _ in range(6))


class Mac:
    def __init__(self, state: dict) -> None:
        self.state = state

    # ---- identity -------------------------------------------------------------
    @property
    def version(self) -> Version:
        return Version(self.state["os"]["version"])

    @property
    def arch(self) -> str:
        return self.state["hardware"]["arch"]

    @property
    def apple_silicon(self) -> bool:
        return self.arch == "apple_silicon"

    @property
    def apfs(self) -> bool:
        return self.state["boot_fs"] == "apfs"

    @property
    def mdm(self) -> dict:
        return self.state["mdm"]

    @property
    def fv(self) -> dict:
        return self.state["filevault"]

    @property
    def option(self) -> dict:
        return self.state["options"]

    def build(self) -> str:
        build = self.state["os"]["build"]
        if build:
            return build
        v = self.version
        letter = "ABCDEFGHJ"[min(v.parts[1] if v.parts[0] != 10 else v.parts[2], 8)]
        return f"{v.darwin}{letter}{100 + (v.parts[2] if v.parts[0] != 10 else 0)}"

    def data_device(self) -> str:
        if self.apple_silicon:
            return "disk3s5"
        return "disk1s5" if self.version.at_least(10, 15) else "disk1s1"

    # ---- users ------------------------------------------------------------------
    @property
    def users(self) -> list:
        return self.state["users"]

    def local_users(self) -> list:
        """Accounts in the local node (network accounts live only in the directory)."""
        return [u for u in self.users if u["kind"] != "network"]

    def find(self, name: str, include_network: bool = False) -> dict | None:
        for user in self.users:
            if user["kind"] == "network" and not include_network:
                continue
            if name in (user["name"], user["full_name"]) or name == user["guid"]:
                return user
        return None

    def next_uid(self) -> int:
        used = {u["uid"] for u in self.users}
        uid = 501
        while uid in used:
            uid += 1
        return uid

    def new_user(self, name: str, uid: int | None = None, **fields: object) -> dict:
        """Add a local account record (no password, no token) and return it."""
        user = {"name": name, "full_name": name, "uid": self.next_uid() if uid is None else uid,
                "guid": str(uuid.uuid4()).upper(), "admin": False, "kind": "local", "password": None,
                "password_mode": "none", "secure_token": False, "token_in_sync": True, "volume_owner": False,
                "fv_enabled": False, "in_preboot": False, "logged_in_graphically": False, "disabled_tags": [],
                "extra_authority": [], "shell": "/bin/zsh", "home": f"/Users/{name}",
                "ad_domain": "corp.example.com", "ad_netbios": "CORP"}
        user.update(fields)
        self.users.append(user)
        return user

    @staticmethod
    def can_unlock(user: dict) -> bool:
        """A token holder whose token still follows its password (R29d) can authorise token operations."""
        return bool(user["secure_token"] and user["token_in_sync"])

    def token_holders(self) -> list:
        return [u for u in self.local_users() if u["secure_token"]]

    def any_token(self) -> bool:
        return bool(self.token_holders())

    @staticmethod
    def password_ok(user: dict, password: str | None) -> bool:
        if user["password_mode"] == "none" or user["password"] is None or password is None:
            return False
        return password == user["password"]

    def give_token(self, user: dict, owner: bool) -> None:
        user["secure_token"] = True
        user["token_in_sync"] = True
        fv_on = self.fv["state"] in ("on", "encrypting")
        user["fv_enabled"] = True
        # R29a: granted while FileVault is on -> not at the pre-boot window until updatePreboot.
        user["in_preboot"] = not fv_on
        if self.apple_silicon and owner:
            user["volume_owner"] = True

    def first_owner(self) -> bool:
        """On Apple silicon the first token holder owns the volume (R46: the account created at setup)."""
        return self.apple_silicon and not any(u["volume_owner"] for u in self.users)

    # ---- first-token rules (R10-R16, T2-T5) ---------------------------------------
    def first_token_on_auth(self, user: dict) -> str | None:
        """T5: an authentication while nobody holds a token. Returns the rule applied, or None."""
        if not self.apfs or self.any_token() or user["kind"] == "network":
            return None
        v = self.version
        if v.below(10, 15):
            others = [u for u in self.local_users() if u["uid"] >= 500 and u is not user]
            if user["uid"] >= 500 and not others:
                self.give_token(user, owner=self.first_owner())
                return "R10"
            return None
        if v.below(11):
            if user["admin"]:
                self.give_token(user, owner=self.first_owner())
                return "R12"
            return None
        if user["password_mode"] == "prehashed" and "SecureToken" not in user["disabled_tags"]:
            self.give_token(user, owner=self.first_owner())
            return "R16"
        return None

    def first_token_on_password_set(self, user: dict) -> str | None:
        """T2/T3: setting a plain-text password on 11+ while nobody holds a token (R14, R15)."""
        if not self.apfs or self.any_token() or user["kind"] == "network":
            return None
        if self.version.at_least(11) and "SecureToken" not in user["disabled_tags"]:
            self.give_token(user, owner=self.first_owner())
            return "R14"
        return None

    def set_password(self, user: dict, password: str) -> str | None:
        """Set a plain-text password. Returns the first-token rule that fired, if any."""
        holder = user["secure_token"]
        user["password"] = password
        user["password_mode"] = "plaintext"
        if holder:
            return None
        return self.first_token_on_password_set(user)

    def out_of_band_reset(self, user: dict, password: str) -> None:
        """R29d: a token holder's password changed without the old one: the token no longer follows."""
        user["password"] = password
        user["password_mode"] = "plaintext"
        if user["secure_token"]:
            user["token_in_sync"] = False

    # ---- grants (T8, T9) -------------------------------------------------------------
    def grant_by(self, target: dict, admin: dict) -> str:
        """T8 after authentication: returns 'granted', 'both' (R11a) or 'no-unlock'."""
        if self.can_unlock(admin):
            owner = self.option["grant_confers_volume_ownership"] and admin["volume_owner"]
            self.give_token(target, owner=owner)
            return "granted"
        if not self.any_token() and self.version.at_least(10, 14, 2):
            owner = self.first_owner()
            self.give_token(admin, owner=owner)
            self.give_token(target, owner=owner)
            return "both"
        return "no-unlock"

    def remove_token(self, user: dict) -> None:
        user["secure_token"] = False
        user["fv_enabled"] = False
        user["in_preboot"] = False
        user["volume_owner"] = False

    # ---- bootstrap token (R30-R42, T6, T16-T18) -------------------------------------------
    def bootstrap_supported_here(self) -> bool:
        """Whether this Mac, as enrolled, creates and escrows a bootstrap token (R30-R32)."""
        m, v = self.mdm, self.version
        if not (m["enrolled"] and m["bootstrap_capable"]) or v.below(10, 15):
            return False
        if m["enrollment"] == "user_enrollment":
            return False
        if m["enrollment"] == "ade":
            return True
        if not m["supervised"] and v.below(11):
            return False  # R30: supervision is required; on 11+ every device enrollment is supervised
        first = (10, 15, 4) if self.option["bootstrap_user_approved_from"] == "10.15.4" else (11,)
        if v.below(*first):
            return False  # R32: before this, only Automated Device Enrollment
        return bool(m["user_approved"])

    def escrow_bootstrap(self) -> bool:
        """Create the bootstrap token on the Mac and escrow it when the MDM answers (R35)."""
        self.mdm["bootstrap_on_device"] = True
        if self.mdm["reachable"]:
            self.mdm["bootstrap_escrowed"] = True
        return self.mdm["bootstrap_escrowed"]

    def bootstrap_grant_eligible(self, user: dict) -> bool:
        """T6: does a graphical login of a token-less ``user`` get a token from the bootstrap token?"""
        v = self.version
        if user["secure_token"] or not self.mdm["bootstrap_escrowed"] or not self.mdm["reachable"]:
            return False
        if not user["password"]:
            return False  # R42: not for blank passwords
        if user["kind"] == "network":
            return False  # R21
        if v.below(10, 15):
            return False
        if v.below(11):
            return user["kind"] in ("mobile", "managed_admin")  # R41
        return True  # R42: any user, DisabledTags does not apply

    # ---- events --------------------------------------------------------------------------
    def setup_assistant_user(self, name: str, password: str, admin: bool, full_name: str | None = None) -> list[str]:
        """T1: Setup Assistant creates the user's account: a token, ownership on Apple silicon (R9, R46)."""
        if self.find(name, include_network=True):
            raise ValueError(f"a user named {name} exists already")
        user = self.new_user(name, full_name=full_name or name, admin=admin, password=password,
                             password_mode="plaintext")
        self.state["setup_assistant_account_created"] = True
        notes = []
        if self.apfs:
            self.give_token(user, owner=self.apple_silicon)
            user["in_preboot"] = user["fv_enabled"]
            notes.append(f"T1/R9: {name} created in Setup Assistant with a secure token")
        if self.bootstrap_supported_here() and password:
            escrowed = self.escrow_bootstrap()
            notes.append("T1/R33: bootstrap token " + ("escrowed" if escrowed else "created, not escrowed (R35)"))
        return notes

    def login(self, user: dict, graphical: bool) -> list[str]:
        """T5/T6: a login. Returns what happened, as rule-tagged lines."""
        notes: list[str] = []
        rule = self.first_token_on_auth(user)
        if rule:
            notes.append(f"{rule}: first secure token granted to {user['name']} at login")
        if not graphical:
            return notes
        if self.bootstrap_grant_eligible(user):
            self.give_token(user, owner=self.apple_silicon)
            notes.append(f"R41/R42: bootstrap token granted a secure token to {user['name']}")
        if user["secure_token"] and user["password"] and self.bootstrap_supported_here():
            if self.version.at_least(10, 15, 4) or not user["logged_in_graphically"]:
                escrowed = self.escrow_bootstrap()
                notes.append("R33: bootstrap token " + ("escrowed to the MDM" if escrowed
                                                        else "created but not escrowed (MDM unreachable, R35)"))
        user["logged_in_graphically"] = True
        if self.fv["state"] == "deferred" and self.fv["deferred_user"] in (None, user["name"]):
            self.fv["deferred_user"] = user["name"]
            if self.fv["force_at_login"] == 0:
                notes.extend(self.enable_filevault_deferred(user))
        return notes

    def logout(self, user: dict) -> list[str]:
        """T7: logout of the deferred user enables FileVault unless -dontaskatlogout."""
        notes: list[str] = []
        if self.fv["state"] == "deferred" and self.fv["deferred_user"] in (None, user["name"]):
            if not self.fv["dont_ask_at_logout"]:
                notes.extend(self.enable_filevault_deferred(user))
        # R29a: a token user logging in and out refreshes the pre-boot list.
        if user["secure_token"] and self.fv["state"] in ("on", "encrypting"):
            self.update_preboot()
        return notes

    def enable_filevault_deferred(self, user: dict) -> list[str]:
        if not user["secure_token"]:
            rule = self.first_token_on_filevault(user)
            if not rule:
                return [f"deferred FileVault enablement for {user['name']} failed: no secure token"]
        self.turn_filevault_on(recovery_key=True)
        return [f"R55: deferred FileVault enablement completed for {user['name']}"]

    def reboot(self) -> list[str]:
        notes = []
        fv = self.fv
        if fv["restart_pending"]:
            fv["restart_pending"] = False
            notes.append("pending FileVault change finished at restart")
        if fv["state"] == "encrypting":
            fv["state"], fv["percent"] = "on", None
            notes.append("encryption finished (macsim does not model time: a restart completes it)")
        elif fv["state"] == "decrypting":
            fv["state"], fv["percent"] = "off", None
            notes.append("decryption finished (macsim does not model time: a restart completes it)")
        return notes

    # ---- FileVault (T12-T15) ----------------------------------------------------------------
    def first_token_on_filevault(self, user: dict) -> str | None:
        """R13: on 10.15+ the account that enables FileVault while nobody holds a token gets one."""
        if self.any_token() or not self.version.at_least(10, 15):
            return None
        if user["kind"] in ("mobile",) or user["admin"]:
            self.give_token(user, owner=self.first_owner())
            return "R13"
        return None

    def turn_filevault_on(self, recovery_key: bool) -> str | None:
        """T12: FileVault on; returns the personal recovery key when one is created."""
        fv = self.fv
        instant = self.arch in ("intel_t2", "apple_silicon")
        fv["state"] = "on" if instant else "encrypting"
        fv["percent"] = None if instant else 0.0
        fv["deferred_user"] = None
        fv["deferred_output_path"] = None
        fv["force_at_login"] = None
        fv["dont_ask_at_logout"] = False
        created = None
        if recovery_key and not fv["personal_recovery_key"]:
            created = fv["personal_recovery_key"] = new_recovery_key()
        elif recovery_key:
            created = fv["personal_recovery_key"]  # R52: an existing APFS PRK is reused
        if self.mdm["escrow_payload"] and fv["personal_recovery_key"]:
            fv["escrowed_key"] = fv["personal_recovery_key"]  # R57
        for user in self.token_holders():  # R29a: turning FileVault on adds every token holder
            user["fv_enabled"] = True
            user["in_preboot"] = True
        return created

    def change_recovery_key(self) -> str:
        key = new_recovery_key()
        self.fv["personal_recovery_key"] = key
        if self.mdm["escrow_payload"]:
            self.fv["escrowed_key"] = key  # R58
        return key

    def update_preboot(self) -> None:
        for user in self.local_users():
            user["in_preboot"] = bool(user["fv_enabled"])

    def fv_users(self) -> list:
        return [u for u in self.local_users() if u["secure_token"] and u["fv_enabled"]]

    # ---- rendering helpers ----------------------------------------------------------------
    def crypto_users(self) -> list[tuple[str, str, bool]]:
        """(uuid, Type text, volume owner) in the order diskutil lists them."""
        out = []
        if not self.apfs:
            return out
        for user in sorted(self.token_holders(), key=lambda u: u["uid"]):
            out.append((user["guid"], "Local Open Directory User", bool(user["volume_owner"])))
        if self.fv["personal_recovery_key"]:
            out.append((PRK_UUID, "Personal Recovery User", False))
        if self.mdm["bootstrap_on_device"]:
            out.append((name_uuid(self.state["hostname"], "bootstrap"), "MDM Bootstrap Token External Key", False))
        return out

    def authentication_authority(self, user: dict) -> list[str]:
        values: list[str] = []
        name = user["name"]
        if user["kind"] in ("mobile", "network"):
            domain, netbios = user["ad_domain"], user["ad_netbios"]
            if user["kind"] == "mobile":
                values.append(f";LocalCachedUser;/Active Directory/{netbios}/{domain}:{name}:{user['guid']}")
            values.append(f";Kerberosv5;;{name}@{domain.upper()};{domain.upper()};")
            if user["kind"] == "network":
                values.append(f";NetLogon;{name};{netbios}")
        if user["password_mode"] != "none" and user["kind"] != "network":
            values.append(";ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2,SRP-RFC5054-4096-SHA512-PBKDF2>")
            if user["kind"] not in ("mobile",):
                lkdc = hashlib.sha1((self.state["hostname"] + name).encode()).hexdigest().upper()
                values.append(f";Kerberosv5;;{name}@LKDC:SHA1.{lkdc};LKDC:SHA1.{lkdc};")
        if user["secure_token"]:
            values.append(";SecureToken;")
        for tag in user["disabled_tags"]:
            values.append(f";DisabledTags;{tag}")
        values.extend(v for v in user["extra_authority"] if v not in values)
        return values

    def records(self, include_network: bool) -> Iterable[dict]:
        return self.users if include_network else self.local_users()
