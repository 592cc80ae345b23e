# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.filevault: checks the escrow first, runs the module, escrows the key."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import (
    Escrow, EscrowError, escrow_new_key, execute_quietly)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        escrow = Escrow(self._loader, args.get("escrow_dir"))
        if args.get("state", "enabled") == "enabled" and args.get("user") and args.get("password"):
            try:
                escrow.check()  # before the Mac is touched: a key that cannot be escrowed is never created
            except EscrowError as exc:
                return dict(result, failed=True, changed=False, escrowed=False, msg=str(exc))
        module_result = execute_quietly(self, "macops.tokens.filevault", args, task_vars)
        result.update(module_result)
        return escrow_new_key(self, task_vars, escrow, result)
