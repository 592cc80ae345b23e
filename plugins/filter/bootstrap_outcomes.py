# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: bootstrap_outcomes
short_description: The bootstrap token remediation step's outcomes, and whether later steps may count on the escrow
version_added: 0.2.0
description:
  - From the step's plan (P(macops.tokens.bootstrap_plan#filter)) and the registered result of
    M(macops.tokens.bootstrap_token), failed or not - C(outcomes) for the report and C(escrowed_now) (escrowed by
    this run, or in check mode predicted to be) for the steps after it.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The step's plan.
    type: dict
    required: true
  escrowed:
    description: The registered result of the escrow (V(null) when it did not run).
    type: dict
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the escrow
  ansible.builtin.set_fact:
    record: "{{ plan | macops.tokens.bootstrap_outcomes(escrowed=result | default(none)) }}"
"""

RETURN = r"""
_value:
  description: C(outcomes) (C(step), C(status), C(detail), C(next_step)) and C(escrowed_now).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import bootstrap_outcomes as _outcomes


def bootstrap_outcomes(plan, escrowed=None, check_mode=False):
    return _outcomes(plan, escrowed if isinstance(escrowed, dict) else None, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"bootstrap_outcomes": bootstrap_outcomes}
