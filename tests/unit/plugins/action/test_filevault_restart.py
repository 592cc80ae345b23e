# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filevault_restart action plugin: plan, restart, wait; the pre-boot unlock typed once and never retried, a
refusal before anything restarts, and no password in what the task shows. The Mac's answers are scripted
(harness.py); the controller's probes (SSH port, host keys, the unlock) are replaced by a scripted network."""

from __future__ import annotations

import types

import pytest

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.macops.tokens.plugins.action import filevault_restart as plugin
from ansible_collections.macops.tokens.plugins.plugin_utils import _preboot as preboot
from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import assert_no_secret

MOD = "macops.tokens.filevault_restart"
PW = "Tahoe Pre-boot Pw 7731"
ARGS = {"user": "alice", "password": PW}
DENIED = AnsibleConnectionFailure("Failed to connect to the host via ssh: alice@192.0.2.10: Permission denied "
                                  "(publickey,password,keyboard-interactive).")
REFUSED_PORT = AnsibleConnectionFailure("Failed to connect to the host via ssh: ssh: connect to host 192.0.2.10 "
                                        "port 22: Connection refused")


def planned(method, preboot_ok=True, filevault="on"):
    return {"changed": True, "method": method, "reason": "because", "boottime_before": 100.0,
            "preboot_ssh_unlock": preboot_ok, "filevault": filevault, "supports_authrestart": method != "preboot_ssh",
            "actions": ["restart the Mac (%s): because" % method]}


UP = {"changed": False, "boottime": 200.0, "filevault_enabled": True}


