# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads in parallel: on every shipped macsim host the parallel gather's model, calls and failures are the serial
gather's; the reads overlap, never more than asked, and a read that needs another read starts after it ended.
Nothing here measures time: overlap is observed by the reads themselves (the first one waits for a second)."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _info, _runner
from ansible_collections.macops.tokens.plugins.module_utils._mac import (
    ALL_PARTS, USER_KEYS, gather, independent_reads)
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner, ToolError

macsim_fleet = pytest.importorskip("macsim.fleet")  # installed by make venv, so make units always has it
from macsim import mac as macsim_mac  # noqa: E402
from macsim import store  # noqa: E402
from macsim.tools import IMPLS, call  # noqa: E402

HOSTS = macsim_fleet.load_scenario("all")["hosts"]
READ_ALL = ("dscl", ".", "-readall", "/Users") + tuple(USER_KEYS)
ENROLLMENT = ("profiles", "status", "-type", "enrollment")
BOOTSTRAP = ("profiles", "status", "-type", "bootstraptoken")
LS_USERS = ("ls", "-1", "/Users")
ADMINS = ("dscl", ".", "-read", "/Groups/admin", "GroupMembership")
WAIT = 30  # seconds a read waits for another one at most; reached only when the reads do not overlap


def _readable(host):
    state = host["state"]
    return not (state.get("python") in ("none", "stub") or host.get("faults") or state.get("faults"))


class TracedSimRunner(Runner):
    """The real Runner (ahead, in_parallel, judging, calls) with macsim's tools run in-process as its tools.

    Every tool run records its start and end in one sequence, and how many ran at once. ``faults`` maps an argv to
    ``(rc, out, err, killed)`` or to a function returning that; ``overlap`` makes the first read wait (at most
    WAIT seconds) until a second one has started.
    """

    gave_up = threading.Event()

    def __init__(self, host_dir, parallel=1, faults=None, overlap=False, before=None, ended=None):
        super(TracedSimRunner, self).__init__(module=None, parallel=parallel)
        self.host_dir = host_dir
        self.faults = faults or {}
        self.overlap = overlap
        self.before, self.ended = before, ended  # called with the argv before a read runs and after it ended
        self.events, self.executed = [], []
        self.active = self.most = 0
        self._trace = threading.Lock()
        self._second = threading.Event()

    def path(self, tool):
        return tool  # the simulated tools have no path on this machine

    def _start(self, command, data, limit, handle_exceptions=True):
        key = tuple(command)
        with self._trace:
            self.active += 1
            self.most = max(self.most, self.active)
            first = not self.executed
            self.executed.append(key)
            self.events.append(("start", key))
            if self.active > 1:
                self._second.set()
        try:
            if first and self.overlap and not TracedSimRunner.gave_up.is_set():
                if not self._second.wait(WAIT):
                    TracedSimRunner.gave_up.set()  # the reads do not overlap: one wait shows it, no need for more
            if self.before:
                self.before(key)
            if key in self.faults:
                fault = self.faults[key]
                return fault() if callable(fault) else fault
            return self._simulate(command, data)
        finally:
            with self._trace:
                self.active -= 1
                self.events.append(("end", key))
            if self.ended:
                self.ended(key)

    def _simulate(self, command, data):
        tool, args = command[0], command[1:]
        if tool in IMPLS:
            rc, out, err = call(tool, self.host_dir, args, stdin=data or "")
        else:  # the plain Unix tools (ls) run for real, on the Mac's file system under its host directory
            argv = [self.host_dir + a if a.startswith("/") else a for a in args]
            done = subprocess.run(["/bin/" + tool] + argv, capture_output=True, text=True, input=data, check=False)
            rc, out, err = done.returncode, done.stdout, done.stderr
        return rc, out, err, False

    def position(self, kind, key):
        return self.events.index((kind, key))


def _read(runner, state):
    try:
        return gather(runner, managed_admins=state.get("managed_admins") or []), None
    except ToolError as exc:
        return None, (str(exc), exc.details())


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Every readable shipped host read serially and in parallel (4 at a time), each on its own copy of the Mac,
    with the Macs' clock stopped so that both readings see the same moment."""
    out = {}
    patch = pytest.MonkeyPatch()
    try:
        for name, host in sorted(HOSTS.items()):
            if not _readable(host):
                continue
            state = dict(host["state"])
            runners = []
            for parallel in (1, 4):
                directory = str(tmp_path_factory.mktemp("%s-%d" % (name, parallel)))
                store.create_host(directory, state)
                runners.append(TracedSimRunner(directory, parallel=parallel, overlap=parallel > 1))
            now = macsim_mac.time.time()
            patch.setattr(macsim_mac.Mac, "now", lambda self, now=now: now + float(self.state["clock"]["offset"]))
            out[name] = [(runner, _read(runner, state)) for runner in runners]
    finally:
        patch.undo()
    return out


def test_every_shipped_host_is_compared(pairs):
    assert len(pairs) >= 30, sorted(pairs)
    read = [name for name, ((serial, (model, error)), dummy) in pairs.items() if model is not None]
    assert len(read) >= 30, sorted(pairs)


