# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.filevault_recovery_key: hands the escrowed key to the module, escrows a new one."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import redact_task_source
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import (
    execute_quietly, Escrow, EscrowError, escrow_new_key, escrow_path, fingerprint, revealed_note)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        redact_task_source(self._task)  # before anything can fail
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if args.get("validate_only"):
            return dict(result, failed=True, msg="validate_only is for the collection's own action plugins; to "
                                                 "check the escrowed key, run this module without it in check mode")
        if args.get("confirm_pending") is not None:
            return dict(result, failed=True, msg="confirm_pending is for the collection's own action plugins; remove "
                                                 "it from the task")
        if args.get("revealed") is not None:
            return dict(result, failed=True, msg="revealed is filled in from the escrow's ledger by the action plugin; "
                                                 "remove it from the task")
        if args.get("recovery_key") is not None:
            return dict(result, failed=True, msg="recovery_key is filled in from escrow_dir by the action plugin; "
                                                 "remove it from the task")
        escrow = Escrow(self._loader, args.get("escrow_dir"))
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            escrow.check()
            current = escrow.read(host)
            used = revealed_note(escrow.dir, host, current)
        except (EscrowError, _ledger.LedgerError) as exc:
            return dict(result, failed=True, changed=False, escrowed=False, msg=str(exc))
        if current:
            args["recovery_key"] = current["recovery_key"]
        if used:
            args["revealed"] = used
        module_result = execute_quietly(self, "macops.tokens.filevault_recovery_key", args, task_vars)
        result.update(module_result)
        if "recovery_key" in result:
            return escrow_new_key(self, task_vars, escrow, result)
        if current and result.get("valid"):
            result.update(escrow_file=escrow_path(escrow.dir, host), key_fingerprint=fingerprint(
                current["recovery_key"]), escrowed=True)
        return result
