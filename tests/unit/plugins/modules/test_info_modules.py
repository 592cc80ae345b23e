# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The info modules on the harness (tests/unit/plugins/harness.py): a table of Macs as raw tool output (the texts
the parsers must read exactly, or must refuse) and what each module must return; faults at the command boundary on a
simulated Mac."""

from __future__ import annotations

import json

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _runner
from ansible_collections.macops.tokens.plugins.modules import bootstrap_token_info
from ansible_collections.macops.tokens.plugins.modules import chain_of_trust_info
from ansible_collections.macops.tokens.plugins.modules import filevault_info
from ansible_collections.macops.tokens.plugins.modules import secure_token_info
from ansible_collections.macops.tokens.tests.unit.plugins.harness import NAMES, fault
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import (
    ALICE, BOB, HEALTHY, HEALTHY_STATE, NETWORK_BOB, PRK, SHADOW, crypto, record, variant)


def run_module(harness, module, args, outputs, missing=(), faults=()):
    """The module on a Mac answering from ``outputs`` (raw text); ``missing`` tools are absent."""
    mac = harness.table(outputs, faults=faults)
    mac.absent(*[NAMES[path] for path in missing])
    return harness.run(module, args, mac), mac


def users_by_name(result):
    return {u["name"]: u for u in result["mac"]["users"]}


CASES = [
    {"id": "healthy", "outputs": HEALTHY,
     "expect": {"token_holders": 1, "admin_token_holders": 1, "volume_owners": 1, "tool_calls": 14},
     "users": {"alice": ("enabled", True, True, True), "bob": ("disabled", False, False, False)},
     "codes": {"local_user_without_token"}},
    {"id": "not-enrolled", "outputs": variant(**{
        "profiles__status__-type__enrollment": "Enrolled via DEP: No\nMDM enrollment: No\n"}),
     "expect": {"tool_calls": 13}, "codes": {"local_user_without_token", "not_enrolled_in_mdm"}},
    {"id": "server-without-bootstrap", "outputs": variant(**{
        "profiles__status__-type__bootstraptoken": "profiles: Bootstrap Token supported on server: NO\n"}),
     "codes": {"bootstrap_token_unsupported", "local_user_without_token"},
     "bootstrap": {"supported": False, "escrowed": None}},
    {"id": "forged-securetoken-tag", "outputs": variant(**{"dscl__.__-readall__/Users": record(
        "bob", 502, BOB, "Bob Builder", [SHADOW, ";SecureToken;"]) + "\n-\n" + record(
        "alice", 501, ALICE, "Alice Appleseed", [SHADOW, ";SecureToken;"]) + "\n"}),
     "users": {"bob": ("inconsistent", None, False, False)}, "codes": {"token_state_inconsistent"}},
    {"id": "rosetta-reports-apple-silicon", "outputs": variant(**{"uname__-m": "x86_64\n"}),
     "expect_os": {"apple_silicon": True, "machine": "x86_64"}},
    {"id": "network-account-that-logged-in", "outputs": variant(**{
        "ls__-1__/Users": "Shared\nalice\nbob\nnetuser\n",
        "dscl__/Search__-read__/Users/netuser": NETWORK_BOB.replace("bob", "netuser")}),
     "users": {"netuser": ("disabled", False, False, False)}, "codes": {"local_user_without_token",
                                                                        "network_account_not_eligible"}},
    {"id": "deleted-holders-key-left-on-the-volume", "outputs": variant(**{
        "diskutil__apfs__listCryptoUsers__/": crypto(("0B0B0B0B-0000-4000-8000-000000000001",
                                                      "Local Open Directory User", True),
                                                     (PRK, "Personal Recovery User", True)),
        "dscl__.__-readall__/Users": record("bob", 502, BOB, "Bob Builder", [SHADOW]) + "\n",
        "fdesetup__list": "\n"}),
     "expect": {"orphan_crypto_users": ["0B0B0B0B-0000-4000-8000-000000000001"]},
     "severity": {"orphaned_crypto_user": "critical"},
     "next_step": {"no_token_holder": "No first-token rule can be relied on"}},
    {"id": "filevault-on-before-the-users-key-is-written", "outputs": variant(**{
        "diskutil__apfs__listCryptoUsers__/": crypto((PRK, "Personal Recovery User", True)),
        "dscl__.__-readall__/Users": record("alice", 501, ALICE, "Alice Appleseed", [SHADOW]) + "\n",
        "fdesetup__list": "\n"}),
     "expect": {"transient": ["filevault_setup_incomplete"]},
     "codes": {"filevault_setup_incomplete", "local_user_without_token"}},
    {"id": "mdm-has-not-allowed-the-bootstrap-token", "outputs": variant(**{
        "profiles__status__-type__bootstraptoken": "Bootstrap Token functionality is not supported on the server.\n"}),
     "bootstrap": {"supported": False, "allowed": False},
     "next_step": {"bootstrap_token_unsupported": "BootstrapTokenAllowed"}},
    {"id": "status-exits-1-when-off-as-its-man-page-says", "outputs": variant(**{
        "fdesetup__status": (1, "FileVault is Off.\n", ""), "fdesetup__list": "\n",
        "fdesetup__haspersonalrecoverykey": "false\n"}),
     "filevault": {"state": "off"}, "codes": {"filevault_off", "local_user_without_token"}},
    {"id": "encryption-pending-on-battery", "outputs": variant(**{
        "fdesetup__status": "FileVault is On.\nEncryption in progress: Pending\n"}),
     "filevault": {"state": "encrypting", "paused": True}, "next_step": {"filevault_encrypting": "power"},
     "expect": {"transient": ["filevault_encrypting"]}},
    {"id": "an-empty-fdesetup-list-with-filevault-on-is-no-fact", "outputs": variant(**{"fdesetup__list": "\n"}),
     "users": {"alice": ("enabled", True, None, True)}, "codes": {"local_user_without_token"}},
    {"id": "intel", "outputs": variant(**{
        "uname__-m": "x86_64\n",
        "sysctl__-n__machdep.cpu.brand_string": "Intel(R) Core(TM) i7-8559U CPU @ 2.70GHz\n",
        "diskutil__apfs__listCryptoUsers__/": crypto((ALICE, "Local Open Directory User", None))}),
     "expect_os": {"apple_silicon": False, "t2": None}, "users": {"alice": ("enabled", True, True, None)}},
    {"id": "nobody-holds-a-token", "outputs": variant(**{
        "diskutil__apfs__listCryptoUsers__/": crypto(), "fdesetup__status": "FileVault is Off.\n",
        "fdesetup__list": "", "fdesetup__haspersonalrecoverykey": "false\n",
        "dscl__.__-readall__/Users": record("alice", 501, ALICE, "Alice", [SHADOW]) + "\n"}),
     "codes": {"no_token_holder", "local_user_without_token", "filevault_off"},
     "next_step": {"no_token_holder": "plain-text password"}},
    {"id": "only-a-standard-user-holds-a-token", "outputs": variant(**{
        "dscl__.__-read__/Groups/admin__GroupMembership": "GroupMembership: root bob\n"}),
     "codes": {"only_standard_token_holders", "local_user_without_token"}},
    {"id": "mobile-account-gets-its-token-at-login", "outputs": variant(**{"dscl__.__-readall__/Users": record(
        "alice", 501, ALICE, "Alice", [SHADOW, ";SecureToken;"]) + "\n-\n" + record(
        "jdoe", 1103, BOB, "Jane Doe", [";LocalCachedUser;/Active Directory/CORP/corp.example.com:jdoe:" + BOB,
                                        SHADOW]) + "\n"}),
     "codes": {"mobile_account_without_token"}, "severity": {"mobile_account_without_token": "info"},
     "next_step": {"mobile_account_without_token": "next graphical login"}},
    {"id": "filevault-encrypting-without-key", "outputs": variant(**{
        "fdesetup__status": "FileVault is On.\nEncryption in progress: Percent completed = 31.2\n",
        "fdesetup__haspersonalrecoverykey": "false\n"}),
     "codes": {"filevault_encrypting", "no_recovery_key", "local_user_without_token"},
     "filevault": {"state": "encrypting", "percent": 31.2}},
    {"id": "deferred", "outputs": variant(**{
        "fdesetup__status": "FileVault is Off.\nDeferred enablement appears to be active for user 'alice'.\n",
        "fdesetup__list": "alice,%s\n" % ALICE}),
     "filevault": {"state": "deferred", "deferred_user": "alice"}},
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_chain_of_trust_info_table(harness, case):
    result, fake = run_module(harness, chain_of_trust_info, {}, case["outputs"])
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    for key, value in case.get("expect", {}).items():
        assert result["mac"][key] == value, key
    assert result["mac"]["tool_calls"] == len(fake.calls)
    for key, value in case.get("expect_os", {}).items():
        assert result["mac"]["os"][key] == value, key
    users = users_by_name(result)
    for name, (state, token, fv_user, owner) in case.get("users", {}).items():
        assert (users[name]["token_state"], users[name]["secure_token"], users[name]["filevault_user"],
                users[name]["volume_owner"]) == (state, token, fv_user, owner), name
    codes = {f["code"] for f in result["findings"]}
    if "codes" in case:
        assert codes == case["codes"]
    for code, severity in case.get("severity", {}).items():
        assert next(f for f in result["findings"] if f["code"] == code)["severity"] == severity
    for code, words in case.get("next_step", {}).items():
        assert words in next(f for f in result["findings"] if f["code"] == code)["next_step"]
    for key, value in case.get("bootstrap", {}).items():
        assert result["mac"]["bootstrap_token"][key] == value
    for key, value in case.get("filevault", {}).items():
        assert result["mac"]["filevault"][key] == value
    assert "_mbsetupuser" not in users  # system accounts that hold nothing are not reported
    assert all(c.tool in _runner.TOOLS for c in fake.calls)  # the harness refuses any but absolute Apple paths


@pytest.mark.parametrize("outputs,missing,message", [
    (variant(**{"fdesetup__status": "#@%&*!?~^01xyz\n"}), (), "parse_fdesetup_status"),
    (variant(**{"fdesetup__list": (1, "", "Error: This command must be run as root.\n")}), (),
     "/usr/bin/fdesetup list failed with exit code 1: Error: This command must be run as root."),
    (HEALTHY, ("/usr/bin/fdesetup",), "/usr/bin/fdesetup was not found: this is not a Mac, or the tool is absent"),
    (variant(**{"sw_vers": "ProductVersion: 14.4\n"}), (), "parse_sw_vers"),
])
def test_failures_name_the_command(harness, outputs, missing, message):
    result, dummy = run_module(harness, chain_of_trust_info, {}, outputs, missing)
    assert result["failed"] is True and message in result["msg"]


SIM_FAULTS = [
    ("a read that hangs is stopped by the timeout", [fault("fdesetup", "status", hang=True)], {"timeout": 1},
     "/usr/bin/fdesetup status did not finish within 1 seconds and was stopped"),
    ("a read that crashes", [fault("dscl", "-readall", rc=139, out="", err="Segmentation fault: 11\n")], {},
     "failed with exit code 139: Segmentation fault: 11"),
    ("a read refused with a message", [fault("diskutil", "listCryptoUsers", rc=1, out="",
                                             err="Error: -69808: Some information was unavailable\n")], {},
     "/usr/sbin/diskutil apfs listCryptoUsers / failed with exit code 1: Error: -69808"),
    ("an absent tool", [fault("profiles", absent=True)], {},
     "/usr/bin/profiles was not found: this is not a Mac, or the tool is absent"),
    # matched by its words, not by its turn: the reads of one gather run in parallel (parallel_reads)
    ("one of several reads of the same tool fails", [fault("fdesetup", "list", rc=1, out="", err="busy\n")], {},
     "/usr/bin/fdesetup list failed with exit code 1: busy"),
]


@pytest.mark.parametrize("faults,args,message", [r[1:] for r in SIM_FAULTS], ids=[r[0] for r in SIM_FAULTS])
def test_faults_on_a_simulated_mac_name_the_command(harness, faults, args, message):
    mac = harness.sim(HEALTHY_STATE, faults)
    result = harness.run(chain_of_trust_info, args, mac)
    assert result["failed"] is True and message in result["msg"], result["msg"]


def test_the_simulated_healthy_mac_reads_as_the_healthy_table(harness):
    """The same Mac twice: macsim's state document (HEALTHY_STATE) and the raw outputs (HEALTHY) read alike."""
    sim = harness.run(chain_of_trust_info, {}, harness.sim(HEALTHY_STATE))
    table, dummy = run_module(harness, chain_of_trust_info, {}, HEALTHY)
    for result in (sim, table):
        assert {f["code"] for f in result["findings"]} == {"local_user_without_token"}
        assert [result["mac"][k] for k in ("token_holders", "admin_token_holders", "volume_owners", "tool_calls")] \
            == [1, 1, 1, 14]
        users = users_by_name(result)
        assert [(users[n]["token_state"], users[n]["filevault_user"]) for n in ("alice", "bob")] == [
            ("enabled", True), ("disabled", False)]


