"""Running one simulated tool: faults, locking, streams, prompts and the invocation log."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import random
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from . import latency, texts
from .mac import Mac
from .schema import StateError
from .store import HostStore


# The pid of the process that ran the tool, when that is not this one (the tool server's child runs a call
# for a client process): what the invocation log and sysadminctl's NSLog prefix show.
CALLER_PID: int | None = None


def caller_pid() -> int:
    return CALLER_PID or os.getpid()


class UsageError(Exception):
    """The arguments are not something the real tool accepts."""


@dataclass
class Ctx:
    """What a tool implementation sees: the Mac, argv, streams and helpers."""

    tool: str
    argv: list
    mac: Mac
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    tty: TextIO | None
    euid: int
    alt: bool
    stdin_bytes: int = 0
    tty_bytes: int = 0
    notes: list = field(default_factory=list)
    restart: dict | None = None  # set by request_restart: {'at': simulated time or None (now), 'why': ...}

    def request_restart(self, at: float | None, why: str, wait: bool = False) -> None:
        """Restart the Mac once this call is over (at once, or at the simulated time ``at``). ``wait``: on a
        fleet's Mac the tool does not return; the restart ends it (shutdown(8) never exits before reboot2)."""
        self.restart = {"at": at, "why": why, "wait": wait}

    def t(self, text_key: str, /, **values: object) -> str:
        return texts.render(text_key, alt=self.alt, **values)

    def out(self, text: str) -> None:
        self.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")

    def nslog(self, text: str) -> None:
        """One NSLog message on stderr: a timestamp and ``tool[pid:tid]`` before its first line only.

        A message with embedded newlines (sysadminctl's usage text) keeps one prefix; a message that starts
        with a newline leaves the prefix line ending in a space (both seen in published runs).
        """
        now = datetime.datetime.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        pid = caller_pid()
        tid = pid * 7 + threading.get_ident() % 1000
        self.stderr.write(f"{stamp} {self.tool}[{pid}:{tid}] {text}\n")

    def read_stdin_line(self) -> str | None:
        line = self.stdin.readline()
        if not line:
            return None
        self.stdin_bytes += len(line.encode("utf-8"))
        return line.rstrip("\r\n")

    def read_stdin_all(self) -> str:
        data = self.stdin.read()
        self.stdin_bytes += len(data.encode("utf-8"))
        return data

    def prompt(self, text: str, secret: bool = True) -> str | None:
        """Ask on the controlling terminal, as getpass/readpassphrase do; without one, use stdin."""
        if self.tty is not None:
            self.tty.write(text)
            self.tty.flush()
            with _no_echo(self.tty if secret else None):
                line = self.tty.readline()
            if not line:
                return None
            self.tty_bytes += len(line.encode("utf-8"))
            if secret:
                self.tty.write("\n")
                self.tty.flush()
            else:
                echo = getattr(self.tty, "echo", None)
                if echo is not None:
                    echo(line)  # a terminal echoes what is typed when echo is on (a test terminal shows it)
            return line.rstrip("\r\n")
        self.stderr.write(text)
        self.stderr.flush()
        return self.read_stdin_line()

    def require_root(self, key: str, code: int) -> None:
        if self.euid != 0:
            raise ToolExit(code, err=self.t(key))


@contextlib.contextmanager
def _no_echo(tty):
    """Turn terminal echo off while a secret is typed, as readpassphrase does on a Mac."""
    fd = None
    try:
        fd = tty.fileno() if tty is not None else None
        old = termios.tcgetattr(fd) if fd is not None else None
    except (OSError, ValueError, io.UnsupportedOperation, termios.error):
        old = None
    if old is None:
        yield
        return
    new = list(old)
    new[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)


def _restart(ctx: Ctx, host_dir: str) -> bool:
    """Apply a restart the tool asked for. On a fleet's Mac (a supervisor watches the host directory) the
    supervisor does it, live: returns True. On a bare host directory the state transition happens at once."""
    if ctx.restart is None:
        return False
    from . import boot

    mac = ctx.mac
    at = ctx.restart["at"]
    if at is not None:
        mac.boot["restart_at"] = at
    if boot.supervised(host_dir):
        return True
    if at is None:
        ctx.notes.extend(mac.reboot())
        if mac.boot["phase"] != "up":
            ctx.notes.append(f"boot {mac.boot['count']}: {mac.boot['phase']} (FileVault login window)")
    return False


class ToolExit(Exception):
    """Stop the tool with this exit code, optionally printing to stderr first."""

    def __init__(self, code: int, err: str | None = None, out: str | None = None) -> None:
        super().__init__(code)
        self.code, self.err_text, self.out_text = code, err, out


def _open_tty() -> TextIO | None:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    return io.TextIOWrapper(io.FileIO(fd, "r+"), encoding="utf-8", write_through=True)


def _matching_fault(state: dict, tool: str, argv: list) -> tuple[int, dict] | None:
    for index, fault in enumerate(state["faults"]):
        if fault["tool"] == tool and all(word in argv for word in fault["match"]) and fault["times"] != 0:
            return index, fault
    return None


def _consume_fault(store: HostStore, tool: str, argv: list) -> None:
    with store.transaction() as state:
        found = _matching_fault(state, tool, argv)
        if found and found[1]["times"] > 0:
            state["faults"][found[0]]["times"] -= 1


