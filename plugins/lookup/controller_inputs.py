# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_inputs
short_description: What is wrong with the run's controller-side inputs (report and escrow directories, vault password)
version_added: 0.1.0
description:
  - Checks, on the controller and without changing anything, the inputs a run needs there before it touches any Mac,
    and returns one message per problem, naming the variable and what to do; an empty list when all is well.
  - O(report_dir) (optional) must be an absolute path to a directory the controller's user can write, or one it can
    create. O(escrow_dir) (with O(escrow)) must be an existing, writable, absolute directory, checked as the
    escrowing tasks check it (the same messages); O(vault) asks for a vault password to encrypt recovery keys with
    (C(--vault-password-file), C(--vault-id), C(ANSIBLE_VAULT_PASSWORD_FILE) or an AWX vault credential).
  - Messages hold paths and variable names, never a secret.
author:
  - macops.tokens maintainers (@macops)
options:
  report_dir:
    description: The report directory (C(macops_report_dir)); empty means no report files, which is not a problem.
    type: str
    default: ""
  report_var:
    description: The variable name the messages give for O(report_dir).
    type: str
    default: macops_report_dir
  escrow:
    description: Whether the run escrows recovery keys, so that O(escrow_dir) is required.
    type: bool
    default: false
  escrow_dir:
    description: The escrow directory (C(macops_escrow_dir)).
    type: str
    default: ""
  escrow_var:
    description: The variable name the messages give for O(escrow_dir).
    type: str
    default: macops_escrow_dir
  vault:
    description: Whether a vault password is required (to encrypt recovery keys).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Check the controller's inputs before any Mac is touched
  ansible.builtin.fail:
    msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ query('macops.tokens.controller_inputs', report_dir=macops_report_dir, escrow=true,
                  escrow_dir=macops_escrow_dir, vault=true) }}"
  when: problems | length > 0
  run_once: true
"""

RETURN = r"""
_raw:
  description: One message per problem (empty when the inputs are usable).
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase

from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import NO_VAULT_PASSWORD, dir_problem, vault_secrets


def _writable_dir(path):
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def report_dir_problems(path, name):
    if not path:
        return []
    if not os.path.isabs(path):
        return ["%s must be an absolute path on the controller (got %s): give the full path of the report "
                "directory" % (name, path)]
    if os.path.exists(path):
        if not os.path.isdir(path):
            return ["%s is %s, which is not a directory: give a directory for the report" % (name, path)]
        if not _writable_dir(path):
            return ["%s %s is not writable by the controller's user: fix its permissions or give another "
                    "directory" % (name, path)]
        return []
    parent = os.path.dirname(path.rstrip(os.sep)) or os.sep
    while not os.path.exists(parent):
        parent = os.path.dirname(parent) or os.sep
    if not _writable_dir(parent):
        return ["%s %s does not exist and cannot be created (%s is not a writable directory): create it, or give "
                "another directory" % (name, path, parent)]
    return []


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        problems = report_dir_problems(self.get_option("report_dir") or "", self.get_option("report_var"))
        if self.get_option("escrow"):
            # The same words as the escrowing tasks would fail with, later, on a Mac.
            problem = dir_problem(self.get_option("escrow_dir") or "", self.get_option("escrow_var"))
            problems += [problem] if problem else []
        if self.get_option("vault") and not vault_secrets(self._loader):
            problems.append(NO_VAULT_PASSWORD)
        return problems
