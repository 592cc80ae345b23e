# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""filevault and filevault_recovery_key with the command boundary mocked: branches, exit codes, secrets."""

from __future__ import annotations

import errno
import json
import os
import plistlib

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.macops.tokens.plugins.module_utils import _filevault, _pending, _runner
from ansible_collections.macops.tokens.plugins.modules import filevault, filevault_recovery_key
from ansible_collections.macops.tokens.tests.unit.plugins.modules.test_info_modules import (
    ALICE, BOB, HEALTHY, SHADOW, crypto, record)

KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"  # the published CoreStorage -outputplist sample's key
NEW_KEY = "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"  # the published changerecovery sample's key
OFF = dict(HEALTHY)
OFF.update({("fdesetup", "status"): "FileVault is Off.\n", ("fdesetup", "haspersonalrecoverykey"): "false\n"})
ON_BOTH = dict(HEALTHY)
ON_BOTH[("fdesetup", "list")] = "alice,%s\nbob,%s\n" % (ALICE, BOB)
BOB_CRYPTO = crypto((ALICE, "Local Open Directory User", True), (BOB, "Local Open Directory User", False))
BOB_RECORDS = "\n-\n".join([
    record("alice", 501, ALICE, "Alice", [SHADOW, ";SecureToken;"]),
    record("bob", 502, BOB, "Bob", [SHADOW, ";SecureToken;"]),
]) + "\n"
BOB_HOLDS = {("diskutil", "apfs", "listCryptoUsers", "/"): BOB_CRYPTO, ("dscl", ".", "-readall", "/Users"): BOB_RECORDS}
PASSWORDS = {"alice": "alice <&> secret", "bob": "bob-secret"}
ADMIN = {"user": "alice", "password": "alice <&> secret"}


def merged(*tables):
    out = {}
    for table in tables:
        out.update(table)
    return out


def key_plist(key, change=False):
    doc = {"EnabledDate": "2026-01-01 10:00:00 +0000", "EnabledUser": "alice", "HardwareUUID": "F6329A14-0000",
           "RecoveryKey": key, "SerialNumber": "C02XXXX"}
    if change:
        doc["Change"] = True
    return plistlib.dumps(doc).decode()


class FakeFdesetup(object):
    """The read commands answer from ``state`` (a table); fdesetup verbs act and switch to ``after``."""

    def __init__(self, state, after=None, rc=0, key=KEY, valid_key=KEY, printed=None):
        self.state, self.after, self.rc, self.key, self.valid_key = state, after or state, rc, key, valid_key
        self.printed = printed  # (rc, stdout, stderr) the key-printing verbs answer with, after acting
        self.calls, self.stdin = [], []

    def run_command(self, args, data=None, **kwargs):
        tool = args[0].rsplit("/", 1)[-1]
        argv = [tool] + args[1:]
        self.calls.append(argv)
        self.stdin.append(data)
        verb = argv[1] if len(argv) > 1 else None
        if tool == "fdesetup" and verb in ("enable", "add", "disable", "changerecovery"):
            if self.rc:
                return self.rc, "", "Error: something\n"
            self.state = self.after
            if self.printed is not None and verb in ("enable", "changerecovery"):
                return self.printed
            if verb == "enable" and "-outputplist" in argv:
                return 0, key_plist(self.key), ""
            if verb == "changerecovery":
                return 0, key_plist(self.key, change=True), ""
            return 0, "", ""
        if tool == "fdesetup" and verb == "validaterecovery":
            given = plistlib.loads(data)["Password"]
            return (0, "true\n", "") if given == self.valid_key else (1, "false\n", "")
        key = tuple(argv)
        if key[:4] == ("dscl", ".", "-readall", "/Users"):
            key = key[:4]
        return 0, self.state[key], ""

    def converse(self, tool, args, answers, timeout=None):
        self.calls.append([tool] + args)
        self.stdin.append(None)  # the password went to the terminal
        ok = PASSWORDS.get(args[-1]) == answers[0][1]
        return _runner.Result(["/usr/bin/dscl"] + args, 0 if ok else 255,
                              "" if ok else "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)\n", "")


