# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner with real processes: a tool that exits before reading its stdin is answered by its own output."""

from __future__ import annotations

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _runner


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
