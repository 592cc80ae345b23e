"""The fault matrix for remediate.yml (issue 10): one simulated Mac per row, every row in one run, as on a fleet.

Each Mac needs the same work (the administrator holds a token; a command-line user does not; FileVault is off; the
bootstrap token is not escrowed) and gets one fault: a tool hanging, crashing, printing garbage or a plausible future
format, printing nothing, being slow; a hardened authorizationdb; an unreachable MDM; the SSH connection dropped in
the middle of a grant. The first run must report each row for what it is, lose nothing (no token, FileVault user,
admin membership or escrowed key), and count no broken Mac as fine; with the faults gone, the rerun converges every
Mac: tokens, FileVault on, a valid escrowed key equal to the Mac's, the bootstrap token escrowed.

The module-level rows (every module, every read broken every way) are unit tables: test_info_modules.py
(test_a_broken_read_fails_naming_its_command_or_claims_nothing_false), test_bad_input.py, test_filevault.py; the
interruptions of the key handshake are test_interruptions.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from fleetlib import CAN_RUN, needs_fleet

pytestmark = needs_fleet
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "demo"))

BASE = {"os": {"version": "14.7.1", "build": "23H222"}, "hardware": {"arch": "apple_silicon"},
        "remote_login_full_disk_access": True,
        "mdm": {"enrolled": True, "enrollment": "ade", "user_approved": True, "bootstrap_capable": True,
                "bootstrap_escrowed": False},
        "filevault": {"state": "off"},
        "users": [{"name": "macadmin", "uid": 501, "admin": True, "password": "macadmin-pw", "secure_token": True,
                   "volume_owner": True},
                  {"name": "labuser", "uid": 502, "admin": False, "password": "lab-pw", "secure_token": False}]}


def _fault(tool, kind, match, **more):
    return dict({"tool": tool, "kind": kind, "match": match, "times": -1, "seconds": 3600.0, "exit_code": 1,
                 "stdout": "", "stderr": ""}, **more)


# host: (faults, state changes, what the first run must say: "fine", ("left", text), ("error", text), "stopped")
ROWS = {
    "f-control": ([], {}, "fine"),
    "f-sysadminctl-hangs": ([_fault("sysadminctl", "hang", ["-secureTokenOn"])], {},
                            ("left", "did not finish within 8 seconds")),
    "f-sysadminctl-crashes": ([_fault("sysadminctl", "crash", ["-secureTokenOn"])], {},
                              ("left", "the change did not take")),
    "f-sysadminctl-garbage": ([_fault("sysadminctl", "garbage", ["-secureTokenOn"])], {},
                              ("left", "the change did not take")),
    "f-enable-crashes": ([_fault("fdesetup", "crash", ["enable"], exit_code=139)], {},
                         ("left", "enabling FileVault failed: fdesetup exited 139")),
    "f-readall-prints-nothing": ([_fault("dscl", "canned", ["-readall"], exit_code=0)], {},
                                 ("error", "/usr/bin/dscl . -readall")),
    "f-status-future-format": ([_fault("fdesetup", "canned", ["status"], exit_code=0,
                                       stdout="FileVault: enabled (APFS, 2 users)\n")], {},
                               ("error", "/usr/bin/fdesetup status")),
    "f-dscl-slow": ([_fault("dscl", "latency", [], seconds=0.6)], {}, "fine"),
    "f-mdm-unreachable": ([], {"mdm": {"reachable": False}}, ("left", "bootstrap")),
    "f-authorizationdb-hardened": ([], {"authorizationdb_hardened": True},
                                   ("left", "errAuthorizationInteractionNotAllowed")),
    "f-ssh-dropped": ([_fault("sysadminctl", "linger", ["-secureTokenOn"], seconds=15.0, times=1)], {}, "stopped"),
}


def _merge(base: dict, over: dict) -> dict:
    out = json.loads(json.dumps(base))
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture(scope="module")
def fault_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    import demo

    work = Path(tempfile.mkdtemp(prefix="macops-faults-", dir="/tmp"))
    (work / "vault-password").write_text("fault-suite-vault\n")
    fleet_file = work / "faults.yml"
    hosts = {name: dict(_merge(BASE, changes), situation=f"fault row {name}") for name, (_, changes, _) in ROWS.items()}
    fleet_file.write_text(yaml.safe_dump({"description": "fault matrix", "hosts": hosts}))
    manifest = demo.up(work, "fault-suite-vault", fleet_file=fleet_file, host_admins={},
                       extra={"macops_tool_timeout": 8, "macops_transient_wait": 0})
    try:
        yield work, {h["name"]: h for h in manifest["hosts"]}
    finally:
        demo.down(work)
        shutil.rmtree(work, ignore_errors=True)


def _store(hosts, name):
    from macsim.store import HostStore

    return HostStore(hosts[name]["dir"])


def _holdings(state: dict) -> dict:
    """What must never be lost: token holders, FileVault users, administrators."""
    users = state["users"]
    return {"tokens": {u["name"] for u in users if u.get("secure_token")},
            "filevault": {u["name"] for u in users if u.get("fv_enabled", u.get("secure_token"))}
            if state["filevault"]["state"] != "off" else set(),
            "admins": {u["name"] for u in users if u.get("admin")}}


def _drop_ssh_when_granting(hosts, name, stop: threading.Event) -> None:
    """Kill the Mac's SSH session processes (its side of every connection) while the grant is under way."""
    namespace = hosts[name]["mntns"]
    while not stop.is_set():
        granting, sessions = False, []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/mnt") != namespace:
                    continue
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in argv if a]
            if any(w.endswith("sysadminctl") for w in words) and "-secureTokenOn" in words:
                granting = True
            if words and words[0].startswith("sshd") and int(entry) != hosts[name].get("pid"):
                sessions.append(int(entry))
        if granting:
            time.sleep(0.5)
            for pid in sessions:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sshd:") or "session" in \
                        Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            return
        time.sleep(0.2)


