# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: bootstrap_plan
short_description: What the bootstrap token remediation step does on one Mac
version_added: 0.2.0
description:
  - From a Mac's C(chain_of_trust_info) reading - C(needed) (enrolled, the server supports the bootstrap token and
    it is not escrowed), C(ready) (a token-holding administrator's credentials are given, now or after the
    administrator step of this run), C(escrow) (both) and C(predicted) (check mode - escrowed once the administrator
    gets the token this run predicts).
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the C(chain_of_trust_info) result.
    type: dict
    required: true
  admin:
    description: The administrator whose credentials C(profiles) is given.
    type: str
  admin_token:
    description: What the administrator step of this run did (V(true), V(false), or V(null) when it did not run).
    type: bool
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan the escrow
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.bootstrap_plan(admin='macadmin') }}"
"""

RETURN = r"""
_value:
  description: C(needed), C(ready), C(escrow) and C(predicted).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.macops.tokens.plugins.module_utils import _remediation


def bootstrap_plan(mac, admin=None, admin_token=None, check_mode=False):
    try:
        return _remediation.bootstrap_plan(mac, admin=admin, admin_token=admin_token, check_mode=bool(check_mode))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("bootstrap_plan needs the mac part of a chain_of_trust_info result: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"bootstrap_plan": bootstrap_plan}
