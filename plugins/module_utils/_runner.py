# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running Apple's tools: absolute paths, argv lists, LANG=C, secrets on stdin, a timeout per call.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Tools are called at their absolute macOS paths and never looked up on PATH: modules
run as root through become, and a PATH lookup there is a hijack risk. Every call goes
through AnsibleModule.run_command with an argv list; a watchdog started from
``before_communicate_callback`` kills a tool that outlives the timeout, so a hung tool
fails the task instead of hanging the play. Secrets only ever travel on stdin.

Reads can run in parallel (``Runner.parallel`` threads, inside ``Runner.in_parallel()``): the caller names the
reads it will make (``Runner.ahead``) and they start at once, while the caller still runs and judges them one by
one in its own order. So ``calls``, the results, and the first failure are those of the serial read; only the
waiting overlaps. run_command is called from the pool's threads: it keeps no state between calls that matters
here except ``_clean`` (the printable argv of its debug log line and of its "Error executing command" failure),
so each call holds a lock from before run_command until its tool has started; a pool thread never fails the
task itself (``handle_exceptions=False``): a tool it could not start is started again at its turn, the serial
way, and fails exactly as it would have.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.macops.tokens.plugins.module_utils._parsers import ParseError

TOOLS = {
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
    "ls": "/bin/ls",
    "shutdown": "/sbin/shutdown",
}
C_LOCALE = {"LANG": "C", "LC_ALL": "C"}
DEFAULT_TIMEOUT = 60


def tool_exists(path):
    """Whether a tool is installed at ``path``; the one place the runner looks (unit tests replace it)."""
    return os.path.exists(path)


class ToolError(Exception):
    """A tool could not be run, timed out, failed, or printed something we cannot read."""

    def __init__(self, message, command=None, rc=None, out="", err=""):
        self.command = command or []
        self.rc = rc
        self.out = out
        self.err = err
        super(ToolError, self).__init__(message)

    def details(self):
        return {"cmd": self.command, "rc": self.rc, "stdout": self.out, "stderr": self.err}


class Result(object):
    """What one tool run printed, and how it exited."""

    __slots__ = ("command", "rc", "out", "err")

    def __init__(self, command, rc, out, err):
        self.command = command
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def merged(self):
        return self.out + ("\n" if self.out and self.err else "") + self.err


class _TolerantStdin(object):
    """The stdin pipe of a tool that may exit before reading it (a refusal at once, say): run_command writes and
    closes it after starting the tool, and a closed pipe must not turn the tool's own answer (its output and exit
    code, which the caller judges) into an "Error executing command"."""

    def __init__(self, pipe):
        self._pipe = pipe

    def write(self, data):
        try:
            return self._pipe.write(data)
        except BrokenPipeError:
            return 0

    def close(self):
        try:
            self._pipe.close()
        except BrokenPipeError:
            pass

    def __getattr__(self, name):
        return getattr(self._pipe, name)


class _Abandoned(Exception):
    """A read that was not started because the parallel read it belonged to had already failed."""


