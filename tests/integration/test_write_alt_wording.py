"""The write modules again with every invented macsim text replaced: they decide only from attested texts,
documented exit codes and state they re-read, so the results are the same. Runs after the other write suites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetlib import needs_fleet

pytestmark = [needs_fleet, pytest.mark.alt_wording]
MACSIM = str(Path(sys.executable).parent / "macsim")


def _set_alt_wording(fleet, on: bool) -> None:
    """What `macsim set DIR sim.alt_wording=...` does, for every Mac in this process (not one macsim per Mac)."""
    for host in fleet.hosts:
        with fleet.store(host).transaction() as state:
            state["sim"]["alt_wording"] = on


@pytest.fixture(scope="module")
def alt_fleet(mac_fleet):
    _set_alt_wording(mac_fleet, True)
    assert all(mac_fleet.state(host)["sim"]["alt_wording"] is True for host in mac_fleet.hosts)
    yield mac_fleet
    _set_alt_wording(mac_fleet, False)


def _add_user(fleet, host, name, password):
    subprocess.run([MACSIM, "exec", fleet.hosts[host]["dir"], "sysadminctl", "-addUser", name, "-password", "-"],
                   input=password + "\n", text=True, check=True, capture_output=True)


def steps(fleet, module, host, args):
    return [r["changed"] for r in fleet.four_steps(module, host, args)]


def test_secure_token_grant_and_removal(alt_fleet):
    host = "macos-14"
    _add_user(alt_fleet, host, "altuser", "alt-user-pw")
    args = {"user": "altuser", "user_password": "alt-user-pw", "admin_user": "macadmin",
            "admin_password": "macadmin-pw"}
    assert steps(alt_fleet, "macops.tokens.secure_token", host, args) == [True, True, False, False]
    assert steps(alt_fleet, "macops.tokens.secure_token", host, dict(args, state="absent")) == [
        True, True, False, False]


def test_secure_token_errors(alt_fleet):
    host = "macos-14"
    wrong = alt_fleet.run("macops.tokens.secure_token", {"user": "altuser", "user_password": "nope-nope",
                                                         "admin_user": "macadmin", "admin_password": "macadmin-pw"},
                          hosts=host)[host]
    assert "the password given for altuser is wrong" in wrong["msg"]
    subprocess.run([MACSIM, "set", alt_fleet.hosts[host]["dir"], "authorizationdb_hardened=true"], check=True)
    try:
        hardened = alt_fleet.run("macops.tokens.secure_token", {"user": "altuser", "user_password": "alt-user-pw",
                                                                "admin_user": "macadmin",
                                                                "admin_password": "macadmin-pw"}, hosts=host)[host]
    finally:
        subprocess.run([MACSIM, "set", alt_fleet.hosts[host]["dir"], "authorizationdb_hardened=false"], check=True)
    assert hardened["_event"] == "runner_on_failed" and "errAuthorizationInteractionNotAllowed" in hardened["msg"]


def test_first_token_on_a_mac_without_holders(alt_fleet):
    host = "no-token-14"
    args = {"user": "ec2-user", "user_password": "ec2-pw", "admin_user": "macadmin", "admin_password": "macadmin-pw"}
    assert steps(alt_fleet, "macops.tokens.secure_token", host, args) == [True, True, False, False]


def test_bootstrap_token_escrow_and_unreachable_mdm(alt_fleet):
    host = "ade-skipped-before-login"
    # the managed admin gets a token first (a grant by macadmin, which R11 gives a token too)
    assert steps(alt_fleet, "macops.tokens.secure_token", host, {
        "user": "mdmadmin", "user_password": "mdm-Admin-1", "admin_user": "macadmin",
        "admin_password": "macadmin-pw"}) == [True, True, False, False]
    subprocess.run([MACSIM, "set", alt_fleet.hosts[host]["dir"], "mdm.reachable=false"], check=True)
    try:
        failed = alt_fleet.run("macops.tokens.bootstrap_token", {"admin_user": "macadmin",
                                                                 "admin_password": "macadmin-pw"}, hosts=host)[host]
    finally:
        subprocess.run([MACSIM, "set", alt_fleet.hosts[host]["dir"], "mdm.reachable=true"], check=True)
    assert "the MDM was probably unreachable" in failed["msg"]
    args = {"admin_user": "macadmin", "admin_password": "macadmin-pw", "validate": True}
    assert steps(alt_fleet, "macops.tokens.bootstrap_token", host, args) == [True, True, False, False]


def test_filevault_enable_escrow_and_key_rotation(alt_fleet):
    host = "macos-26"
    args = {"user": "macadmin", "password": "macadmin-pw", "escrow_dir": str(alt_fleet.escrow_dir)}
    enabled = alt_fleet.four_steps("macops.tokens.filevault", host, args)
    assert [r["changed"] for r in enabled] == [True, True, False, False] and enabled[1]["escrowed"]
    key = alt_fleet.four_steps("macops.tokens.filevault_recovery_key", host, args)
    assert [r["changed"] for r in key] == [False, False, False, False] and key[0]["valid"] is True
    forced = alt_fleet.run("macops.tokens.filevault_recovery_key", dict(args, force=True), hosts=host)[host]
    assert forced["changed"] and forced["escrowed"]
    escrowed = alt_fleet.read_escrow(forced["escrow_file"])["recovery_key"]
    assert escrowed == alt_fleet.state(host)["filevault"]["personal_recovery_key"]


def test_filevault_deferral_and_errors(alt_fleet):
    host = "macos-11"
    assert steps(alt_fleet, "macops.tokens.filevault", host, {"defer": True}) == [True, True, False, False]
    decrypting = alt_fleet.run("macops.tokens.filevault", {"user": "macadmin", "password": "macadmin-pw",
                                                           "escrow_dir": str(alt_fleet.escrow_dir)},
                               hosts="fv-decrypting")["fv-decrypting"]
    assert decrypting["_event"] == "runner_on_failed" and "cannot be enabled until decryption" in decrypting["msg"]
