# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: filevault_key_action
short_description: What to do with an encrypted Mac's recovery key after checking it
version_added: 0.2.0
description:
  - From the registered result of M(macops.tokens.filevault_recovery_key) run in check mode - V(collect) (an
    interrupted run of this collection left its key on the Mac), V(valid) (the escrowed key unlocks the Mac),
    V(rotate) (allowed - opted in, the key this collection made was lost, or the escrowed key was revealed and is
    rotated after use) or V(left) (someone else may hold the key, so rotating it is opt-in).
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The check's registered result.
    type: dict
    required: true
  rotate_unescrowed:
    description: Whether a key this controller does not hold may be rotated.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Rotate only where the decision says so
  macops.tokens.filevault_recovery_key:
    escrow_dir: /srv/escrow
  when: (key_check | macops.tokens.filevault_key_action(false)) in ['collect', 'rotate']
"""

RETURN = r"""
_value:
  description: One of V(collect), V(valid), V(rotate), V(left).
  type: str
"""

from ansible_collections.macops.tokens.plugins.module_utils._remediation import key_action


def filevault_key_action(key_check, rotate_unescrowed=False):
    return key_action(key_check if isinstance(key_check, dict) else {}, bool(rotate_unescrowed))


class FilterModule(object):
    def filters(self):
        return {"filevault_key_action": filevault_key_action}
