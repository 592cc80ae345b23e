"""/usr/bin/profiles: bootstrap token status, escrow, validation and removal; enrollment status and DEP profile.

Shapes from the evidence corpus (``evidence/profiles.yml``): status and validate lines on stdout with a
``profiles: `` prefix; one line when the server lacks the capability; an unprefixed sentence when the MDM has not
allowed the bootstrap token for this Mac; ``Unable to authenticate user information.`` for wrong credentials;
``show -type enrollment`` prints the DEP configuration as an old-style dictionary, or fails on stderr.
"""

from __future__ import annotations

from ..fmt import old_style
from ..runtime import Ctx, ToolExit

RATE_LIMIT = 23 * 3600  # profiles show -type enrollment, 12.3 and later (freegeek-pdx, Der Flounder 2022-03-22)


def _parse(ctx: Ctx) -> tuple[str, dict]:
    argv = list(ctx.argv)
    if not argv:
        raise ToolExit(1, err=ctx.t("profiles.usage"))
    verb = argv[0].lstrip("-")
    opts: dict = {}
    i = 1
    while i < len(argv):
        word = argv[i]
        key, eq, value = word.partition("=")
        if eq and key in ("-type", "-user", "-password", "-pass", "-path"):
            opts["-password" if key == "-pass" else key] = value
            i += 1
        elif word in ("-type", "-user", "-password", "-pass", "-path", "-o", "-output") and i + 1 < len(argv):
            opts["-password" if word == "-pass" else word] = argv[i + 1]
            i += 2
        elif word in ("-verbose", "-v", "-quiet", "-forced"):
            i += 1
        else:
            raise ToolExit(1, err=ctx.t("profiles.usage"))
    return verb, opts


def _yesno(value: bool) -> str:
    return "YES" if value else "NO"


def _need_enrolled(ctx: Ctx) -> None:
    if not ctx.mac.mdm["enrolled"]:
        raise ToolExit(1, err=ctx.t("profiles.not_enrolled"))


def _need_allowed(ctx: Ctx) -> bool:
    """The MDM has not allowed the bootstrap token for this Mac: an unprefixed sentence on stdout, nothing more."""
    if ctx.mac.mdm["bootstrap_capable"] and not ctx.mac.mdm["bootstrap_allowed"]:
        ctx.out(ctx.t("profiles.bt_not_allowed"))
        return False
    return True


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
    if not _need_allowed(ctx):
        return 0
    on = ctx.mac.option["bootstrap_status_wording"] == "on"
    supported = ctx.mac.bootstrap_supported_here()
    ctx.out(ctx.t("profiles.bt_is_supported" if on else "profiles.bt_supported", yesno=_yesno(supported)))
    if supported or ctx.mac.option["bootstrap_unsupported_lines"] == 2:
        ctx.out(ctx.t("profiles.bt_escrowed_on" if on else "profiles.bt_escrowed",
                      yesno=_yesno(supported and mdm["bootstrap_escrowed"])))
    return 0


def _admin_credentials(ctx: Ctx, opts: dict) -> dict:
    """-user/-password, or the prompts 'Enter the admin user name:' and the password prompt."""
    name = opts.get("-user")
    if name is None:
        name = ctx.prompt(ctx.t("profiles.prompt_admin"), secret=False)
    password = opts.get("-password")
    if password is None:
        key = {"quoted": "profiles.prompt_password", "unquoted": "profiles.prompt_password_unquoted",
               "volume": "profiles.prompt_volume_password"}[ctx.mac.option["profiles_install_prompt"]]
        password = ctx.prompt(ctx.t(key, name=name or ""))
    if not password:
        raise ToolExit(1, err=ctx.t("profiles.password_required"))
    if "-password" in opts and len(password.encode("utf-8")) > 512:
        raise ToolExit(1, err=ctx.t("profiles.password_too_long"))  # mkuser: over 512 bytes fails with -69581
    admin = ctx.mac.find(name) if name else None
    if admin is None or not ctx.mac.password_ok(admin, password):
        raise ToolExit(1, err=ctx.t("profiles.auth_failed"))
    if not (admin["admin"] and ctx.mac.can_unlock(admin)):
        raise ToolExit(1, err=ctx.t("profiles.no_token_admin", name=admin["name"]))
    return admin


