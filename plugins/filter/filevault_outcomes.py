# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: filevault_outcomes
short_description: The FileVault remediation step's outcomes, for the report
version_added: 0.2.0
description:
  - From a Mac's reading, the step's plan (P(macops.tokens.filevault_plan#filter)) and the registered results of
    the tasks that ran, failed ones included - one outcome per thing done, predicted, pending or left, each left one
    with its next step.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the C(chain_of_trust_info) result.
    type: dict
    required: true
  plan:
    description: The step's plan.
    type: dict
    required: true
  admin:
    description: The administrator whose credentials authorise the change.
    type: str
  enabled:
    description: The result of M(macops.tokens.filevault) enabling FileVault or adding users.
    type: dict
  key_check:
    description: The result of the recovery key check.
    type: dict
  key_failure:
    description: The failed result of the recovery key check or rotation.
    type: dict
  deferred:
    description: The result of M(macops.tokens.filevault) deferring enablement.
    type: dict
  rotate_unescrowed:
    description: Whether a key this controller does not hold may be rotated.
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the outcomes
  ansible.builtin.set_fact:
    outcomes: "{{ audit_trust.mac | macops.tokens.filevault_outcomes(plan, enabled=result | default(none)) }}"
"""

RETURN = r"""
_value:
  description: A list of C(step), C(status), C(detail) and, for V(left) and V(pending), C(next_step).
  type: list
  elements: dict
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import filevault_outcomes as _outcomes


def _result(value):
    return value if isinstance(value, dict) else None


def filevault_outcomes(mac, plan, admin=None, enabled=None, key_check=None, key_failure=None, deferred=None,
                       rotate_unescrowed=False, check_mode=False):
    return _outcomes(mac, plan, admin=admin, enabled=_result(enabled), key_check=_result(key_check),
                     key_failure=_result(key_failure), deferred=_result(deferred),
                     rotate_unescrowed=bool(rotate_unescrowed), check_mode=bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"filevault_outcomes": filevault_outcomes}
