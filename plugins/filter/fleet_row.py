# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_row
short_description: One Mac's row of the fleet report, as written to its own file
version_added: 0.1.0
description:
  - Takes what the C(macops.tokens.audit) role and the remediation roles recorded for one Mac (the same entry as one
    value of the input of P(macops.tokens.fleet_report#filter)) and returns the document the role writes to
    C(<report_dir>/rows/<host>.json), that is the Mac's report row (every column of the JSON, CSV and HTML
    reports), with the run it comes from and when it was written. P(macops.tokens.fleet_merge#filter) builds the
    fleet report from such documents.
  - Secrets are never part of the output; it holds names, states, findings and next steps only.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description:
      - The Mac's entry; C(trust) (the C(chain_of_trust_info) result, or V(null)), C(error), C(trust_before),
        C(outcomes) and C(stopped), as for P(macops.tokens.fleet_report#filter).
    type: dict
    required: true
  host:
    description: The Mac's inventory name.
    type: str
    required: true
  run_id:
    description: The run (job) the row comes from.
    type: str
    required: true
  written:
    description: When the row was made, in UTC, as C(YYYY-MM-DDTHH:MM:SS.ffffffZ); the newest row of a Mac wins.
    type: str
    required: true
  playbook:
    description: Which playbook made the row (C(audit), C(remediate)).
    type: str
    default: ""
  check_mode:
    description: Whether the run was in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Write this Mac's row
  ansible.builtin.copy:
    content: "{{ entry | macops.tokens.fleet_row(inventory_hostname, run_id, now(utc=true).isoformat()) | to_json }}"
    dest: "/srv/reports/rows/{{ inventory_hostname }}.json"
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: C(format), C(host), C(run_id), C(written), C(playbook), C(check_mode) and C(row) (the report row).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.plugin_utils._fleet import row_document


def fleet_row(entry, host, run_id, written, playbook="", check_mode=False):
    return row_document(host, entry if isinstance(entry, dict) else {}, run_id, written, playbook, check_mode)


class FilterModule(object):
    def filters(self):
        return {"fleet_row": fleet_row}
