"""The token rules of macOS (``macos-behaviour.md`` §2-§6, transitions §9b).

``Mac`` wraps one validated state dictionary. Tools and events change the Mac
only through these methods, so each rule lives in one place. Rule numbers
(Rn) and transitions (Tn) refer to ``macos-behaviour.md``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Iterable

from .schema import Version

KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PRK_UUID = "EBC6C064-0000-11AA-AA11-00306543ECAC"
ICLOUD_KEY_UUID = "64C0C6EB-0000-11AA-AA11-00306543ECAC"
# Fixed on every Mac (evidence: the same UUIDs on unrelated Macs, evidence/notes/diskutil.md)
ICLOUD_USER_UUID = "EC1C2AD9-B618-4ED6-BD8D-50F361C27507"
BOOTSTRAP_UUID = "2457711A-523C-4604-B75A-F48A571D5036"


def set_path(state: dict, path: str, value: object) -> None:
    """Set a dotted path (``users.0.secure_token``, ``mdm.bootstrap_escrowed``) in a state document."""
    target: object = state
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})  # type: ignore[index]
    if isinstance(target, list):
        target[int(parts[-1])] = value
    else:
        target[parts[-1]] = value  # type: ignore[index]


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

    @property
    def instant_encryption(self) -> bool:
        """T2 and Apple silicon Macs are always encrypted: FileVault on and off take effect at once (R54)."""
        return self.arch in ("intel_t2", "apple_silicon")

    def data_device(self) -> str:
        """The Data volume of the boot volume group (where the crypto users live)."""
        if self.state["hardware"]["data_device"]:
            return self.state["hardware"]["data_device"]
        if self.apple_silicon:
            return "disk3s5"
        return "disk1s1"

    def root_device(self) -> str:
        """The device mounted at / (diskutil names it for '/'): the only volume before 10.15, the System volume
        on 10.15, the sealed system snapshot from 11 (evidence diskutil-listusers-10.15.6-bootstrap-ttg,
        diskutil-listcryptousers-26-volume-owners-derflounder-header)."""
        if self.state["hardware"]["root_device"]:
            return self.state["hardware"]["root_device"]
        if self.apple_silicon:
            return "disk3s1s1"
        if self.version.below(10, 15):
            return "disk1s1"
        return "disk1s5" if self.version.below(11) else "disk1s5s1"

    # ---- time ---------------------------------------------------------------------
    def now(self) -> float:
        """The Mac's clock: real time plus the offset that ``macsim advance`` adds."""
        return time.time() + float(self.state["clock"]["offset"])

    def advance(self, seconds: float) -> list[str]:
        """Move the Mac's clock forward and let what takes time happen."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        notes = self.settle()  # start the progress clocks at the present, then jump
        self.state["clock"]["offset"] = float(self.state["clock"]["offset"]) + seconds
        return notes + self.settle()

    def settle(self) -> list[str]:
        """Bring the Mac up to its clock: scheduled changes, encryption and decryption progress."""
        now = self.now()
        notes: list[str] = []
        due = sorted((e for e in self.state["schedule"] if e["at"] is not None and e["at"] <= now),
                     key=lambda e: e["at"])
        for entry in due:
            for path, value in entry["set"].items():
                set_path(self.state, path, value)
            self.state["schedule"].remove(entry)
            notes.append("scheduled: " + (entry["note"] or ", ".join(f"{k}={v!r}" for k, v in entry["set"].items())))
        fv = self.fv
        paused = self.state["hardware"]["on_battery"] and not self.instant_encryption
        if paused:
            fv["progress_at"] = None  # software encryption waits for mains power ('Pending')
        elif fv["state"] in ("encrypting", "decrypting") and fv["rate"] is not None and fv["percent"] is not None:
            if fv["progress_at"] is None:
                fv["progress_at"] = now
            elapsed = max(0.0, now - fv["progress_at"])
            fv["percent"] = round(min(100.0, fv["percent"] + fv["rate"] * elapsed / 3600.0), 4)
            fv["progress_at"] = now
            if fv["percent"] >= 100.0:
                done = fv["state"]
                fv["state"] = "on" if done == "encrypting" else "off"
                fv["percent"] = fv["progress_at"] = None
                notes.append(f"{'encryption' if done == 'encrypting' else 'decryption'} finished")
        return notes

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

    def password_meets_policy(self, password: str) -> bool:
        return len(password) >= self.state["password_policy"]["min_length"]

    def home_exists(self, path: str) -> bool:
        return path in self.state["orphan_homes"] or any(u["home"] == path and u["home_exists"] for u in self.users)

    def home_folders(self) -> list[str]:
        """The folder names in /Users: Shared, every account's existing home there, and orphans."""
        names = {"Shared"}
        for path in [u["home"] for u in self.users if u["home_exists"]] + list(self.state["orphan_homes"]):
            if path.startswith("/Users/") and path.count("/") == 2:
                names.add(path.split("/")[2])
        return sorted(names)

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
                "home_exists": False, "hash_types": None,
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
        """Whether a first-token rule is spent: a token holder exists, or (option) a deleted holder's crypto user
        remains on the volume (the state model derives 'first token granted' from the crypto users, §9a)."""
        if self.token_holders():
            return True
        return bool(self.state["orphan_crypto_users"]) and self.option["orphan_blocks_first_token"]

    @staticmethod
    def password_ok(user: dict, password: str | None) -> bool:
        if user["password_mode"] == "none" or user["password"] is None or password is None:
            return False
        return password == user["password"]

    def give_token(self, user: dict, owner: bool) -> None:
        user["secure_token"] = True
        user["token_in_sync"] = True
        fv_on = self.fv["state"] in ("on", "encrypting")
        if self.apple_silicon and owner:
            user["volume_owner"] = True
        user["fv_enabled"] = self.fv_eligible(user)
        # R29a: granted while FileVault is on -> not at the pre-boot window until updatePreboot.
        user["in_preboot"] = user["fv_enabled"] and not fv_on

    def fv_eligible(self, user: dict) -> bool:
        """R3: a FileVault user holds a secure token and, on Apple silicon, is a volume owner."""
        return bool(user["secure_token"]) and (not self.apple_silicon or bool(user["volume_owner"]))

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
            if user["kind"] == "mobile":
                return None  # R22: before 10.15 a mobile account gets no token by itself, even as the only account
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

    def first_token_on_mobile_login(self, user: dict) -> str | None:
        """R23: while nobody holds a token, the first mobile account to log in at the login window gets one.

        Sources speak of Catalina (10.15); on 11 and later the account's password is set at that login, so R14
        gives the same result. Before 10.15 mobile accounts get none (R22). Option mobile_first_login_token.
        """
        if (user["kind"] != "mobile" or not self.apfs or self.any_token() or self.version.below(10, 15)
                or not self.option["mobile_first_login_token"]):
            return None
        self.give_token(user, owner=self.first_owner())
        return "R23"

    def set_password(self, user: dict, password: str, tool: str | None = None) -> str | None:
        """Set a plain-text password. Returns the first-token rule that fired, if any.

        Setting the first password fires R14. A change of an existing password fires it only for the tools the
        option password_change_first_token names (no source settles it: evidence/notes/behaviour.md, question 3).
        """
        holder = user["secure_token"]
        change = user["password_mode"] != "none" and user["password"] is not None
        user["password"] = password
        user["password_mode"] = "plaintext"
        if holder:
            return None
        if change and tool is not None and self.option["password_change_first_token"] not in ("both", tool):
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
        if not (m["enrolled"] and m["bootstrap_capable"] and m["bootstrap_allowed"]) or v.below(10, 15):
            return False
        if m["enrollment"] == "user_enrollment":
            return False
        if m["enrollment"] == "ade":
            return True
        ade_only = self.option["bootstrap_ade_only_from"]
        if ade_only != "never" and v.at_least(int(ade_only)):
            return False  # Apple's 2026 developer pages: the bootstrap token check-ins need ADE (R30)
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
        user["home_exists"] = True
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
        rule = self.first_token_on_mobile_login(user)
        if rule:
            notes.append(f"{rule}: the first mobile account to log in at the login window got the first token")
        if self.bootstrap_grant_eligible(user):
            self.give_token(user, owner=self.apple_silicon)
            notes.append(f"R41/R42: bootstrap token granted a secure token to {user['name']}")
        # R33: from 10.15.4 any token holder's graphical login creates (and re-escrows) the bootstrap token;
        # before 10.15.4 only the Setup Assistant flow did (setup_assistant_user), never a later login.
        if user["secure_token"] and user["password"] and self.bootstrap_supported_here() \
                and self.version.at_least(10, 15, 4):
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

    # ---- boots -----------------------------------------------------------------------------
    MAX_FAILED_UNLOCKS = 10  # FileVaultUnlock.swift: 'account is temporarily locked' (issue13-research.md §2)

    @property
    def boot(self) -> dict:
        return self.state["boot"]

    def preboot_ssh_available(self) -> bool:
        """Whether a locked boot starts the pre-boot sshd: macOS 26 on Apple silicon (apple_ssh_and_filevault(7),
        fv-ssh-unlock and lime: Apple silicon only), unless the state says otherwise."""
        chosen = self.boot["preboot_ssh"]
        return bool(chosen) if chosen is not None else (self.version.at_least(26) and self.apple_silicon)

    def locks_at_boot(self) -> bool:
        """FileVault protects the volume (on, or encrypting or decrypting): a boot waits for an unlock."""
        return self.fv["state"] in ("on", "encrypting", "decrypting")

    def boottime(self) -> float:
        value = self.boot["boottime"]
        return float(value) if value is not None else 1700000000.0

    def reboot(self) -> list[str]:
        """T: a restart. Finishes a pending FileVault change, forgets the recovery-key unlock, and decides where the
        new boot stops: macOS (FileVault off, or an armed authrestart, used once), or the FileVault login window
        (``locked``, or ``preboot_ssh`` where the pre-boot sshd answers)."""
        notes = []
        fv, boot = self.fv, self.boot
        if fv["restart_pending"]:
            fv["restart_pending"] = False
            notes.append("pending FileVault change finished at restart")
        fv["unlocked_with_recovery_key"] = False
        boot["count"] += 1
        boot["boottime"] = round(self.now(), 6)
        boot["restart_at"] = None
        boot["unlocked_by"] = "none"
        armed, fv["authrestart_armed"] = fv["authrestart_armed"], False
        if not self.locks_at_boot():
            boot["phase"] = "up"
        elif armed:
            boot["phase"] = "up"
            boot["unlocked_by"] = "authrestart"
            notes.append("authrestart: this boot was unlocked without a password (used once)")
        else:
            boot["phase"] = "preboot_ssh" if self.preboot_ssh_available() else "locked"
        return notes + self.settle()

    def unlock(self, name: str | None, password: str | None, via: str) -> str:
        """A password at the FileVault login window (``via``: preboot_ssh or console).

        Returns 'unlocked', 'refused' (wrong password, or not a FileVault user: counted), 'locked_out' (10 failures
        since the last unlock: refused even with the right password) or 'not_locked'. The phase is left to the
        caller (a live fleet's supervisor boots macOS after it; a bare host directory goes up at once).
        """
        boot = self.boot
        if boot["phase"] not in ("locked", "preboot_ssh"):
            return "not_locked"
        if boot["failed_unlocks"] >= self.MAX_FAILED_UNLOCKS:
            return "locked_out"
        # R29a: only the accounts shown at the FileVault login window (in the Preboot volume) can unlock there.
        user = next((u for u in self.fv_users() if u["name"] == name and u["in_preboot"]), None) if name else None
        if user is None or not self.password_ok(user, password):
            boot["failed_unlocks"] += 1
            return "refused"
        boot["failed_unlocks"] = 0
        boot["unlocked_by"] = via
        return "unlocked"

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
        self.state["autologin_user"] = None  # R60: turning FileVault on turns automatic login off
        created = None
        if recovery_key and not fv["personal_recovery_key"]:
            created = fv["personal_recovery_key"] = new_recovery_key()
        elif recovery_key:
            created = fv["personal_recovery_key"]  # R52: an existing APFS PRK is reused
        if self.mdm["escrow_payload"] and fv["personal_recovery_key"]:
            fv["escrowed_key"] = fv["personal_recovery_key"]  # R57
        for user in self.token_holders():  # R29a: turning FileVault on adds every token holder (R3: owners on AS)
            if self.fv_eligible(user):
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
        return [u for u in self.local_users() if u["fv_enabled"] and self.fv_eligible(u)]

    # ---- the volume's crypto users -----------------------------------------------------------
    def bootstrap_uuid(self) -> str:
        return BOOTSTRAP_UUID

    def crypto_ids(self) -> list[str]:
        """Every crypto user of the Data volume as an identifier, in the volume's order.

        Identifiers: a token holder's GUID, an orphan's GUID (a deleted account's crypto user), 'prk', 'icloud'
        and 'bootstrap'. New ones come last, in the order of ``_present_ids``; the order is kept in the state.
        """
        present = self._present_ids()
        order = [i for i in (self.state["crypto_order"] or []) if i in present]
        return order + [i for i in present if i not in order]

    def _present_ids(self) -> list[str]:
        if not self.apfs:
            return []
        ids = [u["guid"] for u in sorted(self.token_holders(), key=lambda u: u["uid"])]
        ids += [o["guid"] for o in self.state["orphan_crypto_users"] if o["guid"] not in ids]
        if self.fv["personal_recovery_key"]:
            ids.append("prk")
        if self.fv["icloud_recovery"]:
            ids.append("icloud")
        if self.mdm["bootstrap_on_device"]:
            ids.append("bootstrap")
        return ids

    def sync_crypto_order(self, before: list[str]) -> None:
        """Keep the volume's order after a change: who was there keeps its place, newcomers come last.

        The order is stored only once it differs from the default, so a run that changes nothing changes no state.
        """
        present = self._present_ids()
        order = [i for i in before if i in present] + [i for i in present if i not in before]
        if self.state["crypto_order"] is None and order == present:
            return
        self.state["crypto_order"] = order

    def crypto_users(self) -> list[tuple[str, str, bool]]:
        """(uuid, Type text, volume owner) in the order diskutil lists them."""
        holders = {u["guid"]: u for u in self.token_holders()}
        out = []
        for ident in self.crypto_ids():
            if ident in holders:
                out.append((ident, "Local Open Directory User", bool(holders[ident]["volume_owner"])))
            # On Apple silicon the recovery key and the bootstrap token are listed as volume owners too
            # (evidence: the Tahoe run in diskutil-listcryptousers-26-volume-owners-derflounder-header's notes).
            elif ident == "prk":
                out.append((PRK_UUID, "Personal Recovery User", self.apple_silicon))
            elif ident == "icloud":
                out.append((ICLOUD_USER_UUID, "iCloud Recovery User", self.apple_silicon))
                out.append((ICLOUD_KEY_UUID, "iCloud Recovery External Key", self.apple_silicon))
            elif ident == "bootstrap":
                out.append((self.bootstrap_uuid(), "MDM Bootstrap Token External Key", self.apple_silicon))
            else:  # an orphan: the account is gone, its crypto user stays
                owner = any(o["guid"] == ident and o["volume_owner"] for o in self.state["orphan_crypto_users"])
                out.append((ident, "Local Open Directory User", owner))
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
            hashes = user["hash_types"] or (["SALTED-SHA512-PBKDF2", "SRP-RFC5054-4096-SHA512-PBKDF2"]
                                            if self.version.at_least(10, 14) else ["SALTED-SHA512-PBKDF2"])
            values.append(f";ShadowHash;HASHLIST:<{','.join(hashes)}>")
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
