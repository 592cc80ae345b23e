"""macops.tokens.bootstrap_token on the simulated fleet: four steps, validation, removal and the error paths that
need SSH. Refusals of bad input (nothing changes on the Mac) are unit rows on the same shipped Macs:
tests/unit/plugins/modules/test_bad_input.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetlib import needs_fleet

pytestmark = needs_fleet
MODULE = "macops.tokens.bootstrap_token"


def _macsim(*args):
    subprocess.run([str(Path(sys.executable).parent / "macsim")] + list(args), check=True)


def test_escrow_four_steps_on_10_15(mac_fleet):
    host = "mobile-1015-nobt"
    steps = mac_fleet.four_steps(MODULE, host, {"admin_user": "localadmin", "admin_password": "local-pw"})
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[1]["bootstrap_token"] == {"supported": True, "escrowed": True, "allowed": True, "local_record": True}
    mdm = mac_fleet.state(host)["mdm"]
    assert mdm["bootstrap_escrowed"] and mdm["bootstrap_on_device"]
    install = [r for r in mac_fleet.store(host).invocations() if r["argv"][:2] == ["profiles", "install"]]
    assert len(install) == 1 and install[0]["argv"] == ["profiles", "install", "-type", "bootstraptoken"]
    assert install[0]["tty_bytes"] > 0 and install[0]["stdin_bytes"] == 0  # answered on the terminal


def test_escrow_with_validation_and_removal(mac_fleet):
    host = "cli-users-12"
    args = {"admin_user": "macadmin", "admin_password": "macadmin-pw", "validate": True}
    steps = mac_fleet.four_steps(MODULE, host, args)
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert steps[1]["validated"] is True and steps[2]["validated"] is True
    removed = mac_fleet.four_steps(MODULE, host, {"state": "absent"})
    assert [s["changed"] for s in removed] == [True, True, False, False]
    assert removed[1]["bootstrap_token"]["escrowed"] is False and removed[1]["bootstrap_token"]["local_record"] is False


def test_unreachable_mdm_is_named(mac_fleet):
    host = "mobile-14-nobt"
    _macsim("set", mac_fleet.hosts[host]["dir"], "mdm.reachable=false")
    try:
        result = mac_fleet.run(MODULE, {"admin_user": "localadmin", "admin_password": "local-pw"}, hosts=host)[host]
    finally:
        _macsim("set", mac_fleet.hosts[host]["dir"], "mdm.reachable=true")
    assert result["_event"] == "runner_on_failed"
    assert "the MDM was probably unreachable" in result["msg"]
    assert result["bootstrap_token"] == {"supported": True, "escrowed": False, "allowed": True, "local_record": True}


def test_server_without_the_capability(mac_fleet):
    host = "mobile-14-nobt"
    _macsim("set", mac_fleet.hosts[host]["dir"], "mdm.bootstrap_capable=false")
    try:
        result = mac_fleet.run(MODULE, {"admin_user": "localadmin", "admin_password": "local-pw"}, hosts=host)[host]
    finally:
        _macsim("set", mac_fleet.hosts[host]["dir"], "mdm.bootstrap_capable=true")
    assert result["_event"] == "runner_on_failed" and "re-enroll" in result["msg"]
