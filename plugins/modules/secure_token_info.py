#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: secure_token_info
short_description: Who holds a secure token on a Mac, from every signal
version_added: 0.1.0
description:
  - Lists accounts with UID 500 or above and every secure-token holder, with each user's token state taken from
    AuthenticationAuthority, the APFS crypto users and, when FileVault is on, C(fdesetup list).
  - When the signals disagree the user's C(token_state) is V(inconsistent) and C(secure_token) is V(null).
  - Shares its reading code with M(macops.tokens.chain_of_trust_info); the tool calls do not grow with the number
    of accounts.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.INFO_ATTRIBUTES
options:
  users:
    description:
      - Report only these short names. An unknown name fails the task.
    type: list
    elements: str
    default: []
  managed_admins:
    description:
      - Short names of MDM-managed administrator accounts, reported with kind V(managed_admin).
    type: list
    elements: str
    default: []
seealso:
  - module: macops.tokens.chain_of_trust_info
"""

EXAMPLES = r"""
- name: Does alice hold a secure token?
  macops.tokens.secure_token_info:
    users: [alice]
  become: true
  register: tokens

- name: Fail when she does not
  ansible.builtin.assert:
    that: tokens.users[0].secure_token
"""

RETURN = r"""
users:
  description: The accounts, each as in the C(mac.users) return value of M(macops.tokens.chain_of_trust_info).
  returned: success
  type: list
  elements: dict
  sample:
    - {name: alice, uid: 501, admin: true, kind: local, secure_token: true, token_state: enabled,
       token_signals: {authentication_authority: true, crypto_user: true, filevault_list: null},
       filevault_user: true, volume_owner: true}
token_holders:
  description: How many accounts hold a secure token.
  returned: success
  type: int
admin_token_holders:
  description: How many administrators hold a secure token.
  returned: success
  type: int
volume_owners:
  description: How many token holders are volume owners (Apple silicon).
  returned: success
  type: int
bootstrap_token:
  description: Whether the bootstrap token is C(supported) and C(escrowed), which decides whether accounts get a
    token at their next graphical login.
  returned: success
  type: dict
os:
  description: The macOS release and architecture, as in M(macops.tokens.chain_of_trust_info).
  returned: success
  type: dict
tool_calls:
  description: How many tool invocations the read took.
  returned: success
  type: int
findings:
  description: The token findings (codes such as V(no_token_holder), V(local_user_without_token)), as in
    M(macops.tokens.chain_of_trust_info).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils._info import run_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="list", elements="str", default=[]),
            managed_admins=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        supports_check_mode=True,
    )
    run_info(module, view="secure_token")


if __name__ == "__main__":
    main()
