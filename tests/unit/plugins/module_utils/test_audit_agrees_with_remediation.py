# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit and the remediation planner say the same thing about every account on every shipped macsim host (the
demo fleet's hosts are among them): each Mac is read in-process through macsim's tools, its findings computed, and
the planner run with nothing known and with every password known. The runner is the collection's own, on macsim's
tools (tests/unit/plugins/harness.py)."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _findings, _remediation, _rules
from ansible_collections.macops.tokens.plugins.module_utils._info import gather
from ansible_collections.macops.tokens.tests.unit.plugins.harness import SimRunner

macsim_fleet = pytest.importorskip("macsim.fleet")  # installed by make venv, so make units always has it
from macsim import store  # noqa: E402

HOSTS = macsim_fleet.load_scenario("all")["hosts"]
CODES = {"local": "local_user_without_token", "mobile": "mobile_account_without_token",
         "managed_admin": "managed_admin_without_token"}
STEPS = {"local": "cli_users", "managed_admin": "cli_users", "mobile": "mobile_accounts"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = {}
    for name, host in HOSTS.items():
        state = dict(host["state"])
        if state.get("python") in ("none", "stub") or host.get("faults") or state.get("faults"):
            continue
        directory = tmp_path_factory.mktemp(name)
        store.create_host(directory, state)
        try:
            out[name] = (gather(SimRunner(str(directory)), managed_admins=state.get("managed_admins") or []),
                         state)
        except Exception as exc:  # a Mac the read side refuses (not a Mac, unreadable) has no plan to compare
            out[name] = (None, repr(exc))
    return out


def _inputs(state, everything):
    users = state.get("users") or []
    admins = [u for u in users if u.get("admin") and u.get("password")]
    admin = next((u for u in admins if u.get("secure_token")), admins[0] if admins else None)
    known = [u["name"] for u in users if u.get("password")] if everything else []
    return (admin["name"] if admin and everything else None), known


def _outcome_for(plan, name):
    if name in plan["grant"]:
        return "grant"
    if name in plan["predicted"]:
        return "predicted"
    hits = [o for o in plan["outcomes"] if o["detail"].split(" ")[0].rstrip(":") == name
            or o["detail"].endswith(" %s (after the administrator gets one)" % name)]
    assert len(hits) == 1, (name, plan)
    return hits[0]


def test_every_shipped_host_was_read(models):
    read = [name for name, (model, _state) in models.items() if model is not None]
    assert len(read) >= 30, sorted(models)


@pytest.mark.parametrize("everything", [False, True], ids=["nothing known", "every password known"])
def test_the_plan_for_each_account_is_the_findings_next_step_or_its_resolution(models, everything):
    compared = 0
    for host, (model, state) in sorted(models.items()):
        if model is None:
            continue
        found = dict((f["code"], f) for f in _findings.findings(model))
        admin, known = _inputs(state, everything)
        plans = dict((step, _remediation.account_plan(model, step, admin=admin, known=known))
                     for step in ("cli_users", "mobile_accounts"))
        for user in model["users"]:
            if user["secure_token"] is not False or user["kind"] not in CODES or user["name"] == admin:
                continue
            finding = found.get(CODES[user["kind"]])
            assert finding and user["name"] in finding["users"], (host, user["name"], sorted(found))
            outcome = _outcome_for(plans[STEPS[user["kind"]]], user["name"])
            route = _rules.token_route(model, user)
            where = (host, user["name"], finding["next_step"], outcome)
            if finding["next_step"] == _rules.AT_LOGIN_STEP:
                assert route == _rules.ROUTE_AT_LOGIN, where
                # the login grants it; a known local password may be used at once, which resolves the finding
                assert outcome == "grant" or (outcome["status"] == "pending"
                                              and "granted at next graphical login" in outcome["detail"]), where
            elif "pre-hashed account gets the first token" in finding["next_step"]:
                assert outcome["status"] == "left" and "pre-hashed" in outcome["next_step"], where
            else:
                assert route == _rules.ROUTE_GRANT, where
                assert outcome in ("grant", "predicted") or outcome["status"] in ("left", "changed"), where
                if outcome not in ("grant", "predicted") and outcome["status"] == "left":
                    assert "next graphical login grants it" not in outcome["detail"], where
                    said_escrow = "escrow the bootstrap token" in finding["next_step"].lower()
                    if "password is not known" in outcome["detail"]:
                        assert said_escrow == ("escrow the bootstrap token" in outcome["next_step"]), where
            compared += 1
    assert compared >= 10


def test_the_administrator_step_agrees_with_the_token_holder_findings(models):
    for host, (model, state) in sorted(models.items()):
        if model is None:
            continue
        codes = set(f["code"] for f in _findings.findings(model))
        admin, known = _inputs(state, True)
        if not admin:
            continue
        plan = _remediation.admin_plan(model, admin, True, known)
        holds = [u for u in model["users"] if u["name"] == admin][0]["secure_token"]
        if holds:
            assert plan["action"] == "none", host
        elif "no_token_holder" in codes:
            assert plan["action"] == "grant" and "first token" in plan["how"], host
        elif "only_standard_token_holders" in codes:
            assert plan["action"] == "grant" and plan["promote"] or "standard" in plan["detail"], host


def test_the_filevault_step_agrees_with_the_filevault_findings(models):
    compared = 0
    for host, (model, state) in sorted(models.items()):
        if model is None or "filevault" not in model:
            continue
        codes = set(f["code"] for f in _findings.findings(model))
        admin, known = _inputs(state, True)
        holds = bool(admin) and [u for u in model["users"] if u["name"] == admin][0]["secure_token"]
        plan = _remediation.filevault_plan(model, admin=admin, have_password=bool(admin), known=known)
        nothing = _remediation.filevault_plan(model)
        if "filevault_off" in codes:
            # "enable it with the credentials of a secure-token holder": done when they are given, else deferred
            assert plan["enable"] is holds, host
            assert nothing["defer"] and not nothing["enable"], host
            compared += 1
        else:
            assert not nothing["defer"], host  # only a Mac with FileVault off is ever deferred
        if "token_holder_not_filevault_user" in codes and holds:
            missing = [u for u in model["users"] if u["secure_token"] and u["filevault_user"] is False
                       and u["name"] in known and u["name"] != admin]
            assert set(plan["add"]) >= set(u["name"] for u in missing if _rules.filevault_addable(model, u)), host
        # Never a holder the audit says FileVault cannot take (Apple silicon, not a volume owner): fdesetup refuses it.
        refused = set(n for f in _findings.findings(model) if f["code"] == "holder_not_volume_owner"
                      for n in f["users"])
        assert not refused & set(plan["add"]), host
    assert compared >= 3


def test_a_holder_filevault_cannot_take_is_reported_not_added(tmp_path):
    """Apple silicon, FileVault on or off: a token holder that is no volume owner is not added to FileVault (fdesetup
    add fails with 17, and enabling leaves it out), and the audit says why (holder_not_volume_owner, R3)."""
    for state in ("on", "off"):
        users = [{"name": "admin", "uid": 501, "admin": True, "password": "admin-pw", "secure_token": True,
                  "volume_owner": True},
                 {"name": "staff", "uid": 502, "password": "staff-pw", "secure_token": True, "volume_owner": False},
                 {"name": "owner2", "uid": 503, "password": "owner2-pw", "secure_token": True, "volume_owner": True,
                  "fv_enabled": False}]
        doc = {"hostname": "as-" + state, "os": {"version": "15.3.1"}, "hardware": {"arch": "apple_silicon"},
               "users": users, "filevault": {"state": state, "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"
                                             if state == "on" else None, "rate": None}}
        directory = tmp_path / state
        store.create_host(directory, doc)
        model = gather(SimRunner(str(directory)))
        plan = _remediation.filevault_plan(model, admin="admin", have_password=True, known=["staff", "owner2"])
        assert plan["add"] == ["owner2"], (state, plan)
        if state == "on":
            found = dict((f["code"], f["users"]) for f in _findings.findings(model))
            assert found["holder_not_volume_owner"] == ["staff"], found
            assert found["token_holder_not_filevault_user"] == ["owner2"], found


def test_the_bootstrap_step_agrees_with_the_bootstrap_findings(models):
    for host, (model, state) in sorted(models.items()):
        if model is None or "mdm" not in model:
            continue
        codes = set(f["code"] for f in _findings.findings(model))
        admin, _known = _inputs(state, True)
        plan = _remediation.bootstrap_plan(model, admin=admin)
        # the step acts exactly where the audit says the token is supported but not escrowed
        assert plan["needed"] is ("bootstrap_token_not_escrowed" in codes), (host, plan, sorted(codes))


@pytest.mark.parametrize("everything", [False, True], ids=["nothing known", "every password known"])
def test_the_whole_run_plan_carries_each_steps_prediction_into_the_next(models, everything):
    """One call plans the whole check-mode run: what the administrator step predicts reaches the later steps, so
    no later step says "no administrator can grant" on a Mac where the administrator is predicted a token, and
    every account without a token gets exactly one outcome."""
    carried = 0
    for host, (model, state) in sorted(models.items()):
        if model is None:
            continue
        admin, known = _inputs(state, everything)
        run = _remediation.remediation_plan(model, admin=admin, have_password=bool(admin), known=known)
        assert [s["step"] for s in run["steps"]] == list(_remediation.RUN_ORDER), host
        assert run["outcomes"] == [o for s in run["steps"] for o in s["outcomes"]], host
        steps = dict((s["step"], s) for s in run["steps"])
        granted = steps["administrator"]["plan"]["action"] == "grant"
        for step in ("cli_users", "mobile_accounts"):
            plan = steps[step]["plan"]
            for user in model["users"]:
                if user["secure_token"] is not False or user["kind"] not in _remediation.STEP_KINDS[step] \
                        or user["name"] == admin:
                    continue
                words = [[w.rstrip(":") for w in o["detail"].split(" ")[:6]] for o in steps[step]["outcomes"]]
                mentions = [o for o, w in zip(steps[step]["outcomes"], words) if user["name"] in w
                            or o["detail"].endswith(" " + user["name"])
                            or o["detail"].endswith(" %s (after the administrator gets one)" % user["name"])]
                assert len(mentions) == 1, (host, step, user["name"], steps[step]["outcomes"])
                if granted:
                    assert "no administrator here can grant one" not in mentions[0]["detail"], (host, mentions)
                    carried += user["name"] in plan["predicted"]
        if granted and steps[_remediation.BT_STEP]["plan"]["needed"]:
            assert steps[_remediation.BT_STEP]["outcomes"][0]["status"] == "changed", host
    if everything:
        assert carried >= 1  # at least one shipped host shows a grant that depends on the administrator's


@pytest.mark.parametrize("escrow", ["valid", "invalid", "absent"])
def test_the_recovery_path_and_the_key_step_agree_on_every_shipped_host(models, escrow):
    """Where the audit says the organisation holds no recovery key (recovery_key_not_escrowed, icloud_recovery_only),
    the FileVault step checks the key, leaves it with the very switch the finding names, and rotates it once that
    switch is on; where the escrowed key validates, the audit is quiet and the step keeps the key."""
    compared = 0
    for host, (model, state) in sorted(models.items()):
        if model is None or "filevault" not in model:
            continue
        model = dict(model, filevault=dict(model["filevault"], escrow=escrow))
        path = _rules.recovery_path(model)
        found = dict((f["code"], f) for f in _findings.findings(model))
        admin, known = _inputs(state, True)
        plan = _remediation.filevault_plan(model, admin, bool(admin), known)
        # what the key check of filevault_recovery_key says for this escrow (validate_only / check mode)
        check = {"valid": escrow == "valid" and bool(model["filevault"]["personal_recovery_key"]), "reason": escrow}
        if path == _rules.RECOVERY_ESCROWED:
            assert not {"recovery_key_not_escrowed", "icloud_recovery_only", "no_recovery_key"} & set(found), host
            assert _remediation.key_action(check) == "valid", host
        for code in ("recovery_key_not_escrowed", "icloud_recovery_only"):
            if code not in found:
                continue
            assert not _rules.organisation_can_recover(path), host
            assert _remediation.key_action(check) == "left" and _remediation.key_action(check, True) == "rotate", host
            if plan["check_key"]:
                left = _remediation.filevault_outcomes(model, plan, admin, key_check=check)
                step = [o["next_step"] for o in left if o["status"] == "left" and "recovery key" in o["detail"]]
                assert step and "filevault_enforce_rotate_unescrowed_keys" in step[0], host
                assert "filevault_enforce_rotate_unescrowed_keys" in found[code]["next_step"], host
                compared += 1
    if escrow != "valid":
        assert compared >= 2  # fv-icloud-only and fv-icloud-and-key at least, with the administrator's password
