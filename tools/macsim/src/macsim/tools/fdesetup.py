"""/usr/bin/fdesetup: FileVault status, users, enablement and recovery keys.

Exit codes follow fdesetup(8) EXIT STATUS (``macos-tool-output.md`` §2): 1 off, 2 busy,
11 authentication error, 12 parameter error, 13 unknown command, 15 bad input,
17 added users failed, 24 already enabled, 25 unable to remove user, 26 unable to change
recovery key, 28 off/busy/locked, 30 user record not found, 32 already active (deferral),
33 unsupported on this file system, 37 blank password.
"""

from __future__ import annotations

import datetime
import plistlib
import re

from ..mac import PRK_UUID
from ..runtime import Ctx, ToolExit

KEY_RE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){5}$")
FLAGS = {"-extended", "-outputplist", "-inputplist", "-norecoverykey", "-dontaskatlogout", "-showrecoverykey",
         "-verbose", "-authrestart", "-forcerestart", "-keychain", "-personal", "-institutional", "-device"}
VALUES = {"-user", "-usertoadd", "-defer", "-forceatlogin", "-certificate", "-uuid", "-key"}
VERBS = {"status", "isactive", "list", "enable", "disable", "add", "remove", "haspersonalrecoverykey",
         "hasinstitutionalrecoverykey", "validaterecovery", "changerecovery", "showdeferralinfo"}
ROOT_VERBS = {"list", "enable", "disable", "add", "remove", "validaterecovery", "changerecovery", "showdeferralinfo"}


def _parse(ctx: Ctx) -> tuple[str, dict]:
    argv = ctx.argv
    if not argv or argv[0] not in VERBS:
        raise ToolExit(13, err=ctx.t("fdesetup.usage"))
    verb, rest = argv[0], argv[1:]
    opts: dict = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in FLAGS:
            opts[word] = True
            i += 1
        elif word in VALUES and i + 1 < len(rest):
            opts[word] = rest[i + 1]
            i += 2
        else:
            raise ToolExit(12, err=ctx.t("fdesetup.usage"))
    return verb, opts


def _input_plist(ctx: Ctx) -> dict:
    data = ctx.read_stdin_all()
    try:
        value = plistlib.loads(data.encode("utf-8"))
    except Exception:  # plistlib raises several types for bad input
        raise ToolExit(15, err=ctx.t("fdesetup.bad_input"))
    if not isinstance(value, dict):
        raise ToolExit(15, err=ctx.t("fdesetup.bad_input"))
    return value


def _credentials(ctx: Ctx, opts: dict, prompt_user: bool = True) -> tuple[str | None, str | None, list]:
    """Username, password and AdditionalUsers from -inputplist, or from -user and the terminal prompts."""
    if opts.get("-inputplist"):
        value = _input_plist(ctx)
        extra = value.get("AdditionalUsers") or []
        return value.get("Username"), value.get("Password"), extra if isinstance(extra, list) else []
    name = opts.get("-user")
    if name is None and prompt_user:
        name = ctx.prompt(ctx.t("fdesetup.prompt_user"), secret=False)
    if name is None:
        return None, None, []
    password = ctx.prompt(ctx.t("fdesetup.prompt_password", name=name))
    return name, password, []


def _status(ctx: Ctx, opts: dict) -> int:
    fv, mac = ctx.mac.fv, ctx.mac
    state = fv["state"]
    if state in ("on", "encrypting", "decrypting"):
        ctx.out(ctx.t("fdesetup.on_needs_restart") if fv["restart_pending"] else ctx.t("fdesetup.on"))
    else:
        ctx.out(ctx.t("fdesetup.off_enable_after_restart") if fv["restart_pending"] else ctx.t("fdesetup.off"))
    if state == "deferred" and fv["deferred_user"]:
        ctx.out(ctx.t("fdesetup.deferred", name=fv["deferred_user"]))
    percent = fv["percent"]
    shown = f"{percent:g}" if percent is not None else "0"
    if state == "encrypting":
        ctx.out(ctx.t("fdesetup.encrypting", percent=shown))
    elif state == "decrypting":
        ctx.out(ctx.t("fdesetup.decrypting", percent=shown))
    if fv["institutional_key"] and state != "off":
        ctx.out(ctx.t("fdesetup.master_keychain"))
    if opts.get("-extended") and mac.apfs:
        ctx.out(ctx.t("fdesetup.extended_apfs"))
    return 0


