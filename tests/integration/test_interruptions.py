"""A recovery key survives every interruption (issue 10): the controller killed, SSH dropped, the job cancelled
(SIGTERM), the module killed outright on the Mac, and the controller killed after the escrow was written but before
it was confirmed. Each row: the interruption at its point, the Mac's state then, a rerun, and at the end a valid
escrowed key equal to the Mac's current key, no key left on the Mac, and no superseded copy lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from fleetlib import CAN_RUN, Fleet, needs_fleet, own_fleet

pytestmark = needs_fleet
ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"user": "macadmin", "password": "macadmin-pw"}
ROWS = ("controller-killed", "ssh-dropped", "job-cancelled", "module-killed", "killed-before-confirm",
        "rotation-killed", "two-runs-at-once")
PENDING = Path("Library") / "Application Support" / "macops.tokens" / "pending-recovery-key.json"


@pytest.fixture(scope="module")
def kill_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    spec = {"situation": "FileVault off, a token-holding admin", "os": {"version": "14.7.1", "build": "23H222"},
            "hardware": {"arch": "apple_silicon"}, "remote_login_full_disk_access": True,
            "users": [{"name": "macadmin", "uid": 501, "admin": True, "password": "macadmin-pw",
                       "secure_token": True, "volume_owner": True}]}
    with own_fleet("macops-kill-", "interruptions", {f"kill-{r}": spec for r in ROWS}) as (base, manifest, inventory,
                                                                                          collections):
        yield Fleet(base, manifest, inventory, collections)


def _playbook(fleet: Fleet, host: str, module: str, args: dict, suffix: str = "") -> Path:
    path = fleet.workdir / f"{host}-{module.rsplit('.', 1)[1]}{suffix}.yml"
    path.write_text(yaml.safe_dump([{"hosts": host, "gather_facts": False, "become": True,
                                     "tasks": [{"name": "step", module: dict(args), "register": "out"},
                                               {"name": "show", "ansible.builtin.debug": {"var": "out"}}]}]))
    return path


def _start(fleet: Fleet, playbook: Path) -> subprocess.Popen:
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1",
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(fleet.workdir / "cp"), **fleet.env())
    return subprocess.Popen([str(Path(os.sys.executable).parent / "ansible-playbook"), "-i", str(fleet.inventory),
                             str(playbook)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)


OUTPUTS: list = []  # every playbook output of this suite, scanned for the keys at the end of each row


def _run(fleet: Fleet, host: str, module: str, args: dict) -> str:
    proc = _start(fleet, _playbook(fleet, host, module, args))
    out, _ = proc.communicate(timeout=300)
    OUTPUTS.append(out)
    assert proc.returncode == 0, out
    return out


def _wait(condition, seconds: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _pending(fleet: Fleet, host: str) -> dict | None:
    path = Path(fleet.hosts[host]["dir"]) / PENDING
    return json.loads(path.read_text()) if path.exists() else None


def _tool_processes(words: list, namespace: str | None = None) -> list:
    """(pid, ppid) of processes whose command line holds every word, on one Mac when ``namespace`` is given (its
    mount namespace: other lanes run their own Macs at the same time)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{entry}/stat").read_text()
            if namespace is not None and os.readlink(f"/proc/{entry}/ns/mnt") != namespace:
                continue
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in cmdline if a]
        if all(any(w == a or a.endswith("/" + w) for a in argv) for w in words):
            found.append((int(entry), int(stat.rsplit(")", 1)[1].split()[1])))
    return found


def _escrowed(fleet: Fleet, host: str) -> tuple[str | None, list]:
    """The escrowed key of ``host`` and every superseded key kept for it."""
    main = fleet.escrow_dir / f"{host}.recovery-key.vault"
    kept = sorted(fleet.escrow_dir.glob(f"{host}.recovery-key.vault.superseded-*"))
    key = fleet.read_escrow(main)["recovery_key"] if main.exists() else None
    return key, [fleet.read_escrow(p)["recovery_key"] for p in kept]


def _on_mac(fleet: Fleet, host: str, words: list) -> list:
    return _tool_processes(words, fleet.hosts[host]["mntns"])


def _descendants(pid: int) -> list:
    """``pid`` and every process below it (ansible's workers leave the process group, so a group kill misses them)."""
    children: dict = {}
    for child, parent in _tool_processes([]):
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _kill_tree(pid: int, sig: int) -> None:
    for member in _descendants(pid):
        try:
            os.kill(member, sig)
        except ProcessLookupError:
            pass


