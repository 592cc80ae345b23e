# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.filevault_restart: plan on the Mac, restart it, ride out the drop, unlock at
pre-boot when that is the path, and verify the new boot with the connection's own key login."""

from __future__ import annotations

import time

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.macops.tokens.plugins.plugin_utils import _preboot as preboot
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import Escrow, EscrowError, execute_quietly
from ansible_collections.macops.tokens.plugins.plugin_utils._redact import redact_task_source

display = Display()
MODULE = "macops.tokens.filevault_restart"
POLL = 2.0
# Once the pre-boot server has said it unlocked, how long the Mac may keep showing it before that counts as failed.
UNLOCK_GRACE = 180


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        self._task_vars = task_vars
        redact_task_source(self._task)  # before anything can fail
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for name in ("reboot_timeout", "down_timeout"):
            try:
                value = int(args.get(name, 900 if name == "reboot_timeout" else 300))
            except (TypeError, ValueError):
                value = 0
            if value < 1:
                return dict(result, failed=True, changed=False,
                            msg="%s must be a whole number of seconds of at least 1; got %r. Nothing was restarted"
                                % (name, args.get(name)))
            args[name] = value
        if args.get("phase", "plan") != "plan" or args.get("recovery_key"):
            return dict(result, failed=True, changed=False, msg="phase and recovery_key are filled in by the action "
                        "plugin; remove them from the task. Nothing was restarted")
        if args.get("escrow_dir") and not args.get("user"):
            try:
                escrow = Escrow(self._loader, args["escrow_dir"])
                escrow.check()
                doc = escrow.read(task_vars.get("inventory_hostname", "localhost"))
            except EscrowError as exc:
                return dict(result, failed=True, changed=False,
                            msg="%s; the Mac was not restarted" % str(exc).rstrip("."))
            if doc:
                args["recovery_key"] = doc["recovery_key"]
        planned = execute_quietly(self, MODULE, dict(args, phase="plan"), task_vars)
        result.update(planned)
        if planned.get("failed") or planned.get("unreachable"):
            return result
        before = planned["boottime_before"]
        if self._play_context.diff:
            result["diff"] = {"before": {"boottime": before}, "after": {"boottime": "(a new boot)",
                                                                        "method": planned["method"]}}
        if self._task.check_mode:
            return result
        return self._restart(args, planned, result, task_vars)

    # ---- the restart ---------------------------------------------------------------------------------------------
    def _option(self, name, default=""):
        try:
            return self._connection.get_option(name) or default
        except KeyError:
            return default

    def _address(self, task_vars):
        host = self._option("host") or task_vars.get("ansible_host") or task_vars.get("inventory_hostname")
        return str(host), int(self._option("port") or task_vars.get("ansible_port") or 22)

    def _restart(self, args, planned, result, task_vars):
        method = planned["method"]
        host, port = self._address(task_vars)
        preboot_user = args.get("preboot_user") or args.get("user")
        may_unlock = bool(planned.get("preboot_ssh_unlock") and preboot_user and args.get("password")
                          and method != "plain")
        pinned = preboot.scan_host_keys(host, port) if may_unlock else []
        if may_unlock and not pinned:
            return dict(result, failed=True, changed=False,
                        msg="could not read the Mac's SSH host keys with ssh-keyscan from the controller, so a "
                            "pre-boot unlock could not check it is talking to this Mac; nothing was restarted")
        started = time.monotonic()
        try:
            asked = execute_quietly(self, MODULE, dict(args, phase="restart", method=method), task_vars)
        except AnsibleConnectionFailure as exc:  # the Mac went down before the module could answer
            asked = {"changed": True, "asked": "restart (the connection dropped: %s)" % str(exc).splitlines()[0]}
        if asked.get("failed"):
            return dict(result, **dict(asked, changed=False))
        result["changed"] = True
        with preboot.PinnedKeys(pinned) as keys:
            outcome = self._wait(args, planned, result, host, port, preboot_user, keys.path if pinned else None,
                                 started)
        return outcome

    def _boot(self):
        """The boot time through the connection's own login, or None when the Mac cannot be reached that way."""
        try:
            self._connection.reset()
        except Exception:  # noqa: BLE001 - a connection that cannot be reset is simply not reachable yet
            pass
        try:
            got = self._execute_module(module_name=MODULE, module_args={"phase": "verify"}, task_vars=self._task_vars)
        except AnsibleConnectionFailure as exc:
            return None, str(exc)
        if got.get("failed") or got.get("unreachable"):
            return None, got.get("msg", "")
        return got, ""

    def _wait(self, args, planned, result, host, port, user, known_hosts, started):
        method, before = planned["method"], planned["boottime_before"]
        deadline = started + args["reboot_timeout"]
        down_deadline = started + args["down_timeout"]
        attempts, unlocked_at, went_down, last = 0, None, False, ""
        result["preboot_attempts"] = 0
        while time.monotonic() < deadline:
            time.sleep(POLL)
            if not preboot.ssh_banner(host, port):
                went_down = True
                last = "nothing answers on %s:%s" % (host, port)
                continue
            got, why = self._boot()
            if got is not None:
                if got["boottime"] == before:
                    if time.monotonic() > down_deadline and not went_down:
                        return dict(result, failed=True, msg="the Mac was asked to restart (%s) but is still on the "
                                    "same boot after %s s" % (method, args["down_timeout"]))
                    continue
                unlocked_by = {"plain": "none", "authrestart": "authrestart"}.get(method, "preboot_ssh")
                if attempts:
                    unlocked_by = "preboot_ssh"
                result.update(boottime=got["boottime"], unlocked_by=unlocked_by,
                              elapsed=round(time.monotonic() - started, 1), filevault_enabled=got["filevault_enabled"])
                if method == "authrestart" and attempts:
                    result.setdefault("warnings", []).append(
                        "authrestart did not unlock the new boot; the Mac was unlocked at pre-boot over SSH")
                if "diff" in result:
                    result["diff"]["after"] = {"boottime": got["boottime"], "method": unlocked_by}
                return result
            went_down = True
            last = why.splitlines()[0] if why else "key login failed"
            if "permission denied" not in why.lower():
                continue  # macOS still starting, or a transient failure: try again
            # An SSH server that refuses the connection's key: the pre-boot server of a locked Mac.
            if unlocked_at is not None:
                if time.monotonic() - unlocked_at > UNLOCK_GRACE:
                    return dict(result, failed=True, msg="the pre-boot server said the Mac was unlocked, but %s s "
                                "later it still refuses key login; unlock it at the console" % UNLOCK_GRACE)
                continue
            if attempts or not (known_hosts and user and args.get("password")):
                return dict(result, failed=True, msg=self._locked_message(method, planned, attempts))
            outcome, transcript, rc = preboot.unlock(
                preboot.unlock_argv(host, port, user, known_hosts, extra_args=self._option("ssh_common_args")),
                args["password"])
            display.vvv("filevault_restart: pre-boot unlock of %s: %s (ssh exit code %s)" % (host, outcome, rc),
                        host=host)
            if outcome == preboot.NO_PROMPT:
                continue  # the pre-boot server was not ready for us: not an attempt
            attempts += 1
            result["preboot_attempts"] = attempts
            if outcome in (preboot.UNLOCKED, preboot.CLOSED):
                unlocked_at = time.monotonic()
                continue
            return dict(result, failed=True, msg=self._refusal(outcome, user, transcript))
        return dict(result, failed=True, msg="the Mac did not come back within reboot_timeout (%s s): %s%s" % (
            args["reboot_timeout"], last, "; with FileVault on it may be waiting at the FileVault login window"
            if planned.get("filevault") in ("on", "encrypting", "decrypting") else ""))

    @staticmethod
    def _locked_message(method, planned, attempts):
        if attempts:
            return ("the Mac is back at the pre-boot server after one unlock attempt; it was not retried (failed "
                    "attempts count towards FileVault's limit): unlock it at the console")
        why = "authrestart did not unlock this boot" if method == "authrestart" else "the Mac is locked at pre-boot"
        if not planned.get("preboot_ssh_unlock"):
            return "%s and this Mac cannot be unlocked over SSH: unlock it at the console" % why
        return ("%s; give user and password (a FileVault user) to unlock it at pre-boot over SSH, or unlock it at "
                "the console" % why)

    @staticmethod
    def _refusal(outcome, user, transcript):
        last = [line for line in transcript.splitlines() if line.strip()][-1:] or [""]
        if outcome == preboot.HOST_KEY:
            return ("the server at pre-boot did not show the host key this Mac had before the restart, so the password "
                    "was not typed; the Mac is locked at pre-boot: check the network, then unlock it at the console")
        if outcome == preboot.LOCKED_OUT:
            return "FileVault refuses unlocking for now after too many failed attempts (%s): wait, or use the console" \
                % last[0].strip()
        if outcome == preboot.LOGGED_IN:
            return ("the password opened an ordinary SSH session, so the Mac is already running macOS, but it refuses "
                    "the connection's key login: fix key login (authorized_keys of %s)" % user)
        return ("the pre-boot server refused the password of %s (wrong password, or not a FileVault user); it was not "
                "retried, since failed attempts count towards FileVault's limit. The Mac stays locked at pre-boot: "
                "unlock it at the console or run again with the right password" % user)
