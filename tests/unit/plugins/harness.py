# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one fake Mac of the unit tests, and the one way to run a module against it.

A :class:`FakeMac` answers Apple's tools from one of two backends:

* :meth:`FakeMac.sim`: macsim's tool implementations, run in-process on a host directory made from a macsim state
  document (``macsim.store.create_host``), so a change a module makes is really made and read back;
* :meth:`FakeMac.table`: a table of raw tool output keyed by ``(tool, argv...)``, for the tests that need exact
  text (the parser samples, formats no macsim release prints, broken output).

Every call is recorded as a :class:`Call` ``(tool, argv, stdin)`` (a call answered at a terminal also keeps what was
typed there), and :meth:`FakeMac.fault` injects a fault per call: another exit code and output, a tool that is
absent, a tool that hangs until the runner's timeout stops it.

The fake is put in at the command boundary only, so the collection's own Runner (its argv, exit-code judgement,
timeouts and error messages) runs unchanged: ``AnsibleModule.run_command`` answers from the fake,
``_runner.tool_exists`` asks it whether a tool is installed, and ``Runner.converse`` (the one path that forks a
pseudo-terminal) types its answers into the fake's terminal. :class:`SimRunner` is a Runner on a macsim host for code
that takes a runner directly; :class:`Harness` (the ``harness`` fixture of tests/unit/plugins/conftest.py) runs a
module's ``main()`` in-process and checks that no secret reached an argv or the result.
"""

from __future__ import annotations

import contextlib
import io
import json
import plistlib
import re
import subprocess
import threading

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _filevault, _runner

NAMES = dict((path, name) for name, path in _runner.TOOLS.items())
MASK = "********"
#: the result fields that hand a secret to the action plugin on purpose (it takes them out of the task result)
KEY_FIELDS = ("recovery_key", "recovery_key_info")
HANG_CAP = 30  # seconds a hanging call waits for the runner's watchdog before the test fails


class Call(object):
    """One tool run: the tool's short name, its arguments, what it read on stdin; ``typed`` holds what was answered
    at its terminal (``Runner.converse``), ``fault`` the fault that answered it, if any."""

    __slots__ = ("tool", "argv", "stdin", "typed", "fault")

    def __init__(self, tool, argv, stdin=None, typed=None, fault=None):
        self.tool, self.argv, self.stdin, self.typed, self.fault = tool, list(argv), stdin, typed, fault

    @property
    def words(self):
        return [self.tool] + self.argv

    def text(self):
        """The stdin as text (run_command may be handed bytes)."""
        data = self.stdin
        return data.decode("utf-8") if isinstance(data, bytes) else data

    def __iter__(self):
        return iter((self.tool, self.argv, self.stdin))

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "Call(%r, %r, %r)" % (self.tool, self.argv, self.stdin)


FDESETUP_READS = ("status", "supportsauthrestart", "list", "haspersonalrecoverykey", "hasinstitutionalrecoverykey",
                  "showdeferralinfo", "isactive")


def is_read(call):
    """A call that only reads the Mac; every other call acts on it, authenticates or validates."""
    tool, argv = call.tool, call.argv
    if tool in ("sw_vers", "uname", "sysctl", "ls"):
        return True
    if tool == "diskutil":
        return argv[:2] == ["apfs", "listCryptoUsers"]
    if tool == "fdesetup":
        return argv[:1] != [] and argv[0] in FDESETUP_READS
    if tool == "profiles":
        return argv[:1] == ["status"]
    if tool == "dscl":
        return "-authonly" not in argv
    return False


def view(call):
    """A call as the tests' tables write it: ``(tool, argv, input)``, where input is what was typed at its terminal
    (a list), the property list it read on stdin (a dict), its stdin text, or None."""
    if call.typed is not None:
        return call.tool, call.argv, list(call.typed)
    data = call.text()
    if data is not None and data.lstrip().startswith("<?xml"):
        return call.tool, call.argv, plistlib.loads(data.encode("utf-8"))
    return call.tool, call.argv, data


class Fault(object):
    """What a matching call gets instead of (or, with ``act``, after) the backend's answer.

    A call matches when its tool is ``tool`` and every word of ``words`` is one of its arguments; the first ``skip``
    matching calls are left alone, then ``times`` calls (None: every later one) get the fault. ``rc``, ``out`` and
    ``err`` replace what the tool answered (a value left None keeps the backend's); ``reply(call, answer)`` computes
    the answer instead. ``absent`` makes the tool missing from the Mac, ``hang`` makes the call run until the
    runner's watchdog kills it (give the module a short timeout).
    """

    def __init__(self, tool, words=(), rc=None, out=None, err=None, act=False, absent=False, hang=False, skip=0,
                 times=None, reply=None):
        self.tool, self.words, self.rc, self.out, self.err = tool, tuple(words), rc, out, err
        self.act, self.absent, self.hang, self.skip, self.times, self.reply = act, absent, hang, skip, times, reply
        self.seen = self.fired = 0

    def matches(self, tool, argv):
        return tool == self.tool and all(word in argv for word in self.words)

    def take(self):
        """Count one matching call; True when the fault fires on it."""
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True

    def answer(self, call, answer):
        if self.reply is not None:
            return self.reply(call, answer)
        rc, out, err = answer if answer is not None else (0, "", "")
        return (rc if self.rc is None else self.rc, out if self.out is None else self.out,
                err if self.err is None else self.err)


class _HungProcess(object):
    """What the runner's watchdog is handed for a hanging call: killing it ends the call."""

    stdin = None

    def __init__(self):
        self.killed = threading.Event()

    def kill(self):
        self.killed.set()


class _Terminal(io.TextIOBase):
    """The pseudo-terminal of ``Runner.converse`` for an in-process tool: each answer is typed once the text written
    since the last one matches its prompt; a read no answer fits is a tool left waiting at its prompt."""

    def __init__(self, answers):
        super(_Terminal, self).__init__()
        self.pending = [(re.compile(pattern), text) for pattern, text, dummy_secret in answers]
        self.screen, self.since, self.typed, self.stuck = [], "", [], False

    def writable(self):
        return True

    def readable(self):
        return True

    def write(self, text):
        self.screen.append(text)
        self.since += text
        return len(text)

    def echo(self, line):  # macsim: a terminal with echo on shows what is typed at a prompt that is not secret
        self.write(line)

    def readline(self, size=-1):
        if self.pending and self.pending[0][0].search(self.since):
            text = self.pending.pop(0)[1]
            self.typed.append(text)
            self.since = ""
            return text + "\n"
        self.stuck = True
        return ""

    def read(self, size=-1):
        return self.readline()

    def transcript(self):
        return "".join(self.screen).replace("\r\n", "\n")


class SimBackend(object):
    """macsim's tools in-process on one host directory; ls runs for real on the host's file system."""

    def __init__(self, host_dir, keys=()):
        self.host_dir = str(host_dir)
        self.keys = list(keys)  # the recovery keys the Mac makes next (enable, changerecovery), in order

    @contextlib.contextmanager
    def _keys(self):
        if not self.keys:
            yield
            return
        from macsim import mac as sim_mac

        real = sim_mac.new_recovery_key

        def next_key():
            return self.keys.pop(0) if self.keys else real()
        with _patched(sim_mac, "new_recovery_key", next_key):
            yield

    def secrets(self):
        """Every password and recovery key the Mac holds now."""
        state = self.state()
        fv = state["filevault"]
        return set([u["password"] for u in state["users"] if u.get("password")] +
                   [k for k in (fv["personal_recovery_key"], fv["escrowed_key"]) if k] + self.keys)

    def state(self):
        from macsim.store import HostStore

        return HostStore(self.host_dir).load()

    def edit(self, change):
        """Change the simulated Mac's state: ``change(state)`` edits the document in place."""
        from macsim.store import HostStore

        with HostStore(self.host_dir).transaction() as state:
            change(state)

    def full_disk_access(self):
        return bool(self.state().get("remote_login_full_disk_access"))

    def run(self, tool, argv, stdin):
        from macsim.tools import IMPLS, call

        if tool in IMPLS:
            with self._keys():
                return call(tool, self.host_dir, list(argv), stdin=stdin or "")
        assert tool in ("ls",), "%s is not simulated here and must not run on this machine" % tool
        local = [self.host_dir + a if a.startswith("/") else a for a in argv]
        done = subprocess.run(["/bin/" + tool] + local, capture_output=True, text=True, input=stdin, check=False)
        return done.returncode, done.stdout, done.stderr

    def converse(self, tool, argv, terminal):
        from macsim.runtime import run_tool
        from macsim.tools import IMPLS

        with self._keys():
            return run_tool(tool, self.host_dir, list(argv), IMPLS[tool], stdin=terminal, stdout=terminal,
                            stderr=terminal, tty=terminal, euid=0)


class TableBackend(object):
    """Raw output by ``(tool, argv...)``: a string (exit 0), or ``(rc, stdout, stderr)``. ``dscl . -readall /Users``
    is looked up by its first four words; a ``dscl /Search -read`` of an account the table lacks is not found; any
    other call the table lacks fails the test. ``passwords`` answers ``dscl -authonly`` at its prompt."""

    FDA = True

    def __init__(self, outputs, passwords=None, full_disk_access=True):
        self.outputs, self.passwords, self.fda = dict(outputs), dict(passwords or {}), full_disk_access

    def full_disk_access(self):
        return self.fda

    def secrets(self):
        return set(self.passwords.values())

    def run(self, tool, argv, stdin):
        key = tuple([tool] + list(argv))
        if key[:4] == ("dscl", ".", "-readall", "/Users"):
            key = key[:4]
        if key[:3] == ("dscl", "/Search", "-read"):
            value = self.outputs.get(key[:4], (56, "", "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n"))
        else:
            value = self.outputs.get(key)
        if value is None:
            raise AssertionError("unexpected command %r" % (key,))
        return value if isinstance(value, tuple) else (0, value, "")

    def converse(self, tool, argv, terminal):
        if tool == "dscl" and "-authonly" in argv:
            terminal.write("Password:")
            typed = terminal.readline().rstrip("\n")
            if self.passwords.get(argv[-1]) == typed and not terminal.stuck:
                return 0
            terminal.write("Authentication for node /Local/Default failed. (-14090, eDSAuthFailed)\n"
                           "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)\n")
            return 255
        raise AssertionError("no terminal answer for %s %r in the table" % (tool, argv))


class FakeMac(object):
    """One Mac at the command boundary; see the module docstring."""

    def __init__(self, backend):
        self.backend = backend
        self.calls = []
        self.faults = []
        self.secrets = set()  # recovery keys and the like that no argv or result may hold

    @classmethod
    def sim(cls, state, directory, keys=()):
        """A Mac from a macsim state document, written to ``directory`` (a new host directory); ``keys`` are the
        recovery keys it makes next, in order (else macsim makes random ones)."""
        store = pytest.importorskip("macsim.store")
        store.create_host(str(directory), json.loads(json.dumps(state)))
        mac = cls(SimBackend(directory, keys))
        mac.secrets |= mac.backend.secrets()
        return mac

    @classmethod
    def table(cls, outputs, passwords=None, full_disk_access=True):
        return cls(TableBackend(outputs, passwords, full_disk_access))

    # ---- faults ----------------------------------------------------------------------------------------------
    def fault(self, tool, *words, **how):
        """Inject a fault on the calls of ``tool`` with every one of ``words``; see :class:`Fault`."""
        fault = Fault(tool, words, **how)
        self.faults.append(fault)
        return fault

    def absent(self, *tools):
        """Take ``tools`` off the Mac: the runner finds no file at their paths."""
        for tool in tools:
            self.fault(tool, absent=True)

    def _fault_for(self, tool, argv):
        for fault in self.faults:
            if not fault.absent and fault.matches(tool, argv) and fault.take():
                return fault
        return None

    # ---- the seams ---------------------------------------------------------------------------------------------
    def tool_exists(self, path):
        """Replaces ``_runner.tool_exists``: Apple's tools are all there unless a fault says otherwise."""
        name = NAMES.get(path)
        assert name is not None, "the runner asked for %s, which is not one of the tools it knows" % path
        return not any(f.absent and f.tool == name for f in self.faults)

    def run_command(self, args, data=None, before_communicate_callback=None, environ_update=None, **kwargs):
        """Replaces ``AnsibleModule.run_command`` (the runner's only way to start a tool)."""
        assert args[0] in NAMES, "not an absolute Apple tool path: %r" % (args,)
        assert environ_update == _runner.C_LOCALE, environ_update
        tool, argv = NAMES[args[0]], [str(a) for a in args[1:]]
        call = Call(tool, argv, data)
        self.calls.append(call)
        fault = self._fault_for(tool, argv)
        call.fault = fault
        if fault is not None and fault.hang:
            proc = _HungProcess()
            before_communicate_callback(proc)
            assert proc.killed.wait(HANG_CAP), "the runner's watchdog did not stop a hung %s" % tool
            return -9, "", ""
        if fault is not None and not fault.act:
            return fault.answer(call, None)
        answer = self.backend.run(tool, argv, call.text())
        return answer if fault is None else fault.answer(call, answer)

    def converse(self, runner, tool, args, answers, timeout=None):
        """Replaces ``Runner.converse``: the answers are typed at the tool's terminal, never passed on argv; the
        Result's ``out`` is the transcript with every secret answer masked, as the real method returns it."""
        command = [runner.path(tool)] + [str(a) for a in args]
        limit = runner.timeout if timeout is None else timeout
        argv = command[1:]
        terminal = _Terminal(answers)
        call = Call(tool, argv, None, typed=terminal.typed)
        self.calls.append(call)
        fault = self._fault_for(tool, argv)
        call.fault = fault
        rc = None
        if fault is None or fault.act:
            rc = self.backend.converse(tool, argv, terminal)
        out = terminal.transcript()
        for dummy_pattern, text, secret in answers:
            if secret and text:
                out = out.replace(text, MASK)
        if fault is not None and not fault.hang:
            rc, out, dummy_err = fault.answer(call, (rc, out, ""))
        runner.calls.append(command)
        if (fault is not None and fault.hang) or terminal.stuck:
            raise _runner.ToolError("%s did not finish within %s seconds and was stopped (it may be waiting at a "
                                    "prompt)" % (" ".join(command), limit), command=command, rc=-9, out=out)
        return _runner.Result(command, rc, out, "")

    def open_tcc(self, path, mode="rb"):
        """The opener ``_filevault.full_disk_access`` probes the TCC database with on this Mac."""
        assert path == _filevault.TCC_DB and mode == "rb", (path, mode)
        if not self.backend.full_disk_access():
            raise OSError(1, "Operation not permitted", path)
        return io.BytesIO(b"SQLite format 3\x00")

    def install(self, monkeypatch):
        """Put this Mac at the command boundary for the rest of the test."""
        mac = self
        real_probe = _filevault.full_disk_access.__wrapped__ if hasattr(
            _filevault.full_disk_access, "__wrapped__") else _filevault.full_disk_access

        def converse(runner, tool, args, answers, timeout=None):
            return mac.converse(runner, tool, args, answers, timeout)

        def probe(opener=None):
            return real_probe(mac.open_tcc)
        probe.__wrapped__ = real_probe

        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda module, *a, **kw: mac.run_command(*a, **kw))
        monkeypatch.setattr(_runner.Runner, "converse", converse)
        monkeypatch.setattr(_runner, "tool_exists", self.tool_exists)
        monkeypatch.setattr(_filevault, "full_disk_access", probe)

    # ---- what happened ---------------------------------------------------------------------------------------
    def state(self):
        return self.backend.state()

    def edit(self, change):
        self.backend.edit(change)

    def words(self, *tools):
        """Each call as ``[tool] + argv``, only those of ``tools`` when given."""
        return [c.words for c in self.calls if not tools or c.tool in tools]

    def find(self, tool, *words):
        """The calls of ``tool`` whose arguments include every one of ``words``."""
        return [c for c in self.calls if c.tool == tool and all(w in c.argv for w in words)]

    def typed(self):
        return [list(c.typed) for c in self.calls if c.typed is not None]

    def acts(self):
        """Every call that is not a read, as :func:`view` writes it: what the tables of expected calls list."""
        return [view(c) for c in self.calls if not is_read(c)]

    def reads(self, *words):
        return [c for c in self.calls if is_read(c) and all(w in c.words for w in words)]


