"""Small tools: sw_vers, uname, sysctl, dsmemberutil, dseditgroup and the python3 installer stub."""

from __future__ import annotations

from ..runtime import Ctx, ToolExit


def sw_vers(ctx: Ctx) -> int:
    """One tab after each key through macOS 12; from 13 two tabs (one after ProductVersionExtra), so every value
    starts at column 24 (about 30 captures in evidence/sw_vers.yml)."""
    mac = ctx.mac
    modern = mac.version.at_least(11)
    name = "macOS" if modern else "Mac OS X"
    version, build, extra = mac.state["os"]["version"], mac.build(), mac.state["os"]["extra"]
    if ctx.argv:
        key = ctx.argv[0].lstrip("-").lower()
        values = {"productname": name, "productversion": version, "buildversion": build}
        if modern:
            values["productversionextra"] = extra or ""
        if key not in values or len(ctx.argv) > 1:
            ctx.out(ctx.t("sw_vers.usage_11" if modern else "sw_vers.usage_1013"))
            return 0 if key == "help" else 1
        ctx.out(values[key])
        return 0
    wide = mac.version.at_least(13)
    sep = "\t\t" if wide else "\t"
    lines = [f"ProductName:{sep}{name}", f"ProductVersion:{sep}{version}"]
    if extra:
        lines.append(f"ProductVersionExtra:\t{extra}")
    lines.append(f"BuildVersion:{sep}{build}")
    ctx.out("\n".join(lines))
    return 0


def kernel_release(mac) -> str:
    release = mac.state["os"]["kernel_release"]
    if release:
        return release
    v = mac.version
    minor = v.parts[1] if v.parts[0] != 10 else v.parts[2]
    return f"{v.darwin}.{minor}.0"


def kernel_version(mac) -> str:
    text = mac.state["os"]["kernel_version"]
    if text:
        return text
    board = f"ARM64_{mac.state['hardware']['kernel_board']}" if mac.apple_silicon else "X86_64"
    return (f"Darwin Kernel Version {kernel_release(mac)}: Mon Jan  1 00:00:00 PST 2024; "
            f"root:xnu-10000.1.1~1/RELEASE_{board}")


def boottime(mac) -> str:
    """kern.boottime as sysctl prints a struct timeval: ``{ sec = S, usec = U }`` and ctime(3) of it in the Mac's
    local time zone (evidence sysctl-kern.boottime-*; the same with -n, without the name)."""
    import datetime

    when = mac.boottime()
    sec = int(when)
    usec = int(round((when - sec) * 1_000_000)) % 1_000_000
    zone = mac.state["clock"]["timezone"]
    if zone:
        from zoneinfo import ZoneInfo

        local = datetime.datetime.fromtimestamp(sec, ZoneInfo(zone))
    else:
        local = datetime.datetime.fromtimestamp(sec)
    return f"{{ sec = {sec}, usec = {usec} }} {local.strftime('%a %b %e %H:%M:%S %Y')}"


def uname(ctx: Ctx) -> int:
    """-m is arm64 only for native Apple silicon processes; -p is fixed per binary slice (arm, or i386 on Intel and
    under Rosetta); -a is s n r v m (shell_cmds uname.c, evidence/uname.yml)."""
    mac = ctx.mac
    native_arm = mac.apple_silicon and not mac.state["hardware"]["translated"]
    fields = {"s": "Darwin", "n": mac.state["hostname"], "r": kernel_release(mac), "v": kernel_version(mac),
              "m": "arm64" if native_arm else "x86_64", "p": "arm" if native_arm else "i386"}
    letters = []
    for arg in ctx.argv or ["-s"]:
        if not arg.startswith("-") or len(arg) < 2 or any(c not in "amnoprsv" for c in arg[1:]):
            raise ToolExit(1, err=ctx.t("uname.usage"))
        letters.extend("s" if c == "o" else c for c in arg[1:])
    if "a" in letters:
        letters = list("snrvm")
    ctx.out(" ".join(fields[c] for c in "snrvmp" if c in letters))
    return 0


def sysctl(ctx: Ctx) -> int:
    """name: value, or the value with -n. Until macOS 14.4 the first unknown name ends the run (exit 1); later the
    FreeBSD-derived sysctl warns, goes on and exits with the number of failures (system_cmds 979)."""
    mac = ctx.mac
    argv = list(ctx.argv)
    bare = "-n" in argv
    names = [a for a in argv if not a.startswith("-")]
    new_style = mac.version.at_least(14, 4)
    if not names and "-a" not in argv:
        raise ToolExit(1, err=ctx.t("sysctl.usage_new" if new_style else "sysctl.usage_old"))
    hw = mac.state["hardware"]
    values = {
        "machdep.cpu.brand_string": hw["cpu_brand"], "hw.model": hw["model"], "kern.hostname": mac.state["hostname"],
        "kern.osproductversion": mac.state["os"]["version"], "kern.osversion": mac.build(),
        "kern.ostype": "Darwin", "kern.osrelease": kernel_release(mac), "kern.osrevision": "199506",
        "kern.version": kernel_version(mac), "kern.boottime": boottime(mac),
    }
    if mac.apple_silicon:  # these exist only in the Apple silicon kernel (xnu kern_mib.c, kern_sysctl.c)
        values["hw.optional.arm64"] = "1"
        values["sysctl.proc_translated"] = "1" if hw["translated"] else "0"
    else:
        values["machdep.cpu.model"] = "142"
    values.update({k: str(v) for k, v in hw["sysctl"].items()})
    if "-a" in argv:
        names = sorted(values)
    failures = 0
    for name in names:
        value = values.get(name)
        if value is None:
            if not new_style:
                raise ToolExit(1, err=ctx.t("sysctl.unknown_oid", oid=name))
            ctx.err(ctx.t("sysctl.unknown_oid", oid=name))
            failures += 1
            continue
        ctx.out(value if bare else f"{name}: {value}")
    return failures