@pytest.mark.parametrize("content,expect", [(b"SQLite format 3\x00", True), (None, False), ("absent", None)])
def test_chain_of_trust_info_reports_full_disk_access_without_a_tool_call(
        harness, monkeypatch, tmp_path, content, expect):
    db = tmp_path / "TCC.db"
    if content == "absent":
        db = tmp_path / "absent.db"
    elif content is None:
        db.mkdir()  # opening it fails, as opening the database does without the right
    else:
        db.write_bytes(content)
    from ansible_collections.macops.tokens.plugins.module_utils import _mac

    monkeypatch.setattr(_mac.full_disk_access, "__defaults__", (str(db),))
    result, fake = run_module(harness, chain_of_trust_info, {}, HEALTHY)
    assert result["mac"]["remote_login_full_disk_access"] is expect
    assert result["mac"]["tool_calls"] == len(fake.calls) == 14  # the probe is a read of a file, not a tool


def test_timeout_must_be_positive(harness):
    result, fake = run_module(harness, filevault_info, {"timeout": 0}, HEALTHY)
    assert result["failed"] and "timeout must be at least 1 second" in result["msg"] and fake.calls == []


def test_focused_views(harness):
    tokens, dummy = run_module(harness, secure_token_info, {"users": ["bob"]}, HEALTHY)
    assert [u["name"] for u in tokens["users"]] == ["bob"] and tokens["token_holders"] == 1
    assert {f["code"] for f in tokens["findings"]} == {"local_user_without_token"}
    missing, dummy = run_module(harness, secure_token_info, {"users": ["carol"]}, HEALTHY)
    assert missing["failed"] and "no account named carol" in missing["msg"]
    bootstrap, fake = run_module(harness, bootstrap_token_info, {}, HEALTHY)
    assert bootstrap["bootstrap_token"] == {"supported": True, "escrowed": True, "allowed": True, "local_record": True}
    assert not any(c.tool in ("dscl", "fdesetup") for c in fake.calls)
    fv, dummy = run_module(harness, filevault_info, {}, HEALTHY)
    assert fv["filevault"]["state"] == "on" and fv["filevault"]["personal_recovery_key"] is True
    assert {u["name"]: u["filevault_user"] for u in fv["users"]} == {"alice": True, "bob": False}


