# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of the modules that need nothing on the controller: mask secrets, then run the module.

PRIVATE: this module is internal to macops.tokens and may change without notice.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.plugin_utils._redact import redact_task_source


class PlainAction(ActionBase):
    """Runs the module of the same name; its only controller-side work is keeping passwords out of error reports."""

    TRANSFERS_FILES = False
    MODULE = ""

    def run(self, tmp=None, task_vars=None):
        redact_task_source(self._task)
        result = super(PlainAction, self).run(tmp, task_vars)
        del tmp
        result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                           task_vars=task_vars or {}))
        return result
