# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: filevault_plan
short_description: What the FileVault remediation step does on one Mac
version_added: 0.2.0
description:
  - From a Mac's C(chain_of_trust_info) reading and the run's inputs - C(enable) (enable FileVault, or add the token
    holders in C(add) to it), C(check_key) (validate the escrowed recovery key of an encrypted Mac), C(defer) (no
    administrator password - defer enablement to the next login), C(predicted) (check mode - enabled once the
    administrator gets the token this run predicts), C(ready) and C(state).
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the C(chain_of_trust_info) result.
    type: dict
    required: true
  admin:
    description: The token-holding administrator whose credentials authorise the change.
    type: str
  have_password:
    description: Whether its password was given.
    type: bool
    default: false
  known:
    description: Short names whose passwords are known (token holders among them are added to FileVault).
    type: list
    elements: str
  admin_token:
    description: What the administrator step of this run did (V(true), V(false), or V(null) when it did not run).
    type: bool
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  defer_without_credentials:
    description: Defer enablement to the next login when no administrator password is given.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Plan FileVault
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.filevault_plan(admin='macadmin', have_password=true) }}"
"""

RETURN = r"""
_value:
  description: C(state), C(ready), C(predicted), C(add), C(enable), C(check_key) and C(defer).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.macops.tokens.plugins.module_utils import _remediation


def filevault_plan(mac, admin=None, have_password=False, known=None, admin_token=None, check_mode=False,
                   defer_without_credentials=True):
    try:
        return _remediation.filevault_plan(mac, admin=admin, have_password=bool(have_password), known=known,
                                           admin_token=admin_token, check_mode=bool(check_mode),
                                           defer_without_credentials=bool(defer_without_credentials))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("filevault_plan needs the mac part of a chain_of_trust_info result: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"filevault_plan": filevault_plan}
