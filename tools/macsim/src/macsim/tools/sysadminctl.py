"""/usr/sbin/sysadminctl: secure token status, grants, users. NSLog to stderr; exits 0 even on failure (R29).

Shapes from the evidence corpus (``evidence/sysadminctl.yml``): one NSLog prefix per message (the usage text
is one message); errors are logged as ``### Error:<code> File:<build root>/.../<file>.m Line:<n>`` and the run
goes on; ``-addUser`` without token-holder authentication prints the FDE warning block, then the record, UID
and home lines; ``-deleteUser`` logs each step and, without Full Disk Access, fails at the record.
"""

from __future__ import annotations

from ..mac import Mac
from ..runtime import Ctx

VALUE_OPTS = {"-secureTokenStatus", "-secureTokenOn", "-secureTokenOff", "-addUser", "-deleteUser",
              "-resetPasswordFor", "-password", "-adminUser", "-adminPassword", "-newPassword", "-fullName",
              "-UID", "-GID", "-shell", "-home", "-hint", "-picture", "-oldPassword", "-passwordHint",
              "-guestAccount", "-filesystem", "-userName"}
FLAG_OPTS = {"-admin", "-roleAccount", "-secure", "-keepHome", "interactive"}
ACTIONS = ("-secureTokenStatus", "-secureTokenOn", "-secureTokenOff", "-addUser", "-deleteUser", "-resetPasswordFor",
           "-guestAccount", "-filesystem", "-autologin")
BUILD_UUID = "d187755d-b9a3-11ef-83e5-aabfac210453"
# Where each error is logged from (file, line), as published.
ERRORS = {"-14090": ("DSAuthenticator", 94), "-14135": ("DSRecord", 496), "-14135/uid": ("DSRecord", 418),
          "-14135/again": ("DSRecord", 326), "-14120": ("DSRecord", 563)}


def _error(ctx: Ctx, key: str) -> None:
    """An error line: the build root moved from /BuildRoot/.../Admin-NNN/ to /AppleInternal/.../BuildRoots/<id>/."""
    code = key.split("/")[0]
    file, line = ERRORS[key]
    v = ctx.mac.version
    if v.below(12):
        root, admin_dir = "/BuildRoot", f"Admin-{674 if v.below(10, 13, 4) else 679}/"
    else:
        root, admin_dir = f"/AppleInternal/Library/BuildRoots/{BUILD_UUID}", ""
    ctx.nslog(ctx.t("sysadminctl.error_line", code=code, build_root=root, admin_dir=admin_dir, file=file, line=line))


def _usage(ctx: Ctx) -> int:
    v = ctx.mac.version
    key = ("sysadminctl.usage_1013" if v.below(10, 15) else "sysadminctl.usage_1015" if v.below(11)
           else "sysadminctl.usage_11" if v.below(13) else "sysadminctl.usage_13")
    ctx.nslog(ctx.t(key))
    return 0


def _parse(argv: list) -> dict | None:
    opts: dict = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "-autologin":
            if i + 1 >= len(argv):
                return None
            opts[word] = argv[i + 1]
            i += 2
        elif word in VALUE_OPTS:
            if i + 1 >= len(argv):
                return None
            if argv[i + 1] in VALUE_OPTS or argv[i + 1] in FLAG_OPTS:
                i += 1  # a value option followed by another option has no value and is ignored (evidence:
                continue  # sysadminctl-adduser-14135-uid-taken-maxieds, '-adminUser -fullName ...')
            opts[word] = argv[i + 1]
            i += 2
        elif word in FLAG_OPTS:
            opts[word] = True
            i += 1
        else:
            return None
    actions = [a for a in ACTIONS if a in opts]
    if len(actions) != 1:
        return None
    opts["action"] = actions[0]
    return opts


class _Secrets:
    """'-' passwords: read from stdin (the administrator's line first, then the user's: mkuser), or asked at the
    terminal, where each prompt is printed without an NSLog prefix."""

    PROMPTS = {"-password": "sysadminctl.user_password_prompt", "-newPassword": "sysadminctl.new_password_prompt",
               "-adminPassword": "sysadminctl.admin_password_prompt"}

    def __init__(self, ctx: Ctx, opts: dict, user_key: str) -> None:
        self.values: dict = {}
        self.ctx, self.opts = ctx, opts
        order = ["-adminPassword", user_key] if user_key != "-newPassword" else [user_key, "-adminPassword"]
        self.wanted = [k for k in order if opts.get(k) == "-"]
        for key in ("-adminPassword", user_key):
            if key in opts and opts[key] != "-":
                self.values[key] = opts[key]

    def get(self, key: str) -> str | None:
        if key in self.values or key not in self.wanted:
            return self.values.get(key)
        # asked in order: everything before this key first
        for wanted in self.wanted[:self.wanted.index(key) + 1]:
            if wanted not in self.values:
                self.values[wanted] = self._read(wanted)
        return self.values.get(key)

    def _read(self, key: str) -> str | None:
        ctx = self.ctx
        if ctx.tty is not None:
            return ctx.prompt(ctx.t(self.PROMPTS[key], name=self.opts.get("-adminUser", "")))
        return ctx.read_stdin_line()