def dsmemberutil(ctx: Ctx) -> int:
    """checkmembership: exit 0 for both answers (scripts compare the text); unknown names exit 7 (DSTools)."""
    argv = ctx.argv
    if not argv or argv[0] != "checkmembership":
        raise ToolExit(22, err=ctx.t("dsmemberutil.usage"))
    opts = dict(zip(argv[1::2], argv[2::2]))
    name, uid = opts.get("-U"), opts.get("-u")
    group, gid = opts.get("-G"), opts.get("-g")
    if not (name or uid) or not (group or gid):
        raise ToolExit(22, err=ctx.t("dsmemberutil.usage"))
    mac = ctx.mac
    user = None
    if name:
        user = mac.find(name)
        if user is None and name not in ("root", "_mbsetupuser"):
            ctx.err(ctx.t("dsmemberutil.user_cannot_be_found", name=name))
            raise ToolExit(7, out=ctx.t("dsmemberutil.user_not_found"))
    elif uid is not None:
        user = next((u for u in mac.users if str(u["uid"]) == uid), None)
        name = user["name"] if user else ("root" if uid == "0" else None)
    groups = {"admin": "80", "staff": "20", "everyone": "12", "wheel": "0"}
    group = group or next((g for g, n in groups.items() if n == gid), None)
    if group not in groups:
        ctx.err(ctx.t("dsmemberutil.group_cannot_be_found", name=opts.get("-G") or gid))
        raise ToolExit(7, out=ctx.t("dsmemberutil.group_not_found"))
    if user is None:
        member = (name == "root" and group in ("wheel", "admin", "everyone")) or (
            name == "_mbsetupuser" and group == "admin" and mac.state["setup_assistant_running"])
    else:
        member = (group == "admin" and user["admin"]) or group in ("staff", "everyone")
    ctx.out(ctx.t("dsmemberutil.member") if member else ctx.t("dsmemberutil.not_member"))
    return 0


def dseditgroup(ctx: Ctx) -> int:
    """checkmember (yes: 0, no: 67) and edit -a/-d on the admin group; every error goes to stderr (DSTools)."""
    argv = list(ctx.argv)
    opts: dict = {}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-o", "-m", "-a", "-d", "-t", "-n", "-u", "-P", "-r", "-i") and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if len(rest) != 1 or opts.get("-o") not in ("checkmember", "edit"):
        raise ToolExit(64, err=ctx.t("dseditgroup.usage"))
    group = rest[0]
    if group not in ("admin", "staff", "everyone"):
        raise ToolExit(64, err=ctx.t("dseditgroup.group_not_found"))
    if opts["-o"] == "checkmember":
        name = opts.get("-m")
        user = ctx.mac.find(name) if name else None
        if user is None:
            raise ToolExit(64, err=ctx.t("dseditgroup.unknown_member"))
        member = group == "admin" and user["admin"] or group in ("staff", "everyone")
        if member:
            ctx.out(ctx.t("dseditgroup.member", user=name, group=group))
            return 0
        ctx.out(ctx.t("dseditgroup.not_member", user=name, group=group))
        return 67
    if ctx.euid != 0 and not (opts.get("-u") and opts.get("-P")):
        raise ToolExit(64, err=ctx.t("dseditgroup.credentials_required"))
    if group != "admin":
        raise ToolExit(1, err=f"macsim: dseditgroup: editing group {group} is not modelled by the simulator")
    name = opts.get("-a") or opts.get("-d")
    user = ctx.mac.find(name) if name else None
    if user is None:
        raise ToolExit(200, err=ctx.t("dseditgroup.record_not_found"))  # eDSRecordNotFound & 0xFF
    user["admin"] = "-a" in opts
    return 0


def python_stub(ctx: Ctx) -> int:
    """/usr/bin/python3 without the Command Line Tools: the shim offers to install them (or names a stale Xcode).

    On a simulated Mac with the Command Line Tools, /usr/bin/python3 is a real interpreter; this implementation
    answers only ``--version`` for that case, for the evidence corpus.
    """
    from ..fleet import python_plan

    kind, version = python_plan(ctx.mac.state)
    if kind == "clt" and ctx.argv == ["--version"]:
        full = ctx.mac.state["python"]["full_version"] or ("3.8.2" if version == "3.8" else "3.9.6")
        ctx.out(f"Python {full}")
        return 0
    ctx.err(ctx.t("python.stub_stale_xcode" if ctx.mac.state["python"]["stub"] == "stale_xcode" else "python.stub"))
    return 1
