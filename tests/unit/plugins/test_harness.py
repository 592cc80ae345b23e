# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness itself: its secret check catches a leak the printed result would hide, its faults fire where they
say, and its terminal behaves as Runner.converse's does."""

from __future__ import annotations

import types

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _runner
from ansible_collections.macops.tokens.tests.unit.plugins.harness import SimRunner, assert_no_secret
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import HEALTHY, HEALTHY_STATE


def _module(leak):
    """A module that reads sw_vers and fails, quoting its password in ``leak`` ('msg', 'argv' or nothing)."""
    def main():
        module = AnsibleModule(argument_spec=dict(password=dict(type="str", no_log=True)))
        runner = _runner.Runner(module)
        runner.run("sw_vers", [module.params["password"]] if leak == "argv" else [], ok_codes=None)
        module.fail_json(msg="refused %s" % (module.params["password"] if leak == "msg" else "it"))
    return types.SimpleNamespace(main=main)


@pytest.mark.parametrize("leak", ["msg", "argv"])
def test_a_secret_in_a_message_or_on_an_argv_fails_the_test(harness, leak):
    mac = harness.table(HEALTHY)
    mac.fault("sw_vers", rc=0, out="", err="")
    with pytest.raises(AssertionError, match="a secret"):
        harness.run(_module(leak), {"password": "Marker-Pw-0042"}, mac)


def test_the_printed_result_alone_would_not_show_the_leak(harness):
    """Ansible masks no_log values in what it prints, so the harness checks what the module handed fail_json."""
    mac = harness.table(HEALTHY)
    outcome = harness.run(_module(None), {"password": "Marker-Pw-0042"}, mac)
    assert outcome["msg"] == "refused it" and outcome.raw["msg"] == "refused it"
    with pytest.raises(AssertionError, match="result field msg"):
        assert_no_secret(mac, {"msg": "refused Marker-Pw-0042"}, ["Marker-Pw-0042"])
    assert_no_secret(mac, {"recovery_key": "Marker-Pw-0042"}, ["Marker-Pw-0042"], allowed=("recovery_key",))


def test_faults_skip_then_fire_a_number_of_times(harness, tmp_path):
    runner = SimRunner(harness.sim(HEALTHY_STATE).backend.host_dir)
    runner.mac.fault("fdesetup", "status", skip=1, times=2, rc=7, out="", err="no\n")
    answers = [runner.run("fdesetup", ["status"], ok_codes=None).rc for dummy in range(4)]
    assert answers == [0, 7, 7, 0]
    assert [c.words for c in runner.mac.calls] == [["fdesetup", "status"]] * 4 and len(runner.calls) == 4


def test_an_absent_tool_is_reported_as_the_runner_reports_it(harness):
    runner = SimRunner(harness.sim(HEALTHY_STATE).backend.host_dir)
    runner.mac.absent("sw_vers")
    with pytest.raises(_runner.ToolError, match="/usr/bin/sw_vers was not found"):
        runner.run("sw_vers", [])
    assert runner.mac.calls == []


def test_a_prompt_no_answer_fits_is_a_tool_left_waiting(harness):
    runner = SimRunner(harness.sim(HEALTHY_STATE).backend.host_dir, timeout=5)
    with pytest.raises(_runner.ToolError, match="did not finish within 5 seconds.*waiting at a prompt"):
        runner.converse("dscl", ["/Local/Default", "-authonly", "alice"], [(r"^never$", "alice-secret", True)])


def test_the_transcript_masks_secret_answers(harness):
    runner = SimRunner(harness.sim(HEALTHY_STATE).backend.host_dir)
    result = runner.converse("profiles", ["install", "-type", "bootstraptoken"],
                             [(r"user name:\s*$", "alice", False), (r"[Pp]assword[^\n]*:\s*$", "alice-secret", True)])
    assert "alice-secret" not in result.out and "Bootstrap Token" in result.out
    assert runner.mac.typed() == [["alice", "alice-secret"]] and runner.mac.calls[0].stdin is None
