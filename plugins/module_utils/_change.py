# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The change engine's shared parts: one exception for a change that cannot be made or did not take, one place
that turns it into ``fail_json``, and the comparison of a re-read Mac with what a plan predicted.

PRIVATE: this module is internal to macops.tokens and may change without notice.

A write module is its argument spec, a *plan* function and its actions: the plan (from the model read once, changing
nothing) is a list of Actions, each saying what it does and how (its tool calls), and the view of the Mac they
predict. ``carry_out`` does the rest the same way for every module: check mode and diff from the prediction, the
actions in order, one re-read, and the verification that the re-read Mac shows what was predicted (sysadminctl and
fdesetup can exit 0 without doing anything). Every step raises ChangeError (or the runner's ToolError) and
``failing`` turns it into the task's failure in one place.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional

from ansible_collections.macops.tokens.plugins.module_utils._runner import ToolError


class ChangeError(Exception):
    """A change that cannot be made, or did not take. ``msg`` names the cause and the next step; ``details`` go
    into the failed result (never a secret: callers pass commands, exit codes and redacted output only)."""

    def __init__(self, msg: str, **details: object) -> None:
        super(ChangeError, self).__init__(msg)
        self.msg = msg
        self.details = details


def as_change_error(exc: ToolError, prefix: str = "", suffix: str = "") -> ChangeError:
    return ChangeError(prefix + str(exc) + suffix, **exc.details())


@contextmanager
def failing(module, result: Optional[dict] = None) -> Iterator[None]:
    """Inside, a ChangeError or ToolError fails the task with its message, its details and ``result`` (whose keys,
    such as a recovery key handed to the action plugin, win over the error's)."""
    try:
        yield
    except ChangeError as exc:
        module.fail_json(msg=exc.msg, **dict(exc.details, **(result or {})))
    except ToolError as exc:
        module.fail_json(msg=str(exc), **dict(exc.details(), **(result or {})))


class Expect(object):
    """A prediction the re-read Mac may meet in more than one way: ``shown`` is what check mode's diff shows, and
    ``accepts(observed_value, after_model)`` says whether the re-read meets it (FileVault that waits for a restart
    meets "on"; a users list meets "these are added" when it holds them)."""

    def __init__(self, shown: object, accepts: Callable[[object, dict], bool]) -> None:
        self.shown = shown
        self.accepts = accepts


def shown(predicted: dict) -> dict:
    """The prediction as check mode's diff shows it."""
    return dict((k, v.shown if isinstance(v, Expect) else v) for k, v in predicted.items())


def mismatches(predicted: dict, observed: dict, after: Optional[dict] = None) -> dict:
    """The keys whose re-read value differs from the prediction: ``{key: (predicted, observed)}``. A prediction of
    None means "not predicted" (unknown beforehand) and matches anything; an Expect decides for itself."""
    wrong = {}
    for key, want in predicted.items():
        got = observed.get(key)
        if isinstance(want, Expect):
            if not want.accepts(got, after or {}):
                wrong[key] = (want.shown, got)
        elif want is not None and got != want:
            wrong[key] = (want, got)
    return wrong


class Action(object):
    """One change of a plan: ``says`` is how the task reports it (``actions``, check mode included), ``make`` runs
    its tool calls and raises ChangeError or ToolError when the tool reports a failure."""

    def __init__(self, says: str, make: Callable[[], object]) -> None:
        self.says = says
        self.make = make


def _took(wrong: dict, after: dict) -> ChangeError:  # pragma: no cover - every plan that acts names its own cause
    return ChangeError("the change did not take: the Mac read again shows %s" % ", ".join(
        "%s %r instead of %r" % (k, got, want) for k, (want, got) in sorted(wrong.items())))


class Plan(object):
    """The ordered actions for one task and the view of the Mac they predict (only the keys that are predicted;
    the rest of the diff is the Mac as read). ``did_not_take(wrong, after)`` names the cause when the re-read Mac
    does not show the prediction."""

    def __init__(self, actions: Optional[List[Action]] = None, predicts: Optional[Dict[str, object]] = None,
                 did_not_take: Callable[[dict, dict], ChangeError] = _took) -> None:
        self.actions = list(actions or [])
        self.predicts = dict(predicts or {})
        self.did_not_take = did_not_take


def carry_out(module, plan: Plan, before: dict, view: Callable[[dict], dict], reread: Callable[[], dict],
              result: dict) -> dict:
    """Check mode, diff, act, re-read and verify, the same for every write module; returns the Mac's model after
    the task (``before`` when nothing was done). ``result`` gets ``changed``, ``actions`` and ``diff``, and goes
    into any failure (a recovery key in it reaches the action plugin, which escrows it)."""
    result["changed"] = bool(plan.actions)
    result["actions"] = [a.says for a in plan.actions]
    start = view(before)
    if not plan.actions or module.check_mode:
        if module._diff:
            result["diff"] = {"before": start, "after": dict(start, **shown(plan.predicts)) if plan.actions else start}
        return before
    with failing(module, result):
        for action in plan.actions:
            action.make()
    after = reread()
    seen = view(after)
    if module._diff:
        result["diff"] = {"before": start, "after": seen}
    wrong = mismatches(plan.predicts, seen, after)
    if wrong:
        with failing(module, result):
            raise plan.did_not_take(wrong, after)
    return after