def detach_from_terminal():
    """Leave the controlling terminal, if the module has one; True when it did.

    Without pipelining, ansible-core runs the module on the SSH session's terminal (``ssh -tt``). A tool that reads a
    password with readpassphrase(3) (``sysadminctl -password -``, ``profiles``, ``dscl -authonly``) prompts on
    ``/dev/tty`` whenever one can be opened, so it would wait there, unanswered, instead of reading the stdin this
    runner writes the password to. In a session of its own the module and its tools have no terminal, and those
    tools read stdin. ``converse`` still gives its tool a terminal of its own. Called before the first call that
    writes to a tool's stdin.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False  # no controlling terminal (pipelining, AWX): nothing to leave
    os.close(fd)
    try:
        os.setsid()
    except OSError:
        return False  # already a session leader: setsid is refused, and the terminal stays
    return True


class Runner(object):
    """Runs tools for one module invocation and counts the calls."""

    def __init__(self, module, timeout=DEFAULT_TIMEOUT, parallel=1):
        self.module = module
        self.timeout = timeout
        self.parallel = parallel  # how many reads may run at once inside in_parallel(); 1 runs them one by one
        self.calls = []
        self._pool = None
        self._ahead = {}  # (argv, timeout) -> futures of reads started ahead of their turn, oldest first
        self._starting = threading.Lock()  # held from before run_command until its tool has started
        self._live = set()  # tools started from the pool and not yet finished (under _starting)
        self._abandon = False
        self._detached = False  # detach_from_terminal() has run (before the first call with stdin)

    def path(self, tool):
        path = TOOLS[tool]
        if not tool_exists(path):
            raise ToolError("%s was not found: this is not a Mac, or the tool is absent" % path, command=[path])
        return path

    def _command(self, tool, args):
        return [self.path(tool)] + [str(a) for a in args]

    @contextlib.contextmanager
    def in_parallel(self):
        """Let reads run ``parallel`` at a time until the block ends; a block inside a block changes nothing.

        Leaving the block waits for the reads still running; leaving it with an error stops them first (the serial
        read would not have run them) and starts no more.
        """
        if self.parallel <= 1 or self._pool is not None:
            yield
            return
        self._pool = ThreadPoolExecutor(max_workers=self.parallel)
        finished = False
        try:
            yield
            finished = True
        finally:
            pool, self._pool = self._pool, None
            left, self._ahead = self._ahead, {}
            for futures in left.values():
                for future in futures:
                    future.cancel()
            if not finished:
                with self._starting:
                    self._abandon = True
                    for proc in list(self._live):
                        try:
                            proc.kill()
                        except OSError:
                            pass
            pool.shutdown(wait=True)
            self._abandon = False

    def ahead(self, reads):
        """Start ``reads`` now, ``(tool, args)`` pairs the caller will ``run`` or ``read`` later in this order.

        Only inside in_parallel(); elsewhere, and for a tool that is absent (its turn raises), nothing happens.
        A read started ahead is still recorded in ``calls``, judged and parsed only at its turn.
        """
        if self._pool is None:
            return
        for tool, args in reads:
            try:
                command = self._command(tool, args)
            except ToolError:
                continue
            future = self._pool.submit(self._start, command, None, self.timeout, False)
            self._ahead.setdefault((tuple(command), self.timeout), []).append(future)

    def _outcome(self, command, data, limit):
        """``(rc, out, err, killed)`` of one call: the read started ahead for it, else run now (in the pool while
        one is open, so no more than ``parallel`` tools ever run at once)."""
        if data is None and self._pool is not None:
            waiting = self._ahead.get((tuple(command), limit))
            future = waiting.pop(0) if waiting else self._pool.submit(self._start, command, None, limit, False)
            try:
                return future.result()
            except Exception:
                pass  # not started in the pool (or stopped by an error there): start it here, as the serial read does
        return self._start(command, data, limit)

    def _start(self, command, data, limit, handle_exceptions=True):
        """Run one command to its end under its watchdog: ``(rc, out, err, killed)``. Safe in several threads."""
        state = {"timer": None, "killed": False, "proc": None, "locked": True}

        def watchdog(proc):
            state["proc"] = proc
            if not handle_exceptions:
                self._live.add(proc)
            state["locked"] = False
            self._starting.release()
            if data is not None and proc.stdin is not None:
                proc.stdin = _TolerantStdin(proc.stdin)

            def kill():
                state["killed"] = True
                try:
                    proc.kill()
                except OSError:
                    pass
            state["timer"] = threading.Timer(limit, kill)
            state["timer"].daemon = True
            state["timer"].start()

        self._starting.acquire()
        try:
            if self._abandon and not handle_exceptions:
                raise _Abandoned(" ".join(command))
            rc, out, err = self.module.run_command(
                command, data=data, binary_data=True, environ_update=C_LOCALE, expand_user_and_vars=False,
                before_communicate_callback=watchdog, check_rc=False,
                **({} if handle_exceptions else {"handle_exceptions": False}))
        except BaseException:
            proc = state["proc"]
            if proc is not None and not handle_exceptions and proc.poll() is None:
                try:  # the pool's error path: no tool outlives its call
                    proc.kill()
                    proc.wait()
                except OSError:
                    pass
            raise
        finally:
            if state["locked"]:
                self._starting.release()
            if state["timer"] is not None:
                state["timer"].cancel()
            if state["proc"] is not None and not handle_exceptions:
                with self._starting:
                    self._live.discard(state["proc"])
        return rc, out, err, state["killed"]

    def run(self, tool, args, data=None, ok_codes=(0,), timeout=None):
        """Run ``tool`` with ``args``; ``data`` goes to stdin exactly as given (never on argv).

        Returns a Result. Raises ToolError when the tool is missing, times out, or exits
        with a code outside ``ok_codes`` (None accepts any exit code).
        """
        command = self._command(tool, args)
        limit = self.timeout if timeout is None else timeout
        if data is not None and not self._detached:
            self._detached = True
            detach_from_terminal()
        rc, out, err, killed = self._outcome(command, data, limit)
        self.calls.append(command)
        if killed:
            raise ToolError("%s did not finish within %s seconds and was stopped; raise the module's timeout "
                            "option if this Mac is slow" % (" ".join(command), limit), command=command, rc=rc,
                            out=out, err=err)
        if ok_codes is not None and rc not in ok_codes:
            raise ToolError("%s failed with exit code %s: %s" % (" ".join(command), rc, (err or out).strip()),
                            command=command, rc=rc, out=out, err=err)
        return Result(command, rc, out, err)

    def converse(self, tool, args, answers, timeout=None):
        """Run ``tool`` on a new pseudo-terminal and answer its prompts; for tools that read secrets only there.

        ``answers`` is a list of ``(prompt regex, text, secret)`` answered in order, each once its prompt
        appears; secret answers are removed from the transcript.
        The tool gets the terminal as its controlling terminal, so it reads from ``/dev/tty`` as it would for
        a person; nothing secret is ever on argv. Returns a Result whose ``out`` is the transcript (stdout and
        stderr share the terminal) with every answer removed. run_command cannot provide a terminal, which is
        why this one path forks itself; it is time-bound like every other call.
        """
        import pty

        command = [self.path(tool)] + [str(a) for a in args]
        limit = self.timeout if timeout is None else timeout
        env = dict(os.environ)
        env.update(C_LOCALE)
        pid, fd = pty.fork()
        if pid == 0:  # the child: pty.fork made the terminal its controlling terminal
            try:
                os.execve(command[0], command, env)
            finally:
                os._exit(127)
        pending = [(re.compile(pattern), text) for pattern, text, dummy_secret in answers]
        transcript, since_answer = [], ""
        deadline = time.time() + limit
        killed = False
        try:
            while True:
                remaining = deadline - time.time()
                if remaining <= 0:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    break
                ready, dummy_w, dummy_x = select.select([fd], [], [], min(remaining, 0.5))
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                text = chunk.decode("utf-8", "replace")
                transcript.append(text)
                since_answer += text
                if pending and pending[0][0].search(since_answer):
                    os.write(fd, (pending.pop(0)[1] + "\n").encode("utf-8"))
                    since_answer = ""
        finally:
            dummy_pid, status = os.waitpid(pid, 0)
            os.close(fd)
        out = "".join(transcript).replace("\r\n", "\n")
        for dummy_pattern, text, secret in answers:
            if secret and text:
                out = out.replace(text, "********")
        rc = -signal.SIGKILL if killed else (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
        self.calls.append(command)
        if killed:
            raise ToolError("%s did not finish within %s seconds and was stopped (it may be waiting at a prompt)"
                            % (" ".join(command), limit), command=command, rc=rc, out=out)
        return Result(command, rc, out, "")

    def read(self, tool, args, parser):
        """Run a read and parse its stdout; the text decides, not the exit code.

        Exit codes of reads differ between releases and sources (``fdesetup status`` exits 0 when FileVault is
        off on most Macs and 1 by its man page), so any exit code is accepted when the output parses; output that
        does not parse fails with the command, its exit code and what it printed.
        """
        result = self.run(tool, args, ok_codes=None)
        if result.rc != 0 and not result.out.strip():
            raise ToolError("%s failed with exit code %s: %s" % (" ".join(result.command), result.rc,
                                                                 (result.err or "(no output)").strip()),
                            command=result.command, rc=result.rc, out=result.out, err=result.err)
        try:
            return parser(result.out)
        except ParseError as exc:
            exc.command = result.command
            detail = exc.message() + ("; it exited with %s" % result.rc if result.rc else "")
            if result.err.strip():
                detail += "; stderr: %s" % result.err.strip()[:500]
            raise ToolError(detail, command=result.command, rc=result.rc, out=result.out, err=result.err)

    def parse(self, parser, result, text=None):
        """Apply a parser to a result's output; a ParseError names the command and quotes the output."""
        try:
            return parser(result.out if text is None else text)
        except ParseError as exc:
            exc.command = result.command
            raise ToolError(exc.message(), command=result.command, rc=result.rc, out=result.out, err=result.err)
