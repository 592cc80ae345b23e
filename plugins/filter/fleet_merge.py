# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_merge
short_description: The fleet report from the per-Mac rows of one or several runs
version_added: 0.1.0
description:
  - Takes the row documents P(macops.tokens.fleet_row#filter) made (one file per Mac under C(<report_dir>/rows/),
    from any number of runs, job slices included) and returns the fleet report's data, in the same shape as
    P(macops.tokens.fleet_report#filter); the newest row of each Mac wins (by the time it was written, then run id).
  - Each Mac's row also says which run it comes from (C(run_id), C(read_at)), and C(runs) lists the runs merged.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The row documents.
    type: list
    elements: dict
    required: true
  hosts:
    description: Keep only these Macs; V(null) keeps every Mac that has a row.
    type: list
    elements: str
  generated:
    description: When the report was made (shown as is).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Merge the rows of every slice of the job
  ansible.builtin.set_fact:
    fleet: >-
      {{ query('ansible.builtin.file', *query('ansible.builtin.fileglob', '/srv/reports/rows/*.json'))
         | map('from_json') | macops.tokens.fleet_merge(generated=now(utc=true).isoformat()) }}
"""

RETURN = r"""
_value:
  description: C(generated), C(counts), C(finding_counts), C(macs) (sorted by host) and C(runs).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.plugin_utils._fleet import merge


def fleet_merge(documents, hosts=None, generated=""):
    return merge(list(documents or []), hosts=None if hosts is None else list(hosts), generated=generated)


class FilterModule(object):
    def filters(self):
        return {"fleet_merge": fleet_merge}