def run(monkeypatch, capsys, module, args, fake, check=False, diff=False, fda=True):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", fake.run_command)
    monkeypatch.setattr(_runner.Runner, "converse", fake.converse)
    monkeypatch.setattr(_runner.os.path, "exists", lambda path: True)
    monkeypatch.setattr(_filevault, "full_disk_access", lambda opener=None: fda)
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def verbs(fake):
    return [c[:2] for c in fake.calls if c[0] == "fdesetup" and c[1] in ("enable", "add", "disable", "changerecovery")]


def test_enable_feeds_an_escaped_plist_and_returns_the_key_for_the_action_plugin(monkeypatch, capsys):
    fake = FakeFdesetup(OFF, after=HEALTHY)
    result = run(monkeypatch, capsys, filevault, ADMIN, fake, diff=True)
    assert result["changed"] and result["actions"] == ["enable FileVault authorised by alice"]
    assert result["recovery_key"] == KEY and result["recovery_key_info"]["SerialNumber"] == "C02XXXX"
    assert result["diff"] == {"before": {"state": "off", "deferred_user": None, "users": ["alice"]},
                              "after": {"state": "on", "deferred_user": None, "users": ["alice"]}}
    enable = [c for c in fake.calls if c[:2] == ["fdesetup", "enable"]]
    assert enable == [["fdesetup", "enable", "-inputplist", "-outputplist"]]
    sent = fake.stdin[fake.calls.index(enable[0])]
    assert b"alice &lt;&amp;&gt; secret" in sent
    assert plistlib.loads(sent) == {"Username": "alice", "Password": "alice <&> secret"}
    assert not any("secret" in " ".join(c) for c in fake.calls)


def test_check_mode_predicts_and_changes_nothing(monkeypatch, capsys):
    fake = FakeFdesetup(OFF, after=HEALTHY)
    result = run(monkeypatch, capsys, filevault, ADMIN, fake, check=True, diff=True)
    assert result["changed"] and result["diff"]["after"]["state"] == "on" and verbs(fake) == []
    assert "recovery_key" not in result


def test_enabled_already_is_unchanged_and_needs_no_password_check(monkeypatch, capsys):
    fake = FakeFdesetup(HEALTHY)
    result = run(monkeypatch, capsys, filevault, {"user": "alice", "password": "wrong"}, fake)
    assert not result["changed"] and verbs(fake) == [] and not [c for c in fake.calls if c[0] == "dscl" and
                                                                "-authonly" in c]


def test_add_a_token_holder(monkeypatch, capsys):
    before = merged(HEALTHY, BOB_HOLDS)
    after = merged(ON_BOTH, BOB_HOLDS)
    fake = FakeFdesetup(before, after=after)
    result = run(monkeypatch, capsys, filevault, dict(ADMIN, users=[{"name": "bob", "password": "bob-secret"}]), fake)
    assert result["changed"] and result["actions"] == ["add bob to FileVault"] and verbs(fake) == [["fdesetup", "add"]]
    sent = plistlib.loads(fake.stdin[[c[:2] for c in fake.calls].index(["fdesetup", "add"])])
    assert sent["AdditionalUsers"] == [{"Username": "bob", "Password": "bob-secret"}]


def test_add_that_does_not_take_fails(monkeypatch, capsys):
    before = merged(HEALTHY, BOB_HOLDS)
    fake = FakeFdesetup(before)  # fdesetup exits 0 but bob is still not listed
    result = run(monkeypatch, capsys, filevault, dict(ADMIN, users=[{"name": "bob", "password": "bob-secret"}]), fake)
    assert result["failed"] and result["msg"] == "bob not FileVault user(s) after the change"