def _isactive(ctx: Ctx) -> int:
    state = ctx.mac.fv["state"]
    if state in ("on", "encrypting"):
        ctx.out(ctx.t("fdesetup.true"))
        return 0
    if state == "decrypting":
        ctx.out(ctx.t("fdesetup.true"))
        return 2  # "FileVault appears to be On but Busy" (boxen PR #60 saw 2 while decrypting)
    ctx.out(ctx.t("fdesetup.false"))
    return 1


def _list(ctx: Ctx, opts: dict) -> int:
    users = ctx.mac.fv_users()
    if opts.get("-extended"):
        ctx.out(ctx.t("fdesetup.list_extended_header"))
        escrow = "Yes" if ctx.mac.mdm["escrow_payload"] else "No"
        for user in users:
            kind = "Mobile User" if user["kind"] == "mobile" else "OS User"
            ctx.out(f"{escrow:<8}{user['guid']:<38}{kind:<20}{user['name']}")
        return 0
    for user in users:
        ctx.out(f"{user['name']},{user['guid']}")
    if ctx.mac.version.below(10, 14) and ctx.mac.fv["personal_recovery_key"]:
        ctx.out(f"(null),{PRK_UUID}")  # rdar 35258997: on 10.13 the recovery key shows as a (null) user
    return 0


def _authenticate(ctx: Ctx, name: str | None, password: str | None, code: int = 11) -> dict:
    user = ctx.mac.find(name) if name else None
    if user is None or not ctx.mac.password_ok(user, password):
        raise ToolExit(code, err=ctx.t("fdesetup.auth_failed"))
    return user


def _key_plist(ctx: Ctx, user: str | None, key: str | None, change: bool = False) -> str:
    hw = ctx.mac.state["hardware"]
    doc = {"EnabledDate": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"),
           "HardwareUUID": hw["hardware_uuid"], "SerialNumber": hw["serial"]}
    if user:
        doc["EnabledUser"] = user
    if key:
        doc["RecoveryKey"] = key
    if change:
        doc["Change"] = True
    return plistlib.dumps(doc, sort_keys=True).decode("utf-8").rstrip("\n")


