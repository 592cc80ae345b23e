# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""filevault and filevault_recovery_key on a simulated Mac (tests/unit/plugins/harness.py): branches, exit codes,
secrets. The simulated Mac makes the recovery keys each test names (KEY on enable, NEW_KEY on a rotation)."""

from __future__ import annotations

import errno
import json
import os
import plistlib

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _filevault, _pending
from ansible_collections.macops.tokens.plugins.modules import filevault, filevault_recovery_key
from ansible_collections.macops.tokens.tests.unit.plugins.harness import expect, fault
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import (
    KEY, OTHER_KEY, SERIAL, key_plist, state, user, users_of)
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import ALICE, BOB

NEW_KEY = "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"  # the published changerecovery sample's key
PASSWORDS = {"alice": "alice <&> secret", "bob": "bob-secret"}
ADMIN = {"user": "alice", "password": "alice <&> secret"}
USERS = [user("alice", 501, ALICE, password=PASSWORDS["alice"], admin=True, secure_token=True, volume_owner=True),
         user("bob", 502, BOB)]
ON = state(users=USERS)  # alice holds the token and unlocks FileVault; bob holds none
OFF = state(users=USERS, filevault="off")
BOB_HOLDS = users_of(ON, bob={"secure_token": True, "volume_owner": True, "fv_enabled": False})  # not a FV user
DECRYPTING = state(users=USERS, filevault={"state": "decrypting", "percent": 12.5, "rate": None})
FV_VERBS = ("enable", "add", "disable", "changerecovery")
AUTH = ("dscl", ["/Local/Default", "-authonly", "alice"], [ADMIN["password"]])


def verbs(mac):
    return [c.words[:2] for c in mac.calls if c.tool == "fdesetup" and c.argv[:1] and c.argv[0] in FV_VERBS]


def sent(mac, verb):
    """The property list the one ``fdesetup verb`` call read on stdin."""
    calls = mac.find("fdesetup", verb)
    assert len(calls) == 1, calls
    return calls[0].stdin


def refused(rc):
    """fdesetup refuses with ``rc`` and changes nothing."""
    return dict(rc=rc, out="", err="Error: something\n")


def test_enable_feeds_an_escaped_plist_and_returns_the_key_for_the_action_plugin(harness):
    mac = harness.sim(OFF, keys=[KEY])
    result = harness.run(filevault, ADMIN, mac, diff=True)
    assert result["changed"] and result["actions"] == ["enable FileVault authorised by alice"]
    assert result["recovery_key"] == KEY and result["recovery_key_info"]["SerialNumber"] == SERIAL
    assert result["diff"] == {"before": {"state": "off", "deferred_user": None, "users": ["alice"]},
                              "after": {"state": "on", "deferred_user": None, "users": ["alice"]}}
    assert mac.acts() == [AUTH, ("fdesetup", ["enable", "-inputplist", "-outputplist"],
                                 {"Username": "alice", "Password": "alice <&> secret"})]
    assert b"alice &lt;&amp;&gt; secret" in sent(mac, "enable")


def test_check_mode_predicts_and_changes_nothing(harness):
    mac = harness.sim(OFF)
    result = harness.run(filevault, ADMIN, mac, check=True, diff=True)
    assert result["changed"] and result["diff"]["after"]["state"] == "on" and verbs(mac) == []
    assert "recovery_key" not in result


def test_enabled_already_is_unchanged_and_needs_no_password_check(harness):
    mac = harness.sim(ON)
    result = harness.run(filevault, {"user": "alice", "password": "wrong"}, mac)
    assert not result["changed"] and mac.acts() == []


def test_add_a_token_holder(harness):
    mac = harness.sim(BOB_HOLDS)
    result = harness.run(filevault, dict(ADMIN, users=[{"name": "bob", "password": "bob-secret"}]), mac)
    assert result["changed"] and result["actions"] == ["add bob to FileVault"] and verbs(mac) == [["fdesetup", "add"]]
    assert plistlib.loads(sent(mac, "add"))["AdditionalUsers"] == [{"Username": "bob", "Password": "bob-secret"}]
    assert [u["fv_enabled"] for u in mac.state()["users"] if u["name"] == "bob"] == [True]


def test_add_that_does_not_take_fails(harness):
    mac = harness.sim(BOB_HOLDS, [fault("fdesetup", "add", rc=0, out="", err="")])  # exits 0, bob still not listed
    result = harness.run(filevault, dict(ADMIN, users=[{"name": "bob", "password": "bob-secret"}]), mac)
    assert result["failed"] and result["msg"] == "bob not FileVault user(s) after the change"


ERRORS = [
    ("no Full Disk Access", dict(OFF, remote_login_full_disk_access=False), ADMIN,
     "Remote Login has no Full Disk Access"),
    ("a user without a password", OFF, {"user": "alice"}, "user and password go together"),
    ("no credentials to enable", OFF, {}, "FileVault is off: give user and password"),
    ("a user without a token", OFF, {"user": "bob", "password": "bob-secret"}, "user bob holds no secure token"),
    ("no such account", OFF, {"user": "carol", "password": "x"}, "user carol is not an account on this Mac"),
    ("wrong password", OFF, {"user": "alice", "password": "nope"}, "the password given for alice is wrong"),
    ("decrypting", DECRYPTING, ADMIN, "decrypting (12.5% done)"),
    ("an extra user without a token", ON, dict(ADMIN, users=[{"name": "bob", "password": "bob-other-pw"}]),
     "users entry bob holds no secure"),
    ("adding needs the credentials", ON, {"users": [{"name": "alice", "password": "alice-other-pw"}]},
     "user and password are required to add"),
]


@pytest.mark.parametrize("mac,args,message", [r[1:] for r in ERRORS], ids=[r[0] for r in ERRORS])
def test_errors_change_nothing(harness, mac, args, message):
    mac = harness.sim(mac)
    result = harness.run(filevault, args, mac)
    expect(result, mac, msg=message)
    assert verbs(mac) == []


@pytest.mark.parametrize("rc,words", [
    (11, "authentication failed"), (31, "management settings"), (37, "blank password"), (2, "busy"),
    (99, "internal error"), (1, "Full Disk Access"), (42, "which fdesetup(8) does not document"),
])
def test_fdesetup_exit_codes_in_words(harness, rc, words):
    mac = harness.sim(OFF, [fault("fdesetup", "enable", **refused(rc))])
    result = harness.run(filevault, ADMIN, mac)
    assert result["failed"] and result["msg"].startswith("enabling FileVault failed: fdesetup exited %s" % rc)
    assert words in result["msg"] and result["rc"] == rc and "recovery_key" not in result
    assert mac.state()["filevault"]["state"] == "off"


def test_enable_that_does_not_take_fails_but_hands_over_the_key(harness):
    # exits 0, prints a key, but FileVault is still off when re-read
    mac = harness.sim(OFF, [fault("fdesetup", "enable", rc=0, out=key_plist(KEY), err="")])
    result = harness.run(filevault, ADMIN, mac)
    assert result["failed"] and "FileVault is off when re-read" in result["msg"]
    assert result["recovery_key"] == KEY  # the action plugin escrows it anyway: a key on a Mac is never dropped


def test_defer_and_disable(harness):
    mac = harness.sim(OFF)
    result = harness.run(filevault, {"defer": True, "defer_user": "alice", "force_at_login": 0}, mac)
    assert result["changed"] and mac.acts() == [
        ("fdesetup", ["enable", "-defer", "/var/db/fdesetup.plist", "-user", "alice", "-forceatlogin", "0"], None)]
    same = len(mac.calls)
    assert not harness.run(filevault, {"defer": True, "defer_user": "alice"}, mac)["changed"]
    assert len(mac.acts()) == 1 and len(mac.calls) > same
    result = harness.run(filevault, {"state": "disabled"}, mac)
    assert result["changed"] and ["fdesetup", "disable"] in mac.words("fdesetup")
    on = harness.sim(ON)
    result = harness.run(filevault, dict(ADMIN, state="disabled"), on)
    assert result["changed"] and on.acts()[-1] == ("fdesetup", ["disable", "-inputplist"],
                                                   {"Username": "alice", "Password": "alice <&> secret"})
    needs = harness.run(filevault, {"state": "disabled"}, harness.sim(ON))
    assert needs["failed"] and "user and password (a FileVault user) are required" in needs["msg"]


# ---- filevault_recovery_key ---------------------------------------------------------------------------------------
KEY_ARGS = {"escrow_dir": "/srv/escrow"}
ROTATE = ("fdesetup", ["changerecovery", "-personal", "-inputplist", "-outputplist"],
          {"Username": "alice", "Password": "alice <&> secret"})


def validate(key):
    return "fdesetup", ["validaterecovery", "-inputplist"], {"Password": key}


@pytest.mark.parametrize("given,force,reason,acts", [
    (KEY, False, "the escrowed key is valid", [validate(KEY)]),
    (KEY, True, "force=true", [validate(KEY), ROTATE]),
    (None, False, "no key is escrowed for this Mac", [ROTATE]),
    (OTHER_KEY, False, "the escrowed key does not unlock this Mac", [validate(OTHER_KEY), ROTATE]),
])
def test_recovery_key_decisions(harness, given, force, reason, acts):
    mac = harness.sim(ON, keys=[NEW_KEY])
    args = dict(KEY_ARGS, force=force, **ADMIN)
    if given:
        args["recovery_key"] = given
    result = harness.run(filevault_recovery_key, args, mac)
    changed = ROTATE in acts
    assert result["reason"].startswith(reason) and result["changed"] is changed
    assert (result.get("recovery_key") == NEW_KEY) is changed
    assert mac.acts() == acts  # the keys only ever on stdin (the harness checks every argv)
    assert mac.state()["filevault"]["personal_recovery_key"] == (NEW_KEY if changed else KEY)


REVEALED = "revealed 2026-12-02T10:00:00+00:00 by helpdesk1 (job 42): INC-4711"


@pytest.mark.parametrize("rotate_revealed,check", [(True, False), (True, True), (False, False)])
def test_a_revealed_key_is_rotated_after_use(harness, rotate_revealed, check):
    mac = harness.sim(ON, keys=[NEW_KEY])
    args = dict(KEY_ARGS, recovery_key=KEY, revealed=REVEALED, rotate_revealed=rotate_revealed, **ADMIN)
    result = harness.run(filevault_recovery_key, args, mac, check=check)
    assert result["valid"] is True and result["revealed"] == REVEALED
    rotates = rotate_revealed
    assert result["changed"] is rotates and bool(result["actions"] if "actions" in result else []) is rotates
    if rotates:
        assert result["reason"] == "the escrowed key was %s; a revealed key is rotated after use" % REVEALED
    else:
        assert result["reason"] == "the escrowed key is valid"
    now = NEW_KEY if rotates and not check else KEY
    assert mac.state()["filevault"]["personal_recovery_key"] == now
    assert (result.get("recovery_key") == NEW_KEY) is (rotates and not check)


def test_recovery_key_check_mode_and_validate_only(harness):
    mac = harness.sim(ON, keys=[NEW_KEY])
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, **ADMIN), mac, check=True, diff=True)
    assert result["changed"] and verbs(mac) == [] and "recovery_key" not in result
    assert result["diff"] == {"before": {"valid_key_escrowed": False}, "after": {"valid_key_escrowed": True}}
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, recovery_key=OTHER_KEY, validate_only=True), mac)
    assert result["valid"] is False and not result["changed"] and verbs(mac) == []


def test_rotation_authorised_by_the_valid_key(harness):
    mac = harness.sim(ON, keys=[NEW_KEY])
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY, force=True), mac)
    assert result["changed"] and result["recovery_key"] == NEW_KEY
    assert plistlib.loads(sent(mac, "changerecovery")) == {"Password": KEY}


@pytest.mark.parametrize("mac,faults,args,message", [
    (OFF, [], dict(KEY_ARGS, **ADMIN), "FileVault is off on this Mac"),
    (ON, [], dict(KEY_ARGS), "rotating it needs user and password"),
    (ON, [], dict(KEY_ARGS, user="bob", password="bob-secret"), "user bob is not a FileVault user"),
    (ON, [fault("fdesetup", "changerecovery", **refused(11))], dict(KEY_ARGS, **ADMIN),
     "the recovery key could not be changed: fdesetup exited 11: authentication"),
], ids=["filevault-off", "no-credentials", "not-a-filevault-user", "refused"])
def test_recovery_key_errors(harness, mac, faults, args, message):
    mac = harness.sim(mac, faults, keys=[NEW_KEY])
    result = harness.run(filevault_recovery_key, args, mac)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert "recovery_key" not in result
    assert mac.state()["filevault"]["personal_recovery_key"] in (KEY, None)


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


def _and_stderr(stderr):
    """fdesetup enables FileVault and prints the key, then exits 99 with ``stderr`` (which may quote the key)."""
    def reply(call, answer):
        return 99, answer[1], stderr % plistlib.loads(answer[1].encode())["RecoveryKey"]
    return reply


@pytest.mark.parametrize("how", [dict(rc=1, err=""), dict(rc=26, err="Error: a keychain error occurred.\n"),
                                 dict(reply=_and_stderr("key %s printed in an error line\n"))],
                         ids=["1", "26", "99-key-in-stderr"])
def test_a_key_printed_by_a_failing_enable_is_withheld_and_handed_over(harness, how):
    """Defect 2: the failure message once quoted fdesetup's stdout, key included."""
    mac = harness.sim(OFF, [fault("fdesetup", "enable", act=True, **how)], keys=[KEY])
    result = harness.run(filevault, ADMIN, mac)
    assert result["failed"] and "escrowed before this task fails" in result["msg"]
    assert KEY not in _held(result) and "DLEV" not in _held(result)
    assert result["recovery_key"] == KEY and result["pending_fingerprint"] == _pending.fingerprint(KEY)
    assert _pending.read()["RecoveryKey"] == KEY  # kept on the Mac until the controller confirms


