"""The state of one simulated Mac: schema, defaults and validation.

The schema follows §9a of ``macos-behaviour.md``. It is declared once, as data,
so that validation, defaults and the documentation (``macsim schema``) cannot
drift apart. Errors name the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

SCHEMA_VERSION = 1

ARCHES = ("intel_pre_t2", "intel_t2", "apple_silicon")
USER_KINDS = ("local", "mobile", "network", "managed_admin", "service", "sharing_only")
PASSWORD_MODES = ("plaintext", "prehashed", "none")
ENROLLMENTS = ("none", "ade", "device_enrollment", "user_enrollment")
FV_STATES = ("off", "on", "encrypting", "decrypting", "deferred")
PYTHON_KINDS = ("auto", "clt", "stub", "none", "managed")
BT_AUTH = ("allowed", "disallowed", "not_supported")
FAULT_KINDS = ("hang", "crash", "garbage", "latency", "canned", "linger")
TOOLS = ("sysadminctl", "fdesetup", "profiles", "diskutil", "dscl", "dsmemberutil", "dseditgroup",
         "sw_vers", "uname", "sysctl", "python3", "shutdown")
BOOT_PHASES = ("up", "down", "locked", "preboot_ssh")
UNLOCKED_BY = ("authrestart", "preboot_ssh", "console", "none")
VERSION_RE = re.compile(r"^(10\.(13|14|15)|1[1-9]|2[0-9])(\.\d+){0,2}$")
UUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,243}$")


class StateError(ValueError):
    """A state document does not match the schema; the message names the field."""


@dataclass
class F:
    """One field: its type, default, allowed values and a line of documentation."""

    type: Any
    doc: str
    default: Any = None
    choices: tuple | None = None
    required: bool = False
    check: Callable[[Any], str | None] | None = None
    nullable: bool = False
    children: dict | None = None  # for nested dicts
    items: dict | None = None  # for lists of dicts
    item_type: Any = None  # for lists of scalars
    sources: str | None = None  # for options: what each side rests on

    def values(self) -> tuple:
        """Every value an option can take (for the option matrix)."""
        if self.choices:
            return tuple(self.choices)
        if self.type is bool:
            return (True, False)
        raise TypeError(f"option of type {self.type} has no finite set of values")


def _version_check(value: str) -> str | None:
    return None if VERSION_RE.match(value) else "must be a macOS version from 10.13 on, such as 10.15.7, 14.4 or 26.1"


def _uuid_check(value: str) -> str | None:
    return None if UUID_RE.match(value) else "must be an upper-case UUID such as 7C1B4F1E-1D2A-4E0B-9C61-2F3D4A5B6C7D"


def _name_check(value: str) -> str | None:
    return None if NAME_RE.match(value) else "must be a short name: letters, digits, '_', '.', '-'"


def _nonneg(value: float) -> str | None:
    return None if 0 <= value <= 100 else "must be between 0 and 100"


USER = {
    "name": F(str, "short name (RecordName)", required=True, check=_name_check),
    "full_name": F(str, "RealName; sysadminctl prints it in its status line", default=None, nullable=True),
    "uid": F(int, "UniqueID", required=True),
    "guid": F(str, "GeneratedUID; generated from the name when omitted", default=None, nullable=True,
              check=_uuid_check),
    "admin": F(bool, "member of the admin group", default=False),
    "kind": F(str, "account kind", default="local", choices=USER_KINDS),
    "password": F(str, "the account's password in clear text ('' is a blank password; null: no password)",
                  default=None, nullable=True),
    "password_mode": F(str, "how the password was set: plaintext, prehashed (MDM/package hash) or none ('*')",
                       default="plaintext", choices=PASSWORD_MODES),
    "secure_token": F(bool, "holds a secure token", default=False),
    "token_in_sync": F(bool, "false after an out-of-band password reset of a token holder (R29d)", default=True),
    "volume_owner": F(bool, "volume owner (Apple silicon only)", default=False),
    "fv_enabled": F(bool, "FileVault user (listed by fdesetup list); defaults to secure_token", default=None,
                    nullable=True),
    "in_preboot": F(bool, "shown at the FileVault login window; defaults to fv_enabled", default=None,
                    nullable=True),
    "logged_in_graphically": F(bool, "has logged in at the login window at least once", default=False),
    "disabled_tags": F(list, "AuthenticationAuthority ;DisabledTags; values, e.g. [SecureToken]", default=[],
                       item_type=str),
    "extra_authority": F(list, "extra AuthenticationAuthority values written with dscl -append", default=[],
                         item_type=str),
    "hash_types": F(list, "the ShadowHash HASHLIST (default: SALTED-SHA512-PBKDF2, plus SRP-RFC5054-4096-SHA512-"
                          "PBKDF2 from 10.14)", default=None, nullable=True, item_type=str),
    "shell": F(str, "UserShell", default="/bin/zsh"),
    "home": F(str, "NFSHomeDirectory; /Users/<name> when omitted", default=None, nullable=True),
    "home_exists": F(bool, "the home folder exists (a network account's exists once it logged in); default: local "
                           "and mobile accounts yes, network accounts when logged_in_graphically",
                     default=None, nullable=True),
    "ad_domain": F(str, "Active Directory domain for mobile and network accounts", default="corp.example.com"),
    "ad_netbios": F(str, "Active Directory NetBIOS name", default="CORP"),
}

# Where the sources disagree or are silent, the choice is a state option: each defaults to the best-supported
# answer, and the collection must be right under every value (tests/integration/test_options.py runs it so).
OPTIONS = {
    "grant_confers_volume_ownership": F(
        bool, "a grant authenticated by a volume owner makes the target an owner", default=True,
        sources="true: mkuser README (an owner's grant confers ownership) and Jamf (bootstrap grants both); false: "
                "erase-install treats token and ownership as distinct, and Apple's section on ownership could not "
                "be read"),
    "reset_token_holder_password": F(
        str, "sysadminctl -resetPasswordFor on a token holder without token credentials: refuse (prints the "
             "no-unlock error) or desync (R29d)", default="refuse", choices=("refuse", "desync"),
        sources="refuse: vncdotool notes and macOSLAPS #22; desync: Lithnet, Addigy and pycreateuserpkg #62 (R29d)"),
    "delete_last_token_holder": F(
        str, "sysadminctl -deleteUser of the last token holder", default="refuse", choices=("refuse", "allow"),
        sources="refuse: JumpCloud PR #183, nix-darwin PR #1117; exact behaviour unverified (R29c)"),
    "fdesetup_add_grants_token": F(
        bool, "fdesetup add on APFS gives the added user a secure token", default=True,
        sources="Datajar item 4 (enabling a user in the FileVault pane grants a token, R20); fdesetup add itself "
                "is not documented"),
    "bootstrap_user_approved_from": F(
        str, "first version on which a user-approved (non-ADE) enrollment creates a bootstrap token",
        default="10.15.4", choices=("10.15.4", "11"),
        sources="10.15.4: VMware Workspace ONE; 11: mkuser (R32)"),
    "bootstrap_ade_only_from": F(
        str, "first major version on which the bootstrap token needs Automated Device Enrollment ('never': "
             "user-approved enrollments keep it)", default="never", choices=("never", "15", "26"),
        sources="never: Apple's device-management schema (requiresdep: false, 2024); 15/26: Apple's 2026 "
                "developer pages for Set/GetBootstrapToken say ADE is required (R30)"),
    "fdesetup_status_exit": F(
        str, "exit codes of fdesetup status: zero in every state, or the man page's table (1 off, 2 on but busy)",
        default="zero", choices=("zero", "man_page"),
        sources="zero: kolide's kolide_filevault table fails on any non-zero exit yet reports Off Macs since 2020, and "
                "two code comments say so; man_page: fdesetup(8) EXIT STATUS (1 FileVault is Off, 2 busy), which "
                "its text ties to isactive (evidence/notes/behaviour.md, question 1)"),
    "isactive_busy_exit": F(
        int, "exit code of fdesetup isactive while encrypting or decrypting", default=2, choices=(2, 0),
        sources="2: boxen/puppet-boxen PR #60 and its root_encrypted.rb (seen while encrypting and while decrypting); "
                "0: the man page documents only 0 (on) and 1 (off) for isactive"),
    "decrypting_first_line": F(
        str, "the first line of fdesetup status while decrypting", default="off", choices=("off", "on"),
        sources="off: Crypt and Escrow Buddy test 'FileVault is On.' before 'Decryption in progress', so they expect "
                "no On line then; on: macsim's earlier guess; no captured run exists"),
    "enable_key_line": F(
        str, "whether an interactive fdesetup enable prints 'Recovery key = ...' on macOS 26", default="hidden_on_26",
        choices=("hidden_on_26", "shown"),
        sources="hidden_on_26: Der Flounder 2026-05-07 (a Tahoe run prints no key line; a Sequoia run does); shown: "
                "the same post leaves open whether MDM management caused it"),
    "changerecovery_password_prompt": F(
        str, "the password prompt of fdesetup changerecovery -personal after the user name", default="user",
        choices=("user", "volume"),
        sources="user ('Enter the password for user 'NAME':'): a captured run in jss-filevault-reissue #58; volume "
                "('Enter a password for '/', or the recovery key:'): jamf/FileVault2_Scripts expect patterns"),
    "changerecovery_auth_error": F(
        str, "what fdesetup changerecovery prints when the credentials are refused", default="escrow_buddy",
        choices=("escrow_buddy", "reissue"),
        sources="escrow_buddy: stderr 'Error: User could not be authenticated.' and 'Error: Unable to unlock or "
                "authenticate to FileVault.', exit 11 (Escrow Buddy #5); reissue: 'Error: Unable to change key.' then "
                "'Error: User could not be authenticated.' (jss-filevault-reissue #58, cut after 'authent')"),
    "disable_prompt": F(
        str, "the prompts of an interactive fdesetup disable", default="user",
        choices=("user", "volume", "volume_comma"),
        sources="user (user name, then 'Enter the password for user ...'): a Big Sur-era run; volume ('Enter a "
                "password for '/' or recovery key:'): jamf decryptDrive.sh; volume_comma: another Jamf-style script"),
    "token_off_self": F(
        str, "sysadminctl -secureTokenOff authorised by the target itself (the only way to remove the last "
             "holder's token)", default="refuse", choices=("refuse", "allow"),
        sources="refuse: a 2026 report quotes 'User cannot disable their own SEP credential' "
                "(evidence sysadminctl-tokenoff-own-sep-credential); allow: no public source says whether it can "
                "work"),
    "password_change_first_token": F(
        str, "which tools' password change grants the first token on 11+ while nobody holds one (R14 says "
             "'setting a user password')", default="both", choices=("both", "dscl", "sysadminctl", "none"),
        sources="pycreateuserpkg #59 quotes 'setting a user password will enable SecureToken'; whether a change "
                "(not the initial set) counts is untested; AWS ec2-macos-init guards dscl . -passwd against it"),
    "standard_holder_grantor": F(
        str, "sysadminctl -secureTokenOn authenticated by a standard user who holds a token", default="refuse",
        choices=("refuse", "allow"),
        sources="refuse: manageSecureTokens (promote, grant, demote) and Zoho (R27); allow: no Apple statement "
                "either way"),
    "bootstrap_status_wording": F(
        str, "the lines of profiles status -type bootstraptoken: 'supported on server' / 'escrowed to server', or "
             "'is supported on server' / 'escrowed on server'", default="to", choices=("to", "on"),
        sources="to: mkuser and every script that compares the text exactly; on: a paste in Macjutsu/super #62 "
                "(evidence profiles-bt-status-is-supported-escrowed-on-super-62), perhaps retyped"),
    "bootstrap_unsupported_lines": F(
        int, "lines printed by profiles status -type bootstraptoken when the server lacks the capability",
        default=1, choices=(1, 2),
        sources="1: a 10.15.6 run (profiles-bt-status-unsupported-one-line-ttg-10.15.6); 2 (NO and NO): a test "
                "fixture (profiles-bt-status-no-no-fixture)"),
    "profiles_install_prompt": F(
        str, "the password prompt of profiles install -type bootstraptoken", default="quoted",
        choices=("quoted", "unquoted", "volume"),
        sources="quoted: fabienconus and another expect script; unquoted: a glob in ScottEKendall's script; volume "
                "('Enter a password for '/',: '): one unverified script"),
    "profiles_escrowed_line": F(
        str, "the line after 'profiles: Bootstrap Token created' when the escrow succeeds", default="plain",
        choices=("plain", "successfully"),
        sources="plain ('profiles: Bootstrap Token escrowed'): mkuser's prefix match and an expect script; "
                "successfully: one unverified expect script"),
    "show_enrollment_unassigned": F(
        str, "profiles show -type enrollment on a Mac not assigned in Apple Business Manager", default="error",
        choices=("error", "null"),
        sources="error ('Client is not DEP enabled.' on stderr, exit 1): a fixtures README from macOS 15.7 and 26.6 "
                "runners (profiles-enroll-show-not-dep-enabled); null ('(null)' under the header): a Fleet comment "
                "(profiles-enroll-show-null-fleet)"),
    "orphan_blocks_first_token": F(
        bool, "a deleted holder's crypto user left on the volume counts as an existing token, so no first-token rule "
              "fires", default=True,
        sources="true: a first token is spent once a Local Open Directory crypto user exists (mkuser's rules) "
                "and fdesetup list -extended still lists such a user as 'Unknown User' (evidence fdesetup-list-"
                "extended-unknown-user-bigsur); false: no source shows what a Mac does after its only holder is "
                "deleted (F3)"),
    "mobile_first_login_token": F(
        bool, "the first mobile account to log in at the login window, while nobody holds a token, gets the first "
              "token (R23)", default=True,
        sources="Datajar item 2, osxbytes and FileWave (Catalina); not stated for 11 and later, where R14 applies "
                "when the account's password is first set"),
}

MDM = {
    "enrolled": F(bool, "enrolled in an MDM", default=False),
    "enrollment": F(str, "how it enrolled", default="none", choices=ENROLLMENTS),
    "user_approved": F(bool, "user-approved MDM (always true for ADE)", default=False),
    "supervised": F(bool, "supervised", default=False),
    "server_url": F(str, "MDM server URL", default="https://mdm.example.com/mdm"),
    "bootstrap_capable": F(bool, "server advertises bootstrap token support", default=False),
    "bootstrap_on_device": F(bool, "a bootstrap token exists on the Mac", default=False),
    "bootstrap_escrowed": F(bool, "the server holds the bootstrap token", default=False),
    "reachable": F(bool, "the MDM server can be reached now", default=True),
    "bootstrap_allowed_for_auth": F(str, "SecurityInfo.BootstrapTokenAllowedForAuthentication (Apple silicon)",
                                    default="not_supported", choices=BT_AUTH),
    "bootstrap_allowed": F(bool, "the MDM allowed the bootstrap token for this Mac (the Settings command's "
                                 "BootstrapTokenAllowed); false: 'Bootstrap Token functionality is not supported on "
                                 "the server.'", default=True),
    "bootstrap_escrow_confirmed": F(bool, "the MDM has stored the escrowed token; false: status already says "
                                          "escrowed but validate fails until it has (transient)", default=True),
    "dep_assigned": F(bool, "assigned to the MDM in Apple Business Manager (default: enrolled through ADE)",
                      default=None, nullable=True),
    "dep_profile": F(dict, "the Device Enrollment configuration profiles show prints when assigned", default=None,
                     nullable=True),
    "apple_reachable": F(bool, "Apple's servers (apsd) can be reached", default=True),
    "dep_fetched_at": F(float, "simulated time of the last 'profiles show -type enrollment' fetch (rate limit)",
                        default=None, nullable=True),
    "escrow_payload": F(bool, "com.apple.security.FDERecoveryKeyEscrow profile installed", default=False),
    "filevault_payload": F(bool, "a FileVault (com.apple.MCX.FileVault2) profile is installed", default=False),
}

FILEVAULT = {
    "state": F(str, "FileVault state", default="off", choices=FV_STATES),
    "percent": F(float, "progress while encrypting or decrypting", default=None, nullable=True, check=_nonneg),
    "deferred_user": F(str, "user whose next logout or login enables FileVault (state deferred)", default=None,
                       nullable=True),
    "deferred_output_path": F(str, "-defer plist path", default=None, nullable=True),
    "deferral_profile_uuid": F(str, "the configuration profile that set the deferral up (MDM FileVault payload)",
                               default=None, nullable=True),
    "force_at_login": F(int, "-forceatlogin max cancel attempts (0 = next login; -1 = never force)", default=None,
                        nullable=True),
    "dont_ask_at_logout": F(bool, "-dontaskatlogout", default=False),
    "personal_recovery_key": F(str, "the personal recovery key (xxxx-xxxx-xxxx-xxxx-xxxx-xxxx) or null",
                               default=None, nullable=True),
    "institutional_key": F(bool, "an institutional recovery key is on the volume (hasinstitutionalrecoverykey)",
                           default=False),
    "master_keychain": F(bool, "/Library/Keychains/FileVaultMaster.keychain is installed (status says so, even "
                               "when hasinstitutionalrecoverykey is false: evidence fdesetup-status-on-"
                               "masterkeychain-ttg-10.15.6); default: institutional_key", default=None, nullable=True),
    "unlocked_with_recovery_key": F(bool, "this boot was unlocked with the recovery key (usingrecoverykey; stays "
                                          "true until the next restart)", default=False),
    "escrowed_key": F(str, "the key last written to /var/db/FileVaultPRK.dat for the MDM", default=None,
                      nullable=True),
    "restart_pending": F(bool, "status says the change finishes at the next restart", default=False),
    "restart_kind": F(str, "what the restart finishes: finish ('..., but needs to be restarted to finish.') or "
                           "enable ('FileVault is Off, but will be enabled after the next restart.', CoreStorage era)",
                      default="finish", choices=("finish", "enable")),
    "authrestart_armed": F(bool, "fdesetup authrestart unlocked the next boot once", default=False),
    "icloud_recovery": F(bool, "the user allowed the Apple Account (iCloud) to unlock the disk: the crypto users "
                               "include an iCloud Recovery User and the iCloud Recovery External Key (fixed UUIDs "
                               "EC1C2AD9-B618-4ED6-BD8D-50F361C27507 and 64C0C6EB-0000-11AA-AA11-00306543ECAC, "
                               "evidence diskutil-listusers-osquery5236-six-users-icloud and diskutil-listusers-"
                               "volume-uuid-icloud-pair-catalina-nokiam9). Independent of personal_recovery_key, "
                               "which alone decides haspersonalrecoverykey: no run shows what that verb answers "
                               "with legacy iCloud escrow (a deploy script believes not true: set "
                               "personal_recovery_key null for that; notes/issue13-research.md section 3)",
                         default=False),
    "rate": F(float, "encryption or decryption speed in percent per hour of simulated time (pre-T2 Intel); "
                     "null: never finishes by itself", default=8.0, nullable=True),
    "progress_at": F(float, "simulated time (epoch seconds) at which percent was last brought up to date; "
                            "null: now", default=None, nullable=True),
}

FAULT = {
    "tool": F(str, "the tool the fault applies to", required=True, choices=TOOLS),
    "match": F(list, "argv words that must all be present for the fault to fire (empty: every call)", default=[],
               item_type=str),
    "kind": F(str, "hang, crash, garbage, latency, canned, or linger (the tool acts and prints, then waits "
                   "before it exits: a window in which the change is made but the caller has no answer yet)",
              required=True, choices=FAULT_KINDS),
    "seconds": F(float, "latency, hang or linger duration", default=3600.0),
    "exit_code": F(int, "exit code of crash and canned faults", default=1),
    "stdout": F(str, "canned stdout", default=""),
    "stderr": F(str, "canned stderr, or the crash message", default=""),
    "times": F(int, "fire this many times, then disappear (-1: always)", default=-1),
}

MACHINE = {
    "schema": F(int, "state schema version", default=SCHEMA_VERSION),
    "hostname": F(str, "host name", required=True, check=_name_check),
    "os": F(dict, "macOS release", required=True, children={
        "version": F(str, "ProductVersion", required=True, check=_version_check),
        "build": F(str, "BuildVersion", default=None, nullable=True),
        "extra": F(str, "ProductVersionExtra (Rapid Security Response), e.g. (a)", default=None, nullable=True),
        "kernel_release": F(str, "uname -r (default from the version, e.g. 14.4.1 -> 23.4.0)", default=None,
                            nullable=True),
        "kernel_version": F(str, "uname -v / kern.version, e.g. 'Darwin Kernel Version 23.4.0: Fri Mar 15 00:10:42 "
                                 "PDT 2024; root:xnu-10063.101.17~1/RELEASE_ARM64_T6000'", default=None,
                            nullable=True),
    }),
    "hardware": F(dict, "hardware identity", default={}, children={
        "arch": F(str, "intel_pre_t2, intel_t2 or apple_silicon", default="apple_silicon", choices=ARCHES),
        "serial": F(str, "serial number", default=None, nullable=True),
        "hardware_uuid": F(str, "hardware UUID", default=None, nullable=True, check=_uuid_check),
        "cpu_brand": F(str, "machdep.cpu.brand_string", default=None, nullable=True),
        "model": F(str, "model identifier", default=None, nullable=True),
        "on_battery": F(bool, "a laptop running on battery: software encryption pauses ('Pending')", default=False),
        "supports_authrestart": F(bool, "fdesetup supportsauthrestart says true", default=True),
        "translated": F(bool, "the login session's processes run under Rosetta (Apple silicon only)", default=False),
        "kernel_board": F(str, "the RELEASE_ARM64_<board> kernel of an Apple silicon Mac (default from the chip: "
                               "M1 T8103, M1 Pro/Max T6000, M2 T8112, M3 T8122, M4 T8132)",
                            default=None, nullable=True),
        "sysctl": F(dict, "further sysctl names and values this Mac answers (hw.memsize, machdep.cpu.core_count, ...)",
                    default={}),
        "root_device": F(str, "the device mounted at / (default by layout: disk1s1, disk1s5, disk1s5s1, disk3s1s1)",
                         default=None, nullable=True),
        "data_device": F(str, "the boot Data volume (default disk1s1 on Intel, disk3s5 on Apple silicon)",
                         default=None, nullable=True),
    }),
    "boot_fs": F(str, "boot volume file system", default="apfs", choices=("apfs", "hfs")),
    "setup_assistant_account_created": F(bool, "Setup Assistant created an account", default=True),
    "setup_assistant_running": F(bool, "Setup Assistant is on screen: _mbsetupuser is logged in and, for the "
                                       "while, an administrator", default=False),
    "users": F(list, "local, mobile, managed and directory accounts", default=[], items=USER),
    "mdm": F(dict, "MDM enrollment and bootstrap token", default={}, children=MDM),
    "filevault": F(dict, "FileVault", default={}, children=FILEVAULT),
    "remote_login_full_disk_access": F(bool, "Remote Login (sshd) has Full Disk Access", default=False),
    "crypto_order": F(list, "the order of the APFS crypto users, as identifiers: a user's GUID, 'prk', 'bootstrap', "
                            "'icloud' (default: token holders by UID, then the recovery key, then the bootstrap "
                            "token); kept up to date as they are added and removed", default=None, nullable=True,
                      item_type=str),
    "orphan_crypto_users": F(list, "crypto users whose account record is gone (deleted with dscl): "
                                   "'Unknown User' in fdesetup list -extended", default=[], items={
                                       "guid": F(str, "the deleted account's GeneratedUID", required=True,
                                                 check=_uuid_check),
                                       "volume_owner": F(bool, "it owned the volume (Apple silicon)", default=False),
                                   }),
    "orphan_homes": F(list, "home folders under /Users with no account record (left by dscl . -delete)",
                      default=[], item_type=str),
    "guest_account": F(bool, "the guest account is enabled", default=False),
    "autologin_user": F(str, "the user who logs in automatically (never with FileVault on, R60)", default=None,
                        nullable=True),
    "system_administration_broken": F(bool, "every sysadminctl call fails to authenticate with the "
                                            "SystemAdministration framework (rdar 36027180, 10.13.2)", default=False),
    "password_policy": F(dict, "a password policy (pwpolicy or a profile)", default={}, children={
        "min_length": F(int, "shortest password accepted (0: no policy)", default=0),
    }),
    "authorizationdb_hardened": F(bool, "sysadminctl fails with errAuthorizationInteractionNotAllowed as root",
                                  default=False),
    "python": F(dict, "what /usr/bin/python3 is", default={}, children={
        "kind": F(str, "auto (by version), clt, stub, none, or managed (/usr/local/bin/managed_python3)",
                  default="auto", choices=PYTHON_KINDS),
        "version": F(str, "3.8 or 3.9 for clt (auto: by macOS version)", default=None, nullable=True),
        "full_version": F(str, "what python3 --version reports for the Command Line Tools' Python (default 3.8.2 or "
                               "3.9.6)", default=None, nullable=True),
        "stub": F(str, "what the /usr/bin/python3 shim says without a Python: no_clt (no developer tools) or "
                       "stale_xcode (xcode-select points at a deleted Xcode)", default="no_clt",
                  choices=("no_clt", "stale_xcode")),
    }),
    "options": F(dict, "choices between conflicting or silent sources (see OPTIONS)", default={}, children=OPTIONS),
    "faults": F(list, "injected faults", default=[], items=FAULT),
    "clock": F(dict, "the Mac's clock: simulated time is real time plus offset; 'macsim advance' adds to it",
               default={}, children={
                   "offset": F(float, "seconds added to real time", default=0.0),
                   "timezone": F(str, "the Mac's time zone (an IANA name such as America/Los_Angeles) for the dates "
                                      "tools print in local time (sysctl kern.boottime); null: the controller's",
                                 default=None, nullable=True),
               }),
    "schedule": F(list, "changes that happen by themselves once the Mac's clock reaches a time", default=[],
                  items={
                      "at": F(float, "simulated time (epoch seconds) at which the change happens", default=None,
                              nullable=True),
                      "after": F(float, "seconds after the host was created (turned into 'at' then)", default=None,
                                 nullable=True),
                      "set": F(dict, "dotted state paths and their new values, e.g. {mdm.bootstrap_escrowed: true}",
                               required=True),
                      "note": F(str, "what the change stands for (written to the invocation log)", default=""),
                  }),
    "boot": F(dict, "the Mac's boots: the phase a live fleet's Mac is in, and how this boot was unlocked", default={},
              children={
                  "phase": F(str, "up (macOS runs, sshd answers), down (restarting: nothing answers), locked (at the "
                                  "FileVault login window, nothing listens on port 22) or preboot_ssh (locked, the "
                                  "pre-boot sshd of macOS 26 answers)", default="up", choices=BOOT_PHASES),
                  "count": F(int, "boots so far (each restart adds one; an unlock at the FileVault login window is "
                                  "the same boot)", default=1),
                  "boottime": F(float, "simulated time (epoch seconds) of the last boot (sysctl kern.boottime); "
                                       "null: the host's creation", default=None, nullable=True),
                  "seconds": F(float, "how long a restart takes in a live fleet, in real seconds (a real Mac takes "
                                      "about 1 to 3 minutes: evidence/notes/issue13-research.md section 2)",
                               default=2.0),
                  "preboot_ssh": F(bool, "a locked boot starts the pre-boot sshd (macOS 26 on Apple silicon: "
                                         "apple_ssh_and_filevault(7)); null: exactly when macOS is 26 or later on "
                                         "Apple silicon", default=None, nullable=True),
                  "preboot_banner": F(bool, "the pre-boot sshd sends the three-line 'This system is locked' banner "
                                            "(seen on 26.0.1; a later 26 sent none)", default=True),
                  "unlocked_by": F(str, "how this boot got past FileVault: authrestart, preboot_ssh, console "
                                        "(macsim unlock) or none (not locked, or still locked)", default="none",
                                   choices=UNLOCKED_BY),
                  "failed_unlocks": F(int, "wrong passwords at the FileVault login window (pre-boot SSH or console) "
                                           "since the last unlock; from 10 every attempt is refused", default=0),
                  "restart_at": F(float, "simulated time of a scheduled restart (fdesetup authrestart -delayminutes "
                                         "N, shutdown -r +N)", default=None, nullable=True),
              }),
    "sim": F(dict, "simulator settings", default={}, children={
        "alt_wording": F(bool, "replace every invented text with its alternative", default=False),
        "latency": F(str, "how long each tool takes to answer: none (at once) or mac (each Apple tool's time on a "
                          "Mac, slept outside the state lock; see macsim.latency)", default="none",
                     choices=("none", "mac")),
    }),
}


def _typename(t: Any) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", float: "a number", list: "a list",
            dict: "a mapping"}.get(t, str(t))


def _check_type(value: Any, ftype: Any) -> bool:
    if ftype is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ftype is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, ftype)


def _validate(doc: Any, spec: dict, path: str) -> dict:
    if not isinstance(doc, dict):
        raise StateError(f"{path or 'state'}: must be a mapping, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(spec))
    if unknown:
        raise StateError(f"{path + '.' if path else ''}{unknown[0]}: unknown field; allowed: {', '.join(sorted(spec))}")
    out = {}
    for name, f in spec.items():
        where = f"{path}.{name}" if path else name
        if name not in doc:
            if f.required:
                raise StateError(f"{where}: required field is missing ({f.doc})")
            value = copy.deepcopy(f.default)
            if f.children is not None:
                value = _validate(value or {}, f.children, where)
            out[name] = value
            continue
        value = doc[name]
        if value is None:
            if f.nullable:
                out[name] = None
                continue
            raise StateError(f"{where}: must not be null; expected {_typename(f.type)} ({f.doc})")
        if not _check_type(value, f.type):
            raise StateError(f"{where}: expected {_typename(f.type)}, got {value!r} ({f.doc})")
        if f.choices and value not in f.choices:
            raise StateError(f"{where}: {value!r} is not one of {', '.join(f.choices)}")
        if f.check:
            problem = f.check(value)
            if problem:
                raise StateError(f"{where}: {value!r} {problem}")
        if f.children is not None:
            value = _validate(value, f.children, where)
        elif f.items is not None:
            value = [_validate(item, f.items, f"{where}[{i}]") for i, item in enumerate(value)]
        elif f.item_type is not None:
            for i, item in enumerate(value):
                if not _check_type(item, f.item_type):
                    raise StateError(f"{where}[{i}]: expected {_typename(f.item_type)}, got {item!r}")
        if f.type is float and value is not None:
            value = float(value)
        out[name] = value
    return out


def name_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "macsim:" + ":".join(parts))).upper()


# Hardware and software that Apple never shipped together, each with where that is stated.
UNSHIPPED = (
    (lambda s, v: s["hardware"]["arch"] == "apple_silicon" and v.below(11),
     "hardware.arch: Apple silicon Macs run macOS 11 or later (Apple: 'Mac computers with Apple silicon', "
     "support.apple.com/en-us/116943); set os.version to 11 or later"),
    (lambda s, v: s["hardware"]["arch"] == "intel_pre_t2" and v.at_least(26),
     "hardware.arch: every Intel Mac that runs macOS 26 has a T2 chip (Apple: 'macOS Tahoe 26 is compatible "
     "with these computers', support.apple.com/en-us/122867); use intel_t2 or apple_silicon"),
    (lambda s, v: s["hardware"]["arch"] == "intel_t2" and v.below(10, 13, 2),
     "hardware.arch: the first T2 Mac (iMac Pro) shipped with macOS 10.13.2 (Apple: 'Mac computers that have "
     "the Apple T2 Security Chip', support.apple.com/en-us/103265); use 10.13.2 or later"),
    (lambda s, v: s["boot_fs"] == "hfs" and (v.at_least(10, 14) or s["hardware"]["arch"] != "intel_pre_t2"),
     "boot_fs: macOS 10.14 and later boot only from APFS, and T2 and Apple silicon Macs always do (behaviour "
     "reference R2: S19); HFS+ boot volumes exist only on 10.13 Intel Macs before T2"),
)


def _fill_derived(state: dict) -> None:
    host = state["hostname"]
    hw = state["hardware"]
    version = Version(state["os"]["version"])
    for unshipped, why in UNSHIPPED:
        if unshipped(state, version):
            raise StateError(f"{why} (os.version {state['os']['version']}, hardware.arch {hw['arch']})")
    hw["hardware_uuid"] = hw["hardware_uuid"] or name_uuid(host, "hardware")
    hw["serial"] = hw["serial"] or (
        ("C02" if hw["arch"] != "apple_silicon" else "H") + name_uuid(host)[:7].replace("-", ""))
    if not hw["cpu_brand"]:
        hw["cpu_brand"] = "Apple M1" if hw["arch"] == "apple_silicon" else "Intel(R) Core(TM) i5-8259U CPU @ 2.30GHz"
    if state["boot_fs"] == "hfs" and any(u["secure_token"] for u in state["users"]):
        raise StateError("users[].secure_token: an HFS+ boot volume has no secure tokens (R2); set boot_fs to apfs "
                         "or the tokens to false")
    if state["autologin_user"] and state["filevault"]["state"] in ("on", "encrypting", "decrypting"):
        raise StateError("autologin_user: macOS turns automatic login off while FileVault is on (R60, mkuser); "
                         "set it to null or turn FileVault off")
    if hw["arch"] != "apple_silicon" and hw["translated"]:
        raise StateError("hardware.translated: only Apple silicon Macs run processes under Rosetta")
    if not hw["kernel_board"] and hw["arch"] == "apple_silicon":
        brand = hw["cpu_brand"]
        chip = brand.split()[1] if brand.startswith("Apple ") and len(brand.split()) > 1 else "M1"
        pro = any(w in brand for w in ("Pro", "Max", "Ultra"))
        hw["kernel_board"] = {"M1": "T6000" if pro else "T8103", "M2": "T6020" if pro else "T8112",
                              "M3": "T6030" if pro else "T8122", "M4": "T6040" if pro else "T8132"}.get(chip, "T8103")
    if not hw["model"]:
        hw["model"] = {"apple_silicon": "MacBookAir10,1", "intel_t2": "MacBookPro15,2",
                       "intel_pre_t2": "MacBookPro12,1"}[hw["arch"]]
    seen_names, seen_uids = set(), set()
    for i, user in enumerate(state["users"]):
        where = f"users[{i}]"
        if user["name"] in seen_names:
            raise StateError(f"{where}.name: {user['name']!r} is used by another user")
        seen_names.add(user["name"])
        if user["uid"] in seen_uids:
            raise StateError(f"{where}.uid: {user['uid']} is used by another user")
        seen_uids.add(user["uid"])
        user["guid"] = user["guid"] or name_uuid(host, "user", user["name"])
        user["full_name"] = user["full_name"] if user["full_name"] is not None else user["name"]
        user["home"] = user["home"] or f"/Users/{user['name']}"
        if user["home_exists"] is None:
            user["home_exists"] = user["kind"] != "network" or bool(user["logged_in_graphically"])
        if user["password_mode"] == "none" and user["password"] is not None:
            raise StateError(f"{where}.password: must be null when password_mode is none")
        if user["kind"] == "network" and user["secure_token"]:
            raise StateError(f"{where}.secure_token: network accounts are not eligible for a secure token (R21)")
        if user["kind"] == "sharing_only" and "SecureToken" not in user["disabled_tags"]:
            user["disabled_tags"].append("SecureToken")
        if user["volume_owner"] and state["hardware"]["arch"] != "apple_silicon":
            raise StateError(f"{where}.volume_owner: volume ownership exists only on apple_silicon")
        if user["volume_owner"] and not user["secure_token"]:
            raise StateError(f"{where}.volume_owner: a user without a secure token cannot be a volume owner (R47)")
        # R3: a FileVault user holds a token and, on Apple silicon, is a volume owner.
        eligible = bool(user["secure_token"]) and (hw["arch"] != "apple_silicon" or bool(user["volume_owner"]))
        if user["fv_enabled"] is None:
            user["fv_enabled"] = eligible
        elif user["fv_enabled"] and not eligible:
            raise StateError(f"{where}.fv_enabled: a FileVault user must hold a secure token and, on Apple silicon, "
                             "be a volume owner (R3); set secure_token (and volume_owner) or fv_enabled: false")
        if user["in_preboot"] is None:
            user["in_preboot"] = bool(user["fv_enabled"])
    fv = state["filevault"]
    if fv["master_keychain"] is None:
        fv["master_keychain"] = bool(fv["institutional_key"])
    if fv["state"] == "deferred" and not fv["deferred_user"] and fv["deferred_output_path"] is None:
        fv["deferred_output_path"] = "/var/db/fdesetup.plist"
    if fv["state"] in ("encrypting", "decrypting") and fv["percent"] is None:
        raise StateError(f"filevault.percent: required while filevault.state is {fv['state']}")
    if fv["deferred_user"] and fv["deferred_user"] not in seen_names:
        raise StateError(f"filevault.deferred_user: {fv['deferred_user']!r} is not one of the users")
    for i, entry in enumerate(state["schedule"]):
        if entry["at"] is None and entry["after"] is None:
            raise StateError(f"schedule[{i}]: give 'at' (simulated epoch seconds) or 'after' (seconds after creation)")
    mdm = state["mdm"]
    if mdm["enrollment"] == "ade":
        mdm["enrolled"] = True
        mdm["user_approved"] = True
        mdm["supervised"] = True
    if mdm["dep_assigned"] is None:
        mdm["dep_assigned"] = mdm["enrollment"] == "ade"
    if mdm["enrolled"] and mdm["enrollment"] == "none":
        mdm["enrollment"] = "device_enrollment"
    if not mdm["enrolled"] and (mdm["bootstrap_escrowed"] or mdm["bootstrap_capable"]):
        raise StateError("mdm.enrolled: a bootstrap token needs an MDM enrollment; set mdm.enrolled: true")
    if mdm["bootstrap_escrowed"] and not mdm["bootstrap_on_device"]:
        mdm["bootstrap_on_device"] = True


def validate(doc: Any) -> dict:
    """Validate a state document and return it with every default filled in."""
    state = _validate(doc, MACHINE, "")
    if state["schema"] != SCHEMA_VERSION:
        raise StateError(f"schema: version {state['schema']} is not supported; this macsim reads {SCHEMA_VERSION}")
    _fill_derived(state)
    return state


def describe(spec: dict | None = None, indent: int = 0) -> str:
    """Render the schema as indented text for ``macsim schema`` and the README."""
    spec = MACHINE if spec is None else spec
    lines = []
    pad = "  " * indent
    for name, f in spec.items():
        kind = _typename(f.type)
        extra = []
        if f.required:
            extra.append("required")
        elif f.children is None and f.items is None:
            extra.append(f"default {f.default!r}")
        if f.choices:
            extra.append("one of " + "|".join(str(c) for c in f.choices))
        lines.append(f"{pad}{name}: {kind}; {f.doc}" + (f" ({'; '.join(extra)})" if extra else ""))
        if f.children:
            lines.append(describe(f.children, indent + 1))
        if f.items:
            lines.append(f"{pad}  each item:")
            lines.append(describe(f.items, indent + 2))
    return "\n".join(lines)


@dataclass
class Version:
    """A macOS version with comparisons against tuples."""

    text: str
    parts: tuple = field(init=False)

    def __post_init__(self) -> None:
        nums = [int(p) for p in self.text.split(".")]
        while len(nums) < 3:
            nums.append(0)
        self.parts = tuple(nums)

    def at_least(self, *parts: int) -> bool:
        return self.parts >= tuple(parts)

    def below(self, *parts: int) -> bool:
        return self.parts < tuple(parts)

    @property
    def major(self) -> int:
        return self.parts[0] if self.parts[0] != 10 else 10

    @property
    def darwin(self) -> int:
        if self.parts[0] == 10:
            return self.parts[1] + 4
        if self.parts[0] >= 26:
            return self.parts[0] - 1
        return self.parts[0] + 9