def _install(ctx: Ctx, opts: dict) -> int:
    ctx.require_root("profiles.not_root", 1)
    if "-path" in opts and ctx.mac.version.at_least(11):
        raise ToolExit(1, err=ctx.t("profiles.no_longer_installs"))
    _need_enrolled(ctx)
    if not _need_allowed(ctx):
        return 1
    if not ctx.mac.bootstrap_supported_here():
        raise ToolExit(1, err=ctx.t("profiles.not_supported_error"))
    _admin_credentials(ctx, opts)
    escrowed = ctx.mac.escrow_bootstrap()
    ctx.notes.append("T16")
    ctx.out(ctx.t("profiles.bt_created"))
    if not escrowed:
        raise ToolExit(1, err=ctx.t("profiles.escrow_failed"))
    ctx.out(ctx.t("profiles.bt_escrowed_line" if ctx.mac.option["profiles_escrowed_line"] == "plain"
                  else "profiles.bt_escrowed_successfully"))
    return 0


def _validate(ctx: Ctx, opts: dict) -> int:
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    if not _need_allowed(ctx):
        return 1
    if not ctx.mac.bootstrap_supported_here():
        raise ToolExit(1, err=ctx.t("profiles.not_supported_error"))
    if "-user" in opts or "-password" in opts:
        _admin_credentials(ctx, opts)
    mdm = ctx.mac.mdm
    if not mdm["bootstrap_on_device"]:
        raise ToolExit(1, err=ctx.t("profiles.no_bt"))
    if not (mdm["bootstrap_escrowed"] and mdm["bootstrap_escrow_confirmed"] and mdm["reachable"]):
        raise ToolExit(1, err=ctx.t("profiles.verify_failed"))  # the MDM does not hold the same token
    ctx.out(ctx.t("profiles.bt_validated"))
    return 0


def _remove(ctx: Ctx, opts: dict) -> int:
    ctx.require_root("profiles.not_root", 1)
    _need_enrolled(ctx)
    if "-user" in opts or "-password" in opts:
        _admin_credentials(ctx, opts)
    mdm = ctx.mac.mdm
    if not mdm["bootstrap_on_device"] and not mdm["bootstrap_escrowed"]:
        raise ToolExit(1, err=ctx.t("profiles.no_bt"))
    mdm["bootstrap_on_device"] = False
    mdm["bootstrap_escrowed"] = False  # T17: the device sends SetBootstrapToken with an empty token (R39)
    ctx.notes.append("T17")
    ctx.out(ctx.t("profiles.bt_removed"))
    return 0


def _show_enrollment(ctx: Ctx) -> int:
    if ctx.euid != 0:
        raise ToolExit(1, err=ctx.t("profiles.must_be_root"))
    mdm, mac = ctx.mac.mdm, ctx.mac
    now = mac.now()
    if mac.version.at_least(12, 3) and mdm["dep_fetched_at"] is not None and now - mdm["dep_fetched_at"] < RATE_LIMIT:
        raise ToolExit(1, err=ctx.t("profiles.dep_too_soon"))
    mdm["dep_fetched_at"] = now
    if not mdm["apple_reachable"]:
        ctx.err(ctx.t("profiles.apsd_bad_response"))
        raise ToolExit(1, err=ctx.t("profiles.dep_cannot_determine"))
    if not mdm["dep_assigned"] and mac.option["show_enrollment_unassigned"] == "error":
        code = "(34000) " if mac.version.at_least(14) else ""
        raise ToolExit(1, err=ctx.t("profiles.dep_not_enabled", code=code))
    ctx.out(ctx.t("profiles.dep_header"))
    ctx.out(old_style(mdm["dep_profile"]) if mdm["dep_profile"] else "(null)")
    return 0


def main(ctx: Ctx) -> int:
    verb, opts = _parse(ctx)
    kind = opts.get("-type", "")
    if verb == "status":
        return _status(ctx, kind)
    if verb == "show" and kind == "enrollment":
        return _show_enrollment(ctx)
    if verb == "install" and "-path" in opts:
        return _install(ctx, opts)
    if kind != "bootstraptoken":
        raise ToolExit(1, err=ctx.t("profiles.usage"))
    if verb == "install":
        return _install(ctx, opts)
    if verb == "validate":
        return _validate(ctx, opts)
    if verb == "remove":
        return _remove(ctx, opts)
    raise ToolExit(1, err=ctx.t("profiles.usage"))
