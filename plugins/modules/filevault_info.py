#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: filevault_info
short_description: FileVault state, its users and its recovery keys on a Mac
version_added: 0.1.0
description:
  - Reports whether FileVault is off, on, encrypting, decrypting or deferred, the progress, a pending restart,
    the FileVault users, whether a personal or institutional recovery key exists, and which token holders cannot
    unlock FileVault at startup.
  - It never reads or returns a recovery key, only whether one exists.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.INFO_ATTRIBUTES
seealso:
  - module: macops.tokens.chain_of_trust_info
"""

EXAMPLES = r"""
- name: Read FileVault
  macops.tokens.filevault_info:
  become: true
  register: fv

- name: Report Macs with FileVault off
  ansible.builtin.debug:
    msg: "FileVault is {{ fv.filevault.state }} on {{ inventory_hostname }}"
  when: fv.filevault.state != 'on'
"""

RETURN = r"""
filevault:
  description: C(state), C(enabled), C(percent), C(restart_pending), C(deferred_user), C(deferral_configured),
    C(personal_recovery_key), C(institutional_recovery_key) and C(users) (C(user), C(uuid), C(type) from
    C(fdesetup list)).
  returned: success
  type: dict
  sample: {state: "on", enabled: true, percent: null, personal_recovery_key: true, institutional_recovery_key: false}
users:
  description: Each account's C(name), C(secure_token), C(filevault_user) and C(volume_owner).
  returned: success
  type: list
  elements: dict
os:
  description: The macOS release and architecture, as in M(macops.tokens.chain_of_trust_info).
  returned: success
  type: dict
tool_calls:
  description: How many tool invocations the read took.
  returned: success
  type: int
findings:
  description: The FileVault findings (such as V(filevault_off), V(no_recovery_key),
    V(token_holder_not_filevault_user)), as in M(macops.tokens.chain_of_trust_info).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils._info import run_info


def main():
    module = AnsibleModule(argument_spec=dict(timeout=dict(type="int", default=60),
                                              parallel_reads=dict(type="int", default=4)), supports_check_mode=True)
    run_info(module, view="filevault")


if __name__ == "__main__":
    main()