class SimRunner(_runner.Runner):
    """The collection's Runner on one macsim host directory, for code that takes a runner (``_info.gather``)."""

    def __init__(self, host_dir, timeout=_runner.DEFAULT_TIMEOUT):
        self.mac = FakeMac(SimBackend(host_dir))
        self.host_dir = str(host_dir)
        super(SimRunner, self).__init__(module=_Boundary(self.mac), timeout=timeout)

    def path(self, tool):
        with _patched(_runner, "tool_exists", self.mac.tool_exists):
            return super(SimRunner, self).path(tool)

    def converse(self, tool, args, answers, timeout=None):
        return self.mac.converse(self, tool, args, answers, timeout)


class _Boundary(object):
    """The part of AnsibleModule the runner uses."""

    def __init__(self, mac):
        self.run_command = mac.run_command


@contextlib.contextmanager
def _patched(owner, name, value):
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def fault(tool, *words, **how):
    """A fault for a table row, applied to the row's Mac: the arguments of :meth:`FakeMac.fault`."""
    return tool, words, how


def _with_faults(mac, faults):
    for tool, words, how in faults:
        mac.fault(tool, *words, **how)
    return mac


def expect(outcome, mac=None, result=None, msg=None, acts=None):
    """A table row's expectations: ``msg`` is part of the failure message (None: the module must not fail),
    ``result`` fields equal, ``acts`` the exact non-read calls (:meth:`FakeMac.acts`)."""
    if msg is None:
        assert not outcome.get("failed"), outcome.get("msg")
    else:
        assert outcome.get("failed") is True and msg in outcome["msg"], outcome.get("msg")
    for name, value in (result or {}).items():
        assert outcome.get(name) == value, (name, outcome.get(name))
    if acts is not None:
        got = mac.acts()
        assert got == acts, "the calls that acted were:\n" + "\n".join(repr(c) for c in got)


