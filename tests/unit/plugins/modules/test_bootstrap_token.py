# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bootstrap_token with the command boundary mocked: plan, check mode, diff, the escrow verified by re-reading,
and the administrator's password only ever typed at profiles' prompt."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _runner
from ansible_collections.macops.tokens.plugins.modules import bootstrap_token
from ansible_collections.macops.tokens.tests.unit.plugins.modules.test_info_modules import (
    ALICE, HEALTHY, PRK, crypto, record, SHADOW)

STATUS = ("profiles", "status", "-type", "bootstraptoken")


def status(supported, escrowed):
    return ("profiles: Bootstrap Token supported on server: %s\nprofiles: Bootstrap Token escrowed to server: %s\n"
            % ("YES" if supported else "NO", "YES" if escrowed else "NO"))


NOT_ESCROWED = dict(HEALTHY)
NOT_ESCROWED[STATUS] = status(True, False)
NOT_ESCROWED[("diskutil", "apfs", "listCryptoUsers", "/")] = crypto((ALICE, "Local Open Directory User", True),
                                                                    (PRK, "Personal Recovery User", False))
LOCAL_ONLY = dict(HEALTHY)  # the token made on the Mac, the server never got it (MDM unreachable)
LOCAL_ONLY[STATUS] = NOT_ESCROWED[STATUS]
UNSUPPORTED = dict(NOT_ESCROWED)
UNSUPPORTED[STATUS] = status(False, False)
NO_TOKEN_ADMIN = dict(NOT_ESCROWED)
NO_TOKEN_ADMIN[("dscl", ".", "-readall", "/Users")] = record("alice", 501, ALICE, "Alice", [SHADOW]) + "\n"
NO_TOKEN_ADMIN[("ls", "-1", "/Users")] = "Shared\nalice\n"
NO_TOKEN_ADMIN[("diskutil", "apfs", "listCryptoUsers", "/")] = crypto((PRK, "Personal Recovery User", False))
NO_TOKEN_ADMIN[("fdesetup", "list")] = ""
ARGS = {"admin_user": "alice", "admin_password": "alice-secret"}
INSTALLED = "profiles: Bootstrap Token created\nprofiles: Bootstrap Token escrowed\n"


class FakeMac(object):
    """Reads answer from ``before`` until profiles acts, then from ``after``; prompts are answered in a transcript."""

    def __init__(self, before, after, password="alice-secret"):
        self.state, self.after, self.password = before, after, password
        self.calls, self.typed = [], []

    def run_command(self, args, data=None, **kwargs):
        tool = args[0].rsplit("/", 1)[-1]
        key = tuple([tool] + args[1:])
        key = key[:4] if key[:4] == ("dscl", ".", "-readall", "/Users") else key
        self.calls.append(list(key))
        if key[:2] == ("profiles", "remove"):
            self.state = self.after
            return 0, "", ""
        if key[:2] == ("profiles", "validate"):
            return 0, "Bootstrap Token validated.\n", ""
        return 0, self.state[key], ""

    def converse(self, tool, args, answers, timeout=None):
        self.calls.append([tool] + args)
        self.typed.append([a[1] for a in answers])
        if args[0] == "-authonly" or args[:1] == ["/Local/Default"]:
            ok = answers[0][1] == self.password
            return _runner.Result(["/usr/bin/dscl"] + args, 0 if ok else 255, "" if ok else
                                  "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)\n", "")
        self.state = self.after
        return _runner.Result(["/usr/bin/profiles"] + args, 0, INSTALLED, "")


def run(monkeypatch, capsys, args, fake, check=False, diff=False):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", fake.run_command)
    monkeypatch.setattr(_runner.Runner, "converse", fake.converse)
    monkeypatch.setattr(_runner.os.path, "exists", lambda path: True)
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(SystemExit):
            bootstrap_token.main()
    return json.loads(capsys.readouterr().out)


def acts(fake):
    return [" ".join(c[:2]) for c in fake.calls if c[0] == "profiles" and c[1] in ("install", "remove")]


def test_escrow_checks_the_password_escrows_and_verifies(monkeypatch, capsys):
    fake = FakeMac(NOT_ESCROWED, HEALTHY)
    result = run(monkeypatch, capsys, ARGS, fake, diff=True)
    assert result["changed"] and result["bootstrap_token"]["escrowed"] is True and not result.get("failed")
    assert result["diff"] == {"before": {"escrowed": False, "local_record": False},
                              "after": {"escrowed": True, "local_record": True}}
    assert acts(fake) == ["profiles install"]
    assert fake.typed[-1] == ["alice", "alice-secret"]  # at profiles' prompts, never on argv
    assert not any("alice-secret" in " ".join(c) for c in fake.calls)


@pytest.mark.parametrize("before,after,check,changed,done", [
    (NOT_ESCROWED, HEALTHY, True, True, []),  # check mode: predicted, nothing run
    (HEALTHY, HEALTHY, False, False, []),  # already escrowed: nothing to do
])
def test_check_mode_and_nothing_to_do(monkeypatch, capsys, before, after, check, changed, done):
    fake = FakeMac(before, after)
    result = run(monkeypatch, capsys, ARGS, fake, check=check)
    assert result["changed"] is changed and acts(fake) == done


@pytest.mark.parametrize("fake,args,message", [
    (FakeMac(NOT_ESCROWED, LOCAL_ONLY), ARGS, "the MDM was probably unreachable"),
    (FakeMac(NOT_ESCROWED, NOT_ESCROWED), ARGS, "profiles did not create a bootstrap token"),
    (FakeMac(NOT_ESCROWED, HEALTHY, password="other"), ARGS, "the password given for alice is wrong"),
    (FakeMac(UNSUPPORTED, HEALTHY), ARGS, "re-enroll"),
    (FakeMac(NO_TOKEN_ADMIN, HEALTHY), ARGS, "must be an administrator holding a secure token"),
    (FakeMac(NOT_ESCROWED, HEALTHY), {"admin_user": "alice", "admin_password": ""}, "must not be blank"),
    (FakeMac(NOT_ESCROWED, HEALTHY), dict(ARGS, confirm_wait=-1), "confirm_wait must be 0"),
])
def test_failures_are_named_and_verified(monkeypatch, capsys, fake, args, message):
    result = run(monkeypatch, capsys, args, fake)
    assert result["failed"] and message in result["msg"], result
    assert "alice-secret" not in json.dumps(result)


def test_remove_is_verified(monkeypatch, capsys):
    gone = NOT_ESCROWED  # neither escrowed nor on the Mac
    result = run(monkeypatch, capsys, {"state": "absent"}, FakeMac(HEALTHY, gone))
    assert result["changed"] and result["bootstrap_token"]["escrowed"] is False
    result = run(monkeypatch, capsys, {"state": "absent"}, FakeMac(HEALTHY, HEALTHY))
    assert result["failed"] and "still present after profiles remove" in result["msg"]


def test_validate_after_the_escrow(monkeypatch, capsys):
    result = run(monkeypatch, capsys, dict(ARGS, validate=True), FakeMac(NOT_ESCROWED, HEALTHY))
    assert result["validated"] is True and result["changed"]
