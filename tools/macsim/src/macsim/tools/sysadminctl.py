"""/usr/sbin/sysadminctl: secure token status, grants, users. NSLog to stderr; exits 0 even on failure (R29)."""

from __future__ import annotations

from ..runtime import Ctx, ToolExit

VALUE_OPTS = {"-secureTokenStatus", "-secureTokenOn", "-secureTokenOff", "-addUser", "-deleteUser",
              "-resetPasswordFor", "-password", "-adminUser", "-adminPassword", "-newPassword", "-fullName",
              "-UID", "-GID", "-shell", "-home", "-hint", "-picture", "-oldPassword"}
FLAG_OPTS = {"-admin", "-roleAccount", "-secure", "-keepHome", "interactive"}
ACTIONS = ("-secureTokenStatus", "-secureTokenOn", "-secureTokenOff", "-addUser", "-deleteUser", "-resetPasswordFor")
BUILD_UUID = "d187755d-b9a3-11ef-83e5-aabfac210453"


def _usage(ctx: Ctx) -> int:
    ctx.nslog(ctx.t("sysadminctl.usage_head"))
    ctx.nslog("\t-secureTokenStatus <user name>")
    ctx.nslog("\t-secureTokenOn <user name> -password <password> (interactive || -adminUser <administrator user name> "
              "-adminPassword <administrator password>)")
    ctx.nslog(ctx.t("sysadminctl.usage_prompt_hint"))
    return 0


def _parse(argv: list) -> dict | None:
    opts: dict = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in VALUE_OPTS:
            if i + 1 >= len(argv):
                return None
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
    """Read '-' passwords from stdin: the administrator's line first, then the user's (mkuser, §1)."""

    def __init__(self, ctx: Ctx, opts: dict, user_key: str) -> None:
        self.values: dict = {}
        wanted = []
        if opts.get("-adminPassword") == "-":
            wanted.append("-adminPassword")
        if opts.get(user_key) == "-":
            wanted.append(user_key)
        for key in wanted:
            line = ctx.read_stdin_line()
            if line is None and ctx.tty is not None:
                who = opts.get("-adminUser") if key == "-adminPassword" else opts.get("action_user", "")
                line = ctx.prompt(ctx.t("sysadminctl.password_prompt", name=who))
            self.values[key] = line
        for key in ("-adminPassword", user_key):
            if key in opts and key not in self.values:
                self.values[key] = opts[key]

    def get(self, key: str) -> str | None:
        return self.values.get(key)


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
        ctx.nslog(ctx.t("sysadminctl.auth_error", build_uuid=BUILD_UUID))
        return None
    if not admin["admin"]:
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
            # rdar 36163828: a wrong admin password is reported, then the status is printed anyway.
            ctx.nslog(ctx.t("sysadminctl.auth_error", build_uuid=BUILD_UUID))
    state = "ENABLED" if (user["secure_token"] and ctx.mac.apfs) else "DISABLED"
    ctx.nslog(ctx.t("sysadminctl.status", state=state, name=user["full_name"] or user["name"]))
    return 0


def _token_on_off(ctx: Ctx, opts: dict, on: bool) -> int:
    action = "-secureTokenOn" if on else "-secureTokenOff"
    name = opts[action]
    opts["action_user"] = name
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
        if target["secure_token"]:
            ctx.nslog(ctx.t("sysadminctl.done"))
            return 0
        result = ctx.mac.grant_by(target, admin)
        if result == "no-unlock":
            ctx.nslog(ctx.t("sysadminctl.no_token_unlock"))
            return 0
        ctx.notes.append("T8" if result == "granted" else "T8/R11a: first tokens to administrator and user")
        ctx.nslog(ctx.t("sysadminctl.token_on_done", name=target["name"]))
        ctx.nslog(ctx.t("sysadminctl.done"))
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


def _no_clear_text_block(ctx: Ctx) -> None:
    """The warning framed by separators (sysadminctl-adduser-fail-14090)."""
    ctx.nslog(ctx.t("sysadminctl.separator"))
    ctx.nslog(ctx.t("sysadminctl.no_clear_text"))
    ctx.nslog(ctx.t("sysadminctl.separator"))