def test_a_failing_rotation_withholds_its_output_too(harness):
    mac = harness.sim(ON, [fault("fdesetup", "changerecovery", act=True, rc=26)], keys=[NEW_KEY])
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, force=True, recovery_key=KEY, **ADMIN), mac)
    assert result["failed"] and NEW_KEY not in _held(result) and result["recovery_key"] == NEW_KEY


def test_enable_without_a_key_plist_warns_and_leaves_the_marker(harness):
    """Defect 3: FileVault came on, no key arrived, and the task said nothing."""
    mac = harness.sim(OFF, [fault("fdesetup", "enable", act=True, rc=0, out="", err="")])
    result = harness.run(filevault, ADMIN, mac)
    assert result["changed"] and not result["escrowed"] and "recovery_key" not in result
    assert any("printed no recovery key" in w for w in result.warnings)
    assert _pending.read()["state"] == "started"  # the next run knows the key was lost and rotates it


def test_the_key_is_on_the_macs_disk_before_the_module_returns(harness):
    result = harness.run(filevault, ADMIN, harness.sim(OFF, keys=[KEY]))
    kept = _pending.read()
    assert kept["state"] == "key" and kept["RecoveryKey"] == KEY and kept["verb"] == "enable"
    assert kept["SerialNumber"] == SERIAL and result["recovery_key"] == KEY
    assert oct(os.stat(_pending.DIRECTORY).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(_pending.DIRECTORY, _pending.NAME)).st_mode & 0o777) == "0o600"


