"""/usr/bin/profiles: bootstrap token status, escrow, validation and removal; enrollment status."""

from __future__ import annotations

from ..runtime import Ctx, ToolExit


def _parse(ctx: Ctx) -> tuple[str, dict]:
    argv = list(ctx.argv)
    if not argv:
        raise ToolExit(1, err=ctx.t("profiles.usage"))
    verb = argv[0].lstrip("-")
    opts: dict = {}
    i = 1
    while i < len(argv):
        word = argv[i]
        if word.startswith("-type=") or word.startswith("-user=") or word.startswith("-password="):
            key, _, value = word.partition("=")
            opts[key] = value
            i += 1
        elif word in ("-type", "-user", "-password", "-o", "-output") and i + 1 < len(argv):
            opts[word] = argv[i + 1]
            i += 2
        elif word in ("-verbose", "-v", "-quiet"):
            i += 1
        else:
            raise ToolExit(1, err=ctx.t("profiles.usage"))
    return verb, opts


def _yesno(value: bool) -> str:
    return "YES" if value else "NO"


def _need_enrolled(ctx: Ctx) -> None:
    if not ctx.mac.mdm["enrolled"]:
        raise ToolExit(1, err=ctx.t("profiles.not_enrolled"))


def _status(ctx: Ctx, kind: str) -> int:
    mdm = ctx.mac.mdm
    if kind == "enrollment":
        ctx.out(ctx.t("profiles.enroll_dep", yesno="Yes" if mdm["enrollment"] == "ade" else "No"))
        if not mdm["enrolled"]:
            ctx.out(ctx.t("profiles.enroll_mdm", value="No"))
            return 0
        ctx.out(ctx.t("profiles.enroll_mdm", value="Yes (User Approved)" if mdm["user_approved"] else "Yes"))
        ctx.out(ctx.t("profiles.enroll_server", url=mdm["server_url"]))
        return 0
    if kind != "bootstraptoken":
        raise ToolExit(1, err=ctx.t("profiles.usage"))
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    supported = ctx.mac.bootstrap_supported_here()
    ctx.out(ctx.t("profiles.bt_supported", yesno=_yesno(supported)))
    if supported:  # a server without support prints only the first line (TravellingTechGuy 10.15.6)
        ctx.out(ctx.t("profiles.bt_escrowed", yesno=_yesno(mdm["bootstrap_escrowed"])))
    return 0


def _admin_credentials(ctx: Ctx, opts: dict) -> dict:
    """-user/-password, or the prompts 'Enter the admin user name:' and the password prompt."""
    name = opts.get("-user")
    if name is None:
        name = ctx.prompt(ctx.t("profiles.prompt_admin"), secret=False)
    password = opts.get("-password")
    if password is None:
        password = ctx.prompt(ctx.t("profiles.prompt_password", name=name or ""))
    if not password:
        raise ToolExit(1, err=ctx.t("profiles.password_required"))
    admin = ctx.mac.find(name) if name else None
    if admin is None or not ctx.mac.password_ok(admin, password):
        raise ToolExit(1, err=ctx.t("profiles.auth_failed", name=name or ""))
    if not (admin["admin"] and ctx.mac.can_unlock(admin)):
        raise ToolExit(1, err=ctx.t("profiles.no_token_admin", name=admin["name"]))
    return admin


def _install(ctx: Ctx, opts: dict) -> int:
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    if not ctx.mac.bootstrap_supported_here():
        raise ToolExit(1, err=ctx.t("profiles.not_supported_error"))
    _admin_credentials(ctx, opts)
    escrowed = ctx.mac.escrow_bootstrap()
    ctx.notes.append("T16")
    ctx.out(ctx.t("profiles.bt_created"))
    if not escrowed:
        raise ToolExit(1, err=ctx.t("profiles.escrow_failed"))
    ctx.out(ctx.t("profiles.bt_escrowed_line"))
    return 0


def _validate(ctx: Ctx, opts: dict) -> int:
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    if not ctx.mac.bootstrap_supported_here():
        raise ToolExit(1, err=ctx.t("profiles.not_supported_error"))
    if "-user" in opts or "-password" in opts:
        _admin_credentials(ctx, opts)
    mdm = ctx.mac.mdm
    if not (mdm["bootstrap_on_device"] and mdm["bootstrap_escrowed"] and mdm["reachable"]):
        raise ToolExit(1, err=ctx.t("profiles.validate_failed"))
    ctx.out(ctx.t("profiles.bt_validated"))
    return 0


def _remove(ctx: Ctx) -> int:
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    mdm = ctx.mac.mdm
    if not mdm["bootstrap_on_device"] and not mdm["bootstrap_escrowed"]:
        raise ToolExit(1, err=ctx.t("profiles.no_bt"))
    mdm["bootstrap_on_device"] = False
    mdm["bootstrap_escrowed"] = False  # T17: the device sends SetBootstrapToken with an empty token (R39)
    ctx.notes.append("T17")
    ctx.out(ctx.t("profiles.bt_removed"))
    return 0


def main(ctx: Ctx) -> int:
    verb, opts = _parse(ctx)
    kind = opts.get("-type", "")
    if verb == "status":
        return _status(ctx, kind)
    if verb == "show" and kind == "enrollment":
        ctx.out(ctx.t("profiles.show_enrollment_null"))
        return 0
    if kind != "bootstraptoken":
        raise ToolExit(1, err=ctx.t("profiles.usage"))
    if verb == "install":
        return _install(ctx, opts)
    if verb == "validate":
        return _validate(ctx, opts)
    if verb == "remove":
        return _remove(ctx)
    raise ToolExit(1, err=ctx.t("profiles.usage"))
