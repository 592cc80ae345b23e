"""Preflight after the read: a Mac Ansible can work on costs the audit one SSH round trip (the chain_of_trust_info
call); a Mac it cannot work on is still named with preflight's reason and advice: no Python, the Command Line Tools
stub, sudo that wants a password, no Full Disk Access where FileVault is off (remediation), unreachable.

Round trips are counted as tools/bench.py counts them: every ssh command Ansible runs, logged by a wrapper.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fleetlib import CAN_RUN, ROOT, needs_fleet, own_fleet

pytestmark = needs_fleet
HEALTHY = ("fv-on", "fv-off")
WRITES = (("sysadminctl", "-secureTokenOn"), ("fdesetup", "enable"), ("fdesetup", "add"),
          ("fdesetup", "changerecovery"), ("profiles", "install"))


class PreflightFleet:
    def __init__(self, base: Path, manifest: dict, inventory: Path, collections: Path) -> None:
        self.base, self.manifest, self.inventory, self.collections = base, manifest, inventory, collections
        self.hosts = {h["name"]: h for h in manifest["hosts"]}
        self.log = base / "ssh-commands.log"
        self.wrapper = base / "ssh"
        self.wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {self.log}\nexec {shutil.which("ssh")} "$@"\n')
        self.wrapper.chmod(0o755)
        (base / "vault-pass").write_text("preflight-suite-vault\n")
        os.chmod(base / "vault-pass", 0o600)

    def playbook(self, name: str | Path, extra: dict) -> tuple[int, str, dict]:
        """Run a playbook; return its exit code, its output and the ssh commands per host."""
        self.log.write_text("")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(self.collections), ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_SSH_EXECUTABLE=str(self.wrapper), ANSIBLE_VAULT_PASSWORD_FILE=str(self.base / "vault-pass"))
        play = ROOT / "playbooks" / name if isinstance(name, str) else name
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.inventory), str(play),
               "-e", json.dumps(extra)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        addresses = {v["ansible_host"]: n for n, v in self.inventory_hosts().items()}
        trips = {name: 0 for name in addresses.values()}
        for line in self.log.read_text().splitlines():
            host = next((host for address, host in addresses.items() if address in line.split()), None)
            if host:
                trips[host] += 1
        return out.returncode, out.stdout + out.stderr, trips

    def inventory_hosts(self) -> dict:
        return yaml.safe_load(self.inventory.read_text())["all"]["children"]["macs"]["hosts"]

    def writes(self, host: str) -> list:
        from macsim.store import HostStore

        return [r["argv"] for r in HostStore(self.hosts[host]["dir"]).invocations()
                if any(r["argv"][:1] == [tool] and flag in r["argv"] for tool, flag in WRITES)]


@pytest.fixture(scope="module")
def preflight_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    from macsim import fleet as macsim_fleet

    shipped = macsim_fleet.shipped_hosts()
    hosts = {name: shipped[name] for name in HEALTHY + ("fv-no-fda", "py-stub", "py-none")}
    hosts["no-sudo"] = dict(shipped["fv-on"], situation="sudo wants a password the run does not have")
    with own_fleet("macops-preflight-", "what preflight names", hosts) as (base, manifest, inventory, collections):
        fleet = PreflightFleet(base, manifest, inventory, collections)
        # sudo that asks for a password (the account has none usable), as on a Mac whose admin set no NOPASSWD.
        sudoers = Path(fleet.hosts["no-sudo"]["dir"]) / "root" / "etc" / "sudoers.d" / "macsim"
        text = sudoers.read_text()
        with open(sudoers, "r+") as handle:  # in place: the Mac's /etc is an overlay over this file
            handle.write(text.replace("NOPASSWD: ", "").ljust(len(text)))
        # A Mac the inventory names that does not answer: an address of the fleet's subnet nobody listens on.
        doc = yaml.safe_load(inventory.read_text())
        macs = doc["all"]["children"]["macs"]["hosts"]
        unused = macs["fv-on"]["ansible_host"].rsplit(".", 1)[0] + ".250"
        assert unused not in {v["ansible_host"] for v in macs.values()}
        macs["gone"] = dict(macs["fv-on"], ansible_host=unused)
        inventory.write_text(yaml.safe_dump(doc))
        yield fleet


def _errors(report_dir: Path) -> dict:
    report = json.loads((report_dir / "fleet-report.json").read_text())
    return {m["host"]: m["error"] for m in report["macs"]}


@pytest.fixture(scope="module")
def audit_run(preflight_fleet, tmp_path_factory):
    """One audit.yml run on the whole fleet, for the tests that read it: (exit code, output, trips, report dir).
    audit.yml stops every Mac preflight diagnoses with end_host (its diagnose step sets preflight_stop_with), so
    this one run is also the end_host run."""
    report_dir = tmp_path_factory.mktemp("preflight-audit")
    code, out, trips = preflight_fleet.playbook("audit.yml", {"macops_report_dir": str(report_dir)})
    return code, out, trips, report_dir


def test_a_mac_that_works_costs_the_audit_one_round_trip_and_every_other_is_named(audit_run):
    code, out, trips, tmp_path = audit_run
    assert code == 0, out[-3000:]  # every Mac was read or reported with its reason (macops_fail_unmanageable: no)
    for host in HEALTHY + ("fv-no-fda",):
        assert trips[host] == 1, (host, trips)
    for host in ("py-stub", "py-none", "no-sudo"):
        assert trips[host] == 2, (host, trips)  # the failed read, then the raw check that says why
    # Unreachable: the raw check tries once more, since a Mac without Python can look unreachable to the module call
    # (the channel closes while the module is sent); it is unreachable to raw too, so that is what is reported.
    assert trips["gone"] == 2, trips
    errors = _errors(tmp_path)
    for host in HEALTHY + ("fv-no-fda",):
        assert errors[host] is None, (host, errors[host])  # the audit does not need Full Disk Access
    assert "/usr/bin/python3 is the stub that only offers to install the Command Line Tools" in errors["py-stub"]
    assert "no working Python at /usr/bin/python3" in errors["py-none"]
    assert errors["no-sudo"].startswith("sudo does not work without a password for "), errors["no-sudo"]
    assert errors["gone"].startswith("unreachable over SSH: "), errors["gone"]
    assert "Connection refused" in errors["gone"]
    for host in ("py-stub", "py-none", "no-sudo", "gone"):
        assert json.dumps("preflight: " + errors[host]) in out, host  # the advice is on screen too


def test_remediation_stops_a_mac_without_full_disk_access_before_any_write(preflight_fleet, tmp_path):
    extra = {"macops_report_dir": str(tmp_path), "macops_escrow_dir": str(tmp_path / "escrow"),
             "macops_admin_user": "macadmin", "macops_admin_password": "macadmin-pw", "macops_transient_wait": 0,
             "macops_hosts": "fv-off:fv-no-fda:py-stub:no-sudo:gone"}
    (tmp_path / "escrow").mkdir(mode=0o700)
    code, out, trips = preflight_fleet.playbook("remediate.yml", extra)
    assert code == 2, out[-3000:]
    assert (tmp_path / "fleet-report.json").exists(), out[-5000:]
    errors = _errors(tmp_path)
    assert (errors["fv-no-fda"] or "").startswith("Remote Login has no Full Disk Access, so FileVault cannot be "
                                                  "enabled"), out[-3000:]
    assert trips["fv-no-fda"] == 1, trips  # the reading said it: no raw check
    for host in ("fv-no-fda", "py-stub", "no-sudo"):
        assert preflight_fleet.writes(host) == [], host
    assert "stub" in errors["py-stub"] and errors["no-sudo"].startswith("sudo does not work")
    assert errors["gone"].startswith("unreachable over SSH")
    # The Mac that works went on: FileVault was enabled on it (macsim's truth), after the one read.
    assert errors["fv-off"] is None and any(w[:2] == ["fdesetup", "enable"] for w in preflight_fleet.writes("fv-off"))


def test_end_host_lets_the_run_succeed_and_still_names_every_mac(audit_run):
    # Once ran audit.yml again with -e preflight_stop_with=end_host: the value audit.yml's diagnose step already
    # sets, so the same run as the test above; its output serves both.
    assert "preflight_stop_with: end_host" in (ROOT / "playbooks" / "audit.yml").read_text()
    code, out, trips, tmp_path = audit_run
    assert code == 0, out[-3000:]
    errors = _errors(tmp_path)
    assert [h for h, e in sorted(errors.items()) if e] == ["gone", "no-sudo", "py-none", "py-stub"]
    for host in ("gone", "no-sudo", "py-none", "py-stub"):
        assert json.dumps("preflight: " + errors[host]) in out, (host, errors[host], out[-4000:])
    assert all(trips[h] == 1 for h in HEALTHY)


def test_the_main_entry_point_still_checks_everything_in_one_raw_call_before_anything(preflight_fleet, tmp_path):
    """The role's public behaviour, for plays that run it first: one raw round trip per Mac, the same reasons."""
    play = tmp_path / "preflight.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Preflight", "hosts": "macs", "gather_facts": False,
        "roles": [{"role": "macops.tokens.preflight", "preflight_full_disk_access": True,
                   "preflight_stop_with": "end_host"}],
        "tasks": [{"name": "Reached by the Macs that passed", "ansible.builtin.debug": {"msg": "passed"}}]}]))
    code, out, trips = preflight_fleet.playbook(play, {})
    assert code == 0, out[-3000:]
    assert all(n == 1 for n in trips.values()), trips
    passed = {h for h in trips if f"ok: [{h}] => {{\n    \"msg\": \"passed\"" in out}
    assert passed == set(HEALTHY), (passed, out[-3000:])
    for host, words in (("fv-no-fda", "preflight: Remote Login has no Full Disk Access"),
                        ("py-stub", "preflight: /usr/bin/python3 is the stub"),
                        ("py-none", "preflight: no working Python at /usr/bin/python3"),
                        ("no-sudo", "preflight: sudo does not work without a password"),
                        ("gone", "preflight: unreachable over SSH: ")):
        assert f"ok: [{host}] => {{\n    \"msg\": \"{words}" in out, (host, out[-3000:])