def _interrupt(fleet: Fleet, host: str, how: str, proc: subprocess.Popen, tool_words: list) -> None:
    if how == "controller":  # the controller dies outright: main process, workers, SSH clients
        _kill_tree(proc.pid, signal.SIGKILL)
    elif how == "sigterm":  # a cancelled job: SIGTERM first, then (as ansible-runner does) SIGKILL for what is left
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _kill_tree(proc.pid, signal.SIGKILL)
    elif how == "ssh":  # every SSH client of this run, the persistent master included: the connection is gone
        control = str(fleet.workdir / "cp")
        run = set(_descendants(proc.pid))
        for pid, _ in _tool_processes([]):
            try:
                line = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if line.startswith("ssh") and (control in line or pid in run):
                os.kill(pid, signal.SIGKILL)
        # The controller then sees the connection fail and goes on; it is not killed.
    elif how == "module":
        for _, parent in _on_mac(fleet, host, tool_words):
            os.kill(parent, signal.SIGKILL)  # the module's Python on the Mac, outright: nothing can hold it off
        _kill_tree(proc.pid, signal.SIGKILL)  # and the controller with it, which would otherwise report the failure
    proc.wait(timeout=120)


def _assert_converged(fleet: Fleet, host: str, before_kept: list) -> None:
    state = fleet.state(host)
    key, kept = _escrowed(fleet, host)
    assert state["filevault"]["state"] in ("on", "encrypting")
    assert key == state["filevault"]["personal_recovery_key"], "the escrowed key does not unlock the Mac"
    assert _pending(fleet, host) is None, "a key is still kept on the Mac after a confirmed escrow"
    assert all(k in kept + [key] for k in before_kept), "a superseded key was lost"
    again = _run(fleet, host, "macops.tokens.filevault_recovery_key", dict(ADMIN, escrow_dir=str(fleet.escrow_dir)))
    assert '"changed": false' in again and '"valid": true' in again, again  # converged: nothing left to do
    keys = [k for k in [state["filevault"]["personal_recovery_key"]] + before_kept + kept if k]
    assert not [k for k in keys for out in OUTPUTS if k in out], "a recovery key was printed by a run"


@pytest.mark.parametrize("row,how", [("controller-killed", "controller"), ("ssh-dropped", "ssh"),
                                     ("job-cancelled", "sigterm"), ("module-killed", "module")])
def test_interrupted_right_after_filevault_came_on(kill_fleet, row, how):
    host = f"kill-{row}"
    store = kill_fleet.store(host)
    with store.transaction() as state:  # fdesetup enable acts, prints its key, then waits before exiting
        state["faults"] = [{"tool": "fdesetup", "kind": "linger", "match": ["enable"], "times": 1, "seconds": 8.0,
                            "exit_code": 0, "stdout": "", "stderr": ""}]
    args = dict(ADMIN, escrow_dir=str(kill_fleet.escrow_dir))
    proc = _start(kill_fleet, _playbook(kill_fleet, host, "macops.tokens.filevault", args))
    _wait(lambda: kill_fleet.state(host)["filevault"]["state"] in ("on", "encrypting"), what="FileVault on")
    _wait(lambda: _on_mac(kill_fleet, host, ["fdesetup", "enable"]), 10, "fdesetup still running")
    _interrupt(kill_fleet, host, how, proc, ["fdesetup", "enable"])
    key_now = kill_fleet.state(host)["filevault"]["personal_recovery_key"]
    assert key_now and _escrowed(kill_fleet, host)[0] is None  # encrypted, and the controller holds nothing yet
    # The Mac side finishes on its own (it held the hang-up and termination off) unless it was killed outright.
    _wait(lambda: not _on_mac(kill_fleet, host, ["fdesetup", "enable"]), 40, "fdesetup to exit")
    left = _pending(kill_fleet, host)
    if how == "module":
        assert left and left["state"] == "started", left  # only the marker: the key died with the process
    else:
        _wait(lambda: (_pending(kill_fleet, host) or {}).get("RecoveryKey") == key_now, 20, "the key on the Mac")
    out = _run(kill_fleet, host, "macops.tokens.filevault", args)
    if how == "module":
        assert "rotated the recovery key" in out, out
    else:
        assert "collect the recovery key an interrupted run" in out, out
    _assert_converged(kill_fleet, host, [])


