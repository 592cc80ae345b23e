# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: account_token_plan
short_description: Which accounts one remediation step grants a secure token, and what it says of the others
version_added: 0.2.0
description:
  - From a Mac's C(chain_of_trust_info) reading, for the step V(cli_users) (local accounts and the MDM's managed
    administrator) or V(mobile_accounts) (AD mobile accounts), the accounts without a token to grant now in one
    M(macops.tokens.secure_token) call (C(grant)), those predicted in check mode (C(predicted)), and an outcome
    with the next step for every other one (C(outcomes)).
  - The decisions come from the same rules as the audit's findings, so the plan for an account never contradicts
    its finding.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the C(chain_of_trust_info) result.
    type: dict
    required: true
  step:
    description: The remediation step.
    type: str
    choices: [cli_users, mobile_accounts]
    required: true
  admin:
    description: The administrator whose credentials were given (excluded from the step; it has a step of its own).
    type: str
  known:
    description: Short names whose passwords are known.
    type: list
    elements: str
  admin_token:
    description:
      - What the administrator step did; V(true) the administrator holds a token now (in check mode, is predicted
        to), V(false) it does not. Omitted, the Mac's reading decides.
    type: bool
  escrowed_now:
    description: Whether the bootstrap token was escrowed (or, in check mode, is predicted to be) earlier in this run.
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan the local accounts
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.account_token_plan('cli_users', admin='macadmin', known=['labuser']) }}"
"""

RETURN = r"""
_value:
  description: C(step), C(grant) (names), C(predicted) (names) and C(outcomes) (C(step), C(status), C(detail),
    C(next_step)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.macops.tokens.plugins.module_utils._remediation import account_plan


def account_token_plan(mac, step, admin=None, known=None, admin_token=None, escrowed_now=False, check_mode=False):
    try:
        return account_plan(mac, step, admin=admin, known=known, admin_token=admin_token,
                            escrowed_now=bool(escrowed_now), check_mode=bool(check_mode))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("account_token_plan needs the mac part of a chain_of_trust_info result and a step "
                                 "(cli_users or mobile_accounts): %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"account_token_plan": account_token_plan}
