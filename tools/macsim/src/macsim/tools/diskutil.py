"""/usr/sbin/diskutil apfs listCryptoUsers|listUsers (text and -plist) and updatePreboot."""

from __future__ import annotations

import plistlib

from ..runtime import Ctx, ToolExit

LIST_VERBS = {"listcryptousers", "listusers", "listcryptokeys", "listkeys"}
PLIST_TYPES = {  # LocalOpenDirectory, ICloud and ICloudRecovery are attested (kolide/launcher #487); the others not
    "Local Open Directory User": "LocalOpenDirectory",
    "Personal Recovery User": "PersonalRecovery",
    "MDM Bootstrap Token External Key": "MDMBootstrapTokenExternalKey",
    "iCloud Recovery User": "ICloud",
    "iCloud Recovery External Key": "ICloudRecovery",
}


def _target_device(ctx: Ctx, target: str) -> str:
    """The device a target names: '/' is the device mounted there; the Data volume by path or name."""
    mac = ctx.mac
    known = {"/": mac.root_device(), mac.root_device(): mac.root_device(), mac.data_device(): mac.data_device(),
             "/System/Volumes/Data": mac.data_device()}
    if target not in known or not mac.apfs:
        raise ToolExit(1, err=ctx.t("diskutil.not_apfs", target=target))
    return known[target]


def _list(ctx: Ctx, args: list) -> int:
    as_plist = "-plist" in args
    rest = [a for a in args if a != "-plist"]
    if len(rest) != 1:
        raise ToolExit(1, err=ctx.t("diskutil.usage"))
    device = _target_device(ctx, rest[0])
    users = ctx.mac.crypto_users()
    owner_lines = ctx.mac.apple_silicon and ctx.mac.version.at_least(11)
    if as_plist:
        entries = []
        for uuid, kind, owner in users:
            entry = {"APFSCryptoUserType": PLIST_TYPES[kind], "APFSCryptoUserUUID": uuid}
            if owner_lines:
                entry["VolumeOwner"] = owner
            entries.append(entry)
        ctx.out(plistlib.dumps({"Users": entries}).decode("utf-8").rstrip("\n"))
        return 0
    if not users:
        ctx.out(ctx.t("diskutil.no_crypto_users", dev=device))
        return 0
    noun = "user" if len(users) == 1 else "users"
    lines = [ctx.t("diskutil.crypto_header", noun=noun, dev=device, count=len(users)), "|"]
    for index, (uuid, kind, owner) in enumerate(users):
        last = index == len(users) - 1
        bar = "    " if last else "|   "
        lines.append(f"+-- {uuid}")
        lines.append(f"{bar}Type: {kind}")
        if owner_lines:
            lines.append(f"{bar}Volume Owner: {'Yes' if owner else 'No'}")
        if not last:
            lines.append("|")
    ctx.out("\n".join(lines))
    return 0


def _update_preboot(ctx: Ctx, args: list) -> int:
    if len(args) != 1:
        raise ToolExit(1, err=ctx.t("diskutil.usage"))
    _target_device(ctx, args[0])
    if ctx.euid != 0:
        raise ToolExit(1, err=ctx.t("diskutil.not_root"))
    mac = ctx.mac
    system = mac.root_device().rsplit("s", 1)[0] if mac.version.at_least(11) else mac.root_device()
    ctx.out(ctx.t("diskutil.updatepreboot_start"))
    ctx.out(ctx.t("diskutil.updatepreboot_commencing", dev=system, name="Macintosh HD"))
    ctx.out(ctx.t("diskutil.updatepreboot_data_sibling", dev=mac.data_device()))
    if not any(kind == "Local Open Directory User" for _, kind, _ in mac.crypto_users()):
        ctx.out(ctx.t("diskutil.updatepreboot_exit", code=-69572))  # no user to put at the FileVault login window
        ctx.out(ctx.t("diskutil.updatepreboot_finished"))
        return 1
    mac.update_preboot()
    ctx.notes.append("T15")
    ctx.out(ctx.t("diskutil.updatepreboot_exit", code=0))
    ctx.out(ctx.t("diskutil.updatepreboot_finished"))
    return 0


def main(ctx: Ctx) -> int:
    argv = ctx.argv
    if len(argv) < 2 or argv[0].lower() != "apfs":
        raise ToolExit(1, err=ctx.t("diskutil.usage"))
    verb = argv[1].lower()
    if verb in LIST_VERBS:
        return _list(ctx, argv[2:])
    if verb == "updatepreboot":
        return _update_preboot(ctx, argv[2:])
    raise ToolExit(1, err=ctx.t("diskutil.usage"))
