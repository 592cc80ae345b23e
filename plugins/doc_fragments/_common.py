# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE: documentation fragments internal to macops.tokens.

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Seconds each macOS tool may run before it is stopped and the task fails with the command named.
      - Raise it for slow Macs; a hung tool never hangs the play.
    type: int
    default: 60
  parallel_reads:
    description:
      - How many of Apple's tools the module runs at once while it reads the Mac; V(1) runs them one at a time.
      - The reads that need no other read's output start together, the others as soon as what they need is read
        (the bootstrap token status after the MDM enrollment, the directory lookup of a home folder without a local
        account after the account list). Each keeps its own O(timeout).
      - The result, the tool calls made and any failure are the same whatever the value.
    type: int
    default: 4
notes:
  - "The module reads the Mac only through Apple's tools at their absolute paths (C(/usr/bin/sw_vers),
    C(/usr/sbin/diskutil), C(/usr/bin/fdesetup), C(/usr/bin/profiles), C(/usr/bin/dscl) and others),
    never through the Python interpreter or Ansible facts, so it works with C(gather_facts: false)."
  - "Needs root (C(become: true)): C(fdesetup list) and C(profiles status) refuse to run otherwise."
requirements:
  - macOS 10.13 or later on the managed Mac, with a Python the Ansible release supports (3.8 or later).
"""

    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: macOS
"""

    # The write modules: each has an action plugin (escrow, or keeping passwords out of failure reports), full
    # check mode and diff. A module adds its own ``details`` under the attribute it qualifies.
    WRITE_ATTRIBUTES = r"""
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: macOS
"""
