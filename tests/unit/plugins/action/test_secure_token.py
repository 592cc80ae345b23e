# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secure_token action plugin: the module gets the passwords; the quoted task and the result never show them."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.macops.tokens.plugins.action import secure_token
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import (
    all_strings, assert_no_secret, check_plain_run)

MODULE = "macops.tokens.secure_token"
BOB_PW = "Bob-Secret-Pw-4411"
ALICE_PW = "Alice <&> Admin-Pw-5512"
CAROL_PW = "Carol-Secret-Pw-6613"
SECRETS = (BOB_PW, ALICE_PW, CAROL_PW)
ONE = {"user": "bob", "user_password": BOB_PW, "admin_user": "alice", "admin_password": ALICE_PW}
SEVERAL = {"users": ["bob", "carol"], "user_passwords": {"bob": BOB_PW, "carol": CAROL_PW}, "admin_user": "alice",
           "admin_password": ALICE_PW}


@pytest.mark.parametrize("args,check_mode,answer", [
    (ONE, False, {"changed": True, "actions": ["grant a secure token to bob, authorised by alice"]}),
    (ONE, False, {"changed": False, "actions": []}),
    (ONE, True, {"changed": True, "actions": ["grant a secure token to bob, authorised by alice"]}),
    (ONE, False, {"failed": True, "changed": False, "msg": "the password given for alice is wrong"}),
    (dict(ONE, state="absent", force=True), False, {"changed": True, "actions": ["remove bob's secure token"]}),
    (SEVERAL, False, {"changed": True, "actions": ["grant a secure token to bob", "grant a secure token to carol"]}),
    (SEVERAL, False, {"failed": True, "changed": False, "msg": "carol: the password given is wrong"}),
], ids=["granted", "nothing-to-do", "check-mode", "wrong-password", "absent", "several-users",
        "several-users-failed"])
def test_the_module_gets_the_passwords_and_nothing_shows_them(run_action, args, check_mode, answer):
    run = run_action(secure_token, args, [(MODULE, answer)], check_mode=check_mode)
    check_plain_run(run, MODULE, args, answer, SECRETS)
    assert bool(run.task.check_mode) is check_mode


@pytest.mark.parametrize("args", [ONE, SEVERAL], ids=["user_password", "user_passwords"])
def test_every_password_in_the_quoted_task_is_masked_and_nothing_else(run_action, args):
    """Defect: the values of user_passwords (a dict of user name to password) were left in the quoted task."""
    run = run_action(secure_token, args, [(MODULE, {"failed": True, "msg": "not a Mac"})])
    run()
    shown = run.source_args()
    assert shown["admin_user"] == "alice" and shown["admin_password"] == MASK
    assert shown.get("user") == args.get("user") and shown.get("users") == args.get("users")
    secrets = [v for v in all_strings(shown) if v in SECRETS]
    assert secrets == []
    if "user_passwords" in args:
        assert shown["user_passwords"] == {"bob": MASK, "carol": MASK}


def test_a_task_that_fails_before_the_module_runs_is_already_masked(run_action):
    """ansible-core's own checks (here: no async) fail inside the plugin; the task it quotes then is masked."""
    run = run_action(secure_token, dict(ONE), [])
    run.task.async_val = 30
    with pytest.raises(AnsibleActionFail) as caught:
        run()
    assert "does not support async" in str(caught.value) and run.calls == []
    assert_no_secret(str(caught.value), SECRETS)
    assert_no_secret(run.task.get_ds(), SECRETS)
