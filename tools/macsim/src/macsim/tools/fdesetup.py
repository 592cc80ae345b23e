"""/usr/bin/fdesetup: FileVault status, users, enablement, recovery keys, deferral and authenticated restart.

Exit codes follow fdesetup(8) EXIT STATUS: 1 off, 2 busy, 11 authentication error, 12 parameter error,
13 unknown command, 15 bad input, 17 added users failed, 24 already enabled, 25 unable to remove user or
disable, 28 off/busy/locked, 30 user record not found, 32 already active (deferral), 33 unsupported on this
file system, 37 blank password. Shapes from the evidence corpus (``evidence/fdesetup-read.yml``,
``evidence/fdesetup-write.yml``): ``-verbose`` lines on stderr before anything else, prompts on the terminal,
keys and lists on stdout, errors on stderr; where sources disagree the state's options choose.
"""

from __future__ import annotations

import datetime
import plistlib
import re

from ..mac import PRK_UUID, Mac
from ..runtime import Ctx, ToolExit

KEY_RE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){5}$")
FLAGS = {"-extended", "-outputplist", "-inputplist", "-norecoverykey", "-dontaskatlogout", "-showrecoverykey",
         "-verbose", "-authrestart", "-forcerestart", "-keychain", "-personal", "-institutional"}
VALUES = {"-user", "-usertoadd", "-defer", "-forceatlogin", "-certificate", "-uuid", "-key", "-device",
          "-delayminutes"}
VERBS = {"status", "isactive", "list", "enable", "disable", "add", "remove", "haspersonalrecoverykey",
         "hasinstitutionalrecoverykey", "validaterecovery", "changerecovery", "showdeferralinfo", "authrestart",
         "supportsauthrestart", "usingrecoverykey"}
ROOT_VERBS = {"list", "enable", "disable", "add", "remove", "validaterecovery", "changerecovery", "showdeferralinfo",
              "authrestart"}
ON = ("on", "encrypting", "decrypting")


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


def _verbose(ctx: Ctx, opts: dict) -> None:
    """-verbose: what fdesetup reports about its inputs, on stderr, before any prompt."""
    if not opts.get("-verbose"):
        return
    if opts.get("-inputplist"):
        ctx.err(ctx.t("fdesetup.verbose_inputplist"))
    if opts.get("-norecoverykey"):
        ctx.err(ctx.t("fdesetup.verbose_norecoverykey"))
    if opts.get("-personal"):
        ctx.err(ctx.t("fdesetup.verbose_personal"))
    ctx.err(ctx.t("fdesetup.verbose_device", device=opts.get("-device", "/")))


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