def test_a_key_left_by_an_interrupted_run_is_collected_first(harness):
    _pending.begin("enable")
    _pending.store({"RecoveryKey": KEY, "SerialNumber": SERIAL}, "enable")
    mac = harness.sim(ON)
    result = harness.run(filevault, ADMIN, mac)
    assert result["changed"] and result["collected_pending"] and result["recovery_key"] == KEY
    assert "collect the recovery key an interrupted run (enable" in result["actions"][0] and verbs(mac) == []
    checked = harness.run(filevault, ADMIN, harness.sim(ON), check=True)
    assert checked["changed"] and checked["actions"][0].startswith("would collect") and "recovery_key" not in checked
    assert _pending.read()["RecoveryKey"] == KEY  # only a confirmed escrow removes it


def test_a_left_key_that_no_longer_unlocks_is_removed(harness):
    _pending.store({"RecoveryKey": OTHER_KEY}, "changerecovery")
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY), harness.sim(ON))
    assert not result["changed"] and result["valid"] and _pending.read() is None


def test_a_marker_alone_on_an_encrypted_mac_means_the_key_was_lost(harness):
    _pending.begin("enable")
    result = harness.run(filevault, ADMIN, harness.sim(ON))
    assert result["key_lost"] and "nobody holds the current key" in result.warnings[0]
    mac = harness.sim(ON, keys=[NEW_KEY])
    rotated = harness.run(filevault_recovery_key, dict(KEY_ARGS, **ADMIN), mac)
    assert rotated["changed"] and rotated["recovery_key"] == NEW_KEY and "interrupted run" in rotated["reason"]
    assert _pending.read()["RecoveryKey"] == NEW_KEY


