# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: admin_token_plan
short_description: How the administrator whose credentials were given gets a secure token on one Mac
version_added: 0.1.0
description:
  - From a Mac's C(chain_of_trust_info) reading, decides whether the administrator already holds a token, gets the
    first one (nobody holds a token), gets one from a standard token holder promoted for the grant (only standard
    users hold one, and one of their passwords is known), or cannot get one here, with the next step.
  - The remediation planner's administrator step; its rules are the audit's.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the module's result.
    type: dict
    required: true
  admin:
    description: The administrator's short name.
    type: str
    required: true
  have_password:
    description: Whether the administrator's password was given.
    type: bool
    required: true
  known:
    description: Short names whose passwords are known.
    type: list
    elements: str
  promote:
    description: Whether a standard token holder may be promoted for the grant.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Plan the administrator's token
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.admin_token_plan(admin='macadmin', have_password=true,
      known=['student']) }}"
"""

RETURN = r"""
_value:
  description:
    - C(action) (V(none), V(grant) or V(left)); for V(grant) C(grantor), C(grantor_is_admin), C(promote) and C(how);
      for V(left) C(detail) and C(next_step).
  type: dict
"""


from ansible_collections.macops.tokens.plugins.module_utils._remediation import admin_plan


def admin_token_plan(mac, admin, have_password, known=None, promote=True):
    return admin_plan(mac, admin, bool(have_password), known, bool(promote))


class FilterModule(object):
    def filters(self):
        return {"admin_token_plan": admin_token_plan}
