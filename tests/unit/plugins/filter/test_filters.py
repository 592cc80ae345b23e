# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' decisions and the fleet report, as pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.filter.admin_outcomes import admin_outcomes
from ansible_collections.macops.tokens.plugins.filter.admin_token_plan import admin_token_plan
from ansible_collections.macops.tokens.plugins.filter.bootstrap_outcomes import bootstrap_outcomes
from ansible_collections.macops.tokens.plugins.filter.bootstrap_plan import bootstrap_plan
from ansible_collections.macops.tokens.plugins.filter.filevault_key_action import filevault_key_action
from ansible_collections.macops.tokens.plugins.filter.filevault_outcomes import filevault_outcomes
from ansible_collections.macops.tokens.plugins.filter.filevault_plan import filevault_plan
from ansible_collections.macops.tokens.plugins.filter.fleet_report import fleet_report
from ansible_collections.macops.tokens.plugins.filter.account_token_plan import account_token_plan
from ansible_collections.macops.tokens.plugins.filter.grant_outcomes import grant_outcomes
from ansible_collections.macops.tokens.plugins.filter.preflight_problems import preflight_problems
from ansible_collections.macops.tokens.plugins.filter.remediation_plan import remediation_plan


def user(name, token=False, admin=False, kind="local"):
    return {"name": name, "secure_token": token, "admin": admin, "kind": kind, "filevault_user": token,
            "volume_owner": None, "uid": 501}


def mac(users, version=(14, 5), supported=True, escrowed=False, enrolled=True, dep=True, fv="off"):
    return {"os": {"version": ".".join(map(str, version)), "version_tuple": list(version), "apple_silicon": True},
            "users": users, "token_holders": len([u for u in users if u["secure_token"]]),
            "admin_token_holders": len([u for u in users if u["secure_token"] and u["admin"]]),
            "mdm": {"enrolled": enrolled, "dep": dep},
            "bootstrap_token": {"supported": supported, "escrowed": escrowed},
            "filevault": {"state": fv}}


@pytest.mark.parametrize("users,known,expect", [
    ([user("admin", True, True)], [], {"action": "none"}),
    ([user("admin", admin=True)], [], {"action": "grant", "grantor": "admin", "promote": False}),
    ([user("admin", admin=True), user("kid", True)], ["kid"], {"action": "grant", "grantor": "kid", "promote": True}),
    ([user("admin", admin=True), user("kid", True)], [], {"action": "left"}),
    ([user("admin", admin=True), user("boss", True, True)], [], {"action": "left"}),
    ([user("other", True, True)], [], {"action": "left"}),
])
def test_admin_token_plan(users, known, expect):
    plan = admin_token_plan(mac(users), admin="admin", have_password=True, known=known)
    assert dict((k, plan[k]) for k in expect) == expect
    if plan["action"] == "left":
        assert plan["detail"] and plan["next_step"]


def test_admin_token_plan_without_credentials_or_promotion():
    assert "no administrator credentials" in admin_token_plan(mac([]), admin="admin", have_password=False)["detail"]
    plan = admin_token_plan(mac([user("admin", admin=True), user("kid", True)]), admin="admin", have_password=True,
                            known=["kid"], promote=False)
    assert plan["action"] == "left" and "kid" in plan["detail"]
    assert "switched off" in plan["detail"] and "not known" not in plan["detail"]  # the password is known
    assert "cli_users_promote_standard_holder: true" in plan["next_step"]


ADMIN_STEP = [
    # id, users, grant result (None: the plan did not grant), check mode, admin token after, status, in the detail
    ("holds-one", [user("admin", True, True)], None, False, True, None, None),
    ("left-by-the-plan", [user("admin", admin=True), user("boss", True, True)], None, False, False, "left", "boss"),
    ("granted", [user("admin", admin=True)], {"changed": True}, False, True, "changed", "granted a secure token"),
    ("check-mode", [user("admin", admin=True)], {"changed": True}, True, True, "changed", "would grant"),
    ("grant-failed", [user("admin", admin=True)], {"failed": True, "msg": "wrong password"}, False, False, "left",
     "got no token: wrong password"),
]