def _enable(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    if not mac.apfs:
        raise ToolExit(33, err=ctx.t("fdesetup.hfs_unsupported"))
    if fv["state"] in ("on", "encrypting"):
        raise ToolExit(24, err=ctx.t("fdesetup.already_on"))
    if fv["state"] == "decrypting":
        raise ToolExit(2, err=ctx.t("fdesetup.busy"))
    if mac.version.at_least(10, 15) and not mac.state["remote_login_full_disk_access"]:
        # Since 10.15 enable is refused unless the responsible process (sshd) has Full Disk Access.
        raise ToolExit(1, err=ctx.t("fdesetup.no_full_disk_access"))
    if "-defer" in opts:
        if fv["state"] == "deferred":
            raise ToolExit(32, err=ctx.t("fdesetup.deferred_already"))
        name = opts.get("-user")
        if name is not None:
            user = mac.find(name)
            if user is None or user["kind"] not in ("local", "mobile", "managed_admin"):
                raise ToolExit(30, err=ctx.t("fdesetup.unknown_user", name=name))
        force = opts.get("-forceatlogin")
        try:
            force_value = int(force) if force is not None else None
        except ValueError:
            raise ToolExit(12, err=ctx.t("fdesetup.usage"))
        fv.update(state="deferred", deferred_user=name, deferred_output_path=opts["-defer"],
                  force_at_login=force_value, dont_ask_at_logout=bool(opts.get("-dontaskatlogout")))
        ctx.notes.append("T12'")
        ctx.out(ctx.t("fdesetup.deferred_configured", name=name or ""))
        return 0
    name, password, additional = _credentials(ctx, opts)
    user = mac.find(name) if name else None
    if user is None:
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
    if password == "" or any(u["password"] == "" for u in mac.token_holders()):
        raise ToolExit(37, err=ctx.t("fdesetup.blank_password"))
    _authenticate(ctx, name, password)
    if not user["secure_token"]:
        rule = mac.first_token_on_filevault(user)
        if not rule:
            raise ToolExit(11, err=ctx.t("fdesetup.no_token_user", name=user["name"]))
        ctx.notes.append(f"T12/{rule}")
    added = []
    for entry in additional:
        other = mac.find(str(entry.get("Username", ""))) if isinstance(entry, dict) else None
        if other is None or not mac.password_ok(other, entry.get("Password")):
            raise ToolExit(17, err=ctx.t("fdesetup.add_failed"))
        added.append(other)
    key = mac.turn_filevault_on(recovery_key=not opts.get("-norecoverykey"))
    for other in added:
        if mac.option["fdesetup_add_grants_token"] and not other["secure_token"]:
            mac.give_token(other, owner=False)
        other["fv_enabled"] = other["in_preboot"] = True
    if opts.get("-certificate") or opts.get("-keychain"):
        fv["institutional_key"] = True
    ctx.notes.append("T12")
    if opts.get("-outputplist"):
        ctx.out(_key_plist(ctx, user["name"], key))
    elif key:
        ctx.out(ctx.t("fdesetup.recovery_key", key=key))
    return 0


def _disable(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    if fv["state"] == "off":
        raise ToolExit(1, err=ctx.t("fdesetup.is_off"))
    if fv["state"] == "decrypting":
        raise ToolExit(2, err=ctx.t("fdesetup.busy"))
    if fv["state"] == "deferred":
        fv.update(state="off", deferred_user=None, deferred_output_path=None, force_at_login=None,
                  dont_ask_at_logout=False)
        ctx.out(ctx.t("fdesetup.disabled"))
        return 0
    if opts.get("-inputplist") or opts.get("-user"):
        name, password, _ = _credentials(ctx, opts, prompt_user=False)
        ok = bool(name) and any(u["name"] == name and mac.password_ok(u, password) for u in mac.fv_users())
        ok = ok or (name is None and password is not None and password == fv["personal_recovery_key"])
    else:
        secret = ctx.prompt(ctx.t("fdesetup.prompt_disable"))
        ok = secret is not None and (secret == fv["personal_recovery_key"]
                                     or any(mac.password_ok(u, secret) for u in mac.fv_users()))
    if not ok:
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
    instant = mac.arch in ("intel_t2", "apple_silicon")
    fv["state"], fv["percent"] = ("off", None) if instant else ("decrypting", 0.0)
    ctx.out(ctx.t("fdesetup.disabled"))
    return 0


def _add(ctx: Ctx, opts: dict) -> int:
    mac = ctx.mac
    if mac.fv["state"] not in ("on", "encrypting"):
        raise ToolExit(28, err=ctx.t("fdesetup.is_off"))
    if opts.get("-inputplist"):
        name, password, additional = _credentials(ctx, opts)
    else:
        target = opts.get("-usertoadd")
        if not target:
            raise ToolExit(12, err=ctx.t("fdesetup.usage"))
        name = opts.get("-user") or ctx.prompt(ctx.t("fdesetup.prompt_user"), secret=False)
        password = ctx.prompt(ctx.t("fdesetup.prompt_password", name=name))
        added_password = ctx.prompt(ctx.t("fdesetup.prompt_added_password", name=target))
        additional = [{"Username": target, "Password": added_password}]
    authorizer = mac.find(name) if name else None
    if authorizer is None or not mac.password_ok(authorizer, password):
        ctx.out(ctx.t("fdesetup.od_not_authenticated", name=name or ""))
        raise ToolExit(17, err=ctx.t("fdesetup.add_failed"))
    if not (authorizer["secure_token"] and authorizer["fv_enabled"]):  # R29b
        raise ToolExit(17, err=ctx.t("fdesetup.not_authorized_to_add", name=authorizer["name"]))
    for entry in additional:
        uname = str(entry.get("Username", "")) if isinstance(entry, dict) else ""
        other = mac.find(uname)
        if other is None:
            raise ToolExit(30, err=ctx.t("fdesetup.unknown_user", name=uname))
        ctx.out(ctx.t("fdesetup.adding_user", name=uname))
        if not mac.password_ok(other, entry.get("Password")):
            ctx.err(ctx.t("fdesetup.add_failed_user"))
            raise ToolExit(17, err=ctx.t("fdesetup.add_failed"))
        if not other["secure_token"] and mac.option["fdesetup_add_grants_token"]:
            mac.give_token(other, owner=False)
        other["fv_enabled"] = bool(other["secure_token"])
        other["in_preboot"] = False
    return 0


def _remove(ctx: Ctx, opts: dict) -> int:
    name = opts.get("-user") or opts.get("-uuid")
    user = ctx.mac.find(name) if name else None
    if user is None:
        raise ToolExit(30, err=ctx.t("fdesetup.unknown_user", name=name or ""))
    fv_users = ctx.mac.fv_users()
    if user not in fv_users:
        raise ToolExit(25, err=ctx.t("fdesetup.remove_not_user", name=user["name"]))
    if fv_users == [user]:
        raise ToolExit(25, err=ctx.t("fdesetup.remove_last", name=user["name"]))
    user["fv_enabled"] = False  # T13: the token stays (R29b)
    user["in_preboot"] = False
    return 0


def _has_key(ctx: Ctx, personal: bool) -> int:
    fv = ctx.mac.fv
    on = fv["state"] in ("on", "encrypting", "decrypting")
    present = bool(fv["personal_recovery_key"]) if personal else fv["institutional_key"]
    ctx.out(ctx.t("fdesetup.true") if on and present else ctx.t("fdesetup.false"))
    return 0


def _validate(ctx: Ctx, opts: dict) -> int:
    if opts.get("-inputplist"):
        key = _input_plist(ctx).get("Password")
    else:
        key = ctx.prompt(ctx.t("fdesetup.prompt_validate"))
    if not isinstance(key, str) or not KEY_RE.match(key.strip()):
        raise ToolExit(15, err=ctx.t("fdesetup.not_valid_key"))
    fv = ctx.mac.fv
    if fv["state"] == "off" or not fv["personal_recovery_key"]:
        ctx.out(ctx.t("fdesetup.false"))
        return 1
    if key.strip() == fv["personal_recovery_key"]:
        ctx.out(ctx.t("fdesetup.true"))
        return 0
    ctx.out(ctx.t("fdesetup.false"))
    return 1


def _changerecovery(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    if not opts.get("-personal"):
        raise ToolExit(12, err=ctx.t("fdesetup.usage"))
    if fv["state"] not in ("on", "encrypting"):
        raise ToolExit(28, err=ctx.t("fdesetup.is_off"))
    if opts.get("-inputplist"):
        value = _input_plist(ctx)
        name, secret = value.get("Username"), value.get("Password")
    else:
        name = opts.get("-user") or ctx.prompt(ctx.t("fdesetup.prompt_user"), secret=False)
        secret = ctx.prompt(ctx.t("fdesetup.prompt_recovery"))
    ok = secret is not None and fv["personal_recovery_key"] is not None and secret == fv["personal_recovery_key"]
    if not ok and name:
        ok = any(u["name"] == name and mac.password_ok(u, secret) and mac.can_unlock(u) for u in mac.fv_users())
    if not ok:
        raise ToolExit(11, err=ctx.t("fdesetup.unable_unlock"))
    key = mac.change_recovery_key()
    ctx.notes.append("T14")
    if opts.get("-outputplist"):
        ctx.out(_key_plist(ctx, name, key, change=True))
    else:
        ctx.out(ctx.t("fdesetup.new_personal_key", key=key))
    return 0


def _showdeferralinfo(ctx: Ctx) -> int:
    fv = ctx.mac.fv
    if fv["state"] != "deferred":
        ctx.out(ctx.t("fdesetup.deferral_not_found"))
        return 0
    lines = ["{", "    Defer = 1;"]
    if fv["force_at_login"] is not None:
        lines.append(f"    ForceAtLogin = {fv['force_at_login']};")
    if fv["dont_ask_at_logout"]:
        lines.append("    DontAskAtLogout = 1;")
    lines.append(f'    OutputPath = "{fv["deferred_output_path"] or "/var/db/fdesetup.plist"}";')
    lines.append("    ShowRecoveryKey = 1;")
    if fv["deferred_user"]:
        lines.append(f'    Usernames =     (\n        "{fv["deferred_user"]}"\n    );')
    else:
        lines.append("    Usernames =     (\n    );")
    lines.append("}")
    ctx.out("\n".join(lines))
    return 0


def main(ctx: Ctx) -> int:
    verb, opts = _parse(ctx)
    if verb in ROOT_VERBS:
        ctx.require_root("fdesetup.not_root", 1)
    if verb == "status":
        return _status(ctx, opts)
    if verb == "isactive":
        return _isactive(ctx)
    if verb == "list":
        return _list(ctx, opts)
    if verb == "enable":
        return _enable(ctx, opts)
    if verb == "disable":
        return _disable(ctx, opts)
    if verb == "add":
        return _add(ctx, opts)
    if verb == "remove":
        return _remove(ctx, opts)
    if verb in ("haspersonalrecoverykey", "hasinstitutionalrecoverykey"):
        return _has_key(ctx, verb == "haspersonalrecoverykey")
    if verb == "validaterecovery":
        return _validate(ctx, opts)
    if verb == "changerecovery":
        return _changerecovery(ctx, opts)
    return _showdeferralinfo(ctx)
