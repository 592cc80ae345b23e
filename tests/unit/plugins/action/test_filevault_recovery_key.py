# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filevault_recovery_key action plugin: the escrowed key goes to the module, a new key to escrow_dir.

Every run is checked for what reached the Mac (module and arguments, in order), what the plugin returned, which
files escrow_dir holds afterwards, and that no key or password is in the result or the quoted task.
"""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleConnectionFailure
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.macops.tokens.plugins.action import filevault_recovery_key
from ansible_collections.macops.tokens.plugins.plugin_utils import _escrow, _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import (
    ESCROW_NAME, NEW_KEY, OLD_KEY, SECRETS, USER_PW, assert_no_key_or_password, assert_no_secret, escrowed_key,
    fingerprint, HANDSHAKE, HOST, handshake_warnings, ledger, pre_escrow, validate_args, validated, visible_files,
    with_key)

MODULE = "macops.tokens.filevault_recovery_key"
ROTATED = with_key({"changed": True, "escrowed": False, "valid": None, "reason": "no key is escrowed for this Mac",
                    "pending": False}, Change=True)


def task_args(directory, **extra):
    return dict({"user": "alice", "password": USER_PW, "escrow_dir": str(directory)}, **extra)


@pytest.mark.parametrize("extra,message", [
    ({"validate_only": True}, "validate_only is for the collection's own action plugins; to check the escrowed key, "
                              "run this module without it in check mode"),
    ({"confirm_pending": "0123456789abcdef"}, "confirm_pending is for the collection's own action plugins; remove "
                                              "it from the task"),
    ({"recovery_key": OLD_KEY}, "recovery_key is filled in from escrow_dir by the action plugin; remove it from the "
                                "task"),
    ({"revealed": "revealed by me"}, "revealed is filled in from the escrow's ledger by the action plugin; remove it "
                                     "from the task"),
], ids=["validate_only", "confirm_pending", "recovery_key", "revealed"])
def test_options_for_the_plugins_own_use_are_refused(run_action, tmp_path, extra, message):
    pre_escrow(tmp_path)
    before = visible_files(tmp_path)
    run = run_action(filevault_recovery_key, task_args(tmp_path, **extra))
    result = run()
    assert result == {"failed": True, "msg": message}
    assert run.calls == [] and visible_files(tmp_path) == before
    assert_no_key_or_password(run, result)
    assert run.source_args()["password"] == MASK
    if "recovery_key" in extra:
        assert run.source_args()["recovery_key"] == MASK


def no_secret_key_file(directory):
    data = VaultLib([("default", VaultSecret(b"unit-vault-secret"))]).encrypt(b"host: mac-01\n")
    (directory / ESCROW_NAME).write_bytes(data)


@pytest.mark.parametrize("escrow_dir,prepare,vault_password,message", [
    (None, None, b"unit-vault-secret", "escrow_dir is required: give a persistent directory on the controller"),
    ("relative/escrow", None, b"unit-vault-secret", "escrow_dir must be an absolute path on the controller; got "
                                                    "relative/escrow"),
    ("{tmp}/missing", None, b"unit-vault-secret", "escrow_dir {tmp}/missing does not exist on the controller; create "
                                                  "it (mode 0700"),
    ("{tmp}", "unwritable", b"unit-vault-secret", "escrow_dir {tmp} is not writable by the controller's user"),
    ("{tmp}", None, None, "escrowing recovery keys needs a vault password to encrypt them with, and none was given: "
                          "run with --vault-password-file or --vault-id"),
    ("{tmp}", "other-vault", b"unit-vault-secret", "escrow file {tmp}/mac-01.recovery-key.vault cannot be decrypted "
                                                   "with the vault password(s) given (AnsibleVaultError); run with the "
                                                   "vault password it was written with"),
    ("{tmp}", no_secret_key_file, b"unit-vault-secret", "escrow file {tmp}/mac-01.recovery-key.vault decrypts but "
                                                        "holds no recovery_key; move it aside"),
], ids=["no-escrow_dir", "relative", "missing", "unwritable", "no-vault-password", "undecryptable", "no-key-in-file"])
def test_an_unusable_escrow_stops_the_task_before_the_mac_is_touched(run_action, tmp_path, monkeypatch, escrow_dir,
                                                                     prepare, vault_password, message):
    if prepare == "unwritable":  # the tests may run as root, for whom no mode bit denies writing
        monkeypatch.setattr(_escrow.os, "access", lambda path, mode: path != str(tmp_path))
    elif prepare == "other-vault":
        pre_escrow(tmp_path, password=b"another-vault-secret")
    elif prepare:
        prepare(tmp_path)
    before = visible_files(tmp_path)
    args = task_args(tmp_path)
    if escrow_dir is None:
        del args["escrow_dir"]
    else:
        args["escrow_dir"] = escrow_dir.format(tmp=tmp_path)
    run = run_action(filevault_recovery_key, args, vault_password=vault_password)
    result = run()
    assert result["failed"] is True and result["changed"] is False and result["escrowed"] is False
    assert message.format(tmp=tmp_path) in result["msg"]
    assert run.calls == [] and visible_files(tmp_path) == before
    assert_no_key_or_password(run, result)


# Each case: the key escrowed before (or None), extra task options, check mode, the module's answer, the
# validate_only call's answer (None: there must be no such call), and what the run must end with.
ROUND_TRIPS = {
    "none-escrowed-rotates": (None, {}, False, ROTATED, validated(),
                              {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": []}),
    "escrowed-key-valid-left-alone": (
        OLD_KEY, {}, False, {"changed": False, "escrowed": False, "valid": True, "reason": "the escrowed key is valid"},
        None, {"changed": False, "escrowed": True, "key": OLD_KEY, "kept": []}),
    "escrowed-key-invalid-rotates": (
        OLD_KEY, {}, False, dict(ROTATED, valid=False, reason="the escrowed key does not unlock this Mac"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY]}),
    "force-rotates-a-valid-key": (
        OLD_KEY, {"force": True, "timeout": 120}, False, dict(ROTATED, valid=True, reason="force=true"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY]}),
    "failed-carrying-a-key": (
        OLD_KEY, {}, False, dict(ROTATED, valid=False, failed=True, rc=1, msg="the recovery key could not be changed; "
                                 "the key it printed is escrowed before this task fails: fdesetup exited 1"),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY], "failed": True,
                      "msg": "the recovery key could not be changed; the key it printed is escrowed"}),
    "failed-without-a-key": (
        None, {}, False, {"failed": True, "changed": False, "escrowed": False, "valid": None,
                          "msg": "user alice is not a FileVault user on this Mac"},
        None, {"changed": False, "escrowed": False, "key": None, "kept": [], "failed": True,
               "msg": "user alice is not a FileVault user on this Mac"}),
    "check-mode": (
        OLD_KEY, {}, True, {"changed": True, "escrowed": False, "valid": False,
                            "reason": "the escrowed key does not unlock this Mac"},
        None, {"changed": True, "escrowed": False, "key": OLD_KEY, "kept": []}),
    "check-mode-valid": (
        OLD_KEY, {}, True, {"changed": False, "escrowed": False, "valid": True, "reason": "the escrowed key is valid"},
        None, {"changed": False, "escrowed": True, "key": OLD_KEY, "kept": []}),
    "collects-a-key-an-interrupted-run-left": (
        OLD_KEY, {}, False, with_key({"changed": True, "escrowed": False, "valid": False, "collected_pending": True,
                                      "reason": "collect the recovery key an interrupted run left on the Mac"}),
        validated(), {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [OLD_KEY]}),
    "handshake-copy-not-removed": (
        None, {}, False, ROTATED, validated(cleared=False),
        {"changed": True, "escrowed": True, "key": NEW_KEY, "kept": [], "warning": HANDSHAKE}),
    "new-key-does-not-validate": (
        None, {}, False, ROTATED, validated(valid=False, cleared=None),
        {"changed": True, "escrowed": False, "key": NEW_KEY, "kept": [], "failed": True,
         "msg": "does not validate on the Mac (fdesetup validaterecovery said false); the new key is valid on the "
                "Mac but is not escrowed"}),
    "validation-call-failed": (
        None, {}, False, ROTATED, {"failed": True, "msg": "fdesetup validaterecovery timed out after 60 seconds"},
        {"changed": True, "escrowed": False, "key": NEW_KEY, "kept": [], "failed": True,
         "msg": "does not validate on the Mac (fdesetup validaterecovery timed out after 60 seconds)"}),
}


@pytest.mark.parametrize("escrowed,extra,check_mode,answer,check,expect", list(ROUND_TRIPS.values()),
                         ids=list(ROUND_TRIPS))
def test_round_trips(run_action, tmp_path, escrowed, extra, check_mode, answer, check, expect):
    if escrowed:
        pre_escrow(tmp_path, escrowed)
    script = [(MODULE, answer)] + ([(MODULE, check)] if check is not None else [])
    run = run_action(filevault_recovery_key, task_args(tmp_path, **extra), script, check_mode=check_mode)
    result = run()

    # What reached the Mac: the task's options with the escrowed key added; then the key read back, to validate.
    sent = task_args(tmp_path, **extra)
    if escrowed:
        sent["recovery_key"] = escrowed
    assert [c.module for c in run.calls] == [MODULE] * len(script) and run.calls[0].args == sent
    if check is not None:
        assert run.calls[1].args == validate_args(tmp_path, timeout=extra.get("timeout", 60),
                                                  pending="pending_fingerprint" in answer)

    # What the user sees.
    assert result["changed"] is expect["changed"] and result["escrowed"] is expect["escrowed"]
    assert result.get("failed", False) is expect.get("failed", False)
    assert expect.get("msg", "") in result.get("msg", "")
    assert handshake_warnings(result) == ([expect["warning"]] if "warning" in expect else [])
    for gone in ("recovery_key", "recovery_key_info", "pending_fingerprint"):
        assert gone not in result
    if expect["escrowed"] or check is not None:
        assert result["escrow_file"] == str(tmp_path / ESCROW_NAME)
        assert result["key_fingerprint"] == fingerprint(expect["key"])
    else:
        assert "escrow_file" not in result and "key_fingerprint" not in result
    assert_no_key_or_password(run, result)

    # What escrow_dir holds: the current key, and every key it replaced.
    if expect["key"] is None:
        assert visible_files(tmp_path) == []
    else:
        assert escrowed_key(tmp_path, ESCROW_NAME) == expect["key"]
        kept = [n for n in visible_files(tmp_path) if n != ESCROW_NAME]
        assert [escrowed_key(tmp_path, n) for n in kept] == expect["kept"]
        assert all(n.startswith(ESCROW_NAME + ".superseded-") for n in kept)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    # The ledger: every key written, by fingerprint, with the one it replaced; nothing when no key was written.
    wrote = expect["key"] == NEW_KEY
    assert ledger(tmp_path) == ([("escrowed", HOST, fingerprint(NEW_KEY), fingerprint(OLD_KEY) if escrowed else None)]
                                if wrote else [])


def test_a_key_that_cannot_be_written_is_reported_not_shown(run_action, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_escrow.tempfile, "mkstemp", full_disk)
    run = run_action(filevault_recovery_key, task_args(tmp_path), [(MODULE, ROTATED)])
    result = run()
    assert result["failed"] is True and result["escrowed"] is False and result["changed"] is True
    assert result["msg"] == ("writing the recovery key to escrow_dir failed (OSError: [Errno 28] No space left on "
                             "device); the new key is valid on the Mac but is not escrowed; FileVault users can still "
                             "unlock the Mac. Fix the cause and run macops.tokens.filevault_recovery_key with "
                             "force=true to rotate and escrow a new key")
    assert len(run.calls) == 1 and visible_files(tmp_path) == []  # nothing to validate: the handshake copy stays
    assert_no_key_or_password(run, result)


def test_a_connection_lost_while_validating_leaves_the_key_escrowed_and_unshown(run_action, tmp_path):
    """The Mac keeps its copy (no confirmation reached it); the escrowed key is there for the next run to find."""
    lost = AnsibleConnectionFailure("Failed to connect to the host via ssh: Connection reset by peer")
    run = run_action(filevault_recovery_key, task_args(tmp_path), [(MODULE, ROTATED), (MODULE, lost)])
    with pytest.raises(AnsibleConnectionFailure) as caught:
        run()
    assert_no_secret(str(caught.value), SECRETS)
    assert escrowed_key(tmp_path, ESCROW_NAME) == NEW_KEY
    assert_no_key_or_password(run, {})


@pytest.mark.parametrize("revealed_key,sends", [(OLD_KEY, True), (NEW_KEY, False)],
                         ids=["the-escrowed-key-was-revealed", "another-key-was-revealed"])
def test_a_revealed_key_is_rotated_and_the_ledger_records_the_new_one(run_action, tmp_path, revealed_key, sends):
    pre_escrow(tmp_path, OLD_KEY)
    _ledger.append(str(tmp_path), {"event": "revealed", "host": HOST, "fingerprint": fingerprint(revealed_key),
                                   "by": "helpdesk1", "job": "42", "reason": "INC-4711"})
    said = _ledger.describe(_ledger.entries(str(tmp_path))[0])
    answer = (dict(ROTATED, valid=True, revealed=said, reason="the escrowed key was %s; a revealed key is rotated "
                   "after use" % said) if sends else
              {"changed": False, "escrowed": False, "valid": True, "reason": "the escrowed key is valid"})
    script = [(MODULE, answer)] + ([(MODULE, validated())] if sends else [])
    run = run_action(filevault_recovery_key, task_args(tmp_path), script)
    result = run()
    expected = dict(task_args(tmp_path), recovery_key=OLD_KEY, **({"revealed": said} if sends else {}))
    assert run.calls[0].args == expected
    assert said.startswith("revealed ") and "by helpdesk1 (job 42): INC-4711" in said
    assert result["changed"] is sends and result["escrowed"] is True
    assert escrowed_key(tmp_path, ESCROW_NAME) == (NEW_KEY if sends else OLD_KEY)
    events = [("revealed", HOST, fingerprint(revealed_key), None)]
    if sends:
        events.append(("escrowed", HOST, fingerprint(NEW_KEY), fingerprint(OLD_KEY)))
        kept = [n for n in visible_files(tmp_path) if n != ESCROW_NAME]
        assert [escrowed_key(tmp_path, n) for n in kept] == [OLD_KEY]
    assert ledger(tmp_path) == events
    assert_no_key_or_password(run, result)


def test_an_unreadable_ledger_stops_the_task_before_the_mac_is_touched(run_action, tmp_path):
    pre_escrow(tmp_path, OLD_KEY)
    (tmp_path / _ledger.LEDGER).write_text("not json\n")
    run = run_action(filevault_recovery_key, task_args(tmp_path))
    result = run()
    assert result["failed"] and run.calls == []
    assert "line 1 of the ledger %s is not JSON" % (tmp_path / _ledger.LEDGER) in result["msg"]
