"""macops.tokens.filevault_restart on simulated Macs that really restart: their sshd goes away, a Mac with FileVault
on comes back locked (on macOS 26 on Apple silicon behind the pre-boot SSH server that takes a FileVault user's
password), authrestart skips that once. Four steps per path (check, run, run again, check), each asserted against
the simulator's truth (its boot count and what unlocked the boot), and no password in any argv, log or artifact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from fleetlib import Fleet, needs_fleet, own_fleet

pytestmark = needs_fleet
MOD = "macops.tokens.filevault_restart"
PW = "macadmin-Restart-pw"
ADMIN = {"user": "macadmin", "password": PW}
KEY = "7HQ2-MK4W-XP9L-ZB3N-RC6T-VD8F"


def _host(version, arch, filevault, supports=True):
    admin = {"name": "macadmin", "full_name": "Mac Admin", "uid": 501, "admin": True, "password": PW,
             "secure_token": True, "fv_enabled": filevault == "on"}
    if arch == "apple_silicon":
        admin["volume_owner"] = True
    return {"os": {"version": version}, "hardware": {"arch": arch, "supports_authrestart": supports},
            "users": [admin], "filevault": {"state": filevault, "personal_recovery_key": KEY if filevault == "on"
                                            else None}, "boot": {"seconds": 1.0}}


HOSTS = {
    "tahoe": _host("26.1", "apple_silicon", "on", supports=False),  # only the pre-boot SSH unlock brings it back
    "sequoia": _host("15.5", "apple_silicon", "on"),  # authrestart
    "fvoff": _host("14.7.1", "apple_silicon", "off"),  # a plain restart
    "oldintel": _host("15.5", "intel_t2", "on", supports=False),  # nothing would bring it back: refused
}
# host -> (path predicted and taken, what the simulator says unlocked the boot)
PATHS = {"tahoe": ("preboot_ssh", "preboot_ssh"), "sequoia": ("authrestart", "authrestart"),
         "fvoff": ("plain", "none")}


@pytest.fixture(scope="module")
def restart_fleet():
    with own_fleet("macops-restart-", "Macs that restart", HOSTS) as (base, manifest, inventory, collections):
        yield Fleet(base, manifest, inventory, collections)


def _boot(fleet, host):
    return fleet.state(host)["boot"]


@pytest.mark.parametrize("host", sorted(PATHS))
def test_four_steps_each_path_comes_back_as_check_mode_said(restart_fleet, host, tmp_path, monkeypatch):
    method, unlocked = PATHS[host]
    before = _boot(restart_fleet, host)
    monkeypatch.setenv("MACSIM_KEEP_ARTIFACTS", str(tmp_path / "artifacts"))
    steps = restart_fleet.steps(MOD, host, ADMIN)
    for step in steps:
        assert step["_event"] == "runner_on_ok", step.get("msg")
        assert step["method"] == method and step["changed"] is True
    assert [bool(s.get("boottime")) for s in steps] == [False, True, True, False]  # check mode restarts nothing
    for run in steps[1:3]:
        assert run["unlocked_by"] == unlocked and run["boottime"] > run["boottime_before"]
        assert run["preboot_attempts"] == (1 if method == "preboot_ssh" else 0)
        assert run["filevault_enabled"] is (host != "fvoff")
    assert steps[2]["boottime_before"] == steps[1]["boottime"]  # the rerun starts from the boot the run came back to
    assert steps[3]["boottime_before"] == steps[2]["boottime"]  # and the last check sees the newest boot
    after = _boot(restart_fleet, host)
    assert after["count"] == before["count"] + 2 and after["phase"] == "up"
    assert after["unlocked_by"] == unlocked
    assert restart_fleet.state(host)["filevault"]["authrestart_armed"] is False  # used once, by the boot it unlocked
    log = restart_fleet.store(host).invocations()
    if method == "authrestart":
        calls = [r for r in log if r["argv"][:2] == ["fdesetup", "authrestart"]]
        assert len(calls) == 2 and all(r["argv"] == ["fdesetup", "authrestart", "-inputplist"] for r in calls)
        assert all(r["stdin_bytes"] > 0 for r in calls)
    else:
        assert [r["argv"] for r in log if r["argv"][:1] == ["shutdown"]] == [["shutdown", "-r", "now"]] * 2
    _no_password_anywhere(restart_fleet, host, tmp_path / "artifacts", steps)


def test_a_mac_no_path_brings_back_is_refused_before_anything_restarts(restart_fleet):
    before = _boot(restart_fleet, "oldintel")
    steps = restart_fleet.steps(MOD, "oldintel", ADMIN, checks=(True, False))
    for step in steps:
        assert step["_event"] == "runner_on_failed" and step["method"] is None
        assert "needs macOS 26 or later on Apple silicon" in step["msg"]
        assert "supportsauthrestart says false" in step["msg"] and "nothing was restarted" in step["msg"]
    assert _boot(restart_fleet, "oldintel")["count"] == before["count"]


def test_a_wrong_password_is_caught_before_the_restart_and_never_reaches_preboot(restart_fleet):
    before = _boot(restart_fleet, "tahoe")
    wrong = "not-the-Restart-pw"
    result = restart_fleet.run(MOD, {"user": "macadmin", "password": wrong}, hosts="tahoe")["tahoe"]
    assert result["_event"] == "runner_on_failed" and "dscl -authonly refused it" in result["msg"]
    assert wrong not in json.dumps(result)
    after = _boot(restart_fleet, "tahoe")
    assert after["count"] == before["count"] and after.get("failed_unlocks", 0) == before.get("failed_unlocks", 0)


def _no_password_anywhere(fleet, host, artifacts, steps):
    """Not in the results, the runner's artifacts (stdout, events), the Mac's invocation log, or its sshd logs."""
    assert PW not in json.dumps(steps)
    for root, _dirs, files in os.walk(artifacts):
        for name in files:
            text = Path(root, name).read_text(errors="replace")
            assert PW not in text, "the password is in the artifact %s" % name
    host_dir = Path(fleet.hosts[host]["dir"])
    for path in host_dir.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".jsonl") and path.stat().st_size < 50_000_000:
            assert PW not in path.read_text(errors="replace"), "the password is in %s" % path
    for record in fleet.store(host).invocations():
        assert PW not in " ".join(record["argv"])
    assert not list(Path(tempfile.gettempdir()).glob("macops-hostkeys-*"))  # the pinned keys file is gone


def test_restart_playbook_check_then_run_says_per_mac_how_it_came_back(restart_fleet):
    """playbooks/restart.yml (the role, in batches): --check restarts nothing and names each path; the run restarts
    the three Macs a path brings back, refuses the fourth, says per Mac how it came back, and fails the run for it."""
    creds = restart_fleet.workdir / "restart-creds.yml"
    creds.write_text(yaml.safe_dump({"macops_admin_user": "macadmin", "macops_admin_password": PW}))
    os.chmod(creds, 0o600)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True",
               **restart_fleet.env())
    cmd = ["ansible-playbook", "-i", str(restart_fleet.inventory), str(Path(__file__).parents[2] / "playbooks" /
           "restart.yml"), "-e", "@" + str(creds), "-e", '{"macops_restart_batch": 2}']
    before = {h: _boot(restart_fleet, h)["count"] for h in HOSTS}
    checked = subprocess.run(cmd + ["--check"], env=env, capture_output=True, text=True, timeout=600)
    assert {h: _boot(restart_fleet, h)["count"] for h in HOSTS} == before  # check mode restarted nothing
    for host, (method, _unlocked) in PATHS.items():
        assert "%s: would restart by %s" % (host, method) in checked.stdout, checked.stdout[-4000:]
    assert "oldintel: not restarted, or not back:" in checked.stdout and checked.returncode != 0
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode != 0  # oldintel is refused, and the run fails for it after every Mac was tried
    for host, (method, unlocked) in PATHS.items():
        assert "%s: restarted by %s and back in" % (host, method) in done.stdout, done.stdout[-4000:]
        assert "unlocked by %s" % unlocked in done.stdout
        assert _boot(restart_fleet, host)["count"] == before[host] + 1
    assert _boot(restart_fleet, "oldintel")["count"] == before["oldintel"]
    assert "needs macOS 26 or later on Apple silicon" in done.stdout
    assert PW not in checked.stdout + checked.stderr + done.stdout + done.stderr
