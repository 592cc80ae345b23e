# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The chain_of_trust_info action plugin: each credential reaches the module; no password is quoted or returned."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.action import chain_of_trust_info
from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import (
    HOST, OLD_KEY, VAULT_PASSWORD, assert_no_secret, check_plain_run, fingerprint, pre_escrow)

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


# ---- the escrow check: the escrowed key reaches the module (quietly), never the result or the quoted task ----------

def _escrow_answer(escrow):
    return {"changed": False, "mac": {"filevault": {"escrow": escrow}}, "findings": []}


def test_the_escrowed_key_reaches_the_module_quietly_and_nowhere_else(run_action, tmp_path):
    pre_escrow(tmp_path, OLD_KEY)
    args = {"escrow_dir": str(tmp_path), "managed_admins": []}
    run = run_action(chain_of_trust_info, args, [(MODULE, _escrow_answer("valid"))])
    result = run()
    (call,) = run.calls
    assert call.args == dict(args, recovery_key=OLD_KEY)
    assert call.quiet == (True, True)  # the connection does not print the module's arguments at -vvv
    assert run.action._play_context.no_log is False  # and only for that call
    assert result["mac"]["filevault"]["escrow"] == "valid" and "warnings" not in result
    assert_no_secret(result, [OLD_KEY])
    assert_no_secret(run.task.get_ds(), [OLD_KEY])


@pytest.mark.parametrize("setup,vault,passed,warning", [
    ("empty", True, True, None),
    ("missing", True, False, "is not an existing directory on the controller"),
    ("no-vault-password", False, False, "cannot be decrypted with the vault password"),
], ids=["nothing-escrowed", "no-such-directory", "no-vault-password"])
def test_an_escrow_without_a_usable_key_is_absent_or_a_warning(run_action, tmp_path, setup, vault, passed, warning):
    directory = tmp_path / "escrow"
    if setup != "missing":
        directory.mkdir()
    if setup == "no-vault-password":
        pre_escrow(directory, OLD_KEY)
    args = {"escrow_dir": str(directory)}
    run = run_action(chain_of_trust_info, args, [(MODULE, _escrow_answer("absent" if passed else "not_checked"))],
                     vault_password=VAULT_PASSWORD if vault else None)
    result = run()
    (call,) = run.calls
    assert "recovery_key" not in call.args
    assert ("escrow_dir" in call.args) is passed
    if warning:
        assert len(result["warnings"]) == 1 and warning in result["warnings"][0]
        assert result["warnings"][0].startswith("the escrowed recovery key was not checked")
    else:
        assert "warnings" not in result
    assert_no_secret(result, [OLD_KEY])


def test_a_recovery_key_in_the_task_is_refused(run_action, tmp_path):
    run = run_action(chain_of_trust_info, {"escrow_dir": str(tmp_path), "recovery_key": OLD_KEY})
    result = run()
    assert result == {"failed": True, "msg": "recovery_key is filled in from escrow_dir by the action plugin; remove "
                                             "it from the task"}
    assert run.calls == [] and run.source_args()["recovery_key"] == MASK


@pytest.mark.parametrize("revealed_key,sends", [(OLD_KEY, True), ("OTHR-KEY0-0000-0000-0000-0000", False)],
                         ids=["the-escrowed-key-was-revealed", "an-older-key-was-revealed"])
def test_a_revealed_escrowed_key_is_said_to_the_module(run_action, tmp_path, revealed_key, sends):
    pre_escrow(tmp_path, OLD_KEY)
    _ledger.append(str(tmp_path), {"event": "revealed", "host": HOST, "fingerprint": fingerprint(revealed_key),
                                   "by": "helpdesk1", "reason": "INC-4711"})
    run = run_action(chain_of_trust_info, {"escrow_dir": str(tmp_path)}, [(MODULE, _escrow_answer("valid"))])
    run()
    (call,) = run.calls
    said = _ledger.describe(_ledger.entries(str(tmp_path))[0])
    assert call.args == dict({"escrow_dir": str(tmp_path), "recovery_key": OLD_KEY},
                             **({"revealed": said} if sends else {}))


def test_revealed_in_the_task_is_refused(run_action, tmp_path):
    run = run_action(chain_of_trust_info, {"escrow_dir": str(tmp_path), "revealed": "by me"})
    assert run() == {"failed": True, "msg": "revealed is filled in from escrow_dir by the action plugin; remove it "
                                            "from the task"}
    assert run.calls == []