def test_managed_admins_are_an_input(harness):
    result, dummy = run_module(harness, chain_of_trust_info, {"managed_admins": ["bob"]}, HEALTHY)
    assert users_by_name(result)["bob"]["kind"] == "managed_admin"
    assert "managed_admin_without_token" in {f["code"] for f in result["findings"]}


@pytest.mark.parametrize("outputs,fail", [
    (variant(**{"dscl__.__-readall__/Users": ""}), "no user records"),
    (variant(**{"dscl__.__-read__/Groups/admin__GroupMembership": "\n"}), "no GroupMembership"),
    (variant(**{"ls__-1__/Users": (1, "", "ls: /Users: Operation not permitted\n")}), "Operation not permitted"),
])
def test_reads_that_must_list_something_fail_on_empty_output(harness, outputs, fail):
    result, dummy = run_module(harness, chain_of_trust_info, {}, outputs)
    assert result["failed"] and fail in result["msg"]


def _authonly(mac):
    return [c.argv[-1] for c in mac.calls if c.tool == "dscl" and "-authonly" in c.argv]


def test_credentials_are_checked_where_safe_and_a_wrong_one_is_a_finding(harness):
    creds = [{"user": "alice", "password": "alice-pw", "source": "macops_admin_password"},
             {"user": "bob", "password": "nope", "source": "macops_user_passwords['bob']"},
             {"user": "carol", "password": "x", "source": "macops_user_passwords['carol']"},
             {"user": "bob", "password": "b" * 129, "source": "a long one"},
             {"user": "dave", "password": "x", "source": "a fleet-wide map", "required": False}]
    mac = harness.table(HEALTHY, passwords={"alice": "alice-pw", "bob": "bob-pw"})
    result = harness.run(chain_of_trust_info, {"verify_credentials": creds}, mac)
    assert [c["verified"] for c in result["credentials"]] == [True, False, None, None]
    assert "128 bytes" in result["credentials"][3]["reason"]
    rejected = [f for f in result["findings"] if f["code"] == "credential_rejected"]
    assert {f["users"][0] for f in rejected} == {"bob", "carol"}
    assert any("macops_user_passwords['bob']" in f["message"] for f in rejected)
    assert "nope" not in json.dumps(result.raw) and "alice-pw" not in json.dumps(result.raw)
    assert _authonly(mac) == ["alice", "bob"]  # carol is not an account; the long one is never typed
    assert mac.typed() == [["alice-pw"], ["nope"]]  # at dscl's prompt, never on argv


