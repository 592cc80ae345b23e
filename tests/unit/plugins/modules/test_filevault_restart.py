# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""macops.tokens.filevault_restart on the one fake Mac (tests/unit/plugins/harness.py): the path each Mac would take
and why (the plan phase, also check mode), the refusals before anything restarts, and the restart request itself
with the credentials on stdin only."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils import _rules
from ansible_collections.macops.tokens.plugins.modules import filevault_restart
from ansible_collections.macops.tokens.tests.unit.plugins.harness import expect
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import KEY, state

BOOT = "{ sec = 1764680000, usec = 250000 } Tue Dec  2 13:33:20 2025"
ALICE = {"user": "alice", "password": "alice-secret"}


def mac_state(version="14.4.1", arch="apple_silicon", supports=True, filevault="on", **changes):
    doc = state(filevault=filevault, **changes)
    doc["os"] = {"version": version}
    doc["hardware"] = dict(doc["hardware"], arch=arch, supports_authrestart=supports,
                           cpu_brand="Apple M2" if arch == "apple_silicon" else "Intel(R) Core(TM) i7-8700B",
                           sysctl={"kern.boottime": BOOT})
    if arch != "apple_silicon":
        for entry in doc["users"]:
            entry.pop("volume_owner", None)
    return doc


# id, the Mac (mac_state arguments), the task's arguments, (method or None, words of the reason or the failure)
CASES = [
    ("filevault-off-plain", dict(filevault="off"), {}, ("plain", "boots into macOS without an unlock")),
    ("authrestart-with-a-password", {}, ALICE, ("authrestart", "a FileVault user's password unlocks")),
    ("authrestart-with-the-escrowed-key", {}, {"recovery_key": KEY}, ("authrestart", "the escrowed recovery key")),
    ("tahoe-without-authrestart-unlocks-at-preboot", dict(version="26.1", supports=False), ALICE,
     ("preboot_ssh", "answers SSH at pre-boot")),
    ("tahoe-asked-for-preboot", dict(version="26.1"), dict(ALICE, method="preboot_ssh"),
     ("preboot_ssh", "answers SSH at pre-boot")),
    ("sequoia-without-authrestart-is-refused", dict(version="15.5", supports=False), ALICE,
     (None, "needs macOS 26 or later on Apple silicon")),
    ("intel-tahoe-without-authrestart-is-refused", dict(version="26.1", arch="intel_t2", supports=False), ALICE,
     (None, "needs macOS 26 or later on Apple silicon")),
    ("no-credentials-is-refused", {}, {}, (None, "authrestart needs a FileVault user's password")),
    ("tahoe-key-only-cannot-unlock-preboot", dict(version="26.1", supports=False), {"recovery_key": KEY},
     (None, "a recovery key is not accepted there")),
    ("plain-asked-with-filevault-on-is-refused", {}, dict(ALICE, method="plain"),
     (None, "would leave the Mac at the FileVault login window")),
    ("preboot-asked-on-filevault-off-is-refused", dict(filevault="off"), dict(ALICE, method="preboot_ssh"),
     (None, "method=preboot_ssh does not apply")),
    ("not-a-filevault-user", {}, {"user": "bob", "password": "bob-secret"},
     (None, "user bob is not a FileVault user")),
    ("wrong-password-never-reaches-preboot", dict(version="26.1", supports=False),
     {"user": "alice", "password": "not-alices"}, (None, "dscl -authonly refused it")),
]