@pytest.mark.parametrize("outputs,args,fda,message", [
    (OFF, ADMIN, False, "Remote Login has no Full Disk Access"),
    (OFF, {"user": "alice"}, True, "user and password go together"),
    (OFF, {}, True, "FileVault is off: give user and password"),
    (OFF, {"user": "bob", "password": "bob-secret"}, True, "user bob holds no secure token"),
    (OFF, {"user": "carol", "password": "x"}, True, "user carol is not an account on this Mac"),
    (OFF, {"user": "alice", "password": "nope"}, True, "the password given for alice is wrong"),
    (merged(OFF, {("fdesetup", "status"): "FileVault is On.\nDecryption in progress: Percent completed = 12.5\n"}),
     ADMIN, True, "decrypting (12.5% done)"),
    (dict(HEALTHY), dict(ADMIN, users=[{"name": "bob", "password": "bob-other-pw"}]), True,
     "users entry bob holds no secure"),
    (dict(HEALTHY), {"users": [{"name": "alice", "password": "alice-other-pw"}]}, True,
     "user and password are required to add"),
])
def test_errors_change_nothing(monkeypatch, capsys, outputs, args, fda, message):
    fake = FakeFdesetup(outputs)
    result = run(monkeypatch, capsys, filevault, args, fake, fda=fda)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert verbs(fake) == []


@pytest.mark.parametrize("rc,words", [
    (11, "authentication failed"), (31, "management settings"), (37, "blank password"), (2, "busy"),
    (99, "internal error"), (1, "Full Disk Access"), (42, "which fdesetup(8) does not document"),
])
def test_fdesetup_exit_codes_in_words(monkeypatch, capsys, rc, words):
    fake = FakeFdesetup(OFF, rc=rc)
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    assert result["failed"] and result["msg"].startswith("enabling FileVault failed: fdesetup exited %s" % rc)
    assert words in result["msg"] and result["rc"] == rc and "recovery_key" not in result


def test_enable_that_does_not_take_fails_but_hands_over_the_key(monkeypatch, capsys):
    fake = FakeFdesetup(OFF, after=OFF)  # exits 0, prints a key, but FileVault is still off when re-read
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    assert result["failed"] and "FileVault is off when re-read" in result["msg"]
    assert result["recovery_key"] == KEY  # the action plugin escrows it anyway: a key on a Mac is never dropped


def test_defer_and_disable(monkeypatch, capsys):
    info = '{\n    Defer = 1;\n    OutputPath = "/var/db/x";\n    Usernames =     (\n        "alice"\n    );\n}\n'
    deferred = merged(OFF, {("fdesetup", "showdeferralinfo"): info})
    fake = FakeFdesetup(OFF, after=deferred)
    result = run(monkeypatch, capsys, filevault, {"defer": True, "defer_user": "alice", "force_at_login": 0}, fake)
    assert result["changed"] and [c for c in fake.calls if c[:2] == ["fdesetup", "enable"]] == [
        ["fdesetup", "enable", "-defer", "/var/db/fdesetup.plist", "-user", "alice", "-forceatlogin", "0"]]
    same = FakeFdesetup(deferred)
    assert not run(monkeypatch, capsys, filevault, {"defer": True, "defer_user": "alice"}, same)["changed"]
    off = FakeFdesetup(deferred, after=OFF)
    result = run(monkeypatch, capsys, filevault, {"state": "disabled"}, off)
    assert result["changed"] and off.calls[-len(off.calls):] and ["fdesetup", "disable"] in off.calls
    on = FakeFdesetup(HEALTHY, after=OFF)
    result = run(monkeypatch, capsys, filevault, dict(ADMIN, state="disabled"), on)
    assert result["changed"] and ["fdesetup", "disable", "-inputplist"] in on.calls
    needs = run(monkeypatch, capsys, filevault, {"state": "disabled"}, FakeFdesetup(HEALTHY))
    assert needs["failed"] and "user and password (a FileVault user) are required" in needs["msg"]


