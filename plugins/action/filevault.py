# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.filevault: checks the escrow first, runs the module, escrows the key."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.macops.tokens.plugins.plugin_utils._redact import redact_task_source
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import (
    Escrow, EscrowError, escrow_new_key, execute_quietly)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        redact_task_source(self._task)  # before anything can fail
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
        lost = result.pop("key_lost", False)
        result = escrow_new_key(self, task_vars, escrow, result)
        if lost and not result.get("failed") and not self._task.check_mode:
            result = self._replace_lost_key(task_vars, escrow, result)
        return result

    def _replace_lost_key(self, task_vars, escrow, result):
        """An interrupted run of this collection turned FileVault on and its key was lost with the process: keep
        the escrowed key if it still unlocks the Mac, else rotate and escrow a new one (see _pending)."""
        args = self._task.args
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            current = escrow.read(host)
        except EscrowError as exc:
            return dict(result, failed=True, msg=str(exc))
        rotate = {"user": args.get("user"), "password": args.get("password"), "escrow_dir": escrow.dir,
                  "timeout": args.get("timeout", 60)}
        if current:
            rotate["recovery_key"] = current["recovery_key"]
        rotated = execute_quietly(self, "macops.tokens.filevault_recovery_key", rotate, task_vars)
        # A key the rotation printed is the Mac's key now, even when the rotation then failed: escrow it first.
        outcome = escrow_new_key(self, task_vars, escrow, dict(rotated))
        result["changed"] = bool(result.get("changed") or rotated.get("changed"))
        warnings = list(result.get("warnings") or [])
        warnings += [w for w in outcome.get("warnings") or [] if w not in warnings]
        if warnings:
            result["warnings"] = warnings
        for name in ("escrow_file", "key_fingerprint"):
            if outcome.get(name):
                result[name] = outcome[name]
        if rotated.get("failed"):
            msg = "the recovery key of an interrupted run was lost and rotating it failed: %s" % rotated.get("msg")
            if "recovery_key" in rotated and not outcome.get("escrowed"):
                msg += "; the key it printed could not be escrowed: %s" % outcome.get("msg")
            return dict(result, failed=True, msg=msg, escrowed=bool(outcome.get("escrowed")))
        if outcome.get("failed"):
            return dict(result, failed=True, msg=outcome.get("msg"), escrowed=False)
        result["actions"] = list(result.get("actions") or []) + [
            "rotated the recovery key (%s) and escrowed it" % rotated.get("reason") if rotated.get("changed")
            else "kept the escrowed recovery key: it still unlocks this Mac"]
        result["escrowed"] = bool(outcome.get("escrowed")) or bool(current and rotated.get("valid"))
        return result