# ---- reading -------------------------------------------------------------------------------------
def _status(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    state = fv["state"]
    shown_on = state in ("on", "encrypting") or (state == "decrypting"
                                                 and mac.option["decrypting_first_line"] == "on")
    if fv["restart_pending"]:
        if shown_on:
            ctx.out(ctx.t("fdesetup.on_needs_restart"))
        else:
            ctx.out(ctx.t("fdesetup.off_needs_restart" if fv["restart_kind"] == "finish"
                          else "fdesetup.off_enable_after_restart"))
    else:
        ctx.out(ctx.t("fdesetup.on" if shown_on else "fdesetup.off"))
    if state == "deferred":
        ctx.out(ctx.t("fdesetup.deferred", name=fv["deferred_user"]) if fv["deferred_user"]
                else ctx.t("fdesetup.deferred_nobody"))
    percent = fv["percent"]
    shown = f"{round(percent, 1):g}" if percent is not None else "0"
    if state == "encrypting":
        paused = mac.state["hardware"]["on_battery"] and not mac.instant_encryption
        ctx.out(ctx.t("fdesetup.encrypting_pending") if paused or percent is None
                else ctx.t("fdesetup.encrypting", percent=shown))
    elif state == "decrypting":
        ctx.out(ctx.t("fdesetup.decrypting", percent=shown))
    if fv["master_keychain"] and state != "off":
        ctx.out(ctx.t("fdesetup.master_keychain"))
    if opts.get("-extended") and mac.apfs:
        ctx.out(ctx.t("fdesetup.extended_apfs"))
    if mac.option["fdesetup_status_exit"] == "man_page":
        return 2 if state in ("encrypting", "decrypting") else (0 if state == "on" else 1)
    return 0


def _isactive(ctx: Ctx) -> int:
    state = ctx.mac.fv["state"]
    if state == "on":
        ctx.out(ctx.t("fdesetup.true"))
        return 0
    if state in ("encrypting", "decrypting"):
        ctx.out(ctx.t("fdesetup.true"))
        return ctx.mac.option["isactive_busy_exit"]  # "FileVault appears to be On but Busy"
    ctx.out(ctx.t("fdesetup.false"))
    return 1


def _list(ctx: Ctx, opts: dict) -> int:
    mac: Mac = ctx.mac
    fv_users = {u["guid"]: u for u in mac.fv_users()}
    rows = []  # (uuid, type, user name) in the volume's crypto-user order
    for ident in mac.crypto_ids():
        if ident in fv_users:
            rows.append((ident, "OS User", fv_users[ident]["name"]))
        elif any(o["guid"] == ident for o in mac.state["orphan_crypto_users"]):
            rows.append((ident, "Unknown User", ""))
        elif ident == "prk":
            rows.append((PRK_UUID, "Personal Recovery Record", None))
        elif ident == "bootstrap":
            rows.append((mac.bootstrap_uuid(), "Bootstrap Token", None))
    if opts.get("-extended"):
        ctx.out(ctx.t("fdesetup.list_extended_header"))
        escrow = "Yes" if mac.mdm["escrow_payload"] else ""
        for uuid, kind, name in rows:
            line = f"{escrow:<8}{uuid}{kind:>41}"  # the type ends under the end of the TYPE header
            ctx.out(line + (f" {name}" if name else ""))
        return 0
    for uuid, kind, name in rows:
        if kind == "OS User":
            ctx.out(f"{name},{uuid}")
        elif kind == "Personal Recovery Record" and mac.version.below(10, 14):
            ctx.out(f"(null),{uuid}")  # rdar 35258997: on 10.13 the recovery key shows as a (null) user
    return 0


def _has_key(ctx: Ctx, personal: bool) -> int:
    fv = ctx.mac.fv
    on = fv["state"] in ON
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
    if fv["state"] in ("off", "deferred") or not fv["personal_recovery_key"]:
        ctx.out(ctx.t("fdesetup.false"))
        return 1
    if key.strip() == fv["personal_recovery_key"]:
        ctx.out(ctx.t("fdesetup.true"))
        return 0
    ctx.out(ctx.t("fdesetup.false"))
    return 1


def _showdeferralinfo(ctx: Ctx) -> int:
    from ..fmt import old_style

    fv = ctx.mac.fv
    if fv["state"] != "deferred":
        ctx.out(ctx.t("fdesetup.deferral_not_found"))
        return 0
    info: dict = {"Defer": 1, "OutputPath": fv["deferred_output_path"] or "/var/db/fdesetup.plist",
                  "ShowRecoveryKey": 1, "Usernames": [fv["deferred_user"]] if fv["deferred_user"] else []}
    if fv["force_at_login"] is not None:
        info["ForceAtLogin"] = fv["force_at_login"]
    if fv["dont_ask_at_logout"]:
        info["DontAskAtLogout"] = 1
    if fv["deferral_profile_uuid"]:
        info["ProfileUUID"] = fv["deferral_profile_uuid"]
    ctx.out(old_style(info))
    return 0


# ---- enabling and keys ------------------------------------------------------------------------------
def _key_plist(ctx: Ctx, user: str | None, key: str | None, change: bool = False) -> str:
    hw = ctx.mac.state["hardware"]
    when = datetime.datetime.fromtimestamp(ctx.mac.now()).astimezone()
    doc = {"EnabledDate": when.strftime("%Y-%m-%d %H:%M:%S %z"), "HardwareUUID": hw["hardware_uuid"],
           "SerialNumber": hw["serial"]}
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
    _verbose(ctx, opts)
    if fv["state"] in ("on", "encrypting"):
        raise ToolExit(24, err=ctx.t("fdesetup.already_on"))
    if fv["state"] == "decrypting":
        raise ToolExit(2, err=ctx.t("fdesetup.busy"))
    if mac.version.at_least(10, 15) and not mac.state["remote_login_full_disk_access"]:
        # Since 10.15 enable is refused unless the responsible process (sshd) has Full Disk Access.
        raise ToolExit(1, err=ctx.t("fdesetup.no_full_disk_access"))
    if "-defer" in opts:
        return _defer(ctx, opts)
    name, password, additional = _credentials(ctx, opts)
    user = mac.find(name) if name else None
    if user is None:
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
    if password == "" or any(u["password"] == "" for u in mac.token_holders()):
        raise ToolExit(37, err=ctx.t("fdesetup.blank_password"))
    if not mac.password_ok(user, password):
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
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
            mac.give_token(other, owner=mac.option["grant_confers_volume_ownership"] and user["volume_owner"])
        if mac.fv_eligible(other):  # R3
            other["fv_enabled"] = other["in_preboot"] = True
    if opts.get("-certificate") or opts.get("-keychain"):
        fv["institutional_key"] = fv["master_keychain"] = True
    ctx.notes.append("T12")
    if opts.get("-outputplist"):
        ctx.out(_key_plist(ctx, user["name"], key))
    elif key and not (mac.version.at_least(26) and mac.option["enable_key_line"] == "hidden_on_26"):
        ctx.out(ctx.t("fdesetup.recovery_key", key=key))
    return 0


def _defer(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
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


def _fv_secret_ok(mac: Mac, name: str | None, secret: str | None) -> bool:
    """A FileVault user's password (when the user is named) or the personal recovery key."""
    fv = mac.fv
    if secret is not None and fv["personal_recovery_key"] and secret == fv["personal_recovery_key"]:
        return True
    if name:
        return any(u["name"] == name and mac.password_ok(u, secret) and mac.can_unlock(u) for u in mac.fv_users())
    return any(mac.password_ok(u, secret) and mac.can_unlock(u) for u in mac.fv_users())


def _disable(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    _verbose(ctx, opts)
    if fv["state"] == "off":
        raise ToolExit(1, err=ctx.t("fdesetup.is_off"))
    if fv["state"] == "decrypting":
        raise ToolExit(2, err=ctx.t("fdesetup.busy"))
    if fv["state"] == "deferred":  # "To remove an active deferred enablement configuration, use disable"
        fv.update(state="off", deferred_user=None, deferred_output_path=None, force_at_login=None,
                  dont_ask_at_logout=False)
        ctx.out(ctx.t("fdesetup.disabled"))
        return 0
    prompt = mac.option["disable_prompt"]
    if opts.get("-inputplist") or opts.get("-user") or prompt == "user":
        name, secret, _ = _credentials(ctx, opts, prompt_user=True)
    else:
        name = None
        secret = ctx.prompt(ctx.t("fdesetup.prompt_disable" if prompt == "volume" else "fdesetup.prompt_recovery"))
    user = mac.find(name) if name else None
    if user is not None and mac.password_ok(user, secret) and user not in mac.fv_users():
        raise ToolExit(25, out=ctx.t("fdesetup.not_disabled", code=-69594))  # not a crypto user of the volume
    if not _fv_secret_ok(mac, name, secret):
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
    fv["state"], fv["percent"] = ("off", None) if mac.instant_encryption else ("decrypting", 0.0)
    fv["progress_at"] = None
    ctx.out(ctx.t("fdesetup.disabled"))
    return 0


def _add(ctx: Ctx, opts: dict) -> int:
    mac = ctx.mac
    _verbose(ctx, opts)
    if mac.fv["state"] not in ("on", "encrypting"):
        raise ToolExit(28, err=ctx.t("fdesetup.is_off"))
    if opts.get("-inputplist"):
        name, password, additional = _credentials(ctx, opts)
    else:
        target = opts.get("-usertoadd")
        if not target:
            raise ToolExit(12, err=ctx.t("fdesetup.usage"))
        name = opts.get("-user")
        if name:
            password = ctx.prompt(ctx.t("fdesetup.prompt_password", name=name))
        else:  # any FileVault user's password, or the recovery key
            password = ctx.prompt(ctx.t("fdesetup.prompt_recovery"))
        added_password = ctx.prompt(ctx.t("fdesetup.prompt_added_password", name=target))
        additional = [{"Username": target, "Password": added_password}]
    authorizer = mac.find(name) if name else None
    authorized = _fv_secret_ok(mac, name, password)
    if name and not authorized:
        ctx.out(ctx.t("fdesetup.od_not_authenticated", name=name))
    elif authorizer is not None and authorizer not in mac.fv_users():  # R29b
        raise ToolExit(17, err=ctx.t("fdesetup.not_authorized_to_add", name=authorizer["name"]))
    owner = bool(authorizer and authorizer["volume_owner"]) or not authorizer
    failed = False
    for entry in additional:
        uname = str(entry.get("Username", "")) if isinstance(entry, dict) else ""
        other = mac.find(uname)
        if other is None:
            raise ToolExit(30, err=ctx.t("fdesetup.unknown_user", name=uname))
        if opts.get("-verbose") or not authorized:
            ctx.out(ctx.t("fdesetup.adding_user", name=uname))
        if not authorized or not mac.password_ok(other, entry.get("Password")):
            ctx.err(ctx.t("fdesetup.add_failed_user"))
            failed = True
            continue
        if not other["secure_token"] and mac.option["fdesetup_add_grants_token"]:
            mac.give_token(other, owner=mac.option["grant_confers_volume_ownership"] and owner)
        if not mac.fv_eligible(other):  # R3: no token, or (Apple silicon) no volume ownership
            ctx.err(ctx.t("fdesetup.add_failed_user"))
            failed = True
            continue
        other["fv_enabled"] = True
        other["in_preboot"] = False
    if failed:
        raise ToolExit(17, err=ctx.t("fdesetup.add_failed"))
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


def _changerecovery(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    if not opts.get("-personal"):
        raise ToolExit(12, err=ctx.t("fdesetup.usage"))
    _verbose(ctx, opts)
    if fv["state"] not in ("on", "encrypting"):
        raise ToolExit(28, err=ctx.t("fdesetup.is_off"))
    if opts.get("-inputplist"):
        value = _input_plist(ctx)
        name, secret = value.get("Username"), value.get("Password")
    else:
        name = opts.get("-user") or ctx.prompt(ctx.t("fdesetup.prompt_user"), secret=False)
        secret = ctx.prompt(ctx.t("fdesetup.prompt_password", name=name)
                            if mac.option["changerecovery_password_prompt"] == "user"
                            else ctx.t("fdesetup.prompt_recovery"))
    if not _fv_secret_ok(mac, name, secret):
        if mac.option["changerecovery_auth_error"] == "escrow_buddy":
            ctx.err(ctx.t("fdesetup.user_not_authenticated"))
            raise ToolExit(11, err=ctx.t("fdesetup.unable_unlock_authenticate"))
        ctx.err(ctx.t("fdesetup.unable_change_key"))
        raise ToolExit(11, err=ctx.t("fdesetup.user_not_authenticated"))
    key = mac.change_recovery_key()
    ctx.notes.append("T14")
    if opts.get("-outputplist"):
        ctx.out(_key_plist(ctx, name, None if opts.get("-norecoverykey") else key, change=True))
    elif not opts.get("-norecoverykey"):
        ctx.out(ctx.t("fdesetup.new_personal_key", key=key))
    return 0


def _authrestart(ctx: Ctx, opts: dict) -> int:
    mac, fv = ctx.mac, ctx.mac.fv
    if fv["state"] not in ("on", "encrypting") or not mac.state["hardware"]["supports_authrestart"]:
        raise ToolExit(28, err=ctx.t("fdesetup.is_off"))
    if opts.get("-inputplist"):
        value = _input_plist(ctx)
        name, secret = value.get("Username"), value.get("Password")
    else:
        name, secret = None, ctx.prompt(ctx.t("fdesetup.prompt_recovery"))
    if not _fv_secret_ok(mac, name, secret):
        raise ToolExit(11, err=ctx.t("fdesetup.auth_failed"))
    delay = opts.get("-delayminutes", "0")
    try:
        minutes = int(delay)
    except ValueError:
        raise ToolExit(12, err=ctx.t("fdesetup.usage"))
    if minutes < -1:
        raise ToolExit(12, err=ctx.t("fdesetup.usage"))
    fv["authrestart_armed"] = True
    ctx.notes.append("authrestart: the next boot is unlocked once")
    # fdesetup(8): -delayminutes 0 or none restarts at once, -1 never by itself (the unlock waits for the user's
    # next restart), N after N minutes. What is printed for -1 and N is unpublished: macsim prints nothing then.
    if minutes == 0:
        ctx.err(ctx.t("fdesetup.restarting"))
        ctx.request_restart(None, "fdesetup authrestart")
    elif minutes > 0:
        ctx.request_restart(mac.now() + 60 * minutes, f"fdesetup authrestart -delayminutes {minutes}")
    return 0


def _bool(ctx: Ctx, value: bool) -> int:
    ctx.out(ctx.t("fdesetup.true") if value else ctx.t("fdesetup.false"))
    return 0


def main(ctx: Ctx) -> int:
    verb, opts = _parse(ctx)
    if verb in ROOT_VERBS:
        ctx.require_root("fdesetup.not_root", 1)
    handlers = {
        "status": lambda: _status(ctx, opts),
        "isactive": lambda: _isactive(ctx),
        "list": lambda: _list(ctx, opts),
        "enable": lambda: _enable(ctx, opts),
        "disable": lambda: _disable(ctx, opts),
        "add": lambda: _add(ctx, opts),
        "remove": lambda: _remove(ctx, opts),
        "haspersonalrecoverykey": lambda: _has_key(ctx, True),
        "hasinstitutionalrecoverykey": lambda: _has_key(ctx, False),
        "validaterecovery": lambda: _validate(ctx, opts),
        "changerecovery": lambda: _changerecovery(ctx, opts),
        "showdeferralinfo": lambda: _showdeferralinfo(ctx),
        "authrestart": lambda: _authrestart(ctx, opts),
        "supportsauthrestart": lambda: _bool(ctx, ctx.mac.state["hardware"]["supports_authrestart"]),
        "usingrecoverykey": lambda: _bool(ctx, ctx.mac.fv["unlocked_with_recovery_key"]),
    }
    return handlers[verb]()
