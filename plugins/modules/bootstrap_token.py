#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token
short_description: Escrow the bootstrap token to the MDM, or remove it, verified afterwards
version_added: 0.1.0
description:
  - Makes sure the Mac's bootstrap token is escrowed to its MDM (V(escrowed)), or removed from the Mac and the
    server (V(absent)).
  - Escrows with C(profiles install -type bootstraptoken), which has no option to read a password from stdin;
    its prompts for the administrator's name and password are answered on a pseudo-terminal, so neither appears
    on any command line. The call is time-bound by O(timeout).
  - Checks first, with clear errors, that the Mac is enrolled in an MDM, that the server supports the bootstrap
    token (if not, the fix is a re-enrollment whose profile advertises the capability), that O(admin_user) is an
    administrator holding a secure token, and that its password is not blank and is accepted by
    C(dscl -authonly) (typed at its prompt on a pseudo-terminal).
  - Verifies afterwards with C(profiles status -type bootstraptoken) and the V(MDM Bootstrap Token External Key)
    APFS crypto user; with O(validate=true) also with C(profiles validate -type bootstraptoken).
  - A token created on the Mac but not escrowed usually means the MDM could not be reached; the task fails and
    says so.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.write_attributes
options:
  state:
    description: Whether the bootstrap token must be escrowed, or absent from the Mac and the server.
    type: str
    choices: [escrowed, absent]
    default: escrowed
  admin_user:
    description: An administrator who holds a secure token. Required to escrow.
    type: str
  admin_password:
    description: The password of O(admin_user).
    type: str
  validate:
    description:
      - Also run C(profiles validate -type bootstraptoken), which asks the MDM whether it holds the Mac's token.
      - Right after an escrow, C(profiles status) can already say escrowed while the MDM has not stored the token
        yet; validation then fails for a while. The module waits up to O(confirm_wait) seconds for the MDM to
        confirm, changing nothing, and escrows again only when the MDM still does not hold the token.
    type: bool
    default: false
  confirm_wait:
    description:
      - Seconds to wait for the MDM to confirm an escrowed token (with O(validate=true)) before escrowing it again.
    type: int
    default: 60
attributes:
  action:
    details: The action plugin only keeps the passwords out of ansible-core's report of a failed task.
seealso:
  - module: macops.tokens.bootstrap_token_info
"""

EXAMPLES = r"""
- name: Escrow the bootstrap token
  macops.tokens.bootstrap_token:
    admin_user: "{{ macops_admin_user }}"
    admin_password: "{{ macops_admin_password }}"
    validate: true
  become: true
"""

RETURN = r"""
bootstrap_token:
  description: The bootstrap token state after the task, re-read from the Mac (C(supported), C(escrowed),
    C(local_record)).
  returned: success
  type: dict
  sample: {supported: true, escrowed: true, local_record: true}
validated:
  description: Whether C(profiles validate) said the token validated (V(null) when O(validate=false)).
  returned: success
  type: bool
waited:
  description: Seconds spent waiting for the MDM to confirm an escrowed token (O(confirm_wait)).
  returned: success
  type: float
actions:
  description: The change made (or that check mode would make); empty when the token was already as asked.
  returned: always
  type: list
  elements: str
  sample: ["escrow the bootstrap token to the MDM"]
diff:
  description: The bootstrap token state before and after (after as predicted in check mode, as re-read otherwise).
  returned: when diff mode is on
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils._account import refuse_unusable_passwords, require_password
from ansible_collections.macops.tokens.plugins.module_utils._change import (Action, ChangeError, Expect, Plan,
                                                                            carry_out, failing)
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._rules import can_grant
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner
from ansible_collections.macops.tokens.plugins.module_utils._tokens import find_user

PARTS = ("os", "users", "mdm")


def check_escrow_inputs(p, model):
    mdm, bt = model["mdm"], model["bootstrap_token"]
    if not mdm["enrolled"]:
        raise ChangeError("this Mac is not enrolled in an MDM, so it cannot escrow a bootstrap token; enroll it "
                          "first (Automated Device Enrollment where possible)")
    if not bt["supported"]:
        raise ChangeError("the MDM server does not support the bootstrap token for this Mac (profiles status says "
                          "'supported on server: NO'); re-enroll with an enrollment profile that advertises the "
                          "bootstrap token capability")
    name, password = p["admin_user"], p["admin_password"]
    if not name:
        raise ChangeError("admin_user is required to escrow the bootstrap token")
    if not password:
        raise ChangeError("admin_password is required and must not be blank: profiles refuses a blank password and "
                          "a user with a blank password cannot create a bootstrap token")
    admin = find_user(model, name)
    if admin is None:
        raise ChangeError("admin_user %s is not an account on this Mac" % name)
    if not can_grant(admin):  # profiles needs a token-holding administrator, as a token grant does (R26, R38)
        able = [u["name"] for u in model["users"] if can_grant(u)]
        raise ChangeError("admin_user %s must be an administrator holding a secure token; %s" % (
            name, "those here: %s" % ", ".join(able) if able else "none here holds one"))