def test_the_parallel_gather_is_the_serial_gather_on_every_shipped_host(pairs):
    for name, ((serial, (model, error)), (parallel, (p_model, p_error))) in sorted(pairs.items()):
        assert p_model == model, name
        assert p_error == error, name
        assert parallel.calls == serial.calls, name  # recorded at their turn: the serial order
        assert serial.executed == [tuple(c) for c in serial.calls], name
        assert sorted(parallel.executed) == sorted(serial.executed), name  # no read more, none less
        if model is not None:
            assert model["tool_calls"] == p_model["tool_calls"] == len(serial.calls), name


def test_the_reads_overlap_never_beyond_the_bound(pairs):
    for name, ((serial, dummy), (parallel, dummy_result)) in sorted(pairs.items()):
        assert serial.most == 1, name
        assert 1 < parallel.most <= parallel.parallel, name


def test_a_read_that_needs_another_starts_after_it_ended(pairs):
    searched = bootstrapped = 0
    for name, (dummy, (parallel, dummy_result)) in sorted(pairs.items()):
        for kind, key in parallel.events:
            if kind != "start":
                continue
            if key == BOOTSTRAP:
                assert parallel.position("end", ENROLLMENT) < parallel.position("start", key), name
                bootstrapped += 1
            if key[:2] == ("dscl", "/Search"):
                for needed in (READ_ALL, LS_USERS):
                    assert parallel.position("end", needed) < parallel.position("start", key), (name, key)
                searched += 1
        # the independent reads were all started before any dependent one
        independent = set(tuple([tool] + args) for tool, args in independent_reads(ALL_PARTS))
        starts = [key for kind, key in parallel.events if kind == "start"]
        dependent = [i for i, key in enumerate(starts) if key not in independent]
        assert not dependent or all(i < dependent[0] for i, key in enumerate(starts) if key in independent), name
    assert searched >= 1 and bootstrapped >= 1, (searched, bootstrapped)


@pytest.fixture(scope="module")
def rich(pairs):
    """Shipped hosts whose gather makes a read needing another: the bootstrap token status (it needs the
    enrollment) and a home folder's directory lookup (it needs the accounts and /Users); argv and host state."""
    found = {}
    for name, ((serial, (model, dummy)), dummy_parallel) in sorted(pairs.items()):
        searches = [key for key in serial.executed if key[:2] == ("dscl", "/Search")]
        if model is not None and BOOTSTRAP in serial.executed:
            found.setdefault("bootstrap", (BOOTSTRAP, dict(HOSTS[name]["state"])))
        if model is not None and searches:
            found.setdefault("search", (searches[0], dict(HOSTS[name]["state"])))
    assert sorted(found) == ["bootstrap", "search"]
    return found


def _host(tmp_path, label, state):
    directory = str(tmp_path / label)
    store.create_host(directory, state)
    return directory


@pytest.mark.parametrize("fault", ["timeout", "exit code", "garbage", "dependent garbage", "dependent timeout"])
def test_a_failure_in_one_parallel_read_is_the_serial_failure(tmp_path, rich, fault):
    search, search_host = rich["search"]
    key, state = {"timeout": (("fdesetup", "list"), None), "exit code": (ENROLLMENT, None),
                  "garbage": (READ_ALL, None), "dependent garbage": (search, search_host),
                  "dependent timeout": (BOOTSTRAP, None)}[fault]
    state = state or rich["bootstrap"][1]
    outcome = {"timeout": (-9, "", "", True), "exit code": (1, "", "profiles: error -1\n", False),
               "garbage": (0, "#@%& not a record\n", "", False), "dependent garbage": (0, "#@%&\n", "", False),
               "dependent timeout": (-9, "", "", True)}[fault]
    results = []
    for parallel in (1, 4):
        runner = TracedSimRunner(_host(tmp_path, str(parallel), state), parallel=parallel, faults={key: outcome})
        model, error = _read(runner, state)
        assert model is None and error is not None, fault
        results.append((error, runner.calls))
    assert results[0] == results[1]
    assert results[0][1][-1] == list(key)  # the failing read is the last one recorded, as serially


def test_the_first_failure_in_serial_order_wins_when_a_later_read_fails_first(tmp_path, rich):
    state = rich["bootstrap"][1]
    later_failed = threading.Event()

    def first():  # sw_vers, the first read, fails only once the last independent read has failed and ended
        later_failed.wait(WAIT)
        return 1, "", "sw_vers: first\n", False

    faults = {("sw_vers",): (1, "", "sw_vers: first\n", False), ADMINS: (1, "", "dscl: last\n", False)}
    serial = TracedSimRunner(_host(tmp_path, "serial", state), faults=faults)
    parallel = TracedSimRunner(_host(tmp_path, "parallel", state), parallel=4, faults=dict(faults),
                               ended=lambda key: key == ADMINS and later_failed.set())
    parallel.faults[("sw_vers",)] = first
    expected = _read(serial, state)
    assert _read(parallel, state) == expected and "sw_vers: first" in expected[1][0]
    assert parallel.position("end", ADMINS) < parallel.position("end", ("sw_vers",))
    assert parallel.calls == serial.calls == [["sw_vers"]]