# ---- filevault_recovery_key ---------------------------------------------------------------------
KEY_ARGS = {"escrow_dir": "/srv/escrow"}


@pytest.mark.parametrize("given,force,reason,changed", [
    (KEY, False, "the escrowed key is valid", False),
    (KEY, True, "force=true", True),
    (None, False, "no key is escrowed for this Mac", True),
    ("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", False, "the escrowed key does not unlock this Mac", True),
])
def test_recovery_key_decisions(monkeypatch, capsys, given, force, reason, changed):
    fake = FakeFdesetup(HEALTHY, key=NEW_KEY)
    args = dict(KEY_ARGS, force=force, **ADMIN)
    if given:
        args["recovery_key"] = given
    result = run(monkeypatch, capsys, filevault_recovery_key, args, fake)
    assert result["reason"].startswith(reason) and result["changed"] is changed
    assert (result.get("recovery_key") == NEW_KEY) is changed
    assert verbs(fake) == ([["fdesetup", "changerecovery"]] if changed else [])
    for argv, data in zip(fake.calls, fake.stdin):
        assert KEY not in " ".join(argv) and NEW_KEY not in " ".join(argv)
        if argv[:2] == ["fdesetup", "validaterecovery"]:
            assert plistlib.loads(data) == {"Password": given}


def test_recovery_key_check_mode_and_validate_only(monkeypatch, capsys):
    fake = FakeFdesetup(HEALTHY, key=NEW_KEY)
    result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, **ADMIN), fake, check=True, diff=True)
    assert result["changed"] and verbs(fake) == [] and "recovery_key" not in result
    assert result["diff"] == {"before": {"valid_key_escrowed": False}, "after": {"valid_key_escrowed": True}}
    result = run(monkeypatch, capsys, filevault_recovery_key,
                 dict(KEY_ARGS, recovery_key="AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", validate_only=True), fake)
    assert result["valid"] is False and not result["changed"] and verbs(fake) == []


def test_rotation_authorised_by_the_valid_key(monkeypatch, capsys):
    fake = FakeFdesetup(HEALTHY, key=NEW_KEY)
    result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY, force=True), fake)
    assert result["changed"] and result["recovery_key"] == NEW_KEY
    sent = fake.stdin[[c[:2] for c in fake.calls].index(["fdesetup", "changerecovery"])]
    assert plistlib.loads(sent) == {"Password": KEY}


@pytest.mark.parametrize("outputs,args,rc,message", [
    (OFF, dict(KEY_ARGS, **ADMIN), 0, "FileVault is off on this Mac"),
    (HEALTHY, dict(KEY_ARGS), 0, "rotating it needs user and password"),
    (HEALTHY, dict(KEY_ARGS, user="bob", password="bob-secret"), 0, "user bob is not a FileVault user"),
    (HEALTHY, dict(KEY_ARGS, **ADMIN), 11, "the recovery key could not be changed: fdesetup exited 11: authentication"),
])
def test_recovery_key_errors(monkeypatch, capsys, outputs, args, rc, message):
    fake = FakeFdesetup(outputs, rc=rc)
    result = run(monkeypatch, capsys, filevault_recovery_key, args, fake)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert "recovery_key" not in result


def test_full_disk_access_probe():
    def opener(error):
        def _open(path, mode):
            assert path == "/Library/Application Support/com.apple.TCC/TCC.db" and mode == "rb"
            if error:
                raise OSError(error, "probe")
            return open(__file__, "rb")
        return _open
    assert _filevault.full_disk_access(opener(None)) is True
    assert _filevault.full_disk_access(opener(errno.EPERM)) is False
    assert _filevault.full_disk_access(opener(errno.EACCES)) is False
    assert _filevault.full_disk_access(opener(errno.ENOENT)) is None


# ---- a recovery key survives every failure and interruption (issue 10) ---------------------------
def _held(result):
    """What the task result would show once the action plugin has taken the key out."""
    shown = dict(result)
    for name in ("recovery_key", "recovery_key_info", "pending_fingerprint"):
        shown.pop(name, None)
    return json.dumps(shown)