@pytest.mark.parametrize("users, result, check, token, status, detail", [c[1:] for c in ADMIN_STEP],
                         ids=[c[0] for c in ADMIN_STEP])
def test_admin_outcomes(users, result, check, token, status, detail):
    plan = admin_token_plan(mac(users), admin="admin", have_password=True)
    step = admin_outcomes(plan, admin="admin", result=result, check_mode=check)
    assert step["admin_token"] is token
    if status is None:
        assert step["outcomes"] == []
    else:
        (out,) = step["outcomes"]
        assert out["step"] == "cli_users" and out["status"] == status and detail in out["detail"]
        assert ("next_step" in out) is (status == "left")


def _mobile(**kwargs):
    users = [user("admin", True, True), user("jdoe", kind="mobile"), user("net", kind="network")]
    version, escrowed, dep = kwargs.pop("version", (14, 5)), kwargs.pop("escrowed", False), kwargs.pop("dep", False)
    return account_token_plan(mac(users, version=version, escrowed=escrowed, dep=dep), "mobile_accounts",
                              **dict({"admin": "admin"}, **kwargs))


def _where(plan, name):
    if name in plan["grant"]:
        return "grant"
    if name in plan["predicted"]:
        return "predict"
    late = name + " (after the administrator gets one)"
    hits = [o for o in plan["outcomes"] if o["detail"].startswith(name) or o["detail"].endswith(late)]
    return hits[0]["status"] if hits else None


@pytest.mark.parametrize("kwargs,where", [
    ({"escrowed": True, "known": ["jdoe"]}, "pending"),  # the login grants it: no sysadminctl needed (R42)
    ({"escrowed": True, "version": (10, 15, 7), "dep": True}, "pending"),  # R41
    ({"escrowed": True, "version": (10, 15, 7), "dep": False}, "pending"),  # R41 does not ask for ADE
    ({"escrowed_now": True, "version": (12, 7)}, "pending"),
    ({"known": ["jdoe"]}, "grant"),
    ({"known": ["jdoe"], "admin": "nobody"}, "left"),
    ({"known": ["jdoe"], "admin": "nobody", "admin_token": True, "check_mode": True}, "predict"),
    ({}, "left"),
    ({"escrowed": True, "version": (10, 14, 6)}, "left"),  # no login rule before 10.15
])
def test_mobile_accounts_step(kwargs, where):
    plan = _mobile(**kwargs)
    assert _where(plan, "jdoe") == where, plan
    assert _where(plan, "net") is None  # network accounts never get a token (R21)
    for outcome in plan["outcomes"]:
        assert outcome["status"] == "changed" or outcome["next_step"]


def test_local_accounts_step_grants_known_passwords_and_waits_for_the_login_otherwise():
    users = [user("admin", True, True), user("lab"), user("kiosk"), user("mdm", kind="managed_admin")]
    plan = account_token_plan(mac(users, escrowed=True), "cli_users", admin="admin", known=["lab"])
    assert plan["grant"] == ["lab"]  # a known password is granted now, not left to a login that may not come
    statuses = {o["detail"].split(" ")[0].rstrip(":"): o["status"] for o in plan["outcomes"]}
    assert statuses == {"kiosk": "pending", "mdm": "pending"}
    plan = account_token_plan(mac(users, escrowed=False), "cli_users", admin="admin", known=[])
    kiosk = [o for o in plan["outcomes"] if o["detail"].startswith("kiosk")][0]
    assert kiosk["status"] == "left" and "escrow the bootstrap token" in kiosk["next_step"]


def test_account_token_plan_names_a_bad_step():
    with pytest.raises(Exception, match="step must be one of"):
        account_token_plan(mac([]), "everything")