def test_a_marker_with_a_valid_escrowed_key_is_only_removed(harness):
    _pending.begin("changerecovery")  # a rotation that failed before the key changed
    mac = harness.sim(ON)
    result = harness.run(filevault_recovery_key, dict(KEY_ARGS, recovery_key=KEY, **ADMIN), mac)
    assert not result["changed"] and result["valid"] and verbs(mac) == [] and _pending.read() is None


def test_only_a_confirmed_fingerprint_removes_the_macs_copy(harness):
    _pending.store({"RecoveryKey": KEY}, "enable")
    args = dict(KEY_ARGS, recovery_key=KEY, validate_only=True, confirm_pending=_pending.fingerprint(NEW_KEY))
    result = harness.run(filevault_recovery_key, args, harness.sim(ON))
    assert result["valid"] and result["pending_cleared"] is False and _pending.read()["RecoveryKey"] == KEY
    args["confirm_pending"] = _pending.fingerprint(KEY)
    result = harness.run(filevault_recovery_key, args, harness.sim(ON))
    assert result["pending_cleared"] is True and _pending.read() is None


def test_a_new_key_never_replaces_one_still_waiting():
    _pending.store({"RecoveryKey": KEY}, "enable")
    with pytest.raises(_pending.PendingError):
        _pending.begin("changerecovery")
    assert _pending.read()["RecoveryKey"] == KEY