def test_credentials_are_not_checked_where_authenticating_grants_the_first_token(harness):
    """Authenticating could grant the first token: dscl -authonly must not run."""
    outputs = variant(**{"diskutil__apfs__listCryptoUsers__/": crypto(), "fdesetup__status": "FileVault is Off.\n",
                         "fdesetup__list": "\n", "fdesetup__haspersonalrecoverykey": "false\n",
                         "dscl__.__-readall__/Users": record("alice", 501, ALICE, "Alice", [SHADOW]) + "\n"})
    creds = [{"user": "alice", "password": "alice-pw", "source": "macops_admin_password"}]
    mac = harness.table(outputs, passwords={"alice": "alice-pw"})
    result = harness.run(chain_of_trust_info, {"verify_credentials": creds}, mac)
    assert result["credentials"][0]["verified"] is None and "first token" in result["credentials"][0]["reason"]
    assert _authonly(mac) == []


# ---- every read, broken every way (issue 10: the fault matrix at the command boundary) ----------
FUTURE = {  # plausible output of a release this collection has never seen
    ("sw_vers",): "ProductName: macOS\nProductVersion: 27\nBuild: 27A101\n",
    ("uname", "-m"): "arm64e (Apple)\n",
    ("sysctl", "-n", "machdep.cpu.brand_string"): "\n",
    ("diskutil", "apfs", "listCryptoUsers", "/"):
        "Crypto users on disk3s5: 1\n  %s (Local Open Directory User)\n" % ALICE,
    ("dscl", ".", "-readall", "/Users"): '<?xml version="1.0"?><plist version="1.0"><array/></plist>\n',
    ("dscl", ".", "-read", "/Groups/admin", "GroupMembership"): "GroupMembership (2): alice, root\n",
    ("ls", "-1", "/Users"): "\n",
    ("fdesetup", "status"): "FileVault: enabled (APFS)\n",
    ("fdesetup", "list"): "alice\t%s\n" % ALICE,
    ("fdesetup", "haspersonalrecoverykey"): "yes\n",
    ("fdesetup", "hasinstitutionalrecoverykey"): "no\n",
    ("fdesetup", "showdeferralinfo"): "Deferral: none configured\n",
    ("profiles", "status", "-type", "enrollment"): "Enrollment: DEP, User Approved\n",
    ("profiles", "status", "-type", "bootstraptoken"): "profiles: Bootstrap Token: supported, escrowed\n",
}
BREAKS = {"empty": lambda key: dict(out=""), "blank": lambda key: dict(out=" \n\n"),
          "garbage": lambda key: dict(out="#@%&*!?~^01xyz \t\x1b[?25h\n"), "future": lambda key: dict(out=FUTURE[key]),
          "crash": lambda key: dict(rc=139, out="", err="Segmentation fault: 11\n")}
