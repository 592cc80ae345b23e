"""The simulated tools, by name, and the absolute macOS paths they appear at on a simulated Mac."""

from __future__ import annotations

import sys

from ..runtime import Ctx, capture, run_tool
from . import diskutil, dscl, fdesetup, profiles, shutdown, small, sysadminctl

IMPLS = {
    "sysadminctl": sysadminctl.main,
    "fdesetup": fdesetup.main,
    "profiles": profiles.main,
    "diskutil": diskutil.main,
    "dscl": dscl.main,
    "dsmemberutil": small.dsmemberutil,
    "dseditgroup": small.dseditgroup,
    "sw_vers": small.sw_vers,
    "uname": small.uname,
    "sysctl": small.sysctl,
    "python3": small.python_stub,
    "shutdown": shutdown.main,
}

PATHS = {
    "sysadminctl": "/usr/sbin/sysadminctl",
    "fdesetup": "/usr/bin/fdesetup",
    "profiles": "/usr/bin/profiles",
    "diskutil": "/usr/sbin/diskutil",
    "dscl": "/usr/bin/dscl",
    "dsmemberutil": "/usr/bin/dsmemberutil",
    "dseditgroup": "/usr/sbin/dseditgroup",
    "sw_vers": "/usr/bin/sw_vers",
    "uname": "/usr/bin/uname",
    "sysctl": "/usr/sbin/sysctl",
    "shutdown": "/sbin/shutdown",
}


def run(tool: str, host_dir: str, argv: list) -> int:
    """Entry point of a generated tool wrapper: real stdio, real terminal."""
    return run_tool(tool, host_dir, argv, IMPLS[tool])


def call(tool: str, host_dir: str, argv: list, stdin: str = "", tty: str | None = None,
         euid: int = 0) -> tuple[int, str, str]:
    """Run a tool in-process with captured output: ``(exit code, stdout, stderr)``."""
    return capture(tool, host_dir, argv, IMPLS[tool], stdin_text=stdin, tty_text=tty, euid=euid)


def wrapper_main() -> None:  # pragma: no cover - exercised through generated wrappers
    sys.exit(run(sys.argv[1], sys.argv[2], sys.argv[3:]))


__all__ = ["Ctx", "IMPLS", "PATHS", "run", "call"]
