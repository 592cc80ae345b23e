"""/sbin/shutdown: restart the Mac (``-r now``, ``-r +N``), as Apple's BSD-derived shutdown(8) does.

Texts and exit codes from Apple's source (system_cmds shutdown.tproj/shutdown.c, evidence/shutdown.yml): not root
-> ``shutdown: NOT super-user`` (exit 1, before the options are read); ``now`` -> ``Shutdown NOW!``, wall's final
message on the terminals, then ``System shutdown time has arrived`` and the restart; ``+N`` -> ``Shutdown at
<date>.`` and ``shutdown: [pid N]`` (the child waits N minutes). Only ``-r`` is simulated: ``-h``, ``-s`` and ``-k``
(halt, sleep, warn only) are refused with a macsim line.
"""

from __future__ import annotations

import datetime

from ..runtime import Ctx, ToolExit, caller_pid


def _usage(ctx: Ctx, why: str | None = None) -> ToolExit:
    text = ctx.t("shutdown.usage")
    return ToolExit(1, err=(f"shutdown: {why}\n" if why else "") + text)


def main(ctx: Ctx) -> int:
    if ctx.euid != 0:
        raise ToolExit(1, err=ctx.t("shutdown.not_root"))
    flags: list[str] = []
    words: list[str] = []
    for index, arg in enumerate(ctx.argv):
        if arg == "--":
            words = ctx.argv[index + 1:]
            break
        if arg.startswith("-") and len(arg) > 1 and not words:
            for letter in arg[1:]:
                if letter not in "hknorsu":
                    raise _usage(ctx)
                flags.append(letter)
        else:
            words = ctx.argv[index:]
            break
    if not words:
        raise _usage(ctx)
    modes = [f for f in flags if f in "hrsk"]
    if len(set(modes)) > 1:
        raise _usage(ctx, "incompatible switches -h, -k, -r, and -s")
    if not modes:
        raise _usage(ctx, "-h, -r, -s, or -k is required")
    if modes[0] != "r":
        raise ToolExit(1, err=f"macsim: shutdown: -{modes[0]} is not modelled by the simulator (only -r: restart)")
    when = words[0]
    if when.lower() == "now":
        minutes = 0
    elif when.startswith("+") and when[1:].isdigit():
        minutes = int(when[1:])
    elif _absolute(when):
        raise ToolExit(1, err="macsim: shutdown: an absolute time is not modelled by the simulator (use now or +N)")
    else:
        raise ToolExit(1, err=ctx.t("shutdown.bad_time"))
    mac = ctx.mac
    if minutes == 0:
        ctx.out(ctx.t("shutdown.now"))
        if ctx.tty is not None:  # wall(1) -n: the final message on every terminal (here: the caller's)
            host = f"{mac.state['hostname']}.local"
            ctx.tty.write(_wall(ctx.t("shutdown.wall_final", user=_login_name(), host=host)))
            ctx.tty.flush()
        ctx.stdout.write(ctx.t("shutdown.arrived"))
        ctx.request_restart(None, f"shutdown -r {when}", wait=True)
        return 0
    at = mac.now() + minutes * 60
    stamp = datetime.datetime.fromtimestamp(at).strftime("%a %b %e %H:%M:%S %Y")
    ctx.out(ctx.t("shutdown.at", when=stamp))
    ctx.err(ctx.t("shutdown.forked", pid=caller_pid() + 1))
    ctx.request_restart(at, f"shutdown -r +{minutes}")
    return 0


def _absolute(when: str) -> bool:
    """[[[[yy]mm]dd]hh]mm, or hh:mm (getoffset: digits only, 4, 6, 8 or 10 of them once the colon is gone)."""
    if ":" in when:
        head, _, tail = when.partition(":")
        if len(tail) != 2:
            return False
        when = head + tail
    return when.isdigit() and len(when) in (4, 6, 8, 10)


def _wall(message: str) -> str:
    """What wall -n writes to a terminal: a blank line, then each line padded to 79 columns, CR LF after each
    (FreeBSD wall.c makemsg, which Apple's wall is)."""
    out = " " * 79 + "\r\n"
    for line in message.split("\n")[:-1]:
        out += line.ljust(79) + "\r\n"
    return out


def _login_name() -> str:
    """getlogin(): the name the session logged in with. The caller runs through sudo, so walk up its parents to the
    first process of another user (the login shell); root when there is none."""
    import pwd

    pid = caller_pid()
    for _ in range(16):
        try:
            status = dict(line.split(":\t", 1) for line in open(f"/proc/{pid}/status").read().splitlines()
                          if ":\t" in line)
        except OSError:
            break
        uid = int(status["Uid"].split()[0])
        if uid != 0:
            try:
                return pwd.getpwuid(uid).pw_name
            except KeyError:
                return str(uid)
        pid = int(status["PPid"])
        if pid <= 1:
            break
    return "root"
