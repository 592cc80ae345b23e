"""/usr/bin/dscl: the user records our code reads and writes, and -authonly.

Shapes from the evidence corpus (``evidence/dscl.yml``): ``-read`` prints attributes sorted case-insensitively by
their full names and drops RecordName unless it was asked for, then ``No such key: K`` on stderr for each key it
lacks; an attribute with a value that contains a space prints as ``Key:`` and one indented value per line;
``-list`` sorts records by name and starts the value column three past the longest name; errors print
``<dscl_cmd> DS Error: <code> (<name>)`` on stderr and exit with the code's magnitude modulo 256; a path that
names no record is ``<verb>: Invalid Path`` (eDSUnknownNodeName). Network accounts are found only under /Search.
"""

from __future__ import annotations

import plistlib

from ..runtime import Ctx, ToolExit
from ..system_users import for_version, system_guid

LOCAL_NODES = {".", "localhost", "/Local/Default", "/Local/Default/"}
SEARCH_NODES = {"/Search", "/Search/"}
ADMIN_GROUP_GUID = "ABCDEFAB-CDEF-ABCD-EFAB-CDEF00000050"
DS_ERRORS = {-14136: "eDSRecordNotFound", -14120: "eDSPermissionError", -14009: "eDSUnknownNodeName",
             -14135: "eDSRecordAlreadyExists", -14090: "eDSAuthFailed",
             -14165: "eDSAuthPasswordQualityCheckFailed"}


def _ds_error(ctx: Ctx, code: int, out: str | None = None) -> ToolExit:
    """dscl's failure: the DS error line on stderr, and the exit status (-code) & 0xFF (dscl.m, evidence)."""
    return ToolExit((-code) & 0xFF, err=ctx.t("dscl.ds_error", code=code, name=DS_ERRORS[code]), out=out)


def _user_attrs(ctx: Ctx, user: dict) -> dict:
    attrs = {
        "AuthenticationAuthority": ctx.mac.authentication_authority(user),
        "GeneratedUID": [user["guid"]],
        "NFSHomeDirectory": [user["home"]],
        "Password": ["********" if user["password_mode"] != "none" else "*"],
        "PrimaryGroupID": ["20"],
        "RealName": [user["full_name"]],
        "RecordName": [user["name"]],
        "RecordType": ["dsRecTypeStandard:Users"],
        "UniqueID": [str(user["uid"])],
        "UserShell": [user["shell"]],
    }
    if user["kind"] == "mobile":  # only cached (mobile) records carry OriginalNodeName; network ones do not
        attrs["OriginalNodeName"] = [f"/Active Directory/{user['ad_netbios']}/{user['ad_domain']}"]
    if not attrs["AuthenticationAuthority"]:
        del attrs["AuthenticationAuthority"]
    return attrs


def _system_attrs(name: str, uid: int, real: str) -> dict:
    home = "/var/root" if name in ("root", "daemon") else ("/Users/Guest" if name == "Guest" else "/var/empty")
    shell = "/bin/sh" if name == "root" else ("/bin/bash" if name == "Guest" else "/usr/bin/false")
    return {"GeneratedUID": [system_guid(uid)], "NFSHomeDirectory": [home], "Password": ["*"],
            "PrimaryGroupID": [str(uid) if uid >= 0 else "-2"], "RealName": [real], "RecordName": [name],
            "RecordType": ["dsRecTypeStandard:Users"], "UniqueID": [str(uid)], "UserShell": [shell]}


def _admin_group(ctx: Ctx) -> dict:
    members = ["root"] + (["_mbsetupuser"] if ctx.mac.state["setup_assistant_running"] else []) + [
        u["name"] for u in ctx.mac.local_users() if u["admin"]]
    return {"GeneratedUID": [ADMIN_GROUP_GUID], "GroupMembership": members, "PrimaryGroupID": ["80"],
            "RealName": ["Administrators"], "RecordName": ["admin"], "RecordType": ["dsRecTypeStandard:Groups"]}