def view(model):
    bt = model["bootstrap_token"]
    return {"escrowed": bt["escrowed"], "local_record": bt["local_record"]}


def plan_escrow(runner, p, done):
    """Escrow with profiles' prompts answered on a pseudo-terminal; verified by the escrow alone (the local record
    is the Mac's business once the server holds the token)."""
    answers = [(r"user name:\s*$", p["admin_user"], False), (r"[Pp]assword[^\n]*:\s*$", p["admin_password"], True)]

    def make():
        done["run"] = runner.converse("profiles", ["install", "-type", "bootstraptoken"], answers)

    def not_escrowed(wrong, after):
        install, bt = done["run"], after["bootstrap_token"]
        reason = ("a bootstrap token now exists on the Mac but the server does not have it: the MDM was probably "
                  "unreachable; run this again when it can be reached" if bt["local_record"] else
                  "profiles did not create a bootstrap token")
        return ChangeError("the bootstrap token was not escrowed: %s" % reason, cmd=install.command, rc=install.rc,
                           stdout=install.out, bootstrap_token=bt)
    return Plan([Action("escrow the bootstrap token to the MDM", make)],
                {"escrowed": True, "local_record": Expect(True, lambda got, after: True)}, not_escrowed)


def plan_remove(runner, done):
    def make():
        done["run"] = runner.run("profiles", ["remove", "-type", "bootstraptoken"], ok_codes=None)

    def still_there(wrong, after):
        install = done["run"]
        return ChangeError("the bootstrap token is still present after profiles remove", cmd=install.command,
                           rc=install.rc, stdout=install.out, stderr=install.err,
                           bootstrap_token=after["bootstrap_token"])
    return Plan([Action("remove the bootstrap token from the Mac and the server", make)],
                {"escrowed": False, "local_record": False}, still_there)


def validate(runner):
    result = runner.run("profiles", ["validate", "-type", "bootstraptoken"], ok_codes=None)
    return P.parse_profiles_validate(result.out + result.err)


def validate_waiting(runner, seconds):
    """Validate, and while the MDM has not confirmed the token, again every few seconds for up to ``seconds``."""
    started = time.time()
    while True:
        if validate(runner):
            return True, round(time.time() - started, 1)
        if time.time() - started >= seconds:
            return False, round(time.time() - started, 1)
        time.sleep(min(5, max(0.0, seconds - (time.time() - started))))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["escrowed", "absent"], default="escrowed"),
            admin_user=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
            validate=dict(type="bool", default=False),
            confirm_wait=dict(type="int", default=60),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        supports_check_mode=True,
    )
    p = module.params
    refuse_unusable_passwords(module, [("admin_password", p["admin_user"], p["admin_password"])])
    before = read_mac(module, PARTS)
    bt = before["bootstrap_token"]
    runner = Runner(module, timeout=p["timeout"])
    result = {"changed": False, "validated": None, "waited": 0.0}
    if p["confirm_wait"] < 0:
        module.fail_json(msg="confirm_wait must be 0 or a number of seconds; got %s" % p["confirm_wait"])
    escrow = p["state"] == "escrowed"
    done = {}
    with failing(module, result):
        if escrow:
            check_escrow_inputs(p, before)
            needed = not bt["escrowed"]
            if not needed and p["validate"]:
                # an escrow the MDM has not stored yet settles by itself: wait before escrowing again
                result["validated"], result["waited"] = validate_waiting(
                    runner, p["confirm_wait"])  # read-only, so check mode waits too and predicts right
                needed = not result["validated"]
        else:
            needed = bool(bt["escrowed"] or bt["local_record"])
        if needed and escrow:
            # The administrator holds a token, so this check cannot grant a first token: safe in check mode too.
            require_password(module, runner, p["admin_user"], p["admin_password"])
    plan = (plan_escrow(runner, p, done) if escrow else plan_remove(runner, done)) if needed else Plan()
    after = carry_out(module, plan, before, view, lambda: read_mac(module, PARTS), result)
    if plan.actions and not module.check_mode and escrow and p["validate"]:
        with failing(module, dict(result, bootstrap_token=after["bootstrap_token"])):
            result["validated"], waited = validate_waiting(runner, p["confirm_wait"])
            result["waited"] += waited
            if not result["validated"]:
                raise ChangeError("the bootstrap token was escrowed but profiles validate did not confirm it")
    module.exit_json(bootstrap_token=after["bootstrap_token"], **result)


if __name__ == "__main__":
    main()
