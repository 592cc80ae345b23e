# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The chain_of_trust_info action plugin: each credential reaches the module; no password is quoted or returned."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.action import chain_of_trust_info
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import check_plain_run

MODULE = "macops.tokens.chain_of_trust_info"
PW_A, PW_B = "Verify-Pw-A-3301", "Verify-Pw-B-3302"
TWO = {"verify_credentials": [{"user": "alice", "password": PW_A, "source": "vault"},
                              {"user": "bob", "password": PW_B, "required": False}],
       "managed_admins": ["macadmin"]}
REPORT = {"changed": False, "chain": {"broken": False},
          "credentials": [{"user": "alice", "source": "vault", "verified": True},
                          {"user": "bob", "source": None, "verified": False}]}


@pytest.mark.parametrize("args,check_mode,answer", [
    (TWO, False, REPORT),
    (TWO, True, REPORT),
    (TWO, False, {"failed": True, "changed": False, "msg": "dscl -authonly timed out after 60 seconds"}),
    ({"managed_admins": []}, False, dict(REPORT, credentials=[])),
], ids=["verified", "check-mode", "module-failed", "no-credentials"])
def test_each_credential_reaches_the_module_and_no_password_is_shown(run_action, args, check_mode, answer):
    run = run_action(chain_of_trust_info, args, [(MODULE, answer)], check_mode=check_mode)
    check_plain_run(run, MODULE, args, answer, [PW_A, PW_B])
    shown = run.source_args().get("verify_credentials", [])
    assert [c["password"] for c in shown] == [MASK] * len(shown)
    assert [c["user"] for c in shown] == [c["user"] for c in args.get("verify_credentials", [])]