def _records(ctx: Ctx, node: str) -> list[tuple[str, dict, dict | None]]:
    """Every user record of the node, sorted by name ignoring case, as dscl lists them."""
    search = node in SEARCH_NODES
    mac = ctx.mac
    out = [(name, _system_attrs(name, uid, real), None)
           for name, uid, real in for_version(mac.version.parts, mac.apple_silicon)]
    for user in mac.records(include_network=search):
        out.append((user["name"], _user_attrs(ctx, user), user))
    return sorted(out, key=lambda r: r[0].lower())


def _full_name(key: str) -> str:
    return key if ":" in key else f"dsAttrTypeStandard:{key}"


def _format(attrs: dict, keys: list | None = None) -> tuple[list, list]:
    """Lines for the found attributes (sorted by full name, ignoring case) and the keys not found, as given."""
    wanted = keys if keys is not None else list(attrs)
    found, missing = [], []
    for key in wanted:
        short = key.replace("dsAttrTypeStandard:", "")
        if short in attrs:
            found.append(short)
        else:
            missing.append(key)
    lines = []
    for key in sorted(dict.fromkeys(found), key=lambda k: _full_name(k).lower()):
        values = attrs[key]
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
    if parts[:1] == ["Search"]:
        parts = parts[1:]
    if not parts or parts[0] not in ("Users", "Groups"):
        return "", None
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _find_record(ctx: Ctx, node: str, path: str, verb: str) -> tuple[str, dict, dict | None]:
    kind, name = _split_path(path)
    if kind == "Groups" and name == "admin":
        return "admin", _admin_group(ctx), None
    if kind == "Users" and name:
        for rec in _records(ctx, node):
            if rec[0] == name:
                return rec
        raise _ds_error(ctx, -14136)
    raise _invalid_path(ctx, verb)


def _invalid_path(ctx: Ctx, verb: str) -> ToolExit:
    return _ds_error(ctx, -14009, out=ctx.t("dscl.invalid_path", verb=verb))


def _read(ctx: Ctx, node: str, args: list, as_plist: bool) -> int:
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    _, attrs, _ = _find_record(ctx, node, args[0], "read")
    keys = args[1:] or None
    if as_plist:
        ctx.out(plistlib.dumps(_plist(attrs, keys)).decode().rstrip("\n"))
        return 0
    shown = dict(attrs)
    if keys and "RecordName" not in keys:
        shown.pop("RecordName", None)  # dscl leaves RecordName out unless it was asked for
    lines, missing = _format(shown, keys)
    if keys:
        missing = [k for k in keys if k.replace("dsAttrTypeStandard:", "") not in shown]
    if lines:
        ctx.out("\n".join(lines))
    for key in missing:
        ctx.err(ctx.t("dscl.no_such_key", key=key))
    return 0


def _readall(ctx: Ctx, node: str, args: list, as_plist: bool) -> int:
    kind, name = _split_path(args[0]) if args else ("", None)
    if kind != "Users" or name:
        raise _invalid_path(ctx, "readall")
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
        raise _invalid_path(ctx, "list")
    records = _records(ctx, node)
    if len(args) == 1:
        ctx.out("\n".join(n for n, _, _ in records))
        return 0
    key = args[1].replace("dsAttrTypeStandard:", "")
    having = [(n, a) for n, a, _ in records if key in a]
    width = max([len(n) for n, _ in having] or [0])
    # the name, then (longest - length + 2) spaces, then the value with its own leading space
    ctx.out("\n".join(f"{n}{' ' * (width - len(n) + 2)} {' '.join(a[key])}" for n, a in having))
    return 0


def _search(ctx: Ctx, node: str, args: list) -> int:
    if len(args) != 3:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    kind, _ = _split_path(args[0])
    if kind != "Users":
        raise _invalid_path(ctx, "search")
    key, value = args[1], args[2]
    for name, attrs, _ in _records(ctx, node):
        if value in attrs.get(key, []):
            ctx.out(f"{name}\t\t{key} = (\n    {value}\n)")
    return 0