def test_an_unreadable_pending_file_is_reported_not_ignored(harness, pending_dir):
    pending_dir.mkdir()
    (pending_dir / _pending.NAME).write_text("{not json")
    result = harness.run(filevault, ADMIN, harness.sim(ON))
    assert result["failed"] and "not readable JSON" in result["msg"] and "it may hold a recovery key" in result["msg"]


def test_hang_up_and_termination_are_held_off_while_the_key_exists_only_in_memory():
    import signal
    with _pending.held_off():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        held = signal.getsignal(signal.SIGTERM)
    assert held == signal.SIG_IGN and signal.getsignal(signal.SIGTERM) != signal.SIG_IGN


def test_the_marker_of_a_run_still_under_way_is_not_a_lost_key(harness):
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
        mac = harness.sim(ON, keys=[NEW_KEY])
        result = harness.run(filevault_recovery_key, dict(KEY_ARGS, **ADMIN), mac)
        assert result["failed"] and "right now (process %d" % other.pid in result["msg"] and verbs(mac) == []
        with pytest.raises(_pending.PendingError):
            _pending.begin("changerecovery")
    finally:
        other.kill()
        other.wait()
    rotated = harness.run(filevault_recovery_key, dict(KEY_ARGS, **ADMIN), harness.sim(ON, keys=[NEW_KEY]))
    assert rotated["changed"] and rotated["recovery_key"] == NEW_KEY  # once it is gone, the key is lost: rotate
