"""A fleet's Macs restarting live over SSH (issue #13): one fleet of the 'restart' scenario, driven with a real ssh
client; passwords go through a pty (pexpect) or stdin, never argv."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from macsim import fleet
from macsim.testing import wait_phase

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")),
                                reason="fleet tests need root and openssh-server")
MACSIM = str(Path(sys.executable).parent / "macsim")
PLIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>Password</key>'
         '<string>{}</string></dict></plist>\n')
BANNER = ("This system is locked. To unlock it, use a local\naccount name and password. Once successfully\n"
          "unlocked, you will be able to connect normally.\n")


@pytest.fixture(scope="module")
def macs():
    path = Path(tempfile.mkdtemp(prefix="macsim-restart-", dir="/tmp"))
    os.chmod(path, 0o755)
    workdir = path / "fleet"
    manifest = fleet.up("restart", str(workdir))
    try:
        yield workdir, manifest, {h["name"]: h for h in manifest["hosts"]}
    finally:
        fleet.down(str(workdir))
        shutil.rmtree(path, ignore_errors=True)


def _ssh(manifest, host, *extra, quiet=True):
    return (["ssh", "-i", manifest["key"], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"] + (["-o", "LogLevel=error"] if quiet else [])
            + list(extra) + [f"{host['user']}@{host['address']}"])


def _closed(host) -> bool:
    try:
        socket.create_connection((host["address"], host["port"]), timeout=1).close()
        return False
    except OSError:
        return True


def _boottime(manifest, host) -> str:
    done = subprocess.run(_ssh(manifest, host) + ["/usr/sbin/sysctl -n kern.boottime"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done
    return done.stdout


def _shutdown(manifest, host):
    """sudo /sbin/shutdown -r now in a session with a terminal: the session is ended by the restart."""
    started = time.monotonic()
    done = subprocess.run(_ssh(manifest, host, "-tt") + ["sudo /sbin/shutdown -r now; sleep 20; echo survived"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 255 and "survived" not in done.stdout, done
    assert "Shutdown NOW!" in done.stdout and "System shutdown time has arrived" in done.stdout
    assert "*** FINAL System shutdown message from macadmin@" in done.stdout  # wall on the session's terminal
    assert time.monotonic() - started < 15
    return done


def _kbd(host, name, password, timeout=30):
    """Log in with keyboard-interactive only, as ssh does by default (up to 3 prompts); answer the first Password:
    prompt. Returns (what came before it, what came after the answer, the exit status, or 'reprompted' when the
    server asked again: then the client is stopped)."""
    child = pexpect.spawn("ssh", ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                  "-o", "PubkeyAuthentication=no",
                                  "-o", "PreferredAuthentications=keyboard-interactive",
                                  f"{name}@{host['address']}", "true"], encoding="utf-8", timeout=timeout)
    child.expect(r"\) Password:")
    head = child.before + child.after
    child.sendline(password)
    again = child.expect([r"\) Password:", pexpect.EOF])
    tail = child.before.replace("\r", "")
    if again == 0:
        child.close(force=True)
        return head, tail, "reprompted"
    child.close()
    return head, tail, child.exitstatus


def test_filevault_off_comes_back_with_keys_and_a_new_boot_time(macs):
    workdir, manifest, hosts = macs
    host = hosts["restart-fv-off"]
    before = _boottime(manifest, host)
    _shutdown(manifest, host)
    assert wait_phase(workdir, host["name"], "down", 10)["phase"] == "down"
    assert _closed(host)
    up = wait_phase(workdir, host["name"], "up", 30)
    assert up["count"] == 2 and up["unlocked_by"] == "none"
    assert _boottime(manifest, host) != before
    # shutdown -r +1: the session stays; the restart comes once the Mac's clock has moved a minute on.
    later = subprocess.run(_ssh(manifest, host) + ["sudo /sbin/shutdown -r +1"], capture_output=True, text=True,
                           timeout=60)
    assert later.returncode == 0 and later.stdout.startswith("Shutdown at "), later
    time.sleep(1)
    assert wait_phase(workdir, host["name"], "up", 1)["count"] == 2
    subprocess.run([MACSIM, "--workdir", str(workdir), "advance", host["name"], "61s"], check=True,
                   capture_output=True)
    wait_phase(workdir, host["name"], "down", 10)
    assert wait_phase(workdir, host["name"], "up", 30)["count"] == 3


def test_macos_15_stays_at_the_filevault_login_window_until_macsim_unlock(macs):
    workdir, manifest, hosts = macs
    host = hosts["restart-15"]
    done = subprocess.run([MACSIM, "--workdir", str(workdir), "reboot", host["name"]], capture_output=True, text=True)
    assert done.returncode == 0, done
    locked = wait_phase(workdir, host["name"], "locked", 30)
    assert locked["count"] == 2 and _closed(host)
    time.sleep(1)
    assert _closed(host)  # nothing listens at the FileVault login window before macOS 26
    unlock = [MACSIM, "unlock", host["name"], "--password-stdin", "--workdir", str(workdir)]
    assert subprocess.run(unlock, input="wrong\n", capture_output=True, text=True).returncode == 1
    assert wait_phase(workdir, host["name"], "locked", 1)["failed_unlocks"] == 1
    assert subprocess.run(unlock, input="macadmin-pw\n", capture_output=True, text=True).returncode == 0
    up = wait_phase(workdir, host["name"], "up", 30)
    assert up["unlocked_by"] == "console" and up["count"] == 2 and up["failed_unlocks"] == 0
    assert subprocess.run(_ssh(manifest, host) + ["true"], timeout=60).returncode == 0


def test_macos_26_unlocks_at_the_preboot_sshd_then_authrestart_comes_back_unlocked(macs):
    workdir, manifest, hosts = macs
    host = hosts["restart-26"]
    before = _boottime(manifest, host)
    _shutdown(manifest, host)
    assert wait_phase(workdir, host["name"], "down", 10)["phase"] == "down" and _closed(host)
    wait_phase(workdir, host["name"], "preboot_ssh", 30)
    # A key is refused; the banner is the locked text, the methods those of Apple's server.
    keyed = subprocess.run(_ssh(manifest, host, "-v", quiet=False) + ["true"], capture_output=True, text=True,
                           timeout=60)
    assert keyed.returncode == 255 and BANNER in keyed.stderr
    assert "Authentications that can continue: publickey,password,keyboard-interactive" in keyed.stderr
    assert "Permission denied" in keyed.stderr
    # A wrong password: a plain refusal, no text.
    head, tail, status = _kbd(host, "macadmin", "wrong-password")
    assert head.endswith(f"(macadmin@{host['address']}) Password:")
    assert status == "reprompted" and tail.strip(" \n") == f"(macadmin@{host['address']}", tail
    assert wait_phase(workdir, host["name"], "preboot_ssh", 5)["failed_unlocks"] == 1
    # Any user name gets the same prompt; a name that is no FileVault user is refused like a wrong password.
    head, tail, status = _kbd(host, "nosuchuser", "macadmin-pw")
    assert head.endswith(f"(nosuchuser@{host['address']}) Password:") and status == "reprompted", tail
    assert "System" not in tail
    assert wait_phase(workdir, host["name"], "preboot_ssh", 5)["failed_unlocks"] == 2
    # The right one (alice: a FileVault user who is no login user of the simulator): the success text, then the
    # server closes; macOS boots and keys work again.
    head, tail, status = _kbd(host, "alice", "alice-pw")
    success = "\nSystem successfully unlocked.\nYou may now use SSH to authenticate normally.\n\n"
    assert tail.lstrip(" ").startswith(success), tail
    assert tail.rstrip().endswith(f"Connection closed by {host['address']} port 22") and status == 255
    assert "Password:" not in tail  # no second prompt
    up = wait_phase(workdir, host["name"], "up", 30)
    assert up["unlocked_by"] == "preboot_ssh" and up["count"] == 2 and up["failed_unlocks"] == 0
    after = _boottime(manifest, host)
    assert after != before
    pam = subprocess.run(_ssh(manifest, host) + ["cat /etc/pam.d/sshd; grep -c ^alice: /etc/passwd"],
                         capture_output=True, text=True, timeout=60)
    # The pre-boot PAM stack and the Mac's accounts in /etc/passwd are gone with the pre-boot sshd.
    assert "macsim" not in pam.stdout and pam.stdout.endswith("\n0\n"), pam
    # fdesetup authrestart with the plist on stdin (Password only): the next boot is unlocked, keys work at once.
    done = subprocess.run(_ssh(manifest, host) + ["sudo /usr/bin/fdesetup authrestart -inputplist"],
                          input=PLIST.format("macadmin-pw"), capture_output=True, text=True, timeout=60)
    assert "System is being restarted" in done.stderr, done
    wait_phase(workdir, host["name"], "down", 10)
    up = wait_phase(workdir, host["name"], "up", 30)
    assert up["unlocked_by"] == "authrestart" and up["count"] == 3
    assert _boottime(manifest, host) != after
    log = Path(host["dir"], "invocations.jsonl").read_text()
    assert "macadmin-pw" not in log and "wrong-password" not in log and "alice-pw" not in log


def test_down_of_a_stale_fleet_leaves_a_namespace_number_it_no_longer_owns(tmp_path):
    """Namespace numbers are reused: a manifest whose Macs are gone must not stop processes that now have one of its
    recorded numbers (another fleet's Macs)."""
    other = subprocess.Popen(["unshare", "--mount", "--", "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while fleet._mnt_ns(other.pid) in (None, fleet._mnt_ns(os.getpid())) and time.monotonic() < deadline:
            time.sleep(0.02)
        stale = tmp_path / "stale"
        stale.mkdir()
        host_dir = stale / "hosts" / "gone"
        host_dir.mkdir(parents=True)
        manifest = {"workdir": str(stale), "hosts": [{"name": "gone", "pid": 2 ** 22 + 1, "dir": str(host_dir),
                                                     "mntns": fleet._mnt_ns(other.pid)}]}
        fleet.manifest_path(stale).write_text(json.dumps(manifest))
        fleet.down(str(stale))
        assert other.poll() is None, "a stale fleet's down stopped a process it does not own"
        assert not fleet.manifest_path(stale).exists()
    finally:
        other.kill()
        other.wait()