def _authonly(ctx: Ctx, node: str, args: list) -> int:
    if not args:
        raise ToolExit(64, err=ctx.t("dscl.usage"))
    name = args[0]
    password = args[1] if len(args) > 1 else ctx.prompt(ctx.t("dscl.password_prompt"))
    user = ctx.mac.find(name, include_network=node in SEARCH_NODES)
    shown = "/Local/Default" if node in LOCAL_NODES else node.rstrip("/")
    too_long = password is not None and len(args) < 2 and len(password.encode("utf-8")) > 128
    if user is None or too_long or not ctx.mac.password_ok(user, password):
        # the first line is printf (stdout), the second goes to stderr; exit 14090 & 0xFF
        raise _ds_error(ctx, -14090, out=ctx.t("dscl.auth_failed", node=shown))
    rule = ctx.mac.first_token_on_auth(user)  # T5: an authentication can grant the first token
    if rule:
        ctx.notes.append(f"T5/{rule}: first secure token granted to {user['name']} by authentication")
    return 0


def _need_root(ctx: Ctx) -> None:
    if ctx.euid != 0:
        raise _ds_error(ctx, -14120)


def _unmodelled(key: str) -> ToolExit:
    return ToolExit(1, err=f"macsim: dscl: writing attribute {key} is not modelled by the simulator")


def _user_for_write(ctx: Ctx, path: str, verb: str) -> dict:
    kind, name = _split_path(path)
    user = ctx.mac.find(name) if kind == "Users" and name else None
    if user is None:
        raise _invalid_path(ctx, verb)
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
                raise _ds_error(ctx, -14136)
            user["admin"] = True
        return 0
    user = _user_for_write(ctx, path, "append")
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
        system = {u for _, u, _ in for_version(ctx.mac.version.parts, ctx.mac.apple_silicon)}
        if uid in system or any(u["uid"] == uid and u is not user for u in ctx.mac.users):
            ctx.err(ctx.t("dscl.attribute_status", name="eDSRecordAlreadyExists"))
            raise _ds_error(ctx, -14135)
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
    user = _user_for_write(ctx, args[0], "delete")
    if len(args) == 1:
        if ctx.mac.version.at_least(10, 15) and not ctx.mac.state["remote_login_full_disk_access"]:
            raise _ds_error(ctx, -14120)  # removing an account needs Full Disk Access, as with sysadminctl
        ctx.mac.users.remove(user)  # T11: dscl has no last-token check (R29c)
        if user["secure_token"]:
            ctx.mac.state["orphan_crypto_users"].append(  # the crypto user stays on the volume
                {"guid": user["guid"], "volume_owner": bool(user["volume_owner"])})
        if user["home_exists"]:
            ctx.mac.state["orphan_homes"].append(user["home"])
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
    user = _user_for_write(ctx, args[0], "passwd")
    if len(args) == 3:
        old, new = args[1], args[2]
        if not ctx.mac.password_ok(user, old):
            raise _ds_error(ctx, -14090, out=ctx.t("dscl.auth_failed", node="/Local/Default"))
        if not ctx.mac.password_meets_policy(new):
            raise _ds_error(ctx, -14165)
        user["password"], user["password_mode"] = new, "plaintext"
        return 0
    _need_root(ctx)
    new = args[1]
    if not ctx.mac.password_meets_policy(new):
        raise _ds_error(ctx, -14165)
    if user["secure_token"]:
        if ctx.mac.option["reset_token_holder_password"] == "refuse":
            raise _ds_error(ctx, -14120)  # without the old password a token holder's password stays
        ctx.mac.out_of_band_reset(user, new)  # R29d
        ctx.notes.append("T10/R29d")
        return 0
    rule = ctx.mac.set_password(user, new, tool="dscl")
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
    if node == "localhost" and args and args[0].startswith("/Search/"):
        node = "/Search"
    if node not in LOCAL_NODES | SEARCH_NODES:
        raise ToolExit(69, out=ctx.t("dscl.bad_datasource", node=node))
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
        raise _ds_error(ctx, -14120)
    if command == "append":
        return _append(ctx, args)
    if command == "create":
        return _create(ctx, args)
    if command == "delete":
        return _delete(ctx, args)
    if command == "passwd":
        return _passwd(ctx, args)
    raise ToolExit(64, err=ctx.t("dscl.usage"))
