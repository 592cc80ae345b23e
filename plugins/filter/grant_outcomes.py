# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: grant_outcomes
short_description: The per-account outcomes of one batched secure_token grant, for the remediation report
version_added: 0.2.0
description:
  - From the registered result of M(macops.tokens.secure_token) with O(macops.tokens.secure_token#module:users),
    failed or not, one outcome per account (V(changed), V(ok) or V(left) with the reason and the next step).
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The registered result.
    type: dict
    required: true
  step:
    description: The remediation step the outcomes belong to.
    type: str
    required: true
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the grants
  ansible.builtin.set_fact:
    outcomes: "{{ grant_result | macops.tokens.grant_outcomes('cli_users', check_mode=ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: A list of C(step), C(status), C(detail) and, for V(left), C(next_step).
  type: list
  elements: dict
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import grant_outcomes as _outcomes


def grant_outcomes(result, step, check_mode=False):
    return _outcomes(result if isinstance(result, dict) else {}, step, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"grant_outcomes": grant_outcomes}