TOOL_PATHS = dict((name, path) for name, path in _runner.TOOLS.items())


def _healthy_findings(harness):
    result, dummy = run_module(harness, chain_of_trust_info, {}, HEALTHY)
    return {f["code"] for f in result["findings"]}, users_by_name(result)


@pytest.mark.parametrize("key", sorted(HEALTHY), ids=["_".join(k) for k in sorted(HEALTHY)])
@pytest.mark.parametrize("how", sorted(BREAKS))
def test_a_broken_read_fails_naming_its_command_or_claims_nothing_false(harness, key, how):
    """Defect 6 and the matrix's 'garbage, future format, nothing, crash' rows for every read the audit runs: the
    Mac is never described by output the collection could not read (no false finding, no user's state made up)."""
    codes, users = _healthy_findings(harness)
    broken = fault(key[0], *key[1:], **dict(dict(rc=0, err=""), **BREAKS[how](key)))  # every call of that read
    result, mac = run_module(harness, chain_of_trust_info, {}, HEALTHY, faults=[broken])
    assert [c.fault for c in mac.calls if c.fault is not None], "the fault never fired"
    if result.get("failed"):
        assert TOOL_PATHS[key[0]] in result["msg"] or TOOL_PATHS[key[0]] in " ".join(result.get("cmd") or []), \
            result["msg"]
        return
    assert {f["code"] for f in result["findings"]} <= codes, (how, key, result["findings"])
    for name, user in users_by_name(result).items():
        for field in ("secure_token", "admin", "filevault_user", "volume_owner"):
            assert user[field] in (users[name][field], None), (how, key, name, field, user[field])