# ---- running a module -----------------------------------------------------------------------------------------
class Outcome(dict):
    """A module's result as Ansible receives it (printed, no_log values masked); ``raw`` is what the module handed
    exit_json or fail_json, before any masking; ``warnings`` the texts it gave AnsibleModule.warn."""

    raw = None
    warnings = ()


def secrets_of(args):
    """The passwords and keys among a module's arguments (``user_passwords`` values and ``users[].password`` too): the
    options CONTRIBUTING.md says secrets are named by."""
    found = []

    def walk(value, secret):
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, secret or "password" in name or "secret" in name or name == "recovery_key")
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, secret)
        elif isinstance(value, str) and secret:
            found.append(value)
    walk(args, False)
    return found


def checkable(secret):
    """A secret that cannot turn up in a message by chance: 'wrong' or 'x' can, 'alice-secret' cannot."""
    return bool(secret) and (len(secret) >= 6 or not secret.isalpha()) and len(secret) >= 4


def assert_no_secret(mac, result, secrets, allowed=()):
    """No secret on any argv, and none in the result outside the ``allowed`` fields."""
    secrets = [s for s in set(secrets) | mac.secrets | mac.backend.secrets() if checkable(s)]
    for call in mac.calls:
        line = " ".join(call.words)
        for secret in secrets:
            assert secret not in line, "a secret was on the argv of %s" % call.tool
    for name, value in (result or {}).items():
        if name in allowed:
            continue
        text = json.dumps(value, default=str)
        for secret in secrets:
            assert secret not in text, "a secret is in the result field %s" % name


