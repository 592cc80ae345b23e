# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_summary
short_description: The short summary of a fleet report, for the screen and for AWX (set_stats)
version_added: 0.1.0
description:
  - Takes the data of a fleet report (P(macops.tokens.fleet_report#filter) or P(macops.tokens.fleet_merge#filter))
    and returns the counts of Macs by status and of findings by severity, the Macs with critical findings, the
    Macs not read with the reason, how many Macs changed or have something left, and where the report is.
  - Names, counts and reasons only, never a secret.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The report data.
    type: dict
    required: true
  report:
    description: Where the report is (shown as is).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Hand the run's summary to AWX
  ansible.builtin.set_stats:
    data:
      macops_audit: "{{ fleet | macops.tokens.fleet_summary('/srv/reports/fleet-report.html') }}"
"""

RETURN = r"""
_value:
  description: >-
    C(macs), C(status) (Macs per status), C(findings_by_severity), C(critical_macs), C(not_read) (host: reason),
    C(changed), C(with_something_left), C(report).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.plugin_utils._fleet import summary


def fleet_summary(fleet, report=""):
    return summary(fleet if isinstance(fleet, dict) else {}, report)


class FilterModule(object):
    def filters(self):
        return {"fleet_summary": fleet_summary}