def _hardened(ctx: Ctx) -> bool:
    if ctx.mac.state["authorizationdb_hardened"] and ctx.euid == 0:
        ctx.nslog(ctx.t("sysadminctl.interaction_not_allowed"))
        return True
    return False


def _check_admin(ctx: Ctx, opts: dict, secrets: _Secrets) -> dict | None:
    """Authenticate -adminUser/-adminPassword. Prints the failure and returns None when it fails."""
    admin_name = opts.get("-adminUser")
    admin = ctx.mac.find(admin_name) if admin_name else None
    if admin is None or not ctx.mac.password_ok(admin, secrets.get("-adminPassword")):
        _error(ctx, "-14090")
        return None
    if not admin["admin"] and not (admin["secure_token"] and ctx.mac.option["standard_holder_grantor"] == "allow"):
        ctx.nslog(ctx.t("sysadminctl.not_admin", admin=admin["name"]))
        return None
    return admin


def _status(ctx: Ctx, opts: dict) -> int:
    name = opts["-secureTokenStatus"]
    user = ctx.mac.find(name)
    if user is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    if "-adminPassword" in opts and opts.get("-adminUser"):
        admin = ctx.mac.find(opts["-adminUser"])
        if admin is None or not ctx.mac.password_ok(admin, opts["-adminPassword"]):
            _error(ctx, "-14090")  # rdar 36163828: the error is logged, then the status is printed anyway
    state = "ENABLED" if (user["secure_token"] and ctx.mac.apfs) else "DISABLED"
    ctx.nslog(ctx.t("sysadminctl.status", state=state, name=user["full_name"] or user["name"]))
    return 0


def _token_on_off(ctx: Ctx, opts: dict, on: bool) -> int:
    action = "-secureTokenOn" if on else "-secureTokenOff"
    name = opts[action]
    if "-password" not in opts or not (opts.get("-adminUser") or opts.get("interactive")):
        return _usage(ctx)
    secrets = _Secrets(ctx, opts, "-password")
    if _hardened(ctx):
        return 0
    if not ctx.mac.apfs:
        ctx.nslog(ctx.t("sysadminctl.hfs_no_token"))
        return 0
    target = ctx.mac.find(name, include_network=True)
    if target is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    if opts.get("interactive") and not opts.get("-adminUser"):
        # interactive asks for an administrator in a GUI dialog: over SSH nobody can answer it.
        ctx.nslog(ctx.t("sysadminctl.interaction_not_allowed"))
        return 0
    admin = _check_admin(ctx, opts, secrets)
    if admin is None:
        return 0
    if target["kind"] == "network":
        ctx.nslog(ctx.t("sysadminctl.not_eligible", name=target["name"]))
        return 0
    if not ctx.mac.password_ok(target, secrets.get("-password")):
        ctx.nslog(ctx.t("sysadminctl.wrong_user_password", name=target["name"]))
        return 0
    if on:
        return _grant(ctx, target, admin)
    if admin is target and ctx.mac.option["token_off_self"] == "refuse":
        ctx.nslog(ctx.t("sysadminctl.own_sep_credential"))  # the only way to remove the last holder's token
        return 0
    if not ctx.mac.can_unlock(admin):
        ctx.nslog(ctx.t("sysadminctl.no_token_unlock"))
        return 0
    if target["secure_token"]:
        ctx.mac.remove_token(target)
        ctx.notes.append("T9")
    ctx.nslog(ctx.t("sysadminctl.token_off_done", name=target["name"]))
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def _grant(ctx: Ctx, target: dict, admin: dict) -> int:
    mac: Mac = ctx.mac
    if target["secure_token"]:
        ctx.nslog(ctx.t("sysadminctl.done"))
        return 0
    if admin is target and mac.any_token():
        # A token-less administrator "granting" itself while others hold tokens: Done! and nothing changes
        # (sysadminctl-tokenon-selfgrant-done-but-disabled).
        ctx.nslog(ctx.t("sysadminctl.done"))
        ctx.notes.append("T8: self-grant without a token changes nothing")
        return 0
    result = mac.grant_by(target, admin)
    if result == "no-unlock":
        ctx.nslog(ctx.t("sysadminctl.no_token_unlock"))
        return 0
    ctx.notes.append("T8" if result == "granted" else "T8/R11a: first tokens to administrator and user")
    ctx.nslog(ctx.t("sysadminctl.token_on_done", name=target["name"]))
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def _no_clear_text_block(ctx: Ctx) -> None:
    """The warning framed by separators: printed when no token holder authorised the account (FDE)."""
    ctx.nslog(ctx.t("sysadminctl.separator"))
    ctx.nslog(ctx.t("sysadminctl.no_clear_text"))
    ctx.nslog(ctx.t("sysadminctl.separator"))


