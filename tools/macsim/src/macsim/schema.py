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
FAULT_KINDS = ("hang", "crash", "garbage", "latency", "canned")
TOOLS = ("sysadminctl", "fdesetup", "profiles", "diskutil", "dscl", "dsmemberutil", "dseditgroup",
         "sw_vers", "uname", "sysctl", "python3")
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
    "shell": F(str, "UserShell", default="/bin/zsh"),
    "home": F(str, "NFSHomeDirectory; /Users/<name> when omitted", default=None, nullable=True),
    "ad_domain": F(str, "Active Directory domain for mobile and network accounts", default="corp.example.com"),
    "ad_netbios": F(str, "Active Directory NetBIOS name", default="CORP"),
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
    "escrow_payload": F(bool, "com.apple.security.FDERecoveryKeyEscrow profile installed", default=False),
    "filevault_payload": F(bool, "a FileVault (com.apple.MCX.FileVault2) profile is installed", default=False),
}

FILEVAULT = {
    "state": F(str, "FileVault state", default="off", choices=FV_STATES),
    "percent": F(float, "progress while encrypting or decrypting", default=None, nullable=True, check=_nonneg),
    "deferred_user": F(str, "user whose next logout or login enables FileVault (state deferred)", default=None,
                       nullable=True),
    "deferred_output_path": F(str, "-defer plist path", default=None, nullable=True),
    "force_at_login": F(int, "-forceatlogin max cancel attempts (0 = next login; -1 = never force)", default=None,
                        nullable=True),
    "dont_ask_at_logout": F(bool, "-dontaskatlogout", default=False),
    "personal_recovery_key": F(str, "the personal recovery key (xxxx-xxxx-xxxx-xxxx-xxxx-xxxx) or null",
                               default=None, nullable=True),
    "institutional_key": F(bool, "an institutional recovery key (FileVaultMaster keychain) is installed",
                           default=False),
    "escrowed_key": F(str, "the key last written to /var/db/FileVaultPRK.dat for the MDM", default=None,
                      nullable=True),
    "restart_pending": F(bool, "status says the change finishes at the next restart", default=False),
}

FAULT = {
    "tool": F(str, "the tool the fault applies to", required=True, choices=TOOLS),
    "match": F(list, "argv words that must all be present for the fault to fire (empty: every call)", default=[],
               item_type=str),
    "kind": F(str, "hang, crash, garbage, latency or canned", required=True, choices=FAULT_KINDS),
    "seconds": F(float, "latency or hang duration", default=3600.0),
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
    }),
    "hardware": F(dict, "hardware identity", default={}, children={
        "arch": F(str, "intel_pre_t2, intel_t2 or apple_silicon", default="apple_silicon", choices=ARCHES),
        "serial": F(str, "serial number", default=None, nullable=True),
        "hardware_uuid": F(str, "hardware UUID", default=None, nullable=True, check=_uuid_check),
        "cpu_brand": F(str, "machdep.cpu.brand_string", default=None, nullable=True),
        "model": F(str, "model identifier", default=None, nullable=True),
    }),
    "boot_fs": F(str, "boot volume file system", default="apfs", choices=("apfs", "hfs")),
    "setup_assistant_account_created": F(bool, "Setup Assistant created an account", default=True),
    "users": F(list, "local, mobile, managed and directory accounts", default=[], items=USER),
    "mdm": F(dict, "MDM enrollment and bootstrap token", default={}, children=MDM),
    "filevault": F(dict, "FileVault", default={}, children=FILEVAULT),
    "remote_login_full_disk_access": F(bool, "Remote Login (sshd) has Full Disk Access", default=False),
    "authorizationdb_hardened": F(bool, "sysadminctl fails with errAuthorizationInteractionNotAllowed as root",
                                  default=False),
    "python": F(dict, "what /usr/bin/python3 is", default={}, children={
        "kind": F(str, "auto (by version), clt, stub, none, or managed (/usr/local/bin/managed_python3)",
                  default="auto", choices=PYTHON_KINDS),
        "version": F(str, "3.8 or 3.9 for clt (auto: by macOS version)", default=None, nullable=True),
    }),
    "options": F(dict, "choices between conflicting sources", default={}, children={
        "grant_confers_volume_ownership": F(bool, "a grant by a volume owner makes the target an owner", default=True),
        "reset_token_holder_password": F(str, "sysadminctl -resetPasswordFor on a token holder without token "
                                              "credentials: refuse (prints the no-unlock error) or desync",
                                         default="refuse", choices=("refuse", "desync")),
        "delete_last_token_holder": F(str, "sysadminctl -deleteUser of the last token holder", default="refuse",
                                      choices=("refuse", "allow")),
        "fdesetup_add_grants_token": F(bool, "fdesetup add on APFS gives the added user a secure token",
                                       default=True),
        "bootstrap_user_approved_from": F(str, "first version on which a user-approved (non-ADE) enrollment "
                                               "creates a bootstrap token: 10.15.4 (VMware) or 11 (mkuser)",
                                          default="10.15.4", choices=("10.15.4", "11")),
    }),
    "faults": F(list, "injected faults", default=[], items=FAULT),
    "sim": F(dict, "simulator settings", default={}, children={
        "alt_wording": F(bool, "replace every invented text with its alternative", default=False),
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


def _fill_derived(state: dict) -> None:
    host = state["hostname"]
    hw = state["hardware"]
    hw["hardware_uuid"] = hw["hardware_uuid"] or name_uuid(host, "hardware")
    hw["serial"] = hw["serial"] or ("C02" if hw["arch"] != "apple_silicon" else "H") + name_uuid(host)[:7].replace("-", "")
    if not hw["cpu_brand"]:
        hw["cpu_brand"] = "Apple M1" if hw["arch"] == "apple_silicon" else "Intel(R) Core(TM) i5-8259U CPU @ 2.30GHz"
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
        if user["password_mode"] == "none" and user["password"] is not None:
            raise StateError(f"{where}.password: must be null when password_mode is none")
        if user["kind"] == "network" and user["secure_token"]:
            raise StateError(f"{where}.secure_token: network accounts are not eligible for a secure token (R21)")
        if user["kind"] == "sharing_only" and "SecureToken" not in user["disabled_tags"]:
            user["disabled_tags"].append("SecureToken")
        if user["fv_enabled"] is None:
            user["fv_enabled"] = bool(user["secure_token"])
        if user["in_preboot"] is None:
            user["in_preboot"] = bool(user["fv_enabled"])
        if user["volume_owner"] and state["hardware"]["arch"] != "apple_silicon":
            raise StateError(f"{where}.volume_owner: volume ownership exists only on apple_silicon")
        if user["volume_owner"] and not user["secure_token"]:
            raise StateError(f"{where}.volume_owner: a user without a secure token cannot be a volume owner (R47)")
    fv = state["filevault"]
    if fv["state"] == "deferred" and not fv["deferred_user"] and fv["deferred_output_path"] is None:
        fv["deferred_output_path"] = "/var/db/fdesetup.plist"
    if fv["state"] in ("encrypting", "decrypting") and fv["percent"] is None:
        raise StateError(f"filevault.percent: required while filevault.state is {fv['state']}")
    if fv["deferred_user"] and fv["deferred_user"] not in seen_names:
        raise StateError(f"filevault.deferred_user: {fv['deferred_user']!r} is not one of the users")
    mdm = state["mdm"]
    if mdm["enrollment"] == "ade":
        mdm["enrolled"] = True
        mdm["user_approved"] = True
        mdm["supervised"] = True
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
            extra.append("one of " + "|".join(f.choices))
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
