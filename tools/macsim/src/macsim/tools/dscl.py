"""/usr/bin/dscl: the user records our code reads and writes, and -authonly.

Records print one attribute per line, ``Key: v1 v2``; an attribute with a value
that contains a space prints as ``Key:`` followed by one indented value per line
(``macos-tool-output.md`` §5). Network accounts are found only under /Search.
"""

from __future__ import annotations

import plistlib

from ..runtime import Ctx, ToolExit

LOCAL_NODES = {".", "localhost", "/Local/Default", "/Local/Default/"}
SEARCH_NODES = {"/Search", "/Search/"}
SYSTEM_USERS = [  # a few of the built-in records every Mac has; they never hold tokens
    ("root", 0, "System Administrator", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000", "/var/root", "/bin/sh"),
    ("daemon", 1, "System Services", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000001", "/var/root", "/usr/bin/false"),
    ("_appleevents", 55, "AppleEvents Daemon", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000037", "/var/empty",
     "/usr/bin/false"),
    ("_securityagent", 92, "SecurityAgent", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA0000005C", "/var/db/securityagent",
     "/usr/bin/false"),
    ("_mbsetupuser", 248, "Setup User", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA000000F8", "/var/setup", "/bin/bash"),
    ("nobody", -2, "Unprivileged User", "FFFFEEEE-DDDD-CCCC-BBBB-AAAAFFFFFFFE", "/var/empty", "/usr/bin/false"),
]
ADMIN_GROUP_GUID = "ABCDEFAB-CDEF-ABCD-EFAB-CDEF00000050"


def _user_attrs(ctx: Ctx, user: dict) -> dict:
    attrs = {
        "AuthenticationAuthority": ctx.mac.authentication_authority(user),
        "GeneratedUID": [user["guid"]],
        "NFSHomeDirectory": [user["home"]],
        "Password": ["********"],
        "PrimaryGroupID": ["20"],
        "RealName": [user["full_name"]],
        "RecordName": [user["name"]],
        "RecordType": ["dsRecTypeStandard:Users"],
        "UniqueID": [str(user["uid"])],
        "UserShell": [user["shell"]],
    }
    if user["kind"] in ("mobile", "network"):
        attrs["OriginalNodeName"] = [f"/Active Directory/{user['ad_netbios']}/{user['ad_domain']}"]
    if not attrs["AuthenticationAuthority"]:
        del attrs["AuthenticationAuthority"]
    return dict(sorted(attrs.items()))


def _system_attrs(record: tuple) -> dict:
    name, uid, real, guid, home, shell = record
    return {"GeneratedUID": [guid], "NFSHomeDirectory": [home], "Password": ["*"], "PrimaryGroupID": [str(max(uid, 0))
            if uid >= 0 else "4294967294"], "RealName": [real], "RecordName": [name],
            "RecordType": ["dsRecTypeStandard:Users"], "UniqueID": [str(uid)], "UserShell": [shell]}


def _admin_group(ctx: Ctx) -> dict:
    members = ["root"] + [u["name"] for u in ctx.mac.local_users() if u["admin"]]
    return {"GeneratedUID": [ADMIN_GROUP_GUID], "GroupMembership": members, "PrimaryGroupID": ["80"],
            "RealName": ["Administrators"], "RecordName": ["admin"], "RecordType": ["dsRecTypeStandard:Groups"]}


def _records(ctx: Ctx, node: str) -> list[tuple[str, dict, dict | None]]:
    search = node in SEARCH_NODES
    out = [(r[0], _system_attrs(r), None) for r in SYSTEM_USERS]
    for user in ctx.mac.records(include_network=search):
        out.append((user["name"], _user_attrs(ctx, user), user))
    return out


def _format(attrs: dict, keys: list | None = None) -> tuple[list, list]:
    lines, missing = [], []
    for key in keys or list(attrs):
        values = attrs.get(key.replace("dsAttrTypeStandard:", ""))
        if values is None:
            missing.append(key)
            continue
        if any(" " in v for v in values):
            lines.append(f"{key}:")
            lines.extend(f" {v}" for v in values)
        else:
            lines.append(f"{key}: {' '.join(values)}")
    return lines, missing


def _plist(attrs: dict, keys: list | None) -> dict:
    chosen = keys or list(attrs)
    return {f"dsAttrTypeStandard:{k}": attrs[k] for k in chosen if k in attrs}


def _split_path(path: str) -> tuple[str, str | None]:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("Users", "Groups"):
        return "", None
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _find_record(ctx: Ctx, node: str, path: str) -> tuple[str, dict, dict | None]:
    kind, name = _split_path(path)
    if kind == "Groups" and name == "admin":
        return "admin", _admin_group(ctx), None
    if kind == "Users" and name:
        for rec in _records(ctx, node):
            if rec[0] == name:
                return rec
    raise ToolExit(56, err=ctx.t("dscl.record_not_found"))


def _read(ctx: Ctx, node: str, args: list, as_plist: bool) -> int:
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    _, attrs, _ = _find_record(ctx, node, args[0])
    keys = args[1:] or None
    if as_plist:
        ctx.out(plistlib.dumps(_plist(attrs, keys)).decode().rstrip("\n"))
        return 0
    lines, missing = _format(attrs, keys)
    if lines:
        ctx.out("\n".join(lines))
    for key in missing:
        ctx.err(ctx.t("dscl.no_such_key", key=key))
    return 0


def _readall(ctx: Ctx, node: str, args: list, as_plist: bool) -> int:
    kind, name = _split_path(args[0]) if args else ("", None)
    if kind != "Users" or name:
        raise ToolExit(64, err=ctx.t("dscl.invalid_path"))
    keys = args[1:] or None
    records = _records(ctx, node)
    if as_plist:
        ctx.out(plistlib.dumps([_plist(a, keys) for _, a, _ in records]).decode().rstrip("\n"))
        return 0
    chunks = []
    for _, attrs, _ in records:
        lines, _missing = _format(attrs, [k for k in (keys or list(attrs)) if k in attrs])
        chunks.append("\n".join(lines))
    ctx.out("\n-\n".join(chunks))
    return 0


def _list(ctx: Ctx, node: str, args: list) -> int:
    kind, name = _split_path(args[0]) if args else ("", None)
    if kind != "Users" or name:
        raise ToolExit(64, err=ctx.t("dscl.invalid_path"))
    records = _records(ctx, node)
    if len(args) == 1:
        ctx.out("\n".join(n for n, _, _ in records))
        return 0
    key = args[1]
    width = max([24] + [len(n) for n, _, _ in records]) + 1
    rows = [f"{n:<{width}}{' '.join(a[key])}" for n, a, _ in records if key in a]
    ctx.out("\n".join(rows))
    return 0


def _search(ctx: Ctx, node: str, args: list) -> int:
    if len(args) != 3:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    kind, _ = _split_path(args[0])
    if kind != "Users":
        raise ToolExit(64, err=ctx.t("dscl.invalid_path"))
    key, value = args[1], args[2]
    for name, attrs, _ in _records(ctx, node):
        if value in attrs.get(key, []):
            ctx.out(f"{name}\t\t{key} = (\n    \"{value}\"\n)")
    return 0


def _authonly(ctx: Ctx, node: str, args: list) -> int:
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    name = args[0]
    password = args[1] if len(args) > 1 else ctx.prompt(ctx.t("dscl.password_prompt"))
    user = ctx.mac.find(name, include_network=node in SEARCH_NODES)
    shown = "/Local/Default" if node in LOCAL_NODES else node.rstrip("/")
    if user is None or not ctx.mac.password_ok(user, password):
        raise ToolExit(255, err=ctx.t("dscl.auth_failed", node=shown))
    rule = ctx.mac.first_token_on_auth(user)  # T5: an authentication can grant the first token
    if rule:
        ctx.notes.append(f"T5/{rule}: first secure token granted to {user['name']} by authentication")
    return 0


def _need_root(ctx: Ctx) -> None:
    if ctx.euid != 0:
        raise ToolExit(40, err=ctx.t("dscl.permission_denied"))


def _unmodelled(key: str) -> ToolExit:
    return ToolExit(1, err=f"macsim: dscl: writing attribute {key} is not modelled by the simulator")


def _user_for_write(ctx: Ctx, path: str) -> dict:
    kind, name = _split_path(path)
    user = ctx.mac.find(name) if kind == "Users" and name else None
    if user is None:
        raise ToolExit(56, err=ctx.t("dscl.record_not_found"))
    return user


def _append(ctx: Ctx, args: list) -> int:
    _need_root(ctx)
    if len(args) < 3:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    path, key, values = args[0], args[1], args[2:]
    kind, name = _split_path(path)
    if kind == "Groups" and name == "admin" and key == "GroupMembership":
        for member in values:
            user = ctx.mac.find(member)
            if user is None:
                raise ToolExit(56, err=ctx.t("dscl.record_not_found"))
            user["admin"] = True
        return 0
    user = _user_for_write(ctx, path)
    if key != "AuthenticationAuthority":
        raise _unmodelled(key)
    for value in values:
        if value.startswith(";DisabledTags;"):
            tag = value[len(";DisabledTags;"):]
            if tag and tag not in user["disabled_tags"]:
                user["disabled_tags"].append(tag)
        elif value not in user["extra_authority"]:
            user["extra_authority"].append(value)  # R4: writing ;SecureToken; creates no token
    return 0


def _create(ctx: Ctx, args: list) -> int:
    _need_root(ctx)
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    kind, name = _split_path(args[0])
    if kind != "Users" or not name:
        raise _unmodelled(args[0])
    user = ctx.mac.find(name)
    if user is None:
        user = ctx.mac.new_user(name)
        ctx.notes.append("T3: record created without a password")
    if len(args) == 1:
        return 0
    key, values = args[1], args[2:]
    value = " ".join(values)
    if key == "UniqueID":
        try:
            uid = int(value)
        except ValueError:
            raise ToolExit(64, err=ctx.t("dscl.usage"))
        if any(u["uid"] == uid and u is not user for u in ctx.mac.users):
            raise ToolExit(1, err=f"macsim: dscl: UniqueID {uid} is already used")
        user["uid"] = uid
    elif key == "RealName":
        user["full_name"] = value
    elif key == "UserShell":
        user["shell"] = value
    elif key == "NFSHomeDirectory":
        user["home"] = value
    elif key == "PrimaryGroupID":
        pass  # every modelled account is in staff (20); the value is accepted and not stored
    elif key == "AuthenticationAuthority":
        user["extra_authority"] = [v for v in values if not v.startswith(";DisabledTags;")]
        user["disabled_tags"] = [v[len(";DisabledTags;"):] for v in values if v.startswith(";DisabledTags;")]
    else:
        raise _unmodelled(key)
    return 0


def _delete(ctx: Ctx, args: list) -> int:
    _need_root(ctx)
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    kind, name = _split_path(args[0])
    if kind == "Groups" and name == "admin" and len(args) >= 3 and args[1] == "GroupMembership":
        for member in args[2:]:
            user = ctx.mac.find(member)
            if user is not None:
                user["admin"] = False
        return 0
    user = _user_for_write(ctx, args[0])
    if len(args) == 1:
        ctx.mac.users.remove(user)  # T11: dscl has no last-token check (R29c)
        ctx.notes.append("T11 (dscl)")
        return 0
    key, values = args[1], args[2:]
    if key != "AuthenticationAuthority":
        raise _unmodelled(key)
    for value in values:
        if value.startswith(";DisabledTags;"):
            tag = value[len(";DisabledTags;"):]
            if tag in user["disabled_tags"]:
                user["disabled_tags"].remove(tag)
        elif value in user["extra_authority"]:
            user["extra_authority"].remove(value)
    return 0


def _passwd(ctx: Ctx, args: list) -> int:
    if len(args) not in (2, 3):
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    user = _user_for_write(ctx, args[0])
    if len(args) == 3:
        old, new = args[1], args[2]
        if not ctx.mac.password_ok(user, old):
            raise ToolExit(255, err=ctx.t("dscl.auth_failed", node="/Local/Default"))
        user["password"], user["password_mode"] = new, "plaintext"
        return 0
    _need_root(ctx)
    new = args[1]
    if user["secure_token"]:
        ctx.mac.out_of_band_reset(user, new)  # R29d
        ctx.notes.append("T10/R29d")
        return 0
    rule = ctx.mac.set_password(user, new)
    if rule:
        ctx.notes.append(f"T3/{rule}")
    return 0


def main(ctx: Ctx) -> int:
    argv = list(ctx.argv)
    as_plist = False
    while argv and argv[0] in ("-plist", "-q", "-raw", "-url"):
        as_plist = as_plist or argv[0] == "-plist"
        argv.pop(0)
    if len(argv) < 2:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    node, command, args = argv[0], argv[1].lstrip("-").lower(), argv[2:]
    if node not in LOCAL_NODES | SEARCH_NODES:
        raise ToolExit(64, err=ctx.t("dscl.invalid_path"))
    if command == "read":
        return _read(ctx, node, args, as_plist)
    if command == "readall":
        return _readall(ctx, node, args, as_plist)
    if command == "list":
        return _list(ctx, node, args)
    if command == "search":
        return _search(ctx, node, args)
    if command == "authonly":
        return _authonly(ctx, node, args)
    if node in SEARCH_NODES:
        raise ToolExit(40, err=ctx.t("dscl.permission_denied"))
    if command == "append":
        return _append(ctx, args)
    if command == "create":
        return _create(ctx, args)
    if command == "delete":
        return _delete(ctx, args)
    if command == "passwd":
        return _passwd(ctx, args)
    raise ToolExit(64, err=ctx.t("dscl.usage"))
