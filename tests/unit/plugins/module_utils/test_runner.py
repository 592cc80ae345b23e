# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner with real processes: a tool that exits before reading its stdin is answered by its own output."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _runner

REAL_DETACH = _runner.detach_from_terminal  # the autouse fixture replaces it for every other test


@pytest.fixture
def module():
    with patch_module_args({}):
        return AnsibleModule(argument_spec={})


def test_a_tool_that_refuses_before_reading_stdin_is_judged_by_its_answer(module, monkeypatch):
    monkeypatch.setitem(_runner.TOOLS, "sysadminctl", "/bin/sh")
    # More than a pipe holds, so the write can only end when the tool closes its stdin: it does, and exits 3.
    data = "x" * (1 << 20)
    result = _runner.Runner(module, timeout=30).run(
        "sysadminctl", ["-c", "exec 0<&-; echo errAuthorizationInteractionNotAllowed >&2; exit 3"], data=data,
        ok_codes=None)
    assert result.rc == 3 and "errAuthorizationInteractionNotAllowed" in result.err


def test_stdin_still_reaches_a_tool_that_reads_it(module, monkeypatch):
    monkeypatch.setitem(_runner.TOOLS, "sysadminctl", "/bin/sh")
    runner = _runner.Runner(module, timeout=30)
    result = runner.run("sysadminctl", ["-c", "read a; read b; echo \"$b/$a\""], data="one\ntwo\n")
    assert result.rc == 0 and result.out == "two/one\n"


def _in_child_on_a_terminal(body):
    """Run ``body()`` in a child whose controlling terminal is a new pty; return what it printed."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.write(1, ("result=%s\n" % body()).encode())
        finally:
            os._exit(0)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out.decode().strip()


def _tty_after_detach():
    # The module is a child of the session's shell, never its leader: detach from a child, as the module does.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, _detach_and_try_the_tty().encode())
        finally:
            os._exit(0)
    os.close(write)
    said = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    return said


def _detach_and_try_the_tty():
    left = REAL_DETACH()
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        still = True
    except OSError:
        still = False
    return "%s,%s" % (left, still)


def test_a_module_on_an_ssh_terminal_leaves_it_so_prompting_tools_read_stdin():
    # ansible without pipelining: the module has the session's terminal; afterwards /dev/tty cannot be opened.
    assert _in_child_on_a_terminal(_tty_after_detach) == "result=True,False"


def test_a_module_without_a_terminal_stays_as_it_is():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()  # a session without a terminal, as a pipelined module or an AWX job has
            sid = os.getsid(0)
            os.write(write, ("%s,%s" % (REAL_DETACH(), os.getsid(0) == sid)).encode())
        finally:
            os._exit(0)
    os.close(write)
    said = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert said == "False,True"  # nothing to leave, and the session is unchanged
