"""macops.tokens.secure_token on the simulated fleet: the four-step pattern, the error paths that need SSH, the
first-token hazard, and no password in any argv. Runs after the read-only suites (it changes the Macs). Refusals of
bad input (nothing changes on the Mac) are unit rows on the same shipped Macs:
tests/unit/plugins/modules/test_bad_input.py."""

from __future__ import annotations

from fleetlib import needs_fleet

pytestmark = needs_fleet
MODULE = "macops.tokens.secure_token"
CREDS = {"admin_user": "macadmin", "admin_password": "macadmin-pw"}


def test_grant_to_a_command_line_user_four_steps(mac_fleet):
    host = "cli-users-12"
    steps = mac_fleet.four_steps(MODULE, host, dict(CREDS, user="labuser", user_password="lab-pw"))
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[0]["secure_token"] is True and steps[0]["volume_owner"] is None  # predicted; ownership unknown
    assert steps[1]["secure_token"] is True and steps[1]["preboot_updated"] is False  # FileVault is off here
    user = next(u for u in mac_fleet.state(host)["users"] if u["name"] == "labuser")
    assert user["secure_token"] and user["volume_owner"] is steps[1]["volume_owner"]


def test_check_mode_changes_nothing(mac_fleet):
    host = "cli-users-12"
    before = mac_fleet.state(host)
    log_before = len(mac_fleet.store(host).invocations())
    result = mac_fleet.run(MODULE, dict(CREDS, user="kiosk", user_password="kiosk-pw"), hosts=host, check=True)[host]
    assert result["changed"] is True
    assert mac_fleet.state(host)["users"] == before["users"]
    tools = [r["argv"][0] for r in mac_fleet.store(host).invocations()[log_before:]]
    assert "sysadminctl" not in tools and "dseditgroup" not in tools


def test_grant_with_filevault_on_updates_preboot(mac_fleet):
    result = mac_fleet.run(MODULE, {"user": "mdmadmin", "user_password": "mdm-Admin-1", "admin_user": "alice",
                                    "admin_password": "alice-pw"}, hosts="ade-not-skipped")["ade-not-skipped"]
    assert result["changed"] and result["preboot_updated"] is True
    user = next(u for u in mac_fleet.state("ade-not-skipped")["users"] if u["name"] == "mdmadmin")
    assert user["secure_token"] and user["fv_enabled"] and user["in_preboot"]


def test_standard_holder_grants_through_promotion_and_is_demoted(mac_fleet):
    host = "standard-holder"
    args = {"user": "macadmin", "user_password": "macadmin-pw", "admin_user": "student", "admin_password": "student-pw"}
    refused = mac_fleet.run(MODULE, args, hosts=host)[host]
    assert refused["_event"] == "runner_on_failed" and "promote_grantor: true" in refused["msg"]
    steps = mac_fleet.four_steps(MODULE, host, dict(args, promote_grantor=True))
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[1]["promoted"] is True
    users = {u["name"]: u for u in mac_fleet.state(host)["users"]}
    assert users["macadmin"]["secure_token"] and users["student"]["admin"] is False  # demoted again


def test_first_token_hazard_check_mode_grants_nothing(mac_fleet):
    """10.15, nobody holds a token: authenticating an admin would grant the first token, so check mode must not."""
    host = "no-token-1015"
    log_before = len(mac_fleet.store(host).invocations())
    result = mac_fleet.run(MODULE, dict(CREDS, user="teacher", user_password="teacher-pw"), hosts=host,
                           check=True)[host]
    assert result["changed"] and result["first_token_rule"] == "R11" and result["granted_also"] == ["macadmin"]
    assert not any(u["secure_token"] for u in mac_fleet.state(host)["users"])
    assert not [r for r in mac_fleet.store(host).invocations()[log_before:]
                if r["argv"][:1] == ["sysadminctl"] or "-authonly" in r["argv"]]
    done = mac_fleet.run(MODULE, dict(CREDS, user="teacher", user_password="teacher-pw"), hosts=host)[host]
    assert done["changed"] and done["first_token_rule"] == "R11"
    assert all(u["secure_token"] for u in mac_fleet.state(host)["users"])


def _macsim(*args):
    import subprocess
    import sys
    from pathlib import Path

    subprocess.run([str(Path(sys.executable).parent / "macsim")] + list(args), check=True)


def test_admin_without_token_is_refused_with_the_holders_named(mac_fleet):
    host = "ade-skipped-after-login"
    result = mac_fleet.run(MODULE, {"user": "macadmin", "user_password": "macadmin-pw", "admin_user": "macadmin",
                                    "admin_password": "macadmin-pw"}, hosts=host)[host]
    assert result["_event"] == "runner_on_failed"
    assert "macadmin holds no secure token, so it cannot grant one; administrators who hold one here: mdmadmin" \
        in result["msg"]


def test_hardened_authorizationdb(mac_fleet):
    host = "mobile-14-nobt"
    _macsim("set", mac_fleet.hosts[host]["dir"], "authorizationdb_hardened=true")
    try:
        result = mac_fleet.run(MODULE, {"user": "kwong", "user_password": "kwong-AD-pw", "admin_user": "localadmin",
                                        "admin_password": "local-pw"}, hosts=host)[host]
    finally:
        _macsim("set", mac_fleet.hosts[host]["dir"], "authorizationdb_hardened=false")
    assert result["_event"] == "runner_on_failed" and "errAuthorizationInteractionNotAllowed" in result["msg"]
    assert "security authorizationdb reset" in result["msg"]


def test_a_claimed_success_that_did_not_happen_fails(mac_fleet):
    """sysadminctl exits 0 and may print Done! without granting: only the re-read decides."""
    host = "mobile-14-nobt"
    _macsim("fault", "add", mac_fleet.hosts[host]["dir"], "--tool", "sysadminctl", "--kind", "canned",
            "--match=-secureTokenOn", "--stderr=2026-01-01 00:00:00.000 sysadminctl[1:2] - Done!\n",
            "--exit-code", "0", "--times", "1")
    result = mac_fleet.run(MODULE, {"user": "kwong", "user_password": "kwong-AD-pw", "admin_user": "localadmin",
                                    "admin_password": "local-pw"}, hosts=host)[host]
    assert result["_event"] == "runner_on_failed"
    assert "the change did not take" in result["msg"] and "does not hold a secure token" in result["msg"]
    again = mac_fleet.run(MODULE, {"user": "kwong", "user_password": "kwong-AD-pw", "admin_user": "localadmin",
                                   "admin_password": "local-pw"}, hosts=host)[host]
    assert again["changed"] is True and again["secure_token"] is True


def test_remove_the_last_holder_only_when_forced(mac_fleet):
    host = "fv-on"
    args = {"user": "macadmin", "state": "absent", "user_password": "macadmin-pw", "force": True, **CREDS}
    # Without force the module refuses (see test_errors_name_the_cause). Forced, only the holder itself can authorise
    # it, and macOS refuses that ('User cannot disable their own SEP credential'): the module says so and the token
    # stays. Where a Mac allows it (option token_off_self), tests/integration/test_options.py removes it.
    check = mac_fleet.run(MODULE, args, hosts=host, check=True)[host]
    assert check["_event"] == "runner_on_ok" and check["changed"] is True
    result = mac_fleet.run(MODULE, args, hosts=host)[host]
    assert result["_event"] == "runner_on_failed" and "own SEP credential" in result["msg"], result.get("msg")
    assert any(u["secure_token"] for u in mac_fleet.state(host)["users"])