@pytest.mark.parametrize("rc,stderr", [(1, ""), (26, "Error: a keychain error occurred.\n"),
                                       (99, "key %s printed in an error line\n" % KEY)])
def test_a_key_printed_by_a_failing_enable_is_withheld_and_handed_over(monkeypatch, capsys, pending_dir, rc, stderr):
    """Defect 2: the failure message once quoted fdesetup's stdout, key included."""
    fake = FakeFdesetup(OFF, after=HEALTHY, printed=(rc, key_plist(KEY), stderr))
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    assert result["failed"] and "escrowed before this task fails" in result["msg"]
    assert KEY not in _held(result) and "DLEV" not in _held(result)
    assert result["recovery_key"] == KEY and result["pending_fingerprint"] == _pending.fingerprint(KEY)
    assert _pending.read()["RecoveryKey"] == KEY  # kept on the Mac until the controller confirms


def test_a_failing_rotation_withholds_its_output_too(monkeypatch, capsys):
    fake = FakeFdesetup(HEALTHY, key=NEW_KEY, printed=(26, key_plist(NEW_KEY, change=True), ""))
    result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, force=True, recovery_key=KEY, **ADMIN),
                 fake)
    assert result["failed"] and NEW_KEY not in _held(result) and result["recovery_key"] == NEW_KEY


def test_enable_without_a_key_plist_warns_and_leaves_the_marker(monkeypatch, capsys):
    """Defect 3: FileVault came on, no key arrived, and the task said nothing."""
    fake = FakeFdesetup(OFF, after=HEALTHY, printed=(0, "", ""))
    seen = []
    monkeypatch.setattr(filevault.AnsibleModule, "warn", lambda self, text, **kw: seen.append(text))
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    assert result["changed"] and not result["escrowed"] and "recovery_key" not in result
    assert any("printed no recovery key" in w for w in seen)
    assert _pending.read()["state"] == "started"  # the next run knows the key was lost and rotates it


def test_the_key_is_on_the_macs_disk_before_the_module_returns(monkeypatch, capsys):
    fake = FakeFdesetup(OFF, after=HEALTHY)
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    kept = _pending.read()
    assert kept["state"] == "key" and kept["RecoveryKey"] == KEY and kept["verb"] == "enable"
    assert kept["SerialNumber"] == "C02XXXX" and result["recovery_key"] == KEY
    assert oct(os.stat(_pending.DIRECTORY).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(_pending.DIRECTORY, _pending.NAME)).st_mode & 0o777) == "0o600"


def test_a_key_left_by_an_interrupted_run_is_collected_first(monkeypatch, capsys):
    _pending.begin("enable")
    _pending.store({"RecoveryKey": KEY, "SerialNumber": "C02XXXX"}, "enable")
    fake = FakeFdesetup(HEALTHY)
    result = run(monkeypatch, capsys, filevault, ADMIN, fake)
    assert result["changed"] and result["collected_pending"] and result["recovery_key"] == KEY
    assert "collect the recovery key an interrupted run (enable" in result["actions"][0] and verbs(fake) == []
    checked = run(monkeypatch, capsys, filevault, ADMIN, FakeFdesetup(HEALTHY), check=True)
    assert checked["changed"] and checked["actions"][0].startswith("would collect") and "recovery_key" not in checked
    assert _pending.read()["RecoveryKey"] == KEY  # only a confirmed escrow removes it


def test_a_left_key_that_no_longer_unlocks_is_removed(monkeypatch, capsys):
    _pending.store({"RecoveryKey": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}, "changerecovery")
    result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY), FakeFdesetup(HEALTHY))
    assert not result["changed"] and result["valid"] and _pending.read() is None