@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "plan-phase"])
@pytest.mark.parametrize("mac,args,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mac_gets_its_path_or_the_reason_why_none(harness, mac, args, expected, check):
    method, words = expected
    fake = harness.sim(mac_state(**mac))
    before = fake.state()
    result = harness.run(filevault_restart, args, fake, check=check)
    # The only call that is not a read: the password checked at dscl's prompt, before a path that types it anywhere.
    checked = [("dscl", ["/Local/Default", "-authonly", args["user"]], [args["password"]])] if (
        args.get("password") and (method not in (None, "plain") or "dscl -authonly" in words)) else []
    if method is None:
        expect(result, fake, msg=words, acts=checked)
        assert "nothing was restarted" in result["msg"]
    else:
        expect(result, fake, result={"method": method, "changed": True}, acts=checked)
        assert words in result["reason"] and result["actions"] == ["restart the Mac (%s): %s" % (
            method, result["reason"])]
        assert result["boottime_before"] == 1764680000.25
    assert fake.state() == before  # planning changes nothing: no restart, no authrestart armed


def test_the_restart_phase_arms_authrestart_with_the_password_on_stdin_only(harness):
    fake = harness.sim(mac_state())
    result = harness.run(filevault_restart, dict(ALICE, phase="restart", method="authrestart"), fake)
    expect(result, fake, result={"changed": True, "asked": "fdesetup authrestart"})
    call = fake.find("fdesetup", "authrestart")[0]
    assert call.argv == ["authrestart", "-inputplist"] and "alice-secret" in call.text()
    boot = fake.state()["boot"]  # the simulated Mac restarted at once, and authrestart unlocked that boot
    assert (boot["count"], boot["unlocked_by"]) == (2, "authrestart")


def test_the_restart_phase_with_the_recovery_key_sends_it_as_the_password(harness):
    fake = harness.sim(mac_state())
    result = harness.run(filevault_restart, {"recovery_key": KEY, "phase": "restart", "method": "authrestart"},
                         fake)
    expect(result, fake, result={"changed": True})
    text = fake.find("fdesetup", "authrestart")[0].text()
    assert KEY in text and "<key>Username</key>" not in text


def test_a_refused_authrestart_fails_naming_the_exit_code_and_restarts_nothing(harness):
    fake = harness.sim(mac_state())
    result = harness.run(filevault_restart, {"recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "phase": "restart",
                                             "method": "authrestart"}, fake)
    expect(result, fake, msg="exit code 11: authentication failed")
    assert "nothing was restarted" in result["msg"] and fake.state()["boot"]["count"] == 1


def test_the_plain_restart_asks_shutdown(harness):
    fake = harness.sim(mac_state(filevault="off"))
    fake.fault("shutdown", rc=0, out="")  # answered by the fake, never by a tool of this machine
    result = harness.run(filevault_restart, {"phase": "restart", "method": "plain"}, fake)
    expect(result, fake, result={"asked": "shutdown -r now"})
    assert [c.words for c in fake.calls] == [["shutdown", "-r", "now"]]


def test_the_restart_phase_never_runs_in_check_mode(harness):
    fake = harness.sim(mac_state())
    result = harness.run(filevault_restart, dict(ALICE, phase="restart", method="authrestart"), fake, check=True)
    expect(result, fake, msg="never runs in check mode", acts=[])


def test_verify_reads_the_boot_and_filevault(harness):
    fake = harness.sim(mac_state())
    result = harness.run(filevault_restart, {"phase": "verify"}, fake)
    expect(result, fake, result={"changed": False, "boottime": 1764680000.25, "filevault_enabled": True}, acts=[])


@pytest.mark.parametrize("text,value", [
    (BOOT, 1764680000.25),
    ("kern.boottime: { sec = 1589225580, usec = 0 } Mon May 11 15:33:00 2020\n", 1589225580.0),
    ("{ sec = 1700000000, usec = 123456 }", 1700000000.123456),
])
def test_parse_boottime(text, value):
    assert P.parse_boottime(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "1589225580", "kern.boottime: unknown oid"])
def test_parse_boottime_refuses_anything_else(text):
    with pytest.raises(P.ParseError):
        P.parse_boottime(text)


def test_only_the_rule_decides_and_every_answer_is_a_path_or_a_reason():
    """Every combination: a documented method with a reason, or None with a reason; pre-boot only on 26+ Apple
    silicon with a password; authrestart only when supported and with a secret; plain only with FileVault off."""
    for st in ("on", "encrypting", "decrypting", "off", "deferred"):
        for version in ((15, 5, 0), (26, 0, 0)):
            for silicon in (True, False):
                for supports in (True, False):
                    for pw in (True, False):
                        for key in (True, False):
                            for method in ("auto",) + _rules.RESTART_METHODS:
                                model = {"os": {"version_tuple": list(version), "version": "%d.%d" % version[:2],
                                                "apple_silicon": silicon,
                                                "architecture": "apple_silicon" if silicon else "intel"},
                                         "filevault": {"state": st}, "restart": {"supports_authrestart": supports}}
                                path, reason = _rules.restart_path(model, method, pw, key)
                                assert reason
                                assert path in _rules.RESTART_METHODS + (None,)
                                if path == "plain":
                                    assert st not in _rules.ENCRYPTED
                                if path == "authrestart":
                                    assert st in _rules.ENCRYPTED and supports and (pw or key)
                                if path == "preboot_ssh":
                                    assert st in _rules.ENCRYPTED and silicon and version >= (26, 0, 0) and pw
                                if method != "auto" and path is not None:
                                    assert path == method
                                if method == "auto" and st not in _rules.ENCRYPTED:
                                    assert path == "plain"
