"""macops.tokens.filevault and filevault_recovery_key on the simulated fleet: enable, add, defer, disable, escrow.
Refusals of bad input (nothing changes on the Mac) are unit rows on the same shipped Macs:
tests/unit/plugins/modules/test_bad_input.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from fleetlib import needs_fleet

pytestmark = needs_fleet
FV = "macops.tokens.filevault"
KEY = "macops.tokens.filevault_recovery_key"
ADMIN = {"user": "macadmin", "password": "macadmin-pw"}


def _macsim(*args):
    subprocess.run([str(Path(sys.executable).parent / "macsim")] + list(args), check=True)


def _no_key_in(result, key):
    assert key not in json.dumps(result), "the recovery key reached the task result"
    assert "recovery_key" not in result and "recovery_key_info" not in result


def test_enable_four_steps_escrows_a_validated_key(mac_fleet):
    host = "fv-off"
    args = dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir))
    steps = mac_fleet.four_steps(FV, host, args)
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[0]["actions"] == ["enable FileVault authorised by macadmin"] and steps[0]["escrowed"] is False
    enabled = steps[1]
    assert enabled["escrowed"] is True and enabled["filevault"]["state"] == "on"
    state = mac_fleet.state(host)
    key = state["filevault"]["personal_recovery_key"]
    for step in steps:
        _no_key_in(step, key)
    path = Path(enabled["escrow_file"])
    assert path.parent == mac_fleet.escrow_dir and path.name == "fv-off.recovery-key.vault"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    doc = mac_fleet.read_escrow(path)
    assert doc["recovery_key"] == key and doc["host"] == host
    assert doc["serial_number"] == state["hardware"]["serial"] and doc["enabled_user"] == "macadmin"
    import hashlib
    assert enabled["key_fingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:16]
    log = mac_fleet.store(host).invocations()
    enable = [r for r in log if r["argv"][:2] == ["fdesetup", "enable"]]
    assert len(enable) == 1 and enable[0]["argv"] == ["fdesetup", "enable", "-inputplist", "-outputplist"]
    assert enable[0]["stdin_bytes"] > 0
    validate = [r for r in log if r["argv"][:2] == ["fdesetup", "validaterecovery"]]
    assert validate and validate[-1]["exit_code"] == 0  # the key read back from escrow validated on the Mac
    assert not [p for p in os.listdir(mac_fleet.escrow_dir) if p.startswith(".escrow-")]  # no temp file left


def test_recovery_key_escrowed_then_unchanged_then_forced(mac_fleet):
    host = "fv-on"
    args = dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir))
    old_key = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
    steps = mac_fleet.four_steps(KEY, host, args)
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[0]["reason"] == "no key is escrowed for this Mac" and steps[0]["escrowed"] is False
    new_key = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
    assert new_key != old_key  # rotated, because no escrowed key existed
    assert steps[1]["escrowed"] and mac_fleet.read_escrow(steps[1]["escrow_file"])["recovery_key"] == new_key
    assert mac_fleet.read_escrow(steps[1]["escrow_file"])["rotated"] is True
    assert steps[2]["reason"] == "the escrowed key is valid" and steps[2]["valid"] is True
    assert steps[2]["escrowed"] is True and steps[2]["key_fingerprint"] == steps[1]["key_fingerprint"]
    for step in steps:
        _no_key_in(step, new_key)
    forced = mac_fleet.run(KEY, dict(args, force=True), hosts=host)[host]
    assert forced["changed"] and forced["reason"] == "force=true" and forced["escrowed"]
    newest = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
    assert newest != new_key and mac_fleet.read_escrow(forced["escrow_file"])["recovery_key"] == newest
    kept = sorted(p for p in os.listdir(mac_fleet.escrow_dir) if p.startswith("fv-on.recovery-key.vault.superseded-"))
    assert kept and mac_fleet.read_escrow(mac_fleet.escrow_dir / kept[-1])["recovery_key"] == new_key
    changes = [r for r in mac_fleet.store(host).invocations() if r["argv"][:2] == ["fdesetup", "changerecovery"]]
    assert all(r["argv"] == ["fdesetup", "changerecovery", "-personal", "-inputplist", "-outputplist"]
               and r["stdin_bytes"] > 0 for r in changes) and len(changes) == 2


def test_rotation_authorised_by_the_valid_escrowed_key(mac_fleet):
    host = "fv-on"  # escrowed by the previous test
    result = mac_fleet.run(KEY, {"escrow_dir": str(mac_fleet.escrow_dir), "force": True}, hosts=host)[host]
    assert result["_event"] == "runner_on_ok" and result["changed"] and result["escrowed"]


def test_stale_escrow_is_replaced(mac_fleet):
    host = "fv-on"
    _macsim("set", mac_fleet.hosts[host]["dir"], "filevault.personal_recovery_key=Q2W3-E4R5-T6Y7-U8I9-O1P2-A3S4")
    result = mac_fleet.run(KEY, dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir)), hosts=host)[host]
    assert result["changed"] and result["valid"] is False and "does not unlock this Mac" in result["reason"]
    assert mac_fleet.read_escrow(result["escrow_file"])["recovery_key"] == \
        mac_fleet.state(host)["filevault"]["personal_recovery_key"]


def test_add_a_token_holder_to_filevault(mac_fleet):
    host = "few-accounts"
    _macsim("set", mac_fleet.hosts[host]["dir"], "users.1.fv_enabled=false", "users.1.in_preboot=false")
    args = dict(ADMIN, users=[{"name": "student00", "password": "s0-pw"}], escrow_dir=str(mac_fleet.escrow_dir))
    steps = mac_fleet.four_steps(FV, host, args)
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[0]["actions"] == ["add student00 to FileVault"] and steps[1]["escrowed"] is False
    assert next(u for u in mac_fleet.state(host)["users"] if u["name"] == "student00")["fv_enabled"]
    adds = [r for r in mac_fleet.store(host).invocations() if r["argv"][:2] == ["fdesetup", "add"]]
    assert len(adds) == 1 and adds[0]["argv"] == ["fdesetup", "add", "-inputplist"]


def test_deferral_kept_for_the_same_user(mac_fleet):
    # a defer_user that is no account is refused: tests/unit/plugins/modules/test_bad_input.py
    host = "fv-deferred"
    same = mac_fleet.four_steps(FV, host, {"defer": True, "defer_user": "macadmin"})
    assert [s["changed"] for s in same] == [False] * 4


def test_deferral_configured_then_disabled(mac_fleet):
    host = "macos-12"
    steps = mac_fleet.four_steps(FV, host, {"defer": True, "force_at_login": 0})
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert mac_fleet.state(host)["filevault"]["state"] == "deferred"
    assert mac_fleet.state(host)["filevault"]["force_at_login"] == 0
    off = mac_fleet.four_steps(FV, host, {"state": "disabled"})
    assert [s["changed"] for s in off] == [True, True, False, False]
    assert mac_fleet.state(host)["filevault"]["state"] == "off"


def test_escrow_prerequisites_fail_before_the_mac_is_touched(mac_fleet):
    host = "macos-14"
    missing = mac_fleet.run(FV, dict(ADMIN, escrow_dir="/nonexistent/escrow"), hosts=host)[host]
    assert "escrow_dir /nonexistent/escrow does not exist" in missing["msg"]
    absent = mac_fleet.run(FV, dict(ADMIN), hosts=host)[host]
    assert "escrow_dir is required" in absent["msg"]
    novault = mac_fleet.run(FV, dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir)), hosts=host,
                            envvars={"ANSIBLE_COLLECTIONS_PATH": str(mac_fleet.collections)})[host]
    assert "needs a vault password" in novault["msg"]
    key_novault = mac_fleet.run(KEY, dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir)), hosts="fv-on",
                                envvars={"ANSIBLE_COLLECTIONS_PATH": str(mac_fleet.collections)})["fv-on"]
    assert "needs a vault password" in key_novault["msg"]
    for result in (missing, absent, novault):
        assert result["_event"] == "runner_on_failed" and result["changed"] is False
    assert not [r for r in mac_fleet.store(host).invocations() if r["argv"][:2] == ["fdesetup", "enable"]]


def test_wrong_vault_password_names_the_file(mac_fleet, tmp_path):
    other = tmp_path / "other-pass"
    other.write_text("not-the-vault-password\n")
    result = mac_fleet.run(KEY, dict(ADMIN, escrow_dir=str(mac_fleet.escrow_dir)), hosts="fv-on",
                           envvars=mac_fleet.env(ANSIBLE_VAULT_PASSWORD_FILE=str(other)))["fv-on"]
    assert result["_event"] == "runner_on_failed"
    assert "fv-on.recovery-key.vault cannot be decrypted with the vault password" in result["msg"]


def test_key_never_reaches_verbose_output_or_job_events(mac_fleet, tmp_path):
    """A -vvv playbook run through ansible-runner (what AWX records): no key in stdout or any event."""
    import ansible_runner

    playbook = tmp_path / "rotate.yml"
    playbook.write_text(f"""---
- name: Rotate
  hosts: fv-on
  gather_facts: false
  become: true
  tasks:
    - name: Rotate and escrow
      {KEY}:
        user: macadmin
        password: macadmin-pw
        escrow_dir: {mac_fleet.escrow_dir}
        force: true
""")
    (tmp_path / "runner").mkdir()
    env = mac_fleet.env(ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1")
    run = ansible_runner.run(private_data_dir=str(tmp_path / "runner"), playbook=str(playbook),
                             inventory=str(mac_fleet.inventory), envvars=env, verbosity=3, quiet=True)
    assert run.status == "successful", run.stdout.read()
    key = mac_fleet.state("fv-on")["filevault"]["personal_recovery_key"]
    text = run.stdout.read()
    assert "Rotate and escrow" in text and "changed" in text
    assert key not in text and "macadmin-pw" not in text
    events = json.dumps(list(run.events))
    assert key not in events and "macadmin-pw" not in events
    artifacts = "".join(p.read_text(errors="replace") for p in (tmp_path / "runner").rglob("*") if p.is_file())
    assert key not in artifacts