def test_grant_outcomes_per_account_failed_or_not():
    result = {"failed": True, "users": [{"user": "a", "changed": True}, {"user": "b", "changed": False},
                                        {"user": "c", "changed": False, "error": "the password is wrong"}]}
    out = grant_outcomes(result, "mobile_accounts")
    assert [(o["status"], o["detail"]) for o in out] == [
        ("changed", "granted a secure token to mobile account a"),
        ("ok", "mobile account b already holds a secure token"),
        ("left", "c got no token: the password is wrong")]
    assert grant_outcomes({"failed": True, "msg": "unreachable"}, "cli_users")[0]["status"] == "left"
    assert grant_outcomes({"users": [{"user": "a", "changed": True}]}, "cli_users", True)[0]["detail"] == \
        "would grant a secure token to a"


@pytest.mark.parametrize("python,sudo,fda,expect", [
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, None, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-fda-yes\n"}, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-fda-unknown\n"}, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-filevault-off\nmacops-fda-no\n"},
     ["Full Disk Access"]),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-filevault-off\nmacops-fda-unknown\n"}, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-fda-no\n"}, []),  # FileVault on: not needed
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"skipped": True}, []),
    ({"stdout": "", "stderr": "xcode-select: note: No developer tools were found"}, {"rc": 0}, None, ["the stub"]),
    ({"stdout": "", "stderr": "python3: not found", "rc": 127}, {"rc": 0}, None, ["no working Python"]),
    ({"stdout": "macops-python 3.7\n"}, {"rc": 0}, None, ["too old"]),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 1}, None, ["sudo does not work"]),
    ({"unreachable": True, "msg": "Connection refused "}, None, None, ["unreachable over SSH: Connection refused"]),
])
def test_preflight_problems(python, sudo, fda, expect):
    found = preflight_problems(python, sudo=sudo, fda=fda, interpreter="/usr/bin/python3", user="admin")
    assert len(found) == len(expect) and all(e in f for e, f in zip(expect, found)), found


@pytest.mark.parametrize("stdout,expect", [
    ("macops-python 3.9\nmacops-sudo-ok\n", []),
    ("macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\nmacops-fda-yes\n", []),
    ("macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\nmacops-fda-unknown\n", []),
    ("macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\nmacops-filevault-off\nmacops-fda-no\n",
     ["Full Disk Access"]),
    ("macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\nmacops-filevault-off\n", ["Full Disk Access"]),
    ("macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\nmacops-fda-no\n", []),
    ("macops-python 3.9\nmacops-sudo-no\nmacops-fda-check\nmacops-filevault-off\nmacops-fda-no\n",
     ["sudo does not work"]),
    ("xcode-select: note: No developer tools were found\nmacops-sudo-ok\n", ["the stub"]),
    ("sh: /usr/bin/python3: not found\nmacops-sudo-ok\n", ["no working Python"]),
    ("macops-python 3.7\nmacops-sudo-ok\n", ["too old"]),
    ("macops-python 3.9\nsudo: a password is required\nmacops-sudo-no\n", ["sudo does not work"]),
    ("macops-python 3.9\n", ["sudo does not work"]),  # no sudo line at all is never taken for a working sudo
    ("sh: /usr/bin/python3: not found\nmacops-sudo-no\n", ["no working Python", "sudo does not work"]),
])
def test_preflight_problems_from_the_one_round_trip_check(stdout, expect):
    found = preflight_problems({"stdout": stdout, "rc": 0}, interpreter="/usr/bin/python3", user="admin")
    assert len(found) == len(expect) and all(e in f for e, f in zip(expect, found)), found


def _reading(state="off", enabled=False, access=False, restart=False):
    return {"changed": False, "mac": {"filevault": {"state": state, "enabled": enabled, "restart_pending": restart},
                                      "remote_login_full_disk_access": access}}