def run_tool(tool: str, host_dir: str, argv: list, impl: Callable[[Ctx], int], *,
             stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
             tty: TextIO | None | bool = True, euid: int | None = None) -> int:
    """Run ``impl`` as the simulated ``tool`` on the host at ``host_dir``; return the exit code."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    euid = os.geteuid() if euid is None else euid
    store = HostStore(host_dir)
    started = time.monotonic()
    record = {"tool": tool, "argv": [tool] + list(argv), "euid": euid, "pid": caller_pid(),
              "time": datetime.datetime.now().isoformat(timespec="milliseconds")}
    code = 0
    ctx = None
    live = hold = False
    try:
        state = store.load()
        found = _matching_fault(state, tool, argv)
        linger = 0.0
        if found and found[1]["kind"] == "linger":
            linger = found[1]["seconds"]
            record["fault"] = "linger"
            _consume_fault(store, tool, argv)
            found = None
        if found:
            fault = found[1]
            record["fault"] = fault["kind"]
            _consume_fault(store, tool, argv)
            if fault["kind"] in ("latency", "hang"):
                time.sleep(fault["seconds"])
                if fault["kind"] == "hang":
                    code = 1
                    return code
            elif fault["kind"] == "crash":
                stderr.write((fault["stderr"] or f"{tool}: Segmentation fault: 11") + "\n")
                code = fault["exit_code"] if fault["exit_code"] else 139
                return code
            elif fault["kind"] == "garbage":
                rnd = random.Random(" ".join(argv))
                stdout.write("".join(rnd.choice("#@%&*!?~^01xyz \t") for _ in range(96)) + "\n\x1b[?25h\n")
                code = 0
                return code
            elif fault["kind"] == "canned":
                stdout.write(fault["stdout"])
                stderr.write(fault["stderr"])
                code = fault["exit_code"]
                return code
        pause = latency.delay(state["sim"]["latency"], tool, list(argv))
        if pause:  # before the lock: reads on one Mac overlap while they wait, as separate processes do on a Mac
            record["latency"] = pause
            time.sleep(pause)
        with store.transaction() as state:
            mac = Mac(state)
            alt = bool(state["sim"]["alt_wording"]) or texts.alt_from_env()
            real_tty = _open_tty() if tty is True else (tty or None)
            ctx = Ctx(tool=tool, argv=list(argv), mac=mac, stdin=stdin, stdout=stdout, stderr=stderr,
                      tty=real_tty, euid=euid, alt=alt)
            ctx.notes.extend(mac.settle())  # time has passed since the last call
            before = mac.crypto_ids()
            try:
                code = impl(ctx)
                mac.sync_crypto_order(before)
                live = _restart(ctx, host_dir)
            except ToolExit as stop:
                mac.sync_crypto_order(before)
                if stop.out_text:
                    ctx.out(stop.out_text)
                if stop.err_text:
                    if tool == "sysadminctl":
                        ctx.nslog(stop.err_text)
                    else:
                        ctx.err(stop.err_text)
                code = stop.code
            finally:
                if real_tty is not None and tty is True:
                    real_tty.close()
        if live:  # after the state is saved: the Mac's supervisor ends this call's session a moment later
            from . import boot

            boot.request(host_dir, "restart" if ctx.restart["at"] is None else "schedule", ctx.restart["why"])
            hold = bool(ctx.restart["wait"] and ctx.restart["at"] is None)
        if linger:  # the change is saved and the output written; the caller waits for the exit
            stdout.flush()
            stderr.flush()
            time.sleep(linger)
        return code
    except StateError as exc:
        stderr.write(f"macsim: {tool}: the simulated Mac's state is invalid: {exc}\n")
        code = 70
        return code
    finally:
        stdout.flush()
        stderr.flush()
        record["exit_code"] = code
        record["duration"] = round(time.monotonic() - started, 4)
        record["stdin_bytes"] = ctx.stdin_bytes if ctx else 0
        record["tty_bytes"] = ctx.tty_bytes if ctx else 0
        if ctx and ctx.notes:
            record["rules"] = ctx.notes
        try:
            store.append_log(record)
        except OSError:
            pass
        if hold:  # logged; the supervisor ends this process with every other one of the Mac
            from .boot import GRACE

            time.sleep(GRACE + 30)


def capture(tool: str, host_dir: str, argv: list, impl: Callable[[Ctx], int], stdin_text: str = "",
            tty_text: str | None = None, euid: int = 0) -> tuple[int, str, str]:
    """Run a tool in-process with captured streams (for tests and ``macsim exec``)."""
    out, err = io.StringIO(), io.StringIO()
    tty = None
    if tty_text is not None:
        tty = _FakeTty(tty_text)
    code = run_tool(tool, host_dir, argv, impl, stdin=io.StringIO(stdin_text), stdout=out, stderr=err,
                    tty=tty if tty is not None else False, euid=euid)
    return code, out.getvalue(), err.getvalue()


class _FakeTty(io.StringIO):
    """A terminal for in-process tests: reads the given answers, records prompts."""

    def __init__(self, answers: str) -> None:
        super().__init__(answers)
        self.prompts: list = []

    def write(self, text: str) -> int:  # prompts go to the screen, not into the answers
        self.prompts.append(text)
        return len(text)


def dumps_log(store: HostStore) -> str:
    return "\n".join(json.dumps(r) for r in store.invocations())
