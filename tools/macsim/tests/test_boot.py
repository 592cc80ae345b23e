"""Restarts without a fleet: Mac.reboot, Mac.unlock, shutdown, fdesetup authrestart, sysctl kern.boottime, macsim
unlock and the pre-boot unlock helper, on bare host directories (the live restart is tests/test_restart.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlib import mac, user
from macsim import boot, texts
from macsim.mac import Mac

MACSIM = str(Path(sys.executable).parent / "macsim")
PLIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>Password</key>'
         '<string>{}</string></dict></plist>\n')


def fv_mac(version="26.1", arch="apple_silicon", fv="on", **extra):
    return mac(version=version, arch=arch, users=[user("admin", 501, admin=True, secure_token=True),
                                                  user("std", 502)],
               filevault={"state": fv, "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"} if fv != "off"
               else {"state": "off"}, **extra)


def _boot(host):
    return host.state["boot"]


@pytest.mark.parametrize("version,arch,fv,phase", [
    ("26.1", "apple_silicon", "on", "preboot_ssh"),
    ("26.1", "intel_t2", "on", "locked"),  # the pre-boot sshd is Apple silicon only (fv-ssh-unlock, lime)
    ("15.6", "apple_silicon", "on", "locked"),
    ("15.6", "apple_silicon", "off", "up"),
    ("12.7", "intel_pre_t2", "encrypting", "locked"),
])
def test_a_restart_stops_where_filevault_says(make_host, version, arch, fv, phase):
    doc = fv_mac(version, arch, fv)
    if fv == "encrypting":
        doc["filevault"].update(percent=10.0, rate=None)
    host = make_host(doc=doc)
    before = _boot(host)
    assert before["phase"] == "up" and before["count"] == 1 and before["boottime"] is not None
    with host.store.transaction() as state:
        Mac(state).reboot()
    after = _boot(host)
    assert after["phase"] == phase and after["count"] == 2 and after["unlocked_by"] == "none"
    assert after["boottime"] > before["boottime"]


def test_preboot_ssh_can_be_chosen_against_the_version(make_host):
    host = make_host(doc=fv_mac("26.1", boot={"preboot_ssh": False}))
    with host.store.transaction() as state:
        Mac(state).reboot()
    assert _boot(host)["phase"] == "locked"
    host = make_host(doc=fv_mac("15.6", boot={"preboot_ssh": True}))
    with host.store.transaction() as state:
        Mac(state).reboot()
    assert _boot(host)["phase"] == "preboot_ssh"


def test_an_armed_authrestart_unlocks_one_boot_and_a_restart_forgets_the_recovery_key_unlock(make_host):
    host = make_host(doc=fv_mac("15.6"))
    host.edit(filevault__authrestart_armed=True, filevault__unlocked_with_recovery_key=True,
              filevault__restart_pending=True)
    with host.store.transaction() as state:
        notes = Mac(state).reboot()
    assert "pending FileVault change finished at restart" in notes
    state = host.state
    assert state["boot"]["phase"] == "up" and state["boot"]["unlocked_by"] == "authrestart"
    assert not state["filevault"]["authrestart_armed"] and not state["filevault"]["unlocked_with_recovery_key"]
    assert host.run("fdesetup", "usingrecoverykey")[1] == "false\n"
    with host.store.transaction() as state:
        Mac(state).reboot()  # used once: the next boot is locked again
    assert _boot(host)["phase"] == "locked" and _boot(host)["unlocked_by"] == "none"


def test_unlock_checks_a_filevault_users_password_and_locks_out_after_ten_failures(make_host):
    host = make_host(doc=fv_mac("15.6"))
    with host.store.transaction() as state:
        m = Mac(state)
        assert m.unlock("admin", "admin-pw", "console") == "not_locked"
        m.reboot()
        assert m.unlock("std", "std-pw", "console") == "refused"  # not a FileVault user
        assert m.unlock("nobody", "admin-pw", "console") == "refused"
        assert m.unlock("admin", "wrong", "console") == "refused"
        assert state["boot"]["failed_unlocks"] == 3
        assert m.unlock("admin", "admin-pw", "console") == "unlocked"
        assert state["boot"]["failed_unlocks"] == 0 and state["boot"]["unlocked_by"] == "console"
        m.reboot()
        for _ in range(Mac.MAX_FAILED_UNLOCKS):
            assert m.unlock("admin", "wrong", "preboot_ssh") == "refused"
        assert m.unlock("admin", "admin-pw", "preboot_ssh") == "locked_out"
        assert state["boot"]["failed_unlocks"] == 10 and state["boot"]["unlocked_by"] == "none"


def test_a_user_not_yet_in_the_preboot_volume_cannot_unlock(make_host):
    host = make_host(doc=fv_mac("15.6"))
    host.edit()
    with host.store.transaction() as state:
        state["users"][0]["in_preboot"] = False  # R29a: granted while FileVault was on, no updatePreboot yet
        m = Mac(state)
        m.reboot()
        assert m.unlock("admin", "admin-pw", "console") == "refused"


def test_shutdown_needs_root_and_restarts_a_bare_host_at_once(make_host):
    host = make_host(doc=fv_mac("15.6"))
    assert host.run("shutdown", "-r", "now", euid=501) == (1, "", "shutdown: NOT super-user\n")
    assert host.run("shutdown", euid=501) == (1, "", "shutdown: NOT super-user\n")  # before the options
    code, out, err = host.run("shutdown", "-r", "now")
    assert (code, out, err) == (0, "Shutdown NOW!\n\r\nSystem shutdown time has arrived\a\a\r\n", "")
    assert _boot(host)["phase"] == "locked" and _boot(host)["count"] == 2
    assert host.run("shutdown", "-r", "+0")[0] == 0 and _boot(host)["count"] == 3


def test_shutdown_refuses_what_it_does_not_simulate_with_bsds_usage(make_host):
    host = make_host(doc=fv_mac("15.6", fv="off"))
    usage = texts.render("shutdown.usage") + "\n"
    assert host.run("shutdown", "-r") == (1, "", usage)
    assert host.run("shutdown", "now") == (1, "", "shutdown: -h, -r, -s, or -k is required\n" + usage)
    assert host.run("shutdown", "-x", "now") == (1, "", usage)
    assert host.run("shutdown", "-r", "-h", "now")[2].startswith("shutdown: incompatible switches")
    assert host.run("shutdown", "-r", "soon") == (1, "", "shutdown: bad time format\n")
    assert host.run("shutdown", "-r", "0") == (1, "", "shutdown: bad time format\n")  # Linux's 'shutdown -r 0'
    assert "absolute time is not modelled" in host.run("shutdown", "-r", "23:30")[2]
    code, _, err = host.run("shutdown", "-h", "now")
    assert code == 1 and "not modelled" in err
    assert _boot(host)["count"] == 1


def test_shutdown_later_schedules_the_restart_and_advance_makes_it_happen(make_host):
    host = make_host(doc=fv_mac("15.6", fv="off"))
    code, out, err = host.run("shutdown", "-r", "+5")
    assert code == 0 and out.startswith("Shutdown at ") and out.endswith(".\n") and err.startswith("shutdown: [pid ")
    at = _boot(host)["restart_at"]
    assert at is not None and _boot(host)["count"] == 1
    subprocess.run([MACSIM, "advance", host.dir, "4m"], check=True, capture_output=True)
    assert _boot(host)["count"] == 1
    out = subprocess.run([MACSIM, "advance", host.dir, "2m"], check=True, capture_output=True, text=True).stdout
    assert "scheduled restart" in out and _boot(host)["count"] == 2 and _boot(host)["restart_at"] is None


@pytest.mark.parametrize("delay,count,armed,restart_at", [
    (None, 2, False, False), ("0", 2, False, False), ("-1", 1, True, False), ("5", 1, True, True)])
def test_authrestart_restarts_at_once_later_or_not_by_itself(make_host, delay, count, armed, restart_at):
    host = make_host(doc=fv_mac("15.6"))
    argv = ["authrestart", "-inputplist"] + (["-delayminutes", delay] if delay else [])
    code, out, err = host.run("fdesetup", *argv, stdin=PLIST.format("admin-pw"))
    assert code == 0 and out == ""
    assert err == ("System is being restarted\n" if count == 2 else "")
    state = host.state
    assert state["boot"]["count"] == count and state["filevault"]["authrestart_armed"] is armed
    assert (state["boot"]["restart_at"] is not None) is restart_at
    if count == 2:
        assert state["boot"]["phase"] == "up" and state["boot"]["unlocked_by"] == "authrestart"


def test_authrestart_with_a_wrong_password_neither_arms_nor_restarts(make_host):
    host = make_host(doc=fv_mac("15.6"))
    assert host.run("fdesetup", "authrestart", "-inputplist", stdin=PLIST.format("nope"))[0] == 11
    assert host.state["boot"]["count"] == 1 and not host.state["filevault"]["authrestart_armed"]


def test_sysctl_kern_boottime_follows_the_restart(make_host):
    host = make_host(doc=fv_mac("15.6", fv="off", clock={"timezone": "UTC"}))
    host.edit(boot__boottime=1700000000.123456)
    assert host.run("sysctl", "-n", "kern.boottime") == (
        0, "{ sec = 1700000000, usec = 123456 } Tue Nov 14 22:13:20 2023\n", "")
    assert host.run("sysctl", "kern.boottime")[1] == (
        "kern.boottime: { sec = 1700000000, usec = 123456 } Tue Nov 14 22:13:20 2023\n")
    host.run("shutdown", "-r", "now")
    assert "1700000000" not in host.run("sysctl", "-n", "kern.boottime")[1]


def test_macsim_unlock_on_a_bare_host_reads_the_password_from_stdin(make_host):
    host = make_host(doc=fv_mac("15.6"))
    run = [MACSIM, "unlock", host.dir, "--password-stdin"]
    done = subprocess.run(run, input="admin-pw\n", capture_output=True, text=True)
    assert done.returncode == 1 and "not at the FileVault login window" in done.stderr
    host.run("shutdown", "-r", "now")
    done = subprocess.run(run, input="wrong\n", capture_output=True, text=True)
    assert done.returncode == 1 and _boot(host)["failed_unlocks"] == 1 and _boot(host)["phase"] == "locked"
    done = subprocess.run(run, input="admin-pw\n", capture_output=True, text=True)
    assert done.returncode == 0, done
    assert _boot(host)["phase"] == "up" and _boot(host)["unlocked_by"] == "console" and _boot(host)["count"] == 2
    assert "admin-pw" not in host.store.log_path.read_text()
    assert subprocess.run([MACSIM, "unlock", host.dir], capture_output=True, text=True).returncode == 2


def _helper(host, tmp_path, name, password):
    script = tmp_path / "preboot-unlock"
    script.write_text(boot.helper_source(sys.executable, host.dir))
    script.chmod(0o755)
    env = {"PAM_USER": name, "PAM_TYPE": "auth", "PAM_SERVICE": "sshd", "PATH": os.environ["PATH"]}
    return subprocess.run([str(script), "unlock"], input=password.encode() + b"\0", env=env, capture_output=True)


def test_the_preboot_helper_prints_apples_text_only_on_success_and_always_fails_pam(make_host, tmp_path):
    host = make_host(doc=fv_mac("26.1"))
    host.run("shutdown", "-r", "now")
    assert _boot(host)["phase"] == "preboot_ssh"
    wrong = _helper(host, tmp_path, "admin", "wrong")
    assert (wrong.returncode, wrong.stdout) == (1, b"") and _boot(host)["failed_unlocks"] == 1
    right = _helper(host, tmp_path, "admin", "admin-pw")
    assert right.returncode == 1
    assert right.stdout == b"System successfully unlocked.\nYou may now use SSH to authenticate normally.\n\n"
    assert _boot(host)["unlocked_by"] == "preboot_ssh"
    assert (Path(host.dir) / boot.REQUEST).is_file()  # for the supervisor (none here: a bare host directory)
    assert "admin-pw" not in host.store.log_path.read_text()


def test_the_preboot_helper_says_temporarily_locked_after_ten_failures(make_host, tmp_path):
    host = make_host(doc=fv_mac("26.1"))
    host.run("shutdown", "-r", "now")
    host.edit(boot__failed_unlocks=10)
    done = _helper(host, tmp_path, "admin", "admin-pw")
    assert (done.returncode, done.stdout) == (1, b"Authentication failed: account is temporarily locked\n")
    assert _boot(host)["unlocked_by"] == "none"