@pytest.mark.parametrize("result,full_disk_access,expect", [
    (_reading(), False, []),  # the audit does not ask about Full Disk Access
    (_reading(), True, ["Full Disk Access"]),
    (_reading(state="deferred"), True, ["Full Disk Access"]),  # fdesetup still says "FileVault is Off."
    (_reading(access=True), True, []),
    (_reading(access=None), True, []),  # no privacy database to read: nothing to tell
    (_reading(state="on", enabled=True), True, []),
    (_reading(restart=True), True, []),  # "FileVault is Off, but needs to be restarted": not the raw check's line
    ({"unreachable": True, "msg": "timed out"}, True, ["unreachable over SSH: timed out"]),
])
def test_preflight_problems_from_a_reading(result, full_disk_access, expect):
    """A chain_of_trust_info reading proves Python and sudo work; its Full Disk Access is judged as the raw marks."""
    found = preflight_problems(result, interpreter="/usr/bin/python3", user="admin", full_disk_access=full_disk_access)
    assert len(found) == len(expect) and all(e in f for e, f in zip(expect, found)), found
    if expect and "Full Disk Access" in expect[0]:
        raw = preflight_problems({"stdout": "macops-python 3.9\nmacops-sudo-ok\nmacops-fda-check\n"
                                            "macops-filevault-off\nmacops-fda-no\n"}, interpreter="/usr/bin/python3")
        assert found == raw  # the same advice, word for word, whichever way it was found


def trust(users, findings=(), **kw):
    return {"mac": mac(users, **kw), "readiness": {"filevault": {"available": True}},
            "findings": [{"code": c, "severity": s, "message": "m", "next_step": "n"} for c, s in findings]}


def test_fleet_report_counts_rows_and_errors():
    per_host = {
        "b-mac": {"trust": trust([user("a", True, True)], fv="on", escrowed=True)},
        "a-mac": {"trust": trust([user("a", admin=True)], findings=[("no_token_holder", "critical")]),
                  "trust_before": trust([user("a", admin=True)], findings=[("no_token_holder", "critical")]),
                  "outcomes": [{"step": "cli_users", "status": "changed", "detail": "granted"},
                               {"step": "cli_users", "status": "left", "detail": "kiosk", "next_step": "x"}]},
        "c-mac": {"trust": None, "error": "unreachable: timed out"},
        "d-mac": {},
    }
    report = fleet_report(per_host, generated="now")
    assert [m["host"] for m in report["macs"]] == ["a-mac", "b-mac", "c-mac", "d-mac"]
    counts = report["counts"]
    assert counts["macs"] == 4 and counts["read"] == 2 and counts["unreachable_or_failed"] == 2
    assert counts["healthy"] == 1 and counts["critical"] == 1 and counts["filevault_on"] == 1
    assert counts["bootstrap_escrowed"] == 1 and counts["bootstrap_not_escrowed"] == 1
    assert counts["changed"] == 1 and counts["left"] == 1 and report["finding_counts"] == {"no_token_holder": 1}
    a, b, c, d = report["macs"]
    assert a["status"] == "critical" and a["findings_before"] == ["no_token_holder"] and a["token_holders_before"] == 0
    assert b["status"] == "healthy" and b["bootstrap_token"] == "escrowed" and b["error"] is None
    assert c["error"] == "unreachable: timed out" and c["status"] == "unreachable or failed"
    assert d["error"] == "no reading"


def test_a_mac_dropped_mid_remediation_is_counted_failed_never_fine():
    """Defect 5: a Mac whose connection died part-way was summarised as 'nothing changed' and counted nowhere."""
    done = {"step": "cli_users", "status": "changed", "detail": "granted a secure token to kiosk"}
    per_host = {
        "dropped": {"trust": trust([user("a", True, True)], fv="on", escrowed=True), "stopped": True,
                    "outcomes": [done]},
        "dropped-early": {"trust": trust([user("a", True, True)]), "stopped": True},
        "finished": {"trust": trust([user("a", True, True)], fv="on", escrowed=True), "stopped": False},
    }
    report = fleet_report(per_host)
    rows = {m["host"]: m for m in report["macs"]}
    assert report["counts"]["unreachable_or_failed"] == 2 and report["counts"]["read"] == 1
    assert report["counts"]["healthy"] == 1
    for host in ("dropped", "dropped-early"):
        assert rows[host]["status"] == "unreachable or failed" and "stopped on this Mac" in rows[host]["error"]
    assert "granted a secure token to kiosk" in rows["dropped"]["error"] and rows["dropped"]["changed"] == [done]
    assert rows["dropped"]["macos"] == "14.5"  # what was read before it stopped is still shown
    assert rows["finished"]["error"] is None and rows["finished"]["status"] == "healthy"