def _add_user(ctx: Ctx, opts: dict) -> int:
    mac: Mac = ctx.mac
    name = opts["-addUser"]
    secrets = _Secrets(ctx, opts, "-password")
    if _hardened(ctx):
        return 0
    admin = None
    if opts.get("-adminUser") and "-adminPassword" in opts:
        admin = _check_admin(ctx, opts, secrets)
        if admin is None:
            _no_clear_text_block(ctx)
            ctx.nslog(ctx.t("sysadminctl.new_password_error"))
            return 0
    if admin is None or not mac.can_unlock(admin):
        _no_clear_text_block(ctx)
    ctx.nslog(ctx.t("sysadminctl.creating_user"))
    password = secrets.get("-password") if "-password" in opts else None
    if password is not None and not mac.password_meets_policy(password):
        ctx.nslog(ctx.t("sysadminctl.new_password_error"))  # the password policy refused it: no account
        return 0
    existing = mac.find(name, include_network=True)
    if existing is not None:
        _error(ctx, "-14135")
    try:
        uid = int(opts["-UID"]) if "-UID" in opts else mac.next_uid()
    except ValueError:
        return _usage(ctx)
    gid = int(opts.get("-GID", 20)) if str(opts.get("-GID", 20)).isdigit() else 20
    taken = any(u["uid"] == uid and u is not existing for u in mac.users)
    ctx.nslog(ctx.t("sysadminctl.assigning_uid_gid", uid=uid, gid=gid) if mac.version.at_least(14)
              else ctx.t("sysadminctl.assigning_uid", uid=uid))
    if taken and existing is None:
        _error(ctx, "-14135/uid")
    elif existing is not None and password is None:
        _error(ctx, "-14135/again")
    user = existing
    if existing is None and not taken:
        user = mac.new_user(name, uid=uid, full_name=opts.get("-fullName", name), admin=bool(opts.get("-admin")),
                            password=password, password_mode="plaintext" if password is not None else "none",
                            shell=opts.get("-shell", "/bin/zsh"), home=opts.get("-home", f"/Users/{name}"))
        user["home_exists"] = False
        if password is not None:
            if admin is not None:
                result = mac.grant_by(user, admin)  # T2' / T2''
                if result != "no-unlock":
                    ctx.notes.append("T2'" if result == "granted" else "T2''/R11a")
                elif mac.first_token_on_password_set(user):
                    ctx.notes.append("T2/R14")
            elif mac.first_token_on_password_set(user):
                ctx.notes.append("T2/R14")
    if user is not None and existing is None and mac.version.at_least(10, 15) \
            and not mac.state["remote_login_full_disk_access"]:
        _error(ctx, "-14120")  # logged without Full Disk Access; the account is created all the same
    home = opts.get("-home") or f"/Users/{name}"
    if "-home" in opts:
        ctx.nslog(ctx.t("sysadminctl.home_assigned", home=home))
        return 0
    ctx.nslog(ctx.t("sysadminctl.creating_home", home=home))
    if mac.home_exists(home):
        ctx.nslog(ctx.t("sysadminctl.home_exists", home=home))
    elif user is not None:
        user["home_exists"] = True
    return 0