def test_controller_killed_after_the_escrow_was_written_before_it_was_confirmed(kill_fleet):
    host = "kill-killed-before-confirm"
    with kill_fleet.store(host).transaction() as state:
        state["faults"] = [{"tool": "fdesetup", "kind": "linger", "match": ["validaterecovery"], "times": 1,
                            "seconds": 8.0, "exit_code": 0, "stdout": "", "stderr": ""}]
    args = dict(ADMIN, escrow_dir=str(kill_fleet.escrow_dir))
    proc = _start(kill_fleet, _playbook(kill_fleet, host, "macops.tokens.filevault", args))
    _wait(lambda: _on_mac(kill_fleet, host, ["fdesetup", "validaterecovery"]), 120, "the validation on the Mac")
    # The Mac's side dies too: left alone, it would finish the handshake itself (validate, then remove its copy),
    # and whether the rerun still found the copy would depend on how loaded the machine is.
    _interrupt(kill_fleet, host, "module", proc, ["fdesetup", "validaterecovery"])
    key_now = kill_fleet.state(host)["filevault"]["personal_recovery_key"]
    assert _escrowed(kill_fleet, host)[0] == key_now and _pending(kill_fleet, host)["RecoveryKey"] == key_now
    out = _run(kill_fleet, host, "macops.tokens.filevault", args)
    assert "collect the recovery key an interrupted run" in out, out
    key, kept = _escrowed(kill_fleet, host)
    assert key == key_now and kept == []  # the same key is not written twice
    _assert_converged(kill_fleet, host, [])


def test_controller_killed_during_a_rotation(kill_fleet):
    host = "kill-rotation-killed"
    args = dict(ADMIN, escrow_dir=str(kill_fleet.escrow_dir))
    _run(kill_fleet, host, "macops.tokens.filevault", args)
    first, _ = _escrowed(kill_fleet, host)
    assert first == kill_fleet.state(host)["filevault"]["personal_recovery_key"]
    with kill_fleet.store(host).transaction() as state:
        state["faults"] = [{"tool": "fdesetup", "kind": "linger", "match": ["changerecovery"], "times": 1,
                            "seconds": 8.0, "exit_code": 0, "stdout": "", "stderr": ""}]
    proc = _start(kill_fleet, _playbook(kill_fleet, host, "macops.tokens.filevault_recovery_key",
                                        dict(args, force=True)))
    _wait(lambda: kill_fleet.state(host)["filevault"]["personal_recovery_key"] != first, 120, "the rotation")
    _interrupt(kill_fleet, host, "controller", proc, [])
    rotated = kill_fleet.state(host)["filevault"]["personal_recovery_key"]
    _wait(lambda: (_pending(kill_fleet, host) or {}).get("RecoveryKey") == rotated, 40, "the new key on the Mac")
    assert _escrowed(kill_fleet, host)[0] == first  # the escrow still holds the old key, which no longer unlocks
    out = _run(kill_fleet, host, "macops.tokens.filevault_recovery_key", args)
    assert "collect the recovery key an interrupted run (changerecovery" in out, out
    _assert_converged(kill_fleet, host, [first])


def test_two_runs_enabling_one_mac_at_once_end_with_one_valid_escrowed_key(kill_fleet):
    host = "kill-two-runs-at-once"
    args = dict(ADMIN, escrow_dir=str(kill_fleet.escrow_dir))
    with kill_fleet.store(host).transaction() as state:  # widen the window in which both runs are under way
        state["faults"] = [{"tool": "fdesetup", "kind": "linger", "match": ["enable"], "times": -1, "seconds": 3.0,
                            "exit_code": 0, "stdout": "", "stderr": ""}]
    first = _start(kill_fleet, _playbook(kill_fleet, host, "macops.tokens.filevault", args))
    second = _start(kill_fleet, _playbook(kill_fleet, host, "macops.tokens.filevault", args, "-second"))
    procs = (first, second)
    outs = [p.communicate(timeout=300)[0] for p in procs]
    OUTPUTS.extend(outs)
    assert sum('"escrowed": true' in out for out in outs) == 1, outs  # exactly one run made and escrowed the key
    for proc, out in zip(procs, outs):  # the other found FileVault on, or refused while the first was under way
        assert "Traceback" not in out and "MODULE FAILURE" not in out, out
        if proc.returncode != 0:
            assert "is changing this Mac's FileVault recovery key right now" in out, out
    assert "rotated" not in " ".join(outs)  # a run under way is never taken for a lost key
    _run(kill_fleet, host, "macops.tokens.filevault", args)  # and a rerun converges
    _assert_converged(kill_fleet, host, [])
