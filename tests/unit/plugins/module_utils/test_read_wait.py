# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for a Mac to settle: a reading torn by the change itself (signals disagree) is read again."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _info


def _model(token, state):
    user = {"name": "macadmin", "uid": 501, "kind": "local", "admin": True, "secure_token": token,
            "token_state": state, "filevault_user": token, "volume_owner": token, "token_signals": {}}
    return {"os": {"version_tuple": [15, 3, 1], "apple_silicon": True}, "users": [user],
            "filevault": {"state": "on", "personal_recovery_key": True, "institutional_recovery_key": False,
                          "restart_pending": False, "users": [], "deferred_user": None, "percent": None},
            "orphan_crypto_users": []}


class Module(object):
    def __init__(self, wait):
        self.params = {"timeout": 60, "transient_wait": wait, "managed_admins": []}

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


@pytest.mark.parametrize("readings,wait,expect", [
    # settling (no key yet), torn (one tool read before the change, one after), settled
    ([(False, "disabled"), (False, "inconsistent"), (True, "enabled")], 60, (True, [], 3)),
    ([(False, "disabled"), (True, "enabled")], 60, (True, [], 2)),
    ([(False, "inconsistent")], 60, (False, [], 1)),  # inconsistent from the start: a finding, not a wait
    ([(False, "disabled")], 0, (False, ["filevault_setup_incomplete"], 1)),  # no waiting asked
])
def test_a_torn_reading_is_read_again_while_waiting(monkeypatch, readings, wait, expect):
    models = [_model(*r) for r in readings]
    calls = []

    def gather(runner, managed_admins=(), parts=()):
        calls.append(1)
        return models[min(len(calls), len(models)) - 1]

    monkeypatch.setattr(_info, "gather", gather)
    monkeypatch.setattr(_info.time, "sleep", lambda seconds: None)
    model = _info.read_mac(Module(wait), ("os", "users", "filevault"), runner=type("R", (), {"calls": []})())
    assert (model["users"][0]["secure_token"], model["transient"], len(calls)) == expect