def _add_user(ctx: Ctx, opts: dict) -> int:
    name = opts["-addUser"]
    opts["action_user"] = name
    secrets = _Secrets(ctx, opts, "-password")
    if _hardened(ctx):
        return 0
    admin = None
    if opts.get("-adminUser"):
        admin = _check_admin(ctx, opts, secrets)
        if admin is None:
            _no_clear_text_block(ctx)
            ctx.nslog(ctx.t("sysadminctl.new_password_error"))
            return 0
    if ctx.mac.find(name, include_network=True):
        ctx.nslog(ctx.t("sysadminctl.user_exists", name=name))
        return 0
    password = secrets.get("-password")
    if password is None:
        _no_clear_text_block(ctx)
    try:
        uid = int(opts["-UID"]) if "-UID" in opts else ctx.mac.next_uid()
    except ValueError:
        return _usage(ctx)
    if any(u["uid"] == uid for u in ctx.mac.users):
        ctx.nslog(ctx.t("sysadminctl.new_password_error"))
        return 0
    user = ctx.mac.new_user(name, uid=uid, full_name=opts.get("-fullName", name), admin=bool(opts.get("-admin")),
                            password=password, password_mode="plaintext" if password is not None else "none",
                            shell=opts.get("-shell", "/bin/zsh"), home=opts.get("-home", f"/Users/{name}"))
    ctx.nslog(ctx.t("sysadminctl.creating_user"))
    if password is not None:
        if admin is not None:
            result = ctx.mac.grant_by(user, admin)  # T2' / T2''
            if result != "no-unlock":
                ctx.notes.append("T2'" if result == "granted" else "T2''/R11a")
            elif ctx.mac.first_token_on_password_set(user):
                ctx.notes.append("T2/R14")
        elif ctx.mac.first_token_on_password_set(user):
            ctx.notes.append("T2/R14")
    ctx.nslog(ctx.t("sysadminctl.home_assigned", home=user["home"]))
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def _delete_user(ctx: Ctx, opts: dict) -> int:
    name = opts["-deleteUser"]
    if _hardened(ctx):
        return 0
    user = ctx.mac.find(name)
    if user is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    holders = ctx.mac.token_holders()
    if holders == [user] and ctx.mac.option["delete_last_token_holder"] == "refuse":
        ctx.nslog(ctx.t("sysadminctl.last_token_user", name=name))
        return 0
    ctx.nslog(ctx.t("sysadminctl.killing", uid=user["uid"]))
    ctx.nslog(ctx.t("sysadminctl.deleting_record", name=name))
    ctx.mac.users.remove(user)
    if ctx.mac.fv["deferred_user"] == name:
        ctx.mac.fv["deferred_user"] = None
    ctx.notes.append("T11")
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def _reset_password(ctx: Ctx, opts: dict) -> int:
    name = opts["-resetPasswordFor"]
    opts["action_user"] = name
    if "-newPassword" not in opts:
        return _usage(ctx)
    secrets = _Secrets(ctx, opts, "-newPassword")
    if _hardened(ctx):
        return 0
    user = ctx.mac.find(name)
    if user is None:
        ctx.nslog(ctx.t("sysadminctl.unknown_user", name=name))
        return 0
    admin = None
    if opts.get("-adminUser"):
        admin = _check_admin(ctx, opts, secrets)
        if admin is None:
            return 0
    new = secrets.get("-newPassword") or ""
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
        rule = ctx.mac.set_password(user, new)
        if rule:
            ctx.notes.append(f"T10/{rule}")
    ctx.nslog(ctx.t("sysadminctl.reset_done", name=name))
    ctx.nslog(ctx.t("sysadminctl.done"))
    return 0


def main(ctx: Ctx) -> int:
    opts = _parse(ctx.argv)
    if opts is None:
        return _usage(ctx)
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
    raise ToolExit(0)  # pragma: no cover
