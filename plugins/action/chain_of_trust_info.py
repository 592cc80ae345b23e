# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.chain_of_trust_info: keeps its passwords out of ansible-core's failed-task report
and, given escrow_dir, hands the Mac's escrowed recovery key to the module to validate (read-only)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import (
    Escrow, EscrowError, execute_quietly, revealed_note)
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import redact_task_source

MODULE = "macops.tokens.chain_of_trust_info"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        redact_task_source(self._task)  # before anything can fail
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for own in ("recovery_key", "revealed"):
            if args.get(own) is not None:
                return dict(result, failed=True, msg="%s is filled in from escrow_dir by the action plugin; remove "
                                                     "it from the task" % own)
        if not args.get("escrow_dir"):
            args.pop("escrow_dir", None)
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        warning = None
        try:
            if not os.path.isabs(args["escrow_dir"]) or not os.path.isdir(args["escrow_dir"]):
                raise EscrowError("escrow_dir %s is not an existing directory on the controller" % args["escrow_dir"])
            host = task_vars.get("inventory_hostname", "localhost")
            current = Escrow(self._loader, args["escrow_dir"]).read(host)
            used = revealed_note(args["escrow_dir"], host, current)
        except (EscrowError, _ledger.LedgerError) as exc:  # an audit reports what it can, and says why
            current, used, warning = None, None, "the escrowed recovery key was not checked: %s" % exc
            args.pop("escrow_dir")
        if current:
            args["recovery_key"] = current["recovery_key"]
        if used:
            args["revealed"] = used
        # The key travels to the Mac in the module's arguments: the connection must not print them at -vvv.
        result.update(execute_quietly(self, MODULE, args, task_vars))
        if warning:
            result.setdefault("warnings", []).append(warning)
        return result
