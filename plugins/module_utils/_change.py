# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The change engine's shared parts: one exception for a change that cannot be made or did not take, one place
that turns it into ``fail_json``, and the comparison of a re-read Mac with what a plan predicted.

PRIVATE: this module is internal to macops.tokens and may change without notice.

A write module plans (pure, from the model), predicts (check mode and diff come from the plan), acts, reads the
Mac again once, and verifies the re-read against the prediction. Steps raise ChangeError (or the runner's
ToolError); ``failing`` reports it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

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


def mismatches(predicted: dict, observed: dict) -> dict:
    """The keys whose re-read value differs from the prediction: ``{key: (predicted, observed)}``. A prediction of
    None means "not predicted" (unknown beforehand) and matches anything."""
    return dict((k, (v, observed.get(k))) for k, v in predicted.items() if v is not None and observed.get(k) != v)