def test_the_reads_queued_behind_a_failure_are_never_started(tmp_path, rich):
    """Two at a time: sw_vers fails at once while the other thread's read lasts until the gather has given up."""
    state = rich["bootstrap"][1]
    holder = {}

    def hold(key):  # every read but the failing one lasts until the failed gather has closed its pool
        for dummy in range(WAIT * 100):
            if holder["runner"]._pool is None:
                return
            threading.Event().wait(0.01)

    runner = TracedSimRunner(_host(tmp_path, "h", state), parallel=2, faults={("sw_vers",): (1, "", "no\n", False)},
                             before=lambda key: key != ("sw_vers",) and hold(key))
    holder["runner"] = runner
    dummy, error = _read(runner, state)
    assert "sw_vers failed" in error[0] and runner.calls == [["sw_vers"]]
    assert 2 <= len(runner.executed) <= 3  # sw_vers, the read beside it, and at most the one taken after sw_vers
    assert runner._pool is None and not runner._ahead and not runner._live


# Real processes through AnsibleModule.run_command, from the pool's threads.

@pytest.fixture
def module():
    with patch_module_args({}):  # kept open: a failing task prints its result through it
        yield AnsibleModule(argument_spec={})


@pytest.fixture
def shell_tools(monkeypatch):
    for tool in ("sw_vers", "uname", "sysctl", "diskutil", "fdesetup", "profiles"):
        monkeypatch.setitem(_runner.TOOLS, tool, "/bin/sh")


SCRIPTS = [("sw_vers", ["-c", "echo sw_vers; echo \"$LANG/$LC_ALL\" >&2"]), ("uname", ["-c", "echo uname"]),
           ("sysctl", ["-c", "echo sysctl; exit 3"]), ("diskutil", ["-c", "echo diskutil"]),
           ("fdesetup", ["-c", "echo fdesetup"]), ("profiles", ["-c", "echo profiles"])]


def _run_scripts(runner, scripts):
    with runner.in_parallel():
        runner.ahead(scripts)
        return [(r.rc, r.out, r.err) for r in (runner.run(tool, args, ok_codes=None) for tool, args in scripts)]


def test_real_tools_in_parallel_answer_as_serially(module, shell_tools):
    serial, parallel = Runner(module, timeout=30), Runner(module, timeout=30, parallel=3)
    assert _run_scripts(parallel, SCRIPTS) == _run_scripts(serial, SCRIPTS)
    assert parallel.calls == serial.calls and serial.calls[0] == ["/bin/sh"] + SCRIPTS[0][1]
    assert _run_scripts(serial, SCRIPTS)[0][2] == "C/C\n"
    assert not parallel._live


def test_a_real_tool_that_hangs_in_parallel_is_stopped_with_the_serial_message(module, shell_tools):
    scripts = SCRIPTS[:2] + [("sysctl", ["-c", "exec sleep 30"])] + SCRIPTS[3:]
    errors = []
    for runner in (Runner(module, timeout=1), Runner(module, timeout=1, parallel=4)):
        with pytest.raises(ToolError) as caught:
            _run_scripts(runner, scripts)
        errors.append((str(caught.value), runner.calls))
        assert not runner._live
    assert errors[0] == errors[1] and "did not finish within 1 seconds" in errors[0][0]


def test_a_real_tool_that_cannot_start_fails_the_task_once_as_serially(module, shell_tools, tmp_path, capsys,
                                                                       monkeypatch):
    not_executable = tmp_path / "uname"
    not_executable.write_text("#!/bin/sh\n")
    os.chmod(str(not_executable), 0o644)
    monkeypatch.setitem(_runner.TOOLS, "uname", str(not_executable))
    failures = []
    for runner in (Runner(module, timeout=30), Runner(module, timeout=30, parallel=4)):
        with pytest.raises(SystemExit):
            _run_scripts(runner, SCRIPTS)
        printed = capsys.readouterr().out.strip().splitlines()
        assert len(printed) == 1  # one failure, printed once
        result = json.loads(printed[0])
        failures.append((result["msg"], result["rc"], result["cmd"], runner.calls))
    assert failures[0] == failures[1] and "Error executing command" in failures[0][0]


class Module(object):
    def __init__(self, parallel):
        self.params = {"timeout": 60, "parallel_reads": parallel, "managed_admins": []}

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def test_parallel_reads_must_be_at_least_one():
    with pytest.raises(AssertionError, match="parallel_reads must be at least 1"):
        _info.read_mac(Module(0), ("os",), runner=TracedSimRunner("/nonexistent"))


def test_read_mac_reads_with_the_option(monkeypatch):
    seen = []

    def gather(runner, managed_admins=(), parts=()):
        seen.append(runner.parallel)
        raise ToolError("read")

    monkeypatch.setattr(_info, "gather", gather)
    for parallel, expected in ((7, 7), (None, 1)):  # a module without the option reads one by one
        with pytest.raises(AssertionError, match="read"):
            _info.read_mac(Module(parallel), ("os",), runner=TracedSimRunner("/nonexistent"))
    assert seen == [7, 1]
