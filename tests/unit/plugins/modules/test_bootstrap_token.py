# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bootstrap_token on a simulated Mac (tests/unit/plugins/harness.py): plan, check mode, diff, the escrow verified by
re-reading, and the administrator's password only ever typed at profiles' prompt."""

from __future__ import annotations

import json

import pytest

from ansible_collections.macops.tokens.plugins.modules import bootstrap_token
from ansible_collections.macops.tokens.tests.unit.plugins.harness import expect, fault
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import HEALTHY_STATE, state, users_of

NOT_ESCROWED = state(escrowed=False)  # supported by the server, neither escrowed nor on the Mac
UNREACHABLE = state(escrowed=False, mdm=dict(NOT_ESCROWED["mdm"], reachable=False))  # made on the Mac, never sent
UNSUPPORTED = state(escrowed=False, mdm=dict(NOT_ESCROWED["mdm"], bootstrap_capable=False))
NO_TOKEN_ADMIN = users_of(NOT_ESCROWED, alice={"secure_token": False, "volume_owner": False})
ARGS = {"admin_user": "alice", "admin_password": "alice-secret"}
INSTALLED = "profiles: Bootstrap Token created\nprofiles: Bootstrap Token escrowed\n"
AUTH = ("dscl", ["/Local/Default", "-authonly", "alice"], ["alice-secret"])
INSTALL = ("profiles", ["install", "-type", "bootstraptoken"], ["alice", "alice-secret"])  # typed at its prompts
REMOVE = ("profiles", ["remove", "-type", "bootstraptoken"], None)
VALIDATE = ("profiles", ["validate", "-type", "bootstraptoken"], None)
ESCROWED = {"supported": True, "escrowed": True, "allowed": True, "local_record": True}

ROWS = [
    # id, Mac, faults, args, check mode, acts, result, failure message
    ("escrow: checks the password, escrows, verifies", NOT_ESCROWED, [], ARGS, False, [AUTH, INSTALL],
     {"changed": True, "bootstrap_token": ESCROWED, "diff": {
         "before": {"escrowed": False, "local_record": False}, "after": {"escrowed": True, "local_record": True}}},
     None),
    ("check mode predicts and runs nothing", NOT_ESCROWED, [], ARGS, True, [AUTH], {"changed": True}, None),
    ("already escrowed: nothing to do", HEALTHY_STATE, [], ARGS, False, [], {"changed": False}, None),
    ("the MDM is unreachable", UNREACHABLE, [], ARGS, False, [AUTH, INSTALL], {}, "the MDM was probably unreachable"),
    ("profiles claims success and creates nothing (it asks nothing)", NOT_ESCROWED,
     [fault("profiles", "install", rc=0, out=INSTALLED)], ARGS, False, [AUTH, INSTALL[:2] + ([],)], {},
     "profiles did not create a bootstrap token"),
    ("wrong password", users_of(NOT_ESCROWED, alice={"password": "other"}), [], ARGS, False, [AUTH], {},
     "the password given for alice is wrong"),
    ("the server lacks the capability", UNSUPPORTED, [], ARGS, False, [], {}, "re-enroll"),
    ("the administrator holds no token", NO_TOKEN_ADMIN, [], ARGS, False, [], {},
     "must be an administrator holding a secure token"),
    ("blank password", NOT_ESCROWED, [], {"admin_user": "alice", "admin_password": ""}, False, [], {},
     "must not be blank"),
    ("negative confirm_wait", NOT_ESCROWED, [], dict(ARGS, confirm_wait=-1), False, [], {}, "confirm_wait must be 0"),
    ("remove is verified", HEALTHY_STATE, [], {"state": "absent"}, False, [REMOVE],
     {"changed": True, "bootstrap_token": {"supported": True, "escrowed": False, "allowed": True,
                                           "local_record": False}}, None),
    ("a removal that does not take", HEALTHY_STATE, [fault("profiles", "remove", rc=0, out="", err="")],
     {"state": "absent"}, False, [REMOVE], {}, "still present after profiles remove"),
    ("validate after the escrow", NOT_ESCROWED, [], dict(ARGS, validate=True), False, [AUTH, INSTALL, VALIDATE],
     {"changed": True, "validated": True}, None),
]


@pytest.mark.parametrize("mac,faults,args,check,acts,result,message", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bootstrap_token_table(harness, mac, faults, args, check, acts, result, message):
    mac = harness.sim(mac, faults)
    outcome = harness.run(bootstrap_token, args, mac, check=check, diff=True)
    expect(outcome, mac, result, message, acts)
    assert "alice-secret" not in json.dumps(outcome) and "alice-secret" not in json.dumps(outcome.raw)


def test_the_escrow_is_on_the_mac_afterwards(harness):
    mac = harness.sim(NOT_ESCROWED)
    harness.run(bootstrap_token, ARGS, mac)
    mdm = mac.state()["mdm"]
    assert mdm["bootstrap_escrowed"] and mdm["bootstrap_on_device"]
