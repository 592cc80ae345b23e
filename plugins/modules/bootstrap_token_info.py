#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token_info
short_description: MDM enrollment and bootstrap token state of a Mac
version_added: 0.1.0
description:
  - Reports the MDM enrollment (DEP, user approval, server), whether the server supports the bootstrap token,
    whether it is escrowed, and whether a bootstrap token record exists on the Mac (the
    V(MDM Bootstrap Token External Key) APFS crypto user).
  - A server without bootstrap token support prints one status line; this module reads that as
    C(supported=false), C(escrowed=null), not as escrowed.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.INFO_ATTRIBUTES
seealso:
  - module: macops.tokens.chain_of_trust_info
"""

EXAMPLES = r"""
- name: Read the bootstrap token state
  macops.tokens.bootstrap_token_info:
  become: true
  register: bootstrap

- name: List Macs whose bootstrap token is not escrowed
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} has no escrowed bootstrap token"
  when: bootstrap.bootstrap_token.supported and not bootstrap.bootstrap_token.escrowed
"""

RETURN = r"""
mdm:
  description: C(enrolled), C(dep) (Automated Device Enrollment), C(user_approved) and C(server).
  returned: success
  type: dict
  sample: {enrolled: true, dep: true, user_approved: true, server: "https://mdm.example.com/mdm"}
bootstrap_token:
  description: C(supported) by the server, C(escrowed) to it (V(null) when unsupported) and C(local_record).
  returned: success
  type: dict
  sample: {supported: true, escrowed: false, local_record: false}
os:
  description: The macOS release and architecture, as in M(macops.tokens.chain_of_trust_info).
  returned: success
  type: dict
tool_calls:
  description: How many tool invocations the read took.
  returned: success
  type: int
findings:
  description: The bootstrap token findings (V(not_enrolled_in_mdm), V(bootstrap_token_unsupported),
    V(bootstrap_token_not_escrowed)), as in M(macops.tokens.chain_of_trust_info).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils._info import run_info


def main():
    module = AnsibleModule(argument_spec=dict(timeout=dict(type="int", default=60),
                                              parallel_reads=dict(type="int", default=4)), supports_check_mode=True)
    run_info(module, view="bootstrap_token")


if __name__ == "__main__":
    main()
