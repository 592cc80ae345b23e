# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The change engine on its own: check mode and diff from the plan, the actions in order, one re-read, the
verification against the prediction, and failures carrying the task's result."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils._change import (Action, ChangeError, Expect, Plan,
                                                                            carry_out, mismatches)
from ansible_collections.macops.tokens.plugins.module_utils._runner import ToolError


class Exited(Exception):
    pass


class FakeModule(object):
    def __init__(self, check_mode=False, diff=True):
        self.check_mode = check_mode
        self._diff = diff

    def fail_json(self, **kwargs):
        raise Exited(dict(kwargs, failed=True))


def _view(model):
    return {"state": model["state"]}


def _run(plan, check_mode=False, after=None, diff=True):
    calls = []
    result = {"key": "kept"}

    def reread():
        calls.append("reread")
        return dict(after or {"state": "on"})
    try:
        got = carry_out(FakeModule(check_mode, diff), plan, {"state": "off"}, _view, reread, result)
    except Exited as exc:
        return calls, result, exc.args[0]
    return calls, result, got


def _plan(calls, predicts=None, fail=None):
    def make(name):
        def run():
            calls.append(name)
            if fail == name:
                raise ChangeError("%s failed" % name, rc=3)
        return run
    return Plan([Action("first", make("first")), Action("second", make("second"))],
                predicts if predicts is not None else {"state": "on"},
                lambda wrong, after: ChangeError("did not take: %s" % sorted(wrong), seen=after["state"]))


CASES = [
    # id, check mode, re-read state, action that fails, expected calls, expected failure message (None: success)
    ("check-mode-acts-not", True, "on", None, [], None),
    ("real-run-acts-in-order-and-rereads-once", False, "on", None, ["first", "second", "reread"], None),
    ("re-read-contradicts-prediction", False, "off", None, ["first", "second", "reread"], "did not take: ['state']"),
    ("action-fails-stops-the-rest", False, "on", "first", ["first"], "first failed"),
]


@pytest.mark.parametrize("check_mode, state, fail, want_calls, want_msg", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_carry_out(check_mode, state, fail, want_calls, want_msg):
    calls = []
    plan = _plan(calls, fail=fail)
    reread_calls, result, outcome = _run(plan, check_mode, {"state": state})
    assert calls + reread_calls == want_calls
    assert result["actions"] == ["first", "second"] and result["changed"] is True
    if want_msg is None:
        assert outcome == ({"state": "off"} if check_mode else {"state": state})
        assert result["diff"] == {"before": {"state": "off"}, "after": {"state": "on"}}
    else:
        assert outcome["msg"] == want_msg and outcome["failed"]
        assert outcome["key"] == "kept"  # the task's result reaches the failure (a recovery key, for the plugin)


def test_nothing_to_do_changes_nothing_and_rereads_nothing():
    calls, result, outcome = _run(Plan())
    assert calls == [] and outcome == {"state": "off"}
    assert result["changed"] is False and result["actions"] == []
    assert result["diff"] == {"before": {"state": "off"}, "after": {"state": "off"}}


def test_a_tool_error_in_an_action_is_reported_with_its_command():
    def boom():
        raise ToolError("fdesetup exited 1", command=["fdesetup", "list"], rc=1, out="", err="no")
    calls, result, outcome = _run(Plan([Action("boom", boom)], {"state": "on"}))
    assert outcome["msg"] == "fdesetup exited 1" and outcome["rc"] == 1 and calls == []


def test_result_keys_win_over_the_errors_details():
    def boom():
        raise ChangeError("x", key="from-error")
    calls, result, outcome = _run(Plan([Action("boom", boom)], {"state": "on"}))
    assert outcome["key"] == "kept"


def test_check_mode_diff_shows_the_expectation_and_keeps_what_is_not_predicted():
    plan = Plan([Action("a", lambda: None)], {"users": Expect(["a", "b"], lambda got, after: True)})
    result = {}
    carry_out(FakeModule(check_mode=True), plan, {"state": "off", "users": ["a"]},
              lambda m: {"state": m["state"], "users": m["users"]}, lambda: {}, result)
    assert result["diff"]["after"] == {"state": "off", "users": ["a", "b"]}


MISMATCH = [
    ("exact-equal", {"s": "on"}, {"s": "on"}, {}),
    ("exact-differs", {"s": "on"}, {"s": "off"}, {"s": ("on", "off")}),
    ("none-is-not-predicted", {"s": None}, {"s": "off"}, {}),
    ("expect-accepts", {"s": Expect("on", lambda got, after: got in ("on", "encrypting"))}, {"s": "encrypting"}, {}),
    ("expect-refuses", {"s": Expect("on", lambda got, after: got == "on")}, {"s": "off"}, {"s": ("on", "off")}),
    ("expect-sees-the-model", {"s": Expect("on", lambda got, after: after.get("restart"))}, {"s": "off"}, {}),
]


@pytest.mark.parametrize("predicted, observed, want", [c[1:] for c in MISMATCH], ids=[c[0] for c in MISMATCH])
def test_mismatches(predicted, observed, want):
    assert mismatches(predicted, observed, {"restart": True}) == want