class Harness(object):
    """Runs a module's main() in-process against a FakeMac (the ``harness`` fixture)."""

    def __init__(self, monkeypatch, capsys, tmp_path):
        self.monkeypatch, self.capsys, self.tmp_path = monkeypatch, capsys, tmp_path
        self.hosts = 0

    def sim(self, state, faults=(), keys=()):
        """A simulated Mac from a macsim state document; ``faults`` are :func:`fault` tuples, ``keys`` the recovery
        keys it makes next."""
        self.hosts += 1
        return _with_faults(FakeMac.sim(state, self.tmp_path / ("mac%d" % self.hosts), keys), faults)

    def table(self, outputs, passwords=None, full_disk_access=True, faults=()):
        """A Mac answering from raw output; see :class:`TableBackend`."""
        return _with_faults(FakeMac.table(outputs, passwords, full_disk_access), faults)

    def run(self, module, args, mac, check=False, diff=False, allowed=KEY_FIELDS):
        """Run ``module.main()`` with ``args`` on ``mac``; return its Outcome. Fails the test when a secret of the
        arguments (or one the Mac knows) is on an argv or in the result outside ``allowed``."""
        mac.install(self.monkeypatch)
        raw, warnings = {}, []
        real_exit, real_fail = basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json
        real_warn = basic.AnsibleModule.warn

        def warn(module_self, warning, *args, **kwargs):
            warnings.append(warning)
            real_warn(module_self, warning, *args, **kwargs)

        def exit_json(module_self, **kwargs):
            raw.update(kwargs)
            real_exit(module_self, **kwargs)

        def fail_json(module_self, msg, **kwargs):
            raw.update(kwargs, msg=msg, failed=True)
            real_fail(module_self, msg, **kwargs)

        self.capsys.readouterr()
        with _patched(basic.AnsibleModule, "exit_json", exit_json), \
                _patched(basic.AnsibleModule, "fail_json", fail_json), _patched(basic.AnsibleModule, "warn", warn):
            with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
                with pytest.raises(SystemExit):
                    module.main()
        printed = self.capsys.readouterr().out
        outcome = Outcome(json.loads(printed))
        outcome.raw, outcome.warnings = raw, warnings
        secrets = secrets_of(args)
        assert_no_secret(mac, raw, secrets, allowed)
        assert_no_secret(mac, outcome, secrets, allowed)
        return outcome
