# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' decisions and the fleet report, as pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.filter.admin_token_plan import admin_token_plan
from ansible_collections.macops.tokens.plugins.filter.fleet_report import fleet_report
from ansible_collections.macops.tokens.plugins.filter.mobile_account_plan import mobile_account_plan
from ansible_collections.macops.tokens.plugins.filter.preflight_problems import preflight_problems


def user(name, token=False, admin=False, kind="local"):
    return {"name": name, "secure_token": token, "admin": admin, "kind": kind, "filevault_user": token,
            "volume_owner": None}


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


@pytest.mark.parametrize("kwargs,version,escrowed,dep,action", [
    ({}, (14, 5), True, False, "at_login"),
    ({}, (10, 15, 7), True, True, "at_login"),
    ({}, (10, 15, 7), True, False, "left"),  # 10.15 grants at login only with ADE
    ({"escrowed_now": True}, (12, 7), False, False, "at_login"),
    ({"admin_ready": True}, (14, 5), False, False, "grant"),
    ({"admin_predicted": True}, (14, 5), False, False, "predict"),
    ({}, (14, 5), False, False, "left"),
])
def test_mobile_account_plan(kwargs, version, escrowed, dep, action):
    users = [user("admin", True, True), user("jdoe", kind="mobile"), user("net", kind="network")]
    plan = mobile_account_plan(mac(users, version=version, escrowed=escrowed, dep=dep), known=["jdoe"], **kwargs)
    assert [p["name"] for p in plan] == ["jdoe"] and plan[0]["action"] == action
    if action == "left":
        assert plan[0]["next_step"]


def test_mobile_account_plan_next_steps_without_a_password():
    users = [user("jdoe", kind="mobile")]
    old = mobile_account_plan(mac(users, version=(10, 15, 7), dep=False))[0]
    assert "upgrade to macOS 11 or enroll through Automated Device Enrollment" in old["next_step"]
    none = mobile_account_plan(mac(users, supported=False, enrolled=False))[0]
    assert "the Mac is not enrolled in an MDM" in none["next_step"]


@pytest.mark.parametrize("python,sudo,fda,expect", [
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, None, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-fda-yes\n"}, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": "macops-fda-unknown\n"}, []),
    ({"stdout": "macops-python 3.9\n"}, {"rc": 0}, {"stdout": ""}, ["Full Disk Access"]),
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