@pytest.fixture
def network(monkeypatch):
    """The controller's view of the Mac's port and its pre-boot server, scripted; records every unlock."""
    net = types.SimpleNamespace(banner=lambda: True, keys=["192.0.2.10 ssh-ed25519 AAAAC3Nza"], unlocks=[],
                                outcome=preboot.UNLOCKED)
    monkeypatch.setattr(plugin.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(preboot, "ssh_banner", lambda host, port, timeout=5.0: net.banner())
    monkeypatch.setattr(preboot, "scan_host_keys", lambda host, port, timeout=10: list(net.keys))

    def unlock(argv, password, timeout=60.0):
        net.unlocks.append((argv, password))
        known = next(a.split("=", 1)[1] for a in argv if a.startswith("UserKnownHostsFile="))
        with open(known) as handle:  # the host keys pinned before the restart
            assert handle.read() == net.keys[0] + "\n"
        text = {"unlocked": "System successfully unlocked.\n", "refused": "Permission denied\n"}.get(net.outcome, "")
        return net.outcome, text, 255
    monkeypatch.setattr(preboot, "unlock", unlock)
    return net


def start(run_action, args, script, check_mode=False):
    run = run_action(plugin, args, script, check_mode=check_mode)
    options = {"host": "192.0.2.10", "port": 22, "ssh_common_args": ""}
    run.connection.get_option = options.__getitem__
    run.connection.reset = lambda: None
    return run


def test_check_mode_only_plans(run_action, network):
    run = start(run_action, ARGS, [(MOD, planned("preboot_ssh"))], check_mode=True)
    result = run()
    assert [c.args["phase"] for c in run.calls] == ["plan"] and result["method"] == "preboot_ssh"
    assert result["changed"] is True and network.unlocks == []
    assert_no_secret(result, [PW])


def test_preboot_unlock_typed_once_then_back_with_keys(run_action, network):
    script = [(MOD, planned("preboot_ssh")), (MOD, {"changed": True, "asked": "shutdown -r now"}),
              (MOD, DENIED), (MOD, REFUSED_PORT), (MOD, UP)]
    run = start(run_action, ARGS, script)
    result = run()
    assert not result.get("failed"), result.get("msg")
    assert result["unlocked_by"] == "preboot_ssh" and result["preboot_attempts"] == 1 and result["boottime"] == 200.0
    assert [c.args["phase"] for c in run.calls] == ["plan", "restart", "verify", "verify", "verify"]
    assert run.calls[1].args["method"] == "preboot_ssh"
    assert all("password" not in c.args for c in run.calls[2:])  # verify never carries the secret
    ((argv, password),) = network.unlocks
    assert password == PW and PW not in " ".join(argv) and argv[-4:] == ["-l", "alice", "192.0.2.10", "/usr/bin/true"]
    assert_no_secret(result, [PW])


def test_a_refusal_at_preboot_is_never_retried(run_action, network):
    network.outcome = preboot.REFUSED
    script = [(MOD, planned("preboot_ssh")), (MOD, {"changed": True}), (MOD, DENIED)]
    run = start(run_action, ARGS, script)
    result = run()
    assert result["failed"] is True and "was not retried" in result["msg"] and result["changed"] is True
    assert len(network.unlocks) == 1 and result["preboot_attempts"] == 1
    assert_no_secret(result, [PW])


@pytest.mark.parametrize("outcome,words", [(preboot.HOST_KEY, "password was not typed"),
                                           (preboot.LOCKED_OUT, "too many failed attempts"),
                                           (preboot.LOGGED_IN, "already running macOS")])
def test_other_answers_of_the_preboot_server_fail_with_their_reason(run_action, network, outcome, words):
    network.outcome = outcome
    run = start(run_action, ARGS, [(MOD, planned("preboot_ssh")), (MOD, {"changed": True}), (MOD, DENIED)])
    result = run()
    assert result["failed"] is True and words in result["msg"] and len(network.unlocks) == 1


def test_authrestart_that_did_not_unlock_falls_back_to_preboot(run_action, network):
    script = [(MOD, planned("authrestart")), (MOD, {"changed": True}), (MOD, DENIED), (MOD, UP)]
    result = start(run_action, ARGS, script)()
    assert result["unlocked_by"] == "preboot_ssh" and len(network.unlocks) == 1
    assert any("authrestart did not unlock" in w for w in result["warnings"])


def test_authrestart_that_did_not_unlock_where_preboot_ssh_is_impossible(run_action, network):
    script = [(MOD, planned("authrestart", preboot_ok=False)), (MOD, {"changed": True}), (MOD, DENIED)]
    result = start(run_action, ARGS, script)()
    assert result["failed"] is True and "cannot be unlocked over SSH" in result["msg"] and network.unlocks == []


def test_a_dropped_connection_during_the_restart_is_the_restart(run_action, network):
    script = [(MOD, planned("authrestart")), (MOD, AnsibleConnectionFailure("Shared connection closed")),
              (MOD, UP)]
    result = start(run_action, ARGS, script)()
    assert not result.get("failed"), result.get("msg")
    assert result["unlocked_by"] == "authrestart" and result["preboot_attempts"] == 0


def test_a_refused_restart_stops_before_any_wait(run_action, network):
    script = [(MOD, planned("authrestart")), (MOD, {"failed": True, "msg": "fdesetup authrestart refused"})]
    result = start(run_action, ARGS, script)()
    assert result["failed"] is True and result["changed"] is False and "refused" in result["msg"]


def test_no_host_keys_no_restart(run_action, network):
    network.keys = []
    result = start(run_action, ARGS, [(MOD, planned("preboot_ssh"))])()
    assert result["failed"] is True and "ssh-keyscan" in result["msg"] and result["changed"] is False


def test_the_same_boot_after_the_down_timeout_is_a_failed_restart(run_action, network, monkeypatch):
    same = dict(UP, boottime=100.0)
    script = [(MOD, planned("plain", filevault="off")), (MOD, {"changed": True})] + [(MOD, same)] * 3
    run = start(run_action, dict(ARGS, down_timeout=1, reboot_timeout=5), script)
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(plugin.time, "monotonic", lambda: next(clock))
    result = run()
    assert result["failed"] is True and "still on the same boot" in result["msg"]


def test_a_mac_that_never_comes_back_times_out_with_the_filevault_hint(run_action, network, monkeypatch):
    network.banner = lambda: False
    script = [(MOD, planned("authrestart")), (MOD, {"changed": True})]
    run = start(run_action, dict(ARGS, reboot_timeout=3), script)
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(plugin.time, "monotonic", lambda: next(clock))
    result = run()
    assert result["failed"] is True and "did not come back within reboot_timeout (3 s)" in result["msg"]
    assert "FileVault login window" in result["msg"]


@pytest.mark.parametrize("args,words", [({"reboot_timeout": 0}, "reboot_timeout must be"),
                                        ({"down_timeout": "soon"}, "down_timeout must be"),
                                        ({"phase": "restart"}, "filled in by the action plugin")])
def test_bad_input_is_refused_before_the_mac_is_touched(run_action, network, args, words):
    run = start(run_action, dict(ARGS, **args), [])
    result = run()
    assert result["failed"] is True and words in result["msg"] and run.calls == []
