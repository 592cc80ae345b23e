"""The tests a user points at a real Mac (tests/integration/targets/mac_readonly.yml and mac_write.yml, with their
roles beside them), run here on simulated Macs so they stay green.

What is held: the read-only playbook passes on every Mac, with and without credentials, and makes no write call on
any Mac (macsim logs every tool call); the write playbook refuses, changing nothing, unless the Mac is marked
disposable; marked, it grants a token and removes it again, and the Mac ends as it began. No password in any output.
They run without pipelining, the way a first run on a real Mac often does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from fleetlib import ROOT, needs_fleet, own_fleet

pytestmark = needs_fleet

HOSTS = {
    "tgt-cli-users": {"from": "cli-users-12", "situation": "real-Mac targets: CLI-created users, FileVault off"},
    "tgt-fv-on": {"from": "fv-on", "situation": "real-Mac targets: FileVault on, key not escrowed here"},
    "tgt-26": {"from": "macos-26", "situation": "real-Mac targets: macOS 26"},
}
WRITES = (("sysadminctl", "-secureTokenOn"), ("sysadminctl", "-secureTokenOff"), ("fdesetup", "enable"),
          ("fdesetup", "add"), ("fdesetup", "changerecovery"), ("profiles", "install"), ("dseditgroup", "-o"))
CREDENTIALS = {"macops_admin_user": "macadmin", "macops_admin_password": "macadmin-pw",
               "macops_user_passwords": {"labuser": "lab-pw"}}
PASSWORDS = ("macadmin-pw", "lab-pw")


@pytest.fixture(scope="module")
def targets_fleet():
    with own_fleet("macops-targets-", "real-Mac targets on macsim", HOSTS) as (base, manifest, inventory, links):
        vault = base / "vault-password"
        vault.write_text("targets-vault\n")
        os.chmod(vault, 0o600)
        (base / "escrow").mkdir(mode=0o700)
        creds = base / "credentials.yml"
        creds.write_text(yaml.safe_dump(CREDENTIALS))
        os.chmod(creds, 0o600)
        yield base, {h["name"]: h for h in manifest["hosts"]}, inventory, links


def playbook(fleet, name: str, extra: dict, credentials: bool = True) -> subprocess.CompletedProcess:
    base, _hosts, inventory, links = fleet
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               ANSIBLE_COLLECTIONS_PATH=str(links), ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_VAULT_PASSWORD_FILE=str(base / "vault-password"), ANSIBLE_FORKS="4",
               # As a user's first run often is: without pipelining, every module on the SSH session's terminal
               # (a password-reading tool must still read stdin, not wait at a prompt there).
               ANSIBLE_PIPELINING="False")
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / "tests" / "integration" / "targets" / name),
           "-e", json.dumps(extra)]
    if credentials:
        cmd += ["-e", "@" + str(base / "credentials.yml")]
    done = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=900)
    for secret in PASSWORDS:
        assert secret not in done.stdout + done.stderr, f"a password is in the output of {name}"
    return done


def writes(fleet, host: str) -> list:
    from macsim.store import HostStore

    return [r["argv"] for r in HostStore(fleet[1][host]["dir"]).invocations()
            if any(r["argv"][:1] == [tool] and flag in r["argv"] for tool, flag in WRITES)]


def state(fleet, host: str) -> dict:
    from macsim.store import HostStore

    return HostStore(fleet[1][host]["dir"]).load()


def holders(fleet, host: str) -> list:
    return sorted(u["name"] for u in state(fleet, host)["users"] if u.get("secure_token"))


def test_read_only_tests_pass_on_every_mac_and_write_nothing(targets_fleet):
    base = targets_fleet[0]
    before = {h: holders(targets_fleet, h) for h in HOSTS}
    extra = {"macops_hosts": "macs", "macops_escrow_dir": str(base / "escrow"), "macops_report_dir": str(base / "r")}
    done = playbook(targets_fleet, "mac_readonly.yml", extra)
    assert done.returncode == 0, done.stdout[-6000:]
    # The check-mode part ran on every Mac (its administrator holds a token), and the cross-checks ran.
    for host in HOSTS:
        assert f"ok: [{host}]" in done.stdout
    assert done.stdout.count("TASK [mac_readonly : Check mode changed nothing") == 1
    assert "skipping: [tgt-cli-users]" not in done.stdout.split("Check mode changed nothing")[1].split("TASK")[0]
    report = json.loads((base / "r" / "fleet-report.json").read_text())
    assert sorted(m["host"] for m in report["macs"]) == sorted(HOSTS)
    for host in HOSTS:
        assert writes(targets_fleet, host) == [], host
        assert holders(targets_fleet, host) == before[host]
    # Without credentials (on one Mac, for time): the cross-checks only, and the check-mode part is skipped.
    done = playbook(targets_fleet, "mac_readonly.yml", {"macops_hosts": "tgt-26"}, credentials=False)
    assert done.returncode == 0, done.stdout[-6000:]
    assert "Secure tokens in check mode" not in done.stdout
    assert all(writes(targets_fleet, h) == [] for h in HOSTS)


def test_write_tests_refuse_a_mac_not_marked_disposable(targets_fleet):
    extra = {"macops_hosts": "tgt-cli-users", "macops_test_user": "labuser", "macops_test_user_password": "lab-pw"}
    done = playbook(targets_fleet, "mac_write.yml", extra)
    assert done.returncode != 0
    assert "Run it only on a Mac you can erase, with -e macops_test_disposable=true; nothing was changed" in done.stdout
    assert writes(targets_fleet, "tgt-cli-users") == []


def test_write_tests_grant_and_remove_a_token_on_a_disposable_mac(targets_fleet):
    assert "labuser" not in holders(targets_fleet, "tgt-cli-users")
    extra = {"macops_hosts": "tgt-cli-users", "macops_test_disposable": True, "macops_test_user": "labuser",
             "macops_test_user_password": "lab-pw"}
    done = playbook(targets_fleet, "mac_write.yml", extra)
    assert done.returncode == 0, done.stdout[-6000:]
    made = [argv for argv in writes(targets_fleet, "tgt-cli-users")]
    assert [a[0] for a in made] == ["sysadminctl", "sysadminctl"]
    assert "-secureTokenOn" in made[0] and "-secureTokenOff" in made[1]
    assert "labuser" not in holders(targets_fleet, "tgt-cli-users")  # left as it was found
    # An account that already holds a token is refused before anything changes.
    done = playbook(targets_fleet, "mac_write.yml", dict(extra, macops_test_user="macadmin",
                                                        macops_test_user_password="macadmin-pw"))
    assert done.returncode != 0 and "must be a local account without a secure token" in done.stdout
    assert len(writes(targets_fleet, "tgt-cli-users")) == 2


def test_write_tests_restart_the_mac_only_when_asked(targets_fleet):
    """With macops_test_restart=true as well, mac_write restarts the Mac (check mode, the restart, check mode) and it
    comes back on a new boot; without it (the test above) nothing restarts."""
    before = state(targets_fleet, "tgt-cli-users")["boot"]
    extra = {"macops_hosts": "tgt-cli-users", "macops_test_disposable": True, "macops_test_user": "labuser",
             "macops_test_user_password": "lab-pw", "macops_test_restart": True}
    done = playbook(targets_fleet, "mac_write.yml", extra)
    assert done.returncode == 0, done.stdout[-6000:]
    assert "The run took the path check mode said" in done.stdout
    after = state(targets_fleet, "tgt-cli-users")["boot"]
    assert after["count"] == before["count"] + 1 and after["phase"] == "up" and after["boottime"] > before["boottime"]
    assert after["unlocked_by"] == "none"  # FileVault is off on this Mac: a plain restart
    for password in PASSWORDS:
        assert password not in done.stdout
