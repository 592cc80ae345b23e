# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bootstrap_token action plugin: the module gets the admin password; the quoted task and result never show it."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.macops.tokens.plugins.action import bootstrap_token
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import assert_no_secret, check_plain_run

MODULE = "macops.tokens.bootstrap_token"
ADMIN_PW = "Admin-Bootstrap-Pw-7781"
ESCROW = {"admin_user": "macadmin", "admin_password": ADMIN_PW}


@pytest.mark.parametrize("args,check_mode,answer", [
    (ESCROW, False, {"changed": True, "escrowed": True, "actions": ["escrow the bootstrap token to the MDM server"]}),
    (ESCROW, False, {"changed": False, "escrowed": True, "actions": []}),
    (ESCROW, True, {"changed": True, "escrowed": False, "actions": ["escrow the bootstrap token to the MDM server"]}),
    (ESCROW, False, {"failed": True, "changed": False, "msg": "profiles install -type bootstraptoken exited 1"}),
    (dict(ESCROW, validate=True, confirm_wait=0), False, {"changed": False, "escrowed": True, "valid": True}),
    ({"state": "absent"}, False, {"changed": True, "actions": ["remove the bootstrap token from the MDM server"]}),
], ids=["escrowed", "already-escrowed", "check-mode", "module-failed", "validate", "absent-no-password"])
def test_the_module_gets_the_password_and_nothing_shows_it(run_action, args, check_mode, answer):
    run = run_action(bootstrap_token, args, [(MODULE, answer)], check_mode=check_mode)
    check_plain_run(run, MODULE, args, answer, [ADMIN_PW])
    if "admin_password" in args:
        assert run.source_args()["admin_password"] == MASK and run.source_args()["admin_user"] == "macadmin"


@pytest.mark.parametrize("prepare,error,message", [
    (lambda run: setattr(run.task, "async_val", 30), AnsibleActionFail, "does not support async"),
    (lambda run: None, AnsibleConnectionFailure, "ssh: connect to host mac-01 port 22: Connection refused"),
], ids=["refused-by-ansible-core", "connection-lost"])
def test_a_run_that_raises_has_masked_the_task_first(run_action, prepare, error, message):
    run = run_action(bootstrap_token, ESCROW, [(MODULE, AnsibleConnectionFailure(message))])
    prepare(run)
    with pytest.raises(error) as caught:
        run()
    assert message in str(caught.value)
    assert_no_secret(str(caught.value), [ADMIN_PW])
    assert run.source_args()["admin_password"] == MASK
    assert run.task.args["admin_password"] == ADMIN_PW