def _delete_user(ctx: Ctx, opts: dict) -> int:
    mac: Mac = ctx.mac
    name = opts["-deleteUser"]
    if _hardened(ctx):
        return 0
    user = mac.find(name)
    if user is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    holders = mac.token_holders()
    admins = [u for u in mac.local_users() if u["admin"]]
    last = holders == [user] or admins == [user]
    if last and mac.option["delete_last_token_holder"] == "refuse":
        ctx.nslog(ctx.t("sysadminctl.owner_not_deletable", name=name))
        return 0
    ctx.nslog(ctx.t("sysadminctl.killing", uid=user["uid"]))
    if not opts.get("-keepHome"):
        key = "sysadminctl.removing_home_secure" if opts.get("-secure") else "sysadminctl.removing_home"
        ctx.nslog(ctx.t(key, name=name, home=user["home"]))
        user["home_exists"] = False
    ctx.nslog(ctx.t("sysadminctl.deleting_share", name=name))
    ctx.nslog(ctx.t("sysadminctl.deleting_record", name=name))
    ctx.nslog(ctx.t("sysadminctl.btmm", uid=user["uid"]))
    if mac.version.at_least(10, 15) and not mac.state["remote_login_full_disk_access"]:
        _error(ctx, "-14120")  # the record stays: deleting it needs Full Disk Access
        return 0
    mac.users.remove(user)
    if user["home_exists"]:
        mac.state["orphan_homes"].append(user["home"])
    if mac.fv["deferred_user"] == name:
        mac.fv["deferred_user"] = None
    ctx.notes.append("T11")
    return 0


def _reset_password(ctx: Ctx, opts: dict) -> int:
    name = opts["-resetPasswordFor"]
    if "-newPassword" not in opts:
        return _usage(ctx)
    secrets = _Secrets(ctx, opts, "-newPassword")
    if _hardened(ctx):
        return 0
    user = ctx.mac.find(name)
    if user is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    new = secrets.get("-newPassword") or ""
    admin = None
    if opts.get("-adminUser"):
        admin = _check_admin(ctx, opts, secrets)
        if admin is None:
            return 0
    if user["secure_token"]:
        if admin is not None and ctx.mac.can_unlock(admin):
            user["password"], user["password_mode"] = new, "plaintext"
        elif ctx.mac.option["reset_token_holder_password"] == "refuse":
            ctx.nslog(ctx.t("sysadminctl.no_token_unlock"))
            return 0
        else:
            ctx.mac.out_of_band_reset(user, new)
            ctx.notes.append("T10/R29d: token holder password reset out of band")
    else:
        rule = ctx.mac.set_password(user, new, tool="sysadminctl")
        if rule:
            ctx.notes.append(f"T10/{rule}")
    ctx.nslog(ctx.t("sysadminctl.reset_done", name=name))
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def _filesystem(ctx: Ctx, opts: dict) -> int:
    if opts["-filesystem"] != "status":
        return _usage(ctx)
    fv_on = ctx.mac.fv["state"] in ("on", "encrypting", "decrypting")
    ctx.nslog(ctx.t("sysadminctl.fs_status_cs", value="NO"))
    ctx.nslog(ctx.t("sysadminctl.fs_status_apfs", value="YES" if fv_on and ctx.mac.apfs else "NO"))
    return 0


def _guest(ctx: Ctx, opts: dict) -> int:
    want = opts["-guestAccount"]
    state = ctx.mac.state
    if want == "status":
        ctx.nslog(ctx.t("sysadminctl.guest_status", state="enabled" if state["guest_account"] else "disabled"))
        return 0
    if want not in ("on", "off"):
        return _usage(ctx)
    ctx.require_root("sysadminctl.not_root_guest", 0)
    on = want == "on"
    if state["guest_account"] == on:
        ctx.nslog(ctx.t("sysadminctl.guest_already", state="enabled" if on else "disabled"))
        return 0
    state["guest_account"] = on
    ctx.nslog(ctx.t("sysadminctl.guest_status", state="enabled" if on else "disabled"))
    return 0


def _autologin(ctx: Ctx, opts: dict) -> int:
    if opts["-autologin"] != "status":
        return _usage(ctx)
    who = ctx.mac.state["autologin_user"]
    if who:
        ctx.nslog(ctx.t("sysadminctl.autologin_status", name=who))
    else:
        ctx.nslog(ctx.t("sysadminctl.autologin_off"))
    return 0


def main(ctx: Ctx) -> int:
    opts = _parse(ctx.argv)
    if opts is None:
        return _usage(ctx)
    if ctx.mac.state["system_administration_broken"]:
        ctx.nslog(ctx.t("sysadminctl.auth_framework"))  # rdar 36027180: every call fails this way
        return 0
    action = opts["action"]
    if action == "-secureTokenStatus":
        return _status(ctx, opts)
    if action in ("-secureTokenOn", "-secureTokenOff"):
        return _token_on_off(ctx, opts, action == "-secureTokenOn")
    if action == "-addUser":
        return _add_user(ctx, opts)
    if action == "-deleteUser":
        return _delete_user(ctx, opts)
    if action == "-resetPasswordFor":
        return _reset_password(ctx, opts)
    if action == "-filesystem":
        return _filesystem(ctx, opts)
    if action == "-guestAccount":
        return _guest(ctx, opts)
    return _autologin(ctx, opts)