def test_a_marker_alone_on_an_encrypted_mac_means_the_key_was_lost(monkeypatch, capsys):
    _pending.begin("enable")
    seen = []
    monkeypatch.setattr(filevault.AnsibleModule, "warn", lambda self, text, **kw: seen.append(text))
    result = run(monkeypatch, capsys, filevault, ADMIN, FakeFdesetup(HEALTHY))
    assert result["key_lost"] and "nobody holds the current key" in seen[0]
    fake = FakeFdesetup(HEALTHY, key=NEW_KEY)
    rotated = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, **ADMIN), fake)
    assert rotated["changed"] and rotated["recovery_key"] == NEW_KEY and "interrupted run" in rotated["reason"]
    assert _pending.read()["RecoveryKey"] == NEW_KEY


def test_a_marker_with_a_valid_escrowed_key_is_only_removed(monkeypatch, capsys):
    _pending.begin("changerecovery")  # a rotation that failed before the key changed
    fake = FakeFdesetup(HEALTHY)
    result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY, **ADMIN), fake)
    assert not result["changed"] and result["valid"] and verbs(fake) == [] and _pending.read() is None


def test_only_a_confirmed_fingerprint_removes_the_macs_copy(monkeypatch, capsys):
    _pending.store({"RecoveryKey": KEY}, "enable")
    args = dict(KEY_ARGS, recovery_key=KEY, validate_only=True, confirm_pending=_pending.fingerprint(NEW_KEY))
    result = run(monkeypatch, capsys, filevault_recovery_key, args, FakeFdesetup(HEALTHY))
    assert result["valid"] and result["pending_cleared"] is False and _pending.read()["RecoveryKey"] == KEY
    args["confirm_pending"] = _pending.fingerprint(KEY)
    result = run(monkeypatch, capsys, filevault_recovery_key, args, FakeFdesetup(HEALTHY))
    assert result["pending_cleared"] is True and _pending.read() is None


def test_a_new_key_never_replaces_one_still_waiting(monkeypatch, capsys):
    _pending.store({"RecoveryKey": KEY}, "enable")
    with pytest.raises(_pending.PendingError):
        _pending.begin("changerecovery")
    assert _pending.read()["RecoveryKey"] == KEY


def test_an_unreadable_pending_file_is_reported_not_ignored(monkeypatch, capsys, pending_dir):
    pending_dir.mkdir()
    (pending_dir / _pending.NAME).write_text("{not json")
    result = run(monkeypatch, capsys, filevault, ADMIN, FakeFdesetup(HEALTHY))
    assert result["failed"] and "not readable JSON" in result["msg"] and "it may hold a recovery key" in result["msg"]


def test_hang_up_and_termination_are_held_off_while_the_key_exists_only_in_memory():
    import signal
    with _pending.held_off():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        held = signal.getsignal(signal.SIGTERM)
    assert held == signal.SIG_IGN and signal.getsignal(signal.SIGTERM) != signal.SIG_IGN


def test_the_marker_of_a_run_still_under_way_is_not_a_lost_key(monkeypatch, capsys):
    """Found by the two-runs-at-once row: a second run took the first run's marker for a lost key and rotated."""
    import subprocess
    import sys

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _pending.begin("enable")
        path = os.path.join(_pending.DIRECTORY, _pending.NAME)
        doc = json.load(open(path))
        doc["pid"] = other.pid  # the marker belongs to another, living process
        json.dump(doc, open(path, "w"))
        fake = FakeFdesetup(HEALTHY, key=NEW_KEY)
        result = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, **ADMIN), fake)
        assert result["failed"] and "right now (process %d" % other.pid in result["msg"] and verbs(fake) == []
        with pytest.raises(_pending.PendingError):
            _pending.begin("changerecovery")
    finally:
        other.kill()
        other.wait()
    rotated = run(monkeypatch, capsys, filevault_recovery_key, dict(KEY_ARGS, **ADMIN), FakeFdesetup(HEALTHY,
                                                                                                     key=NEW_KEY))
    assert rotated["changed"] and rotated["recovery_key"] == NEW_KEY  # once it is gone, the key is lost: rotate
