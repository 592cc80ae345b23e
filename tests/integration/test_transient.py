"""Time and transient states: a Mac that is finishing its setup, a bootstrap token the MDM has not confirmed yet,
and an encryption that finishes during the run. The collection waits within a bounded time, or says the state is
transient, and never repairs a Mac in the middle of a change."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetlib import CAN_RUN, TRANSIENT_HOSTS, needs_fleet, own_fleet

pytestmark = needs_fleet


class Small:
    def __init__(self, base: Path, manifest: dict, inventory: Path, collections: Path) -> None:
        self.base, self.manifest, self.inventory, self.collections = base, manifest, inventory, collections
        self.hosts = {h["name"]: h for h in manifest["hosts"]}

    def run(self, module, args=None, host="all", check=False):
        from macsim.testing import run_adhoc

        return run_adhoc(str(self.inventory), module, args, hosts=host, become=True, check=check,
                         envvars={"ANSIBLE_COLLECTIONS_PATH": str(self.collections)})

    def state(self, host):
        from macsim.store import HostStore

        return HostStore(self.hosts[host]["dir"]).load()

    def writes(self, host):
        from macsim.store import HostStore

        return [r["argv"] for r in HostStore(self.hosts[host]["dir"]).invocations()
                if r["argv"][:2] in (["profiles", "install"], ["sysadminctl", "-secureTokenOn"],
                                     ["fdesetup", "enable"])]


@pytest.fixture()
def transient_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    from macsim import fleet as macsim_fleet

    shipped = macsim_fleet.shipped_hosts()
    with own_fleet("macops-transient-", "transient states", {h: shipped[h] for h in TRANSIENT_HOSTS}) as (
            base, manifest, inventory, collections):
        yield Small(base, manifest, inventory, collections)


def _settles_in(fleet, host: str, seconds: float) -> None:
    """Restart the Mac's scheduled settling from now: a loaded machine's slow start must not have used it up."""
    from macsim.store import HostStore

    with HostStore(fleet.hosts[host]["dir"]).transaction() as state:
        for entry in state["schedule"]:
            entry["at"] = time.time() + float(state["clock"]["offset"]) + seconds


def test_a_mac_finishing_its_setup_is_reported_transient_then_waited_for(transient_fleet):
    host = "fv-setup-finishing"
    _settles_in(transient_fleet, host, 30)  # transient at the first read even on a loaded machine
    now = transient_fleet.run("macops.tokens.chain_of_trust_info", host=host)[host]
    assert now["mac"]["transient"] == ["filevault_setup_incomplete"]
    codes = {f["code"] for f in now["findings"]}
    assert "filevault_setup_incomplete" in codes and "no_token_holder" not in codes
    started = time.monotonic()
    waited = transient_fleet.run("macops.tokens.chain_of_trust_info", {"transient_wait": 60}, host=host)[host]
    assert waited["_event"] == "runner_on_ok" and waited["mac"]["transient"] == []
    assert waited["mac"]["token_holders"] == 1 and time.monotonic() - started < 75  # settled, not timed out
    assert {f["code"] for f in waited["findings"]} >= set() and "filevault_setup_incomplete" not in {
        f["code"] for f in waited["findings"]}


def test_remediation_leaves_a_mac_alone_while_its_setup_finishes(transient_fleet):
    from macsim.testing import run_adhoc  # noqa: F401  (ansible-runner is needed)

    host = "fv-setup-finishing"
    _settles_in(transient_fleet, host, 600)  # still finishing during the whole run
    root = Path(__file__).resolve().parents[2]
    # What remediate.yml checks on the controller before it touches any Mac: an escrow directory and a vault password.
    escrow, vault = transient_fleet.base / "escrow", transient_fleet.base / "vault-password"
    escrow.mkdir(mode=0o700, exist_ok=True)
    vault.write_text("transient-suite-vault\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(transient_fleet.collections), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1", ANSIBLE_VAULT_PASSWORD_FILE=str(vault))
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(transient_fleet.inventory),
                          str(root / "playbooks" / "remediate.yml"), "-e",
                          '{"macops_hosts": "%s", "macops_transient_wait": 0, "macops_admin_user": "macadmin", '
                          '"macops_admin_password": "macadmin-pw", "macops_escrow_dir": "%s"}' % (host, escrow)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert "the user's key is not on the volume yet" in out.stdout, out.stdout[-3000:]
    assert transient_fleet.writes(host) == []


def test_a_bootstrap_token_the_mdm_has_not_stored_yet_is_waited_for_not_escrowed_again(transient_fleet):
    host = "bt-escrow-unconfirmed"
    args = {"state": "escrowed", "admin_user": "macadmin", "admin_password": "macadmin-pw", "validate": True,
            "confirm_wait": 60}
    result = transient_fleet.run("macops.tokens.bootstrap_token", args, host=host)[host]
    assert result["_event"] == "runner_on_ok", result.get("msg")
    assert result["changed"] is False and result["validated"] is True and 0 < result["waited"] < 60
    assert transient_fleet.writes(host) == []


def test_encryption_finishes_during_the_run(transient_fleet):
    host = "fv-encrypting-live"

    def read():  # a failed read says why (it once showed only as a KeyError on a loaded machine)
        result = transient_fleet.run("macops.tokens.filevault_info", host=host)[host]
        assert result["_event"] == "runner_on_ok", result.get("msg")
        return result["filevault"]

    first = read()
    assert first["state"] == "encrypting" and 90 <= first["percent"] < 100
    time.sleep(3)
    second = read()
    assert second["state"] == "on" or second["percent"] > first["percent"]
    macsim = str(Path(sys.executable).parent / "macsim")
    subprocess.run([macsim, "advance", transient_fleet.hosts[host]["dir"], "1h"], check=True, capture_output=True)
    done = read()
    assert done["state"] == "on" and done["percent"] is None
    assert transient_fleet.state(host)["filevault"]["state"] == "on"
