"""Small tools: sw_vers, uname, sysctl, dsmemberutil, dseditgroup and the python3 installer stub."""

from __future__ import annotations

from ..runtime import Ctx, ToolExit


def sw_vers(ctx: Ctx) -> int:
    mac = ctx.mac
    modern = mac.version.at_least(11)
    name = "macOS" if modern else "Mac OS X"
    version, build, extra = mac.state["os"]["version"], mac.build(), mac.state["os"]["extra"]
    if ctx.argv:
        key = ctx.argv[0].lstrip("-").lower()
        values = {"productname": name, "productversion": version, "buildversion": build,
                  "productversionextra": extra or ""}
        if key not in values or len(ctx.argv) > 1:
            raise ToolExit(1, err=ctx.t("sw_vers.usage"))
        ctx.out(values[key])
        return 0
    # 10.x separates with one tab (10.13.2 radar, 10.14 fixtures); 11+ aligns with two tabs.
    sep = "\t\t" if modern else "\t"
    lines = [f"ProductName:{sep}{name}", f"ProductVersion:{sep}{version}"]
    if extra:
        lines.append(f"ProductVersionExtra:\t{extra}")
    lines.append(f"BuildVersion:{sep}{build}")
    ctx.out("\n".join(lines))
    return 0


def uname(ctx: Ctx) -> int:
    mac = ctx.mac
    release = f"{mac.version.darwin}.{mac.version.parts[1] if mac.version.parts[0] != 10 else mac.version.parts[2]}.0"
    machine = "arm64" if mac.apple_silicon else "x86_64"
    kernel = "RELEASE_ARM64_T8103" if mac.apple_silicon else "RELEASE_X86_64"
    fields = {
        "s": "Darwin", "n": mac.state["hostname"], "r": release,
        "v": f"Darwin Kernel Version {release}: Mon Jan  1 00:00:00 PST 2024; root:xnu-0.0.0~1/{kernel}",
        "m": machine, "p": "arm" if mac.apple_silicon else "i386",
    }
    letters = []
    for arg in ctx.argv or ["-s"]:
        if not arg.startswith("-") or any(c not in "asnrvmp" for c in arg[1:]):
            raise ToolExit(1, err=ctx.t("uname.usage"))
        letters.extend(arg[1:])
    if "a" in letters:
        letters = list("snrvm")
    ctx.out(" ".join(fields[c] for c in "snrvmp" if c in letters))
    return 0


def sysctl(ctx: Ctx) -> int:
    mac = ctx.mac
    argv = list(ctx.argv)
    bare = "-n" in argv
    names = [a for a in argv if a != "-n"]
    if not names:
        raise ToolExit(1, err=ctx.t("sysctl.usage"))
    values = {
        "machdep.cpu.brand_string": mac.state["hardware"]["cpu_brand"],
        "hw.model": mac.state["hardware"]["model"],
        "kern.hostname": mac.state["hostname"],
        "kern.osproductversion": mac.state["os"]["version"],
        "hw.optional.arm64": "1" if mac.apple_silicon else ("0" if mac.version.at_least(11) else None),
    }
    code = 0
    for name in names:
        value = values.get(name)
        if value is None:
            ctx.err(ctx.t("sysctl.unknown_oid", oid=name))
            code = 1
            continue
        ctx.out(value if bare else f"{name}: {value}")
    return code


def dsmemberutil(ctx: Ctx) -> int:
    argv = ctx.argv
    if not argv or argv[0] != "checkmembership":
        raise ToolExit(1, err=ctx.t("dsmemberutil.usage"))
    opts = dict(zip(argv[1::2], argv[2::2]))
    name, group = opts.get("-U") or opts.get("-u"), opts.get("-G") or opts.get("-g")
    if not name or not group:
        raise ToolExit(1, err=ctx.t("dsmemberutil.usage"))
    user = ctx.mac.find(name)
    if user is None and name != "root":
        raise ToolExit(1, err=ctx.t("dsmemberutil.unknown", name=name))
    member = name == "root" if user is None else (group in ("admin", "80") and user["admin"]) or group in (
        "staff", "20", "everyone", "12")
    ctx.out(ctx.t("dsmemberutil.member") if member else ctx.t("dsmemberutil.not_member"))
    return 0


def dseditgroup(ctx: Ctx) -> int:
    argv = list(ctx.argv)
    opts: dict = {}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-o", "-m", "-a", "-d", "-t", "-n", "-u", "-P") and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if len(rest) != 1 or opts.get("-o") not in ("checkmember", "edit"):
        raise ToolExit(64, err=ctx.t("dseditgroup.usage"))
    group = rest[0]
    if opts["-o"] == "checkmember":
        name = opts.get("-m")
        user = ctx.mac.find(name) if name else None
        if user is None:
            raise ToolExit(64, err=ctx.t("dseditgroup.unknown_user"))
        member = group == "admin" and user["admin"] or group in ("staff", "everyone")
        if member:
            ctx.out(ctx.t("dseditgroup.member", user=name, group=group))
            return 0
        ctx.out(ctx.t("dseditgroup.not_member", user=name, group=group))
        return 67
    if ctx.euid != 0:
        raise ToolExit(1, err=ctx.t("dseditgroup.not_root"))
    if group != "admin":
        raise ToolExit(1, err=f"macsim: dseditgroup: editing group {group} is not modelled by the simulator")
    name = opts.get("-a") or opts.get("-d")
    user = ctx.mac.find(name) if name else None
    if user is None:
        raise ToolExit(64, err=ctx.t("dseditgroup.unknown_user"))
    user["admin"] = "-a" in opts
    return 0


def python_stub(ctx: Ctx) -> int:
    """/usr/bin/python3 without the Command Line Tools: it only offers to install them."""
    ctx.err(ctx.t("python.stub"))
    return 1