def _fv(state, users=None, deferred_user=None):
    m = mac(users if users is not None else [user("admin", True, True), user("kid", True)])
    m["filevault"] = {"state": state, "deferred_user": deferred_user}
    return m


@pytest.mark.parametrize("state,kwargs,expect", [
    ("off", {"admin": "admin", "have_password": True}, {"enable": True, "check_key": False, "defer": False}),
    ("off", {}, {"enable": False, "defer": True}),  # no credentials: deferred to the next login
    ("off", {"defer_without_credentials": False}, {"enable": False, "defer": False}),
    ("off", {"admin": "kid2", "have_password": True}, {"enable": False, "defer": False}),  # not an account here
    ("on", {"admin": "admin", "have_password": True}, {"enable": False, "check_key": True}),
    ("on", {"admin": "admin", "have_password": True, "known": ["kid"]}, {"enable": True, "add": ["kid"]}),
    ("encrypting", {"admin": "admin", "have_password": True}, {"check_key": True}),
    ("decrypting", {"admin": "admin", "have_password": True}, {"enable": False, "check_key": False}),
])
def test_filevault_plan(state, kwargs, expect):
    plan = filevault_plan(_fv(state, [user("admin", True, True), dict(user("kid", True), filevault_user=False)]),
                          **kwargs)
    assert dict((k, plan[k]) for k in expect) == expect, plan


def test_filevault_plan_follows_the_administrator_step():
    users = [user("admin", admin=True), user("std", True)]  # the administrator gets its token earlier in the run
    real = filevault_plan(_fv("off", users), admin="admin", have_password=True, admin_token=True)
    check = filevault_plan(_fv("off", users), admin="admin", have_password=True, admin_token=True, check_mode=True)
    assert real["enable"] and not check["enable"] and check["predicted"] and not check["defer"]
    outcomes = filevault_outcomes(_fv("off", users), check, admin="admin", check_mode=True)
    assert [o["detail"] for o in outcomes] == [
        "would enable FileVault authorised by admin (after the administrator gets a token)"]


@pytest.mark.parametrize("check,rotate,action", [
    ({"collected_pending": True, "valid": None}, False, "collect"),
    ({"valid": True}, False, "valid"),
    ({"valid": False, "reason": "no key escrowed"}, False, "left"),
    ({"valid": False}, True, "rotate"),
    ({"valid": None, "pending": True}, False, "rotate"),  # the key this collection made was lost
    # A revealed key: rotated when the check would rotate it (rotate_revealed), kept when it would not.
    ({"valid": True, "revealed": "revealed ... by helpdesk", "actions": ["rotate the personal recovery key"]}, False,
     "rotate"),
    ({"valid": True, "revealed": "revealed ... by helpdesk", "actions": []}, False, "valid"),
])
def test_filevault_key_action(check, rotate, action):
    assert filevault_key_action(check, rotate) == action


@pytest.mark.parametrize("state,results,expect", [
    ("off", {"enabled": {"changed": True, "actions": ["enable FileVault"], "escrowed": True,
                         "key_fingerprint": "ab12"}},
     [("changed", "enable FileVault; recovery key escrowed (fingerprint ab12)")]),
    ("off", {"enabled": {"failed": True, "msg": "fdesetup exited 1"}}, [("left", "FileVault: fdesetup exited 1")]),
    ("on", {"key_check": {"valid": True}}, []),
    ("on", {"key_check": {"valid": False, "reason": "no key escrowed"}},
     [("left", "FileVault is on but no valid recovery key is escrowed here (no key escrowed)")]),
    ("on", {"key_check": {"valid": False, "reason": "r"}, "rotate_unescrowed": True},
     [("changed", "rotated the recovery key and escrowed it (r)")]),
    ("on", {"key_check": {"collected_pending": True}}, [("changed", "escrowed the recovery key an interrupted run "
                                                                    "left on the Mac")]),
    ("on", {"key_check": {"valid": False}, "key_failure": {"failed": True, "msg": "timed out"}},
     [("left", "recovery key: timed out")]),
])
def test_filevault_outcomes_with_credentials(state, results, expect):
    m = _fv(state)
    plan = filevault_plan(m, admin="admin", have_password=True)
    outcomes = filevault_outcomes(m, plan, admin="admin", **results)
    assert [(o["status"], o["detail"]) for o in outcomes] == expect
    assert all(o.get("next_step") for o in outcomes if o["status"] == "left")


