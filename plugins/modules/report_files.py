#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_files
short_description: Write report files on the controller, each atomically, in one task
version_added: 0.2.0
description:
  - Writes every file of O(files) into O(dir) on the controller, whatever host the task runs for, in the controller
    process itself (no module is sent anywhere, no process is started per file).
  - Each file is written to a temporary file beside it, flushed to disk and renamed into place, so a reader sees the
    old file or the new one, never half of one. O(dir) is created when missing.
  - The audit role writes each Mac's row and the fleet report with it - one task for any number of Macs, where a
    M(ansible.builtin.copy) per Mac cost a module run each.
  - Writing a report is output, not managed state - the task never reports a change, and it writes in check mode
    too.
author:
  - macops.tokens maintainers (@macops)
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Writes the files in check mode too; they are output, not managed state.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  dir:
    description: The controller directory the files go to.
    type: path
    required: true
  files:
    description: The files, each a plain file name (no C(/), not starting with C(.)) and its text.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The file name inside O(dir).
        type: str
        required: true
      content:
        description: The file's text.
        type: str
        required: true
  mode:
    description: The files' permissions, in octal.
    type: str
    default: "0640"
  dir_mode:
    description: The permissions of O(dir) when it is created, in octal.
    type: str
    default: "0750"
"""

EXAMPLES = r"""
- name: Write a small report, both files in one task
  macops.tokens.report_files:
    dir: /srv/macops/report
    files:
      - name: summary.json
        content: "{{ summary | to_nice_json }}"
      - name: summary.txt
        content: "{{ summary.text }}"
  run_once: true
"""

RETURN = r"""
written:
  description: The paths written, in the order given.
  returned: success
  type: list
  elements: str
dir:
  description: The directory written to.
  returned: always
  type: str
"""