def _remediate(work: Path, log: str, hosts=None, name=None) -> tuple[int, dict]:
    import demo

    stop = threading.Event()
    dropper = None
    if name:
        dropper = threading.Thread(target=_drop_ssh_when_granting, args=(hosts, name, stop), daemon=True)
        dropper.start()
    cmd = [str(demo.VENV_BIN / "ansible-playbook"), "-i", str(work / "inventory" / "hosts.yml"),
           str(ROOT / "playbooks" / "remediate.yml")]
    with open(work / log, "w") as handle:
        code = subprocess.run(cmd, env=demo.ansible_env(work), stdout=handle, stderr=subprocess.STDOUT,
                              timeout=900).returncode
    stop.set()
    if dropper:
        dropper.join(5)
    report = json.loads((work / "report" / "fleet-report.json").read_text())
    return code, {m["host"]: m for m in report["macs"]}


def test_every_fault_is_reported_for_what_it_is_nothing_is_lost_and_the_rerun_converges(fault_fleet):
    work, hosts = fault_fleet
    for name, (faults, _, _) in ROWS.items():
        with _store(hosts, name).transaction() as state:
            state["faults"] = faults
    before = {name: _holdings(_store(hosts, name).load()) for name in ROWS}
    code, macs = _remediate(work, "faulted.log", hosts, "f-ssh-dropped")
    log = (work / "faulted.log").read_text()
    assert code != 0, "broken Macs must fail the run, as an AWX job should show"
    for name, (_, _, expect) in ROWS.items():
        mac, state = macs[name], _store(hosts, name).load()
        now = _holdings(state)
        for what in ("tokens", "filevault"):
            assert before[name][what] <= now[what], (name, what, before[name][what], now[what])
        assert now["admins"] == before[name]["admins"], (name, "the admin group changed")
        if expect == "fine":
            assert mac["error"] is None and mac["left"] == [], (name, mac["left"], mac["error"])
            assert state["filevault"]["state"] in ("on", "encrypting") and "labuser" in now["tokens"], name
        elif expect == "stopped":
            assert mac["status"] == "unreachable or failed" and "stopped on this Mac" in mac["error"], (name, mac)
        elif expect[0] == "error":
            assert mac["status"] == "unreachable or failed" and expect[1] in (mac["error"] or ""), (name, mac)
        else:
            details = " | ".join(o["detail"] for o in mac["left"])
            assert expect[1] in details, (name, details or mac["error"])
            assert all(o.get("next_step") for o in mac["left"]), (name, mac["left"])
    assert "STOPPED BEFORE THE END" in log and "f-ssh-dropped" in log
    # The faults go away (the MDM is back, the authorizationdb reset): one more run converges every Mac.
    for name in ROWS:
        with _store(hosts, name).transaction() as state:
            state["faults"] = []
            state["mdm"]["reachable"] = True
            state["authorizationdb_hardened"] = False
    code, macs = _remediate(work, "rerun.log")
    assert code == 0, (work / "rerun.log").read_text()[-3000:]
    escrow = work / "escrow"
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(b"fault-suite-vault"))])
    for name in ROWS:
        state = _store(hosts, name).load()
        mac = macs[name]
        assert mac["error"] is None and mac["left"] == [], (name, mac["left"], mac["error"])
        assert {"macadmin", "labuser"} <= _holdings(state)["tokens"], name
        assert state["filevault"]["state"] in ("on", "encrypting") and state["mdm"]["bootstrap_escrowed"], name
        doc = yaml.safe_load(vault.decrypt((escrow / f"{name}.recovery-key.vault").read_bytes()))
        assert doc["recovery_key"] == state["filevault"]["personal_recovery_key"], name
        assert not (Path(hosts[name]["dir"]) / "Library" / "Application Support" / "macops.tokens" /
                    "pending-recovery-key.json").exists(), name
    keys = {_store(hosts, name).load()["filevault"]["personal_recovery_key"] for name in ROWS} - {None}
    printed = (work / "faulted.log").read_text() + (work / "rerun.log").read_text()
    assert keys and not [k for k in keys if k in printed], "a recovery key was printed by a run"
    for secret in ("macadmin-pw", "lab-pw"):
        assert secret not in printed, secret
