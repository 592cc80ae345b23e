# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: admin_outcomes
short_description: What the administrator step did, for the next steps and the remediation report
version_added: 0.2.0
description:
  - From the plan of P(macops.tokens.admin_token_plan#filter) and the registered result of the
    M(macops.tokens.secure_token) grant it led to (failed or not, or none when the plan did not grant), whether the
    administrator holds a token after the step (predicted in check mode) and the step's outcomes.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The administrator plan.
    type: dict
    required: true
  admin:
    description: The administrator's account name.
    type: str
  result:
    description: The registered result of the grant; omit it when the plan did not grant.
    type: dict
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the administrator step
  ansible.builtin.set_fact:
    admin_step: >-
      {{ admin_plan | macops.tokens.admin_outcomes(admin=macops_admin_user, result=admin_grant | default({}),
         check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description: C(admin_token) (bool) and C(outcomes) (a list of C(step), C(status), C(detail) and, for V(left),
    C(next_step)).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import admin_outcomes as _outcomes


def admin_outcomes(plan, admin=None, result=None, check_mode=False):
    return _outcomes(plan if isinstance(plan, dict) else {"action": "none"}, admin,
                     result if isinstance(result, dict) else {}, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"admin_outcomes": admin_outcomes}
