# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: remediation_plan
short_description: Every remediation step of one Mac, planned in one call, each with what the steps before it predict
version_added: 0.2.0
description:
  - From the model that M(macops.tokens.chain_of_trust_info) returns (its C(mac)), the steps of
    C(playbooks/remediate.yml) in their order (administrator, bootstrap token, local accounts, mobile accounts,
    FileVault), each planned with the administrator's token and the bootstrap escrow the earlier steps predict.
  - With O(check_mode=true) (the default) it is what a check-mode run predicts, except the recovery key check, which
    needs the escrowed key. The roles call the same planner one step at a time with what really happened.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The Mac's model (C(mac) of M(macops.tokens.chain_of_trust_info)).
    type: dict
    required: true
  admin:
    description: The administrator whose credentials are given.
    type: str
  have_password:
    description: Whether that administrator's password is given.
    type: bool
    default: false
  known:
    description: The accounts whose passwords are known.
    type: list
    elements: str
  promote:
    description: Whether a standard token holder may be promoted for the administrator's grant.
    type: bool
    default: true
  check_mode:
    description: Predict as a check-mode run does.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Show what remediation would do on each Mac
  ansible.builtin.debug:
    msg: >-
      {{ (audit_trust.mac | macops.tokens.remediation_plan(admin=macops_admin_user, have_password=true,
          known=macops_user_passwords.keys() | list)).outcomes }}
"""

RETURN = r"""
_value:
  description: >-
    C(steps) (a list of C(step), C(plan) and C(outcomes)) and C(outcomes) (all the steps' outcomes, in
    order - C(step), C(status), C(detail) and, for V(left) and V(pending), C(next_step)).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import remediation_plan as _plan


def remediation_plan(mac, admin=None, have_password=False, known=None, promote=True, check_mode=True):
    return _plan(mac if isinstance(mac, dict) else {}, admin, bool(have_password), list(known or []), bool(promote),
                 bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"remediation_plan": remediation_plan}
