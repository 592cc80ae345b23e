# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.report_row: writes the row in the controller's process (no module started).

Delegated to localhost (how the audit role uses it) the row is written here, on the controller, through a temporary
file renamed into place; delegated elsewhere, the module writes it on that host.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.modules.report_row import write_row


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "row", "mode"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        if not self._connection or self._connection.transport != "local":
            result.update(self._execute_module(module_name="macops.tokens.report_row", module_args=self._task.args,
                                               task_vars=task_vars))
            return result
        args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True), row=dict(type="dict", required=True),
            mode=dict(type="str", default="0640")))[1]
        try:
            row = json.loads(json.dumps(args["row"]))  # plain data only (no templating markers)
            path = write_row(args["path"], row, args["mode"])
        except (OSError, IOError, ValueError, TypeError) as exc:
            return dict(result, failed=True, changed=False,
                        msg="could not write the report row %s: %s" % (args["path"], to_native(exc)))
        return dict(result, changed=False, path=path)
