# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The chain of the accounts the organisation relies on (macops_managed_admins, macops_service_accounts): token,
FileVault user and, on Apple silicon, volume owner, one finding per missing link naming the account; on the one fake
Mac (tests/unit/plugins/harness.py) simulated by macsim; and what the remediation planner does with them."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _remediation
from ansible_collections.macops.tokens.plugins.modules import chain_of_trust_info
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import ALICE, state, user

LAPS = "1C2D3E4F-0000-4000-8000-0000000001F9"
WATCHED = ("watched_account_missing", "watched_account_without_token", "watched_account_not_filevault_user",
           "watched_account_not_volume_owner")


def _mac(laps=None, arch="apple_silicon", filevault="on", managed=None, escrowed=False):
    owner = {"volume_owner": True} if arch == "apple_silicon" else {}
    users = [user("alice", 501, ALICE, admin=True, secure_token=True, **owner)]
    if laps is not None:
        users.append(user("lapsadmin", 502, LAPS, admin=True, **laps))
    if managed is not None:
        users.append(user("mdmadmin", 503, admin=True, kind="managed_admin", **managed))
    doc = state(users=users, filevault=filevault, escrowed=escrowed)
    doc["hardware"] = dict(doc["hardware"], arch=arch, cpu_brand="Apple M2" if arch == "apple_silicon"
                           else "Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz")
    return doc


# id, the Mac, the module's arguments, {finding code: the account it names}
CASES = [
    ("laps-complete", _mac({"secure_token": True, "volume_owner": True}), {"service_accounts": ["lapsadmin"]}, {}),
    ("laps-without-token", _mac({}), {"service_accounts": ["lapsadmin"]},
     {"watched_account_without_token": "lapsadmin"}),
    ("laps-not-filevault-user", _mac({"secure_token": True, "volume_owner": True, "fv_enabled": False}),
     {"service_accounts": ["lapsadmin"]}, {"token_holder_not_filevault_user": "lapsadmin"}),  # named there already
    ("laps-not-owner-filevault-off", _mac({"secure_token": True, "volume_owner": False}, filevault="off"),
     {"service_accounts": ["lapsadmin"]}, {"watched_account_not_volume_owner": "lapsadmin"}),
    ("laps-not-owner-intel", _mac({"secure_token": True}, arch="intel_t2", filevault="off"),
     {"service_accounts": ["lapsadmin"]}, {}),  # Intel Macs have no volume owners
    ("laps-missing", _mac(), {"service_accounts": ["lapsadmin"]}, {"watched_account_missing": "lapsadmin"}),
    ("managed-admin-missing-is-fleet-wide", _mac(), {"managed_admins": ["mdmadmin"]}, {}),
    ("managed-admin-without-token", _mac(managed={}), {"managed_admins": ["mdmadmin"]},
     {"managed_admin_without_token": "mdmadmin"}),  # named there already, with its route
    ("managed-admin-not-owner", _mac(managed={"secure_token": True, "volume_owner": False}, filevault="off"),
     {"managed_admins": ["mdmadmin"]}, {"watched_account_not_volume_owner": "mdmadmin"}),
]
OTHER = {"watched_account_without_token", "watched_account_not_volume_owner", "watched_account_missing",
         "watched_account_not_filevault_user", "managed_admin_without_token", "token_holder_not_filevault_user",
         "local_user_without_token", "holder_not_volume_owner"}


@pytest.mark.parametrize("doc,args,expect", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_missing_link_is_one_finding_naming_the_account(harness, doc, args, expect):
    result = harness.run(chain_of_trust_info, args, harness.sim(doc))
    assert result.get("failed") is not True, result.get("msg")
    got = dict((f["code"], f["users"]) for f in result["findings"] if f["code"] in OTHER)
    assert got == dict((code, [name]) for code, name in expect.items())
    for finding in result["findings"]:
        if finding["code"] in WATCHED:
            name = finding["users"][0]
            source = "macops_service_accounts" if name == "lapsadmin" else "macops_managed_admins"
            assert name in finding["message"] and source in finding["message"]
            assert finding["next_step"]
    assert result["mac"]["watched_accounts"] == dict(
        [(n, "macops_managed_admins") for n in args.get("managed_admins", [])]
        + [(n, "macops_service_accounts") for n in args.get("service_accounts", [])])


def test_the_token_step_names_the_password_input_and_the_role(harness):
    result = harness.run(chain_of_trust_info, {"service_accounts": ["lapsadmin"]}, harness.sim(_mac({})))
    finding = next(f for f in result["findings"] if f["code"] == "watched_account_without_token")
    assert "macops_user_passwords" in finding["next_step"] and "cli_users" in finding["next_step"]
    assert finding["severity"] == "warning"


@pytest.mark.parametrize("known,outcome", [(["lapsadmin"], "grant"), ([], "left")])
def test_the_remediation_grants_a_watched_account_whose_password_is_given_and_says_what_is_left(harness, known,
                                                                                                outcome):
    """cli_users grants the service account its token once its password is known; without it, the outcome names
    the account and the missing password (the audit's next step)."""
    result = harness.run(chain_of_trust_info, {"service_accounts": ["lapsadmin"]}, harness.sim(_mac({})))
    plan = _remediation.account_plan(result["mac"], "cli_users", admin="alice", known=known)
    if outcome == "grant":
        assert plan["grant"] == ["lapsadmin"] and plan["outcomes"] == []
    else:
        (left,) = plan["outcomes"]
        assert left["status"] == "left" and left["detail"].startswith("lapsadmin ")
        assert "macops_user_passwords" in left["next_step"]


def test_the_remediation_adds_a_watched_token_holder_to_filevault_when_its_password_is_given(harness):
    doc = _mac({"secure_token": True, "volume_owner": True, "fv_enabled": False})
    result = harness.run(chain_of_trust_info, {"service_accounts": ["lapsadmin"]}, harness.sim(doc))
    plan = _remediation.filevault_plan(result["mac"], admin="alice", have_password=True, known=["lapsadmin"])
    assert plan["add"] == ["lapsadmin"] and plan["enable"] is True
    unknown = _remediation.filevault_plan(result["mac"], admin="alice", have_password=True, known=[])
    assert unknown["add"] == [] and unknown["enable"] is False


def test_what_no_step_fixes_is_left_with_its_next_step(harness):
    doc = _mac({"secure_token": True, "volume_owner": False}, filevault="off")
    result = harness.run(chain_of_trust_info, {"service_accounts": ["lapsadmin", "ghost"]}, harness.sim(doc))
    plan = _remediation.account_plan(result["mac"], "cli_users", admin="alice", known=["lapsadmin"])
    left = dict((o["detail"].split(" ")[0], o) for o in plan["outcomes"] if o["status"] == "left")
    assert set(left) == {"lapsadmin", "ghost"}
    assert "not a volume owner" in left["lapsadmin"]["detail"] and "volume owner" in left["lapsadmin"]["next_step"]
    assert "macops_service_accounts" in left["ghost"]["detail"]
    # the audit names the same two, one finding each
    codes = dict((f["users"][0], f["code"]) for f in result["findings"] if f["code"].startswith("watched_account"))
    assert codes == {"lapsadmin": "watched_account_not_volume_owner", "ghost": "watched_account_missing"}
    mobile = _remediation.account_plan(result["mac"], "mobile_accounts", admin="alice", known=["lapsadmin"])
    assert not [o for o in mobile["outcomes"] if o["detail"].startswith(("lapsadmin", "ghost"))]  # said once
