# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report
short_description: Shape the audit of many Macs into one fleet report (rows, counts, details)
version_added: 0.1.0
description:
  - Takes, per Mac, what the C(macops.tokens.audit) role recorded (the C(chain_of_trust_info) reading, or the error
    that prevented it) and what the remediation roles did, and returns the data of the fleet report; the role
    renders it as JSON, CSV and HTML.
  - Secrets are never part of the input; the output holds names, states, findings and next steps only.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description:
      - A mapping of host name to a dictionary with C(trust) (the module's result, or V(null)), C(error) (why the
        Mac could not be read, or V(null)), C(trust_before) (an earlier reading, optional) and C(outcomes) (a list of
        what remediation did or left, optional), and C(stopped) (true when a remediation began on the Mac but did not
        reach its end, because the connection died or a task failed; such a Mac is counted unreachable or failed,
        never fine).
    type: dict
    required: true
  generated:
    description: When the report was made (shown as is).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Build the report data
  ansible.builtin.set_fact:
    report: "{{ per_host | macops.tokens.fleet_report(generated=now(utc=true).isoformat()) }}"
"""

RETURN = r"""
_value:
  description: C(generated), C(counts) (fleet totals), C(macs) (one row per Mac, sorted by host, with details).
  type: dict
"""

from ansible_collections.macops.tokens.plugins.plugin_utils._fleet import fleet_report as _fleet_report


def fleet_report(per_host, generated=""):
    return _fleet_report(per_host, generated)


class FilterModule(object):
    def filters(self):
        return {"fleet_report": fleet_report}
