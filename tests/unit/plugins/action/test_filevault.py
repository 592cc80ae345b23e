# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filevault action plugin: escrow checked before the Mac is touched, the new key escrowed, a lost key replaced.

Every run is checked for what reached the Mac (module and arguments, in order), what the plugin returned, which
files escrow_dir holds afterwards, and that no key or password is in the result or the quoted task.
"""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.action import filevault
from ansible_collections.macops.tokens.plugins.plugin_utils import _escrow
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import (
    ESCROW_NAME, NEW_KEY, OLD_KEY, USER_PW, assert_no_key_or_password, escrowed_key, fingerprint,
    HANDSHAKE, handshake_warnings, pre_escrow, validate_args, validated, visible_files, with_key)

MODULE = "macops.tokens.filevault"
ROTATE = "macops.tokens.filevault_recovery_key"
JDOE_PW = "Jdoe-FileVault-Pw-1207"
ON = {"state": "on", "enabled": True, "users": ["alice"]}
ENABLED = with_key({"changed": True, "escrowed": False, "actions": ["enable FileVault authorised by alice"],
                    "filevault": ON})
NO_CHANGE = {"changed": False, "escrowed": False, "actions": [], "filevault": ON}
LOST = dict(NO_CHANGE, key_lost=True, warnings=["an interrupted run of this collection left FileVault on without "
                                                "capturing its recovery key: nobody holds the current key, so it is "
                                                "rotated"])
ROTATED = with_key({"changed": True, "escrowed": False, "valid": None, "reason": "no key is escrowed for this Mac",
                    "pending": True}, Change=True)


def task_args(directory, **extra):
    return dict({"user": "alice", "password": USER_PW, "escrow_dir": str(directory)}, **extra)


def assert_nothing_shown(run, result):
    assert_no_key_or_password(run, result)
    assert JDOE_PW not in repr(result) and JDOE_PW not in repr(run.task.get_ds())
    assert "key_lost" not in result and "recovery_key" not in result and "pending_fingerprint" not in result


@pytest.mark.parametrize("escrow_dir,prepare,vault_password,check_mode,message", [
    (None, None, b"v", False, "escrow_dir is required: give a persistent directory on the controller for the recovery "
                              "keys (there is no default location on purpose)"),
    ("relative/escrow", None, b"v", False, "escrow_dir must be an absolute path on the controller; got "
                                           "relative/escrow"),
    ("{tmp}/missing", None, b"v", False, "escrow_dir {tmp}/missing does not exist on the controller; create it (mode "
                                         "0700, on storage that outlives this run) and run again. Nothing was "
                                         "changed"),
    ("{tmp}", "unwritable", b"v", False, "escrow_dir {tmp} is not writable by the controller's user; nothing was "
                                         "changed"),
    ("{tmp}", None, None, False, "escrowing recovery keys needs a vault password to encrypt them with, and none was "
                                 "given: run with --vault-password-file or --vault-id, set "
                                 "ANSIBLE_VAULT_PASSWORD_FILE, or attach a vault credential to the AWX job template. "
                                 "Nothing was changed"),
    ("{tmp}", None, None, True, "escrowing recovery keys needs a vault password"),
], ids=["no-escrow_dir", "relative", "missing", "unwritable", "no-vault-password", "no-vault-password-check-mode"])
def test_enabling_with_an_unusable_escrow_never_reaches_the_mac(run_action, tmp_path, monkeypatch, escrow_dir,
                                                                prepare, vault_password, check_mode, message):
    if prepare == "unwritable":  # the tests may run as root, for whom no mode bit denies writing
        monkeypatch.setattr(_escrow.os, "access", lambda path, mode: path != str(tmp_path))
    args = task_args(tmp_path, users=[{"name": "jdoe", "password": JDOE_PW}])
    if escrow_dir is None:
        del args["escrow_dir"]
    else:
        args["escrow_dir"] = escrow_dir.format(tmp=tmp_path)
    run = run_action(filevault, args, vault_password=vault_password, check_mode=check_mode)
    result = run()
    assert sorted(result) == ["changed", "escrowed", "failed", "msg"]
    assert result["failed"] is True and result["changed"] is False and result["escrowed"] is False
    assert message.format(tmp=tmp_path) in result["msg"]
    assert run.calls == [] and visible_files(tmp_path) == []
    assert_nothing_shown(run, result)
    shown = run.source_args()
    assert shown["password"] == MASK and shown["users"] == [{"name": "jdoe", "password": MASK}]


@pytest.mark.parametrize("args,answer", [
    ({"state": "disabled", "user": "alice", "password": USER_PW},
     {"changed": True, "escrowed": False, "actions": ["disable FileVault"], "filevault": {"state": "decrypting"}}),
    ({"defer": True, "defer_user": "alice", "force_at_login": 0},
     {"changed": True, "escrowed": False, "actions": ["defer enablement to alice's next login"],
      "filevault": {"state": "deferred"}}),
    ({"state": "enabled", "user": "alice"},
     {"failed": True, "changed": False, "msg": "parameters are required together: user, password"}),
], ids=["disable", "defer", "user-without-password"])
def test_no_escrow_is_needed_when_no_key_can_be_made(run_action, tmp_path, args, answer):
    run = run_action(filevault, args, [(MODULE, answer)], vault_password=None)
    result = run()
    (call,) = run.calls
    assert call.args == args and call.quiet == (True, True)
    assert result == dict(answer, invocation=result["invocation"])
    assert visible_files(tmp_path) == []
    assert_nothing_shown(run, result)


# Each case: extra task options, check mode, the module's answer, the validate_only call's answer (None: there must
# be no such call), and what the run must end with.
ENABLE_RUNS = {
    "enabled-and-escrowed": ({}, False, ENABLED, validated(), {"changed": True, "escrowed": True, "key": NEW_KEY}),
    "enabled-with-a-second-user": (
        {"users": [{"name": "jdoe", "password": JDOE_PW}], "timeout": 90}, False,
        dict(ENABLED, actions=ENABLED["actions"] + ["add jdoe to FileVault"]), validated(),
        {"changed": True, "escrowed": True, "key": NEW_KEY}),
    "enable-failed-carrying-a-key": (
        {}, False, dict(ENABLED, failed=True, rc=1, msg="enabling FileVault failed: fdesetup exited 1; the key it "
                                                        "printed is escrowed before this task fails"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "failed": True,
                      "msg": "enabling FileVault failed: fdesetup exited 1"}),
    "enable-failed-without-a-key": (
        {}, False, {"failed": True, "changed": True, "escrowed": False, "actions": ENABLED["actions"],
                    "msg": "enabling FileVault failed: fdesetup exited 12: Remote Login lacks Full Disk Access"},
        None, {"changed": True, "escrowed": False, "key": None, "failed": True, "msg": "Full Disk Access"}),
    "already-on": ({}, False, NO_CHANGE, None, {"changed": False, "escrowed": False, "key": None}),
    "check-mode": ({}, True, dict(NO_CHANGE, changed=True, actions=ENABLED["actions"]), None,
                   {"changed": True, "escrowed": False, "key": None}),
    "new-key-does-not-validate": (
        {}, False, ENABLED, validated(valid=False, cleared=None),
        {"changed": True, "escrowed": False, "key": NEW_KEY, "failed": True,
         "msg": "does not validate on the Mac (fdesetup validaterecovery said false); the new key is valid on the Mac "
                "but is not escrowed"}),
    "handshake-copy-not-removed": (
        {}, False, ENABLED, validated(cleared=False),
        {"changed": True, "escrowed": True, "key": NEW_KEY, "warning": HANDSHAKE}),
    "collects-a-key-an-interrupted-run-left": (
        {}, False, with_key(dict(NO_CHANGE, changed=True, collected_pending=True, actions=[
            "collect the recovery key an interrupted run (enable, 2026-01-01 10:00:00 UTC) left on the Mac and "
            "escrow it"])), validated(), {"changed": True, "escrowed": True, "key": NEW_KEY}),
}


@pytest.mark.parametrize("extra,check_mode,answer,check,expect", list(ENABLE_RUNS.values()), ids=list(ENABLE_RUNS))
def test_enabling(run_action, tmp_path, extra, check_mode, answer, check, expect):
    script = [(MODULE, answer)] + ([(ROTATE, check)] if check is not None else [])
    run = run_action(filevault, task_args(tmp_path, **extra), script, check_mode=check_mode)
    result = run()

    assert [c.module for c in run.calls] == [m for m, a in script]
    assert run.calls[0].args == task_args(tmp_path, **extra)  # every password reaches the module
    if check is not None:
        assert run.calls[1].args == validate_args(tmp_path, timeout=extra.get("timeout", 60))

    assert result["changed"] is expect["changed"] and result["escrowed"] is expect["escrowed"]
    assert result.get("failed", False) is expect.get("failed", False)
    assert expect.get("msg", "") in result.get("msg", "")
    assert result["actions"] == answer["actions"]
    assert handshake_warnings(result) == ([expect["warning"]] if "warning" in expect else [])
    if check is not None:
        assert result["escrow_file"] == str(tmp_path / ESCROW_NAME)
        assert result["key_fingerprint"] == fingerprint(expect["key"])
    else:
        assert "escrow_file" not in result and "key_fingerprint" not in result
    assert_nothing_shown(run, result)

    if expect["key"] is None:
        assert visible_files(tmp_path) == []
    else:
        assert visible_files(tmp_path) == [ESCROW_NAME] and escrowed_key(tmp_path, ESCROW_NAME) == expect["key"]


@pytest.mark.parametrize("args,vault_password,message", [
    ({}, b"unit-vault-secret", "escrow_dir is required: give a persistent directory on the controller"),
    ({"escrow_dir": "{tmp}"}, None, "escrowing recovery keys needs a vault password to encrypt them with"),
], ids=["no-escrow_dir", "no-vault-password"])
def test_a_key_collected_without_credentials_says_why_it_cannot_be_escrowed(run_action, tmp_path, args,
                                                                            vault_password, message):
    """Defect: without user and password the plugin checks no escrow first (no key is made), but the module can
    still hand back a key an interrupted run left on the Mac; the failure then said only ``TypeError: expected str,
    bytes or os.PathLike object, not NoneType`` or ``cannot unpack non-iterable NoneType object``."""
    args = dict((k, v.format(tmp=tmp_path)) for k, v in args.items())
    answer = with_key(dict(NO_CHANGE, changed=True, collected_pending=True, actions=["collect the recovery key"]))
    run = run_action(filevault, dict(args, state="enabled"), [(MODULE, answer)], vault_password=vault_password)
    result = run()
    assert result["failed"] is True and result["escrowed"] is False
    assert message in result["msg"] and "TypeError" not in result["msg"]
    assert len(run.calls) == 1 and visible_files(tmp_path) == []  # not confirmed: the Mac keeps its copy
    assert_nothing_shown(run, result)


# A Mac whose key an interrupted run of this collection lost: the module says key_lost and the plugin keeps the
# escrowed key if it still unlocks the Mac, else rotates and escrows a new one. Each case: the key escrowed before,
# extra task options, the rotation's answer, the validate_only call's answer (None: no such call), the outcome.
LOST_RUNS = {
    "none-escrowed-rotates": (
        None, {}, ROTATED, validated(),
        {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [],
         "action": "rotated the recovery key (no key is escrowed for this Mac) and escrowed it"}),
    "escrowed-key-still-valid-is-kept": (
        OLD_KEY, {}, {"changed": False, "escrowed": False, "valid": True, "pending": True,
                      "reason": "the escrowed key is valid"}, None,
        {"changed": False, "escrowed": True, "key": OLD_KEY, "kept": [],
         "action": "kept the escrowed recovery key: it still unlocks this Mac"}),
    "escrowed-key-invalid-rotates": (
        OLD_KEY, {"timeout": 120}, dict(ROTATED, valid=False, reason="the escrowed key does not unlock this Mac"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY],
                      "action": "rotated the recovery key (the escrowed key does not unlock this Mac) and escrowed "
                                "it"}),
    "rotation-failed-without-a-key": (
        None, {}, {"failed": True, "changed": False, "escrowed": False, "valid": None,
                   "msg": "user alice is not a FileVault user on this Mac"}, None,
        {"changed": False, "escrowed": False, "key": None, "kept": [], "failed": True,
         "msg": "the recovery key of an interrupted run was lost and rotating it failed: user alice is not a "
                "FileVault user on this Mac"}),
    "rotation-failed-carrying-a-key": (
        OLD_KEY, {}, dict(ROTATED, valid=False, failed=True, rc=1,
                          msg="the recovery key could not be changed; the key it printed is escrowed before this "
                              "task fails: fdesetup exited 1"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY], "failed": True,
                      "msg": "rotating it failed: the recovery key could not be changed"}),
    "rotated-key-does-not-validate": (
        None, {}, ROTATED, validated(valid=False, cleared=None),
        {"changed": True, "escrowed": False, "key": NEW_KEY, "kept": [], "failed": True,
         "msg": "does not validate on the Mac (fdesetup validaterecovery said false)"}),
    "rotated-handshake-copy-not-removed": (
        None, {}, ROTATED, validated(cleared=False),
        {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [],
         "action": "rotated the recovery key (no key is escrowed for this Mac) and escrowed it",
         "warning": HANDSHAKE}),
}


@pytest.mark.parametrize("escrowed,extra,rotation,check,expect", list(LOST_RUNS.values()), ids=list(LOST_RUNS))
def test_a_key_lost_by_an_interrupted_run_is_replaced(run_action, tmp_path, escrowed, extra, rotation, check, expect):
    if escrowed:
        pre_escrow(tmp_path, escrowed)
    script = [(MODULE, LOST), (ROTATE, rotation)] + ([(ROTATE, check)] if check is not None else [])
    run = run_action(filevault, task_args(tmp_path, **extra), script)
    result = run()

    rotate = {"user": "alice", "password": USER_PW, "escrow_dir": str(tmp_path), "timeout": extra.get("timeout", 60)}
    if escrowed:
        rotate["recovery_key"] = escrowed
    assert [c.module for c in run.calls] == [m for m, a in script]
    assert run.calls[1].args == rotate
    if check is not None:
        assert run.calls[2].args == validate_args(tmp_path, timeout=extra.get("timeout", 60))

    assert result["changed"] is expect["changed"] and result["escrowed"] is expect["escrowed"]
    assert result.get("failed", False) is expect.get("failed", False)
    assert expect.get("msg", "") in result.get("msg", "")
    assert result["actions"] == ([expect["action"]] if "action" in expect else [])
    assert LOST["warnings"][0] in result["warnings"]  # the module's own warning stays
    assert handshake_warnings(result) == ([expect["warning"]] if "warning" in expect else [])
    if expect["escrowed"] and check is not None:
        assert result["escrow_file"] == str(tmp_path / ESCROW_NAME)
        assert result["key_fingerprint"] == fingerprint(expect["key"])
    assert_nothing_shown(run, result)

    if expect["key"] is None:
        assert visible_files(tmp_path) == []
    else:
        assert escrowed_key(tmp_path, ESCROW_NAME) == expect["key"]
        assert [escrowed_key(tmp_path, n) for n in visible_files(tmp_path) if n != ESCROW_NAME] == expect["kept"]


@pytest.mark.parametrize("check_mode,answer", [
    (True, LOST),
    (False, dict(LOST, failed=True, msg="fdesetup enable succeeded but FileVault is off when re-read")),
], ids=["check-mode", "module-failed"])
def test_a_lost_key_is_not_rotated_in_check_mode_or_after_a_failure(run_action, tmp_path, check_mode, answer):
    run = run_action(filevault, task_args(tmp_path), [(MODULE, answer)], check_mode=check_mode)
    result = run()
    assert len(run.calls) == 1 and visible_files(tmp_path) == []
    assert result.get("failed", False) is answer.get("failed", False) and result["escrowed"] is False
    assert_nothing_shown(run, result)


def test_a_lost_key_with_an_undecryptable_escrow_file_is_not_rotated(run_action, tmp_path):
    pre_escrow(tmp_path, password=b"another-vault-secret")
    run = run_action(filevault, task_args(tmp_path), [(MODULE, LOST)])
    result = run()
    assert result["failed"] is True and len(run.calls) == 1
    assert "cannot be decrypted with the vault password(s) given" in result["msg"]
    assert visible_files(tmp_path) == [ESCROW_NAME]
    assert_nothing_shown(run, result)


@pytest.mark.parametrize("script,message", [
    ([(MODULE, ENABLED)], "writing the recovery key to escrow_dir failed (OSError: [Errno 28] No space left on "
                          "device); the new key is valid on the Mac but is not escrowed"),
    ([(MODULE, dict(ENABLED, failed=True, msg="enabling FileVault failed: fdesetup exited 1"))],
     "writing the recovery key to escrow_dir failed (OSError: [Errno 28] No space left on device)"),
    ([(MODULE, LOST), (ROTATE, dict(ROTATED, failed=True, msg="the recovery key could not be changed"))],
     "the recovery key of an interrupted run was lost and rotating it failed: the recovery key could not be "
     "changed; the key it printed could not be escrowed: writing the recovery key to escrow_dir failed (OSError: "
     "[Errno 28] No space left on device)"),
    ([(MODULE, LOST), (ROTATE, ROTATED)], "writing the recovery key to escrow_dir failed (OSError: [Errno 28] No "
                                          "space left on device)"),
], ids=["enabled", "enable-failed", "rotation-failed", "rotated"])
def test_a_key_that_cannot_be_written_is_reported_not_shown(run_action, tmp_path, monkeypatch, script, message):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_escrow.tempfile, "mkstemp", full_disk)
    run = run_action(filevault, task_args(tmp_path), script)
    result = run()
    assert result["failed"] is True and result["escrowed"] is False and result["changed"] is True
    assert message in result["msg"] and "force=true to rotate and escrow a new key" in result["msg"]
    assert len(run.calls) == len(script) and visible_files(tmp_path) == []  # no validation: the Mac keeps its copy
    assert_nothing_shown(run, result)