@pytest.mark.parametrize("state,deferred,expect", [
    ("off", {"changed": True}, [("changed", "deferred FileVault enablement to the next login")]),
    ("off", {"changed": False}, [("left", "FileVault is off and no token-holding administrator can enable it")]),
    ("deferred", None, [("pending", "FileVault enablement is deferred to the next login of kid")]),
    ("decrypting", None, [("left", "FileVault is decrypting")]),
])
def test_filevault_outcomes_without_credentials(state, deferred, expect):
    m = _fv(state, deferred_user="kid" if state == "deferred" else None)
    outcomes = filevault_outcomes(m, filevault_plan(m), deferred=deferred)
    assert [(o["status"], o["detail"]) for o in outcomes] == expect


@pytest.mark.parametrize("kwargs,mac_kw,result,expect,now", [
    ({"admin": "admin"}, {}, {"changed": True}, [("changed", "escrowed the bootstrap token to the MDM")], True),
    ({"admin": "admin"}, {}, {"failed": True, "msg": "the MDM was probably unreachable"},
     [("left", "bootstrap token not escrowed: the MDM was probably unreachable")], False),
    ({"admin": "admin"}, {"escrowed": True}, None, [], False),  # nothing needed
    ({"admin": "admin"}, {"supported": False}, None, [], False),  # the server cannot: the audit's finding says so
    ({}, {}, None, [("left", "bootstrap token not escrowed: no token-holding administrator whose credentials "
                             "were given")], False),
    ({"admin": "new", "admin_token": True, "check_mode": True}, {}, None,
     [("changed", "would escrow the bootstrap token to the MDM (after the administrator gets a token)")], True),
    ({"admin": "new", "admin_token": True}, {}, {"changed": True},
     [("changed", "escrowed the bootstrap token to the MDM")], True),  # the administrator got its token this run
])
def test_bootstrap_step(kwargs, mac_kw, result, expect, now):
    m = mac([user("admin", True, True), user("new", admin=True)], **mac_kw)
    plan = bootstrap_plan(m, **kwargs)
    record = bootstrap_outcomes(plan, escrowed=result, check_mode=kwargs.get("check_mode", False))
    assert [(o["status"], o["detail"]) for o in record["outcomes"]] == expect
    assert record["escrowed_now"] is now
    assert all(o.get("next_step") for o in record["outcomes"] if o["status"] == "left")


def test_remediation_plan_predicts_the_filevault_modules_own_words():
    users = [user("admin", True, True), user("jdoe", True)]
    users[1]["filevault_user"] = False
    plan = remediation_plan(mac(users, fv="off"), admin="admin", have_password=True, known=["jdoe"])
    (out,) = [o for o in plan["outcomes"] if o["step"] == "filevault_enforce"]
    assert out["status"] == "changed" and out["detail"] == "would enable FileVault authorised by admin with jdoe"


def test_fleet_report_row_says_who_can_recover_each_mac():
    icloud = trust([user("a", True, True)], fv="on")
    icloud["mac"]["filevault"]["recovery_path"] = "icloud_only"
    per_host = {"icloud": {"trust": icloud}, "old-reading": {"trust": trust([user("a", True, True)], fv="on")},
                "down": {"trust": None, "error": "unreachable"}}
    rows = {m["host"]: m for m in fleet_report(per_host)["macs"]}
    assert rows["icloud"]["recovery_path"] == "icloud_only"
    assert rows["old-reading"]["recovery_path"] is None  # a reading without it (an older collection) says nothing
    assert rows["down"]["recovery_path"] is None
