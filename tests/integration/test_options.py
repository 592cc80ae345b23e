"""The collection under every value of macsim's options (where the sources disagree or are silent).

One simulated Mac per non-default value (options-fleet.yml). The audit must read each one right, the write
modules must work or fail with the reason, and remediate.yml must converge: the second run changes nothing, and
what it leaves is said.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from fleetlib import ROOT, assert_matches_truth, needs_fleet

sys.path.insert(0, str(ROOT / "tools" / "demo"))
import demo  # noqa: E402

pytestmark = needs_fleet
FLEET_FILE = Path(__file__).with_name("options-fleet.yml")
HOST_ADMINS = {h: ("localadmin", "local-pw") for h in yaml.safe_load(FLEET_FILE.read_text())["hosts"]
               if yaml.safe_load(FLEET_FILE.read_text())["hosts"][h].get("from") == "mobile-14-nobt"}


class OptionsFleet:
    def __init__(self, work: Path, manifest: dict) -> None:
        self.work, self.manifest = work, manifest
        self.inventory = work / "inventory" / "hosts.yml"
        self.hosts = {h["name"]: h for h in manifest["hosts"]}

    def state(self, host: str) -> dict:
        from macsim.store import HostStore

        return HostStore(self.hosts[host]["dir"]).load()

    def run(self, module: str, args: dict | None = None, hosts: str = "all", check: bool = False) -> dict:
        from macsim.testing import run_adhoc

        env = {"ANSIBLE_COLLECTIONS_PATH": str(demo.collections_path(self.work)),
               "ANSIBLE_VAULT_PASSWORD_FILE": str(self.work / "vault-password")}
        return run_adhoc(str(self.inventory), module, args, hosts=hosts, become=True, check=check, envvars=env,
                         forks=12)

    def steps(self, module: str, args: dict, host: str, checks=(True, False, False, True)) -> list:
        from macsim.testing import run_steps

        env = {"ANSIBLE_COLLECTIONS_PATH": str(demo.collections_path(self.work)),
               "ANSIBLE_VAULT_PASSWORD_FILE": str(self.work / "vault-password")}
        return run_steps(str(self.inventory), host, [(module, args, check) for check in checks], become=True,
                         envvars=env)

    def playbook(self, name: str, log: str, extra: dict | None = None) -> int:
        return demo.playbook(self.work, name, self.inventory, self.work / log, extra or {})


@pytest.fixture(scope="module")
def options_fleet():
    work = Path(tempfile.mkdtemp(prefix="macops-options-", dir="/tmp"))
    (work / "vault-password").write_text("options-suite-vault\n")
    manifest = demo.up(work, "options-suite-vault", fleet_file=FLEET_FILE, host_admins=HOST_ADMINS)
    try:
        yield OptionsFleet(work, manifest)
    finally:
        demo.down(work)
        shutil.rmtree(work, ignore_errors=True)


def test_every_non_default_option_value_has_a_host():
    from macsim.schema import OPTIONS

    hosts = yaml.safe_load(FLEET_FILE.read_text())["hosts"]
    covered = {(name, value) for spec in hosts.values() for name, value in (spec.get("options") or {}).items()}
    wanted = {(name, value) for name, option in OPTIONS.items() for value in option.values() if value != option.default}
    assert wanted - covered == set()


def test_the_audit_reads_every_mac_right_under_its_option(options_fleet):
    results = options_fleet.run("macops.tokens.chain_of_trust_info")
    assert set(results) == set(options_fleet.hosts)
    for host, result in results.items():
        assert result["_event"] == "runner_on_ok", (host, result.get("msg"))
        assert_matches_truth(host, result, options_fleet.state(host))
    # fdesetup status exited 2 and said On first: the progress line decides
    assert results["opt-fv-decrypting"]["mac"]["filevault"]["state"] == "decrypting"
    assert results["opt-fv-off-man-page"]["mac"]["filevault"]["state"] == "off"  # exited 1
    assert results["opt-unsupported-two-lines"]["mac"]["bootstrap_token"]["supported"] is False
    orphan = {f["code"] for f in results["opt-orphan-blocks"]["findings"]}
    assert {"orphaned_crypto_user", "no_token_holder"} <= orphan


def test_filevault_enables_where_status_exits_1_when_off(options_fleet):
    host = "opt-fv-off-man-page"
    args = {"state": "enabled", "user": "macadmin", "password": "macadmin-pw",
            "escrow_dir": str(options_fleet.work / "escrow")}
    check, done, again = options_fleet.steps("macops.tokens.filevault", args, host, checks=(True, False, False))
    assert check["_event"] == "runner_on_ok" and check["changed"] is True, check.get("msg")
    assert done["_event"] == "runner_on_ok" and done["changed"] and done["escrowed"], done.get("msg")
    assert again["_event"] == "runner_on_ok" and again["changed"] is False
    assert options_fleet.state(host)["filevault"]["state"] == "on"


@pytest.mark.parametrize("host", ["opt-install-unquoted", "opt-install-volume"])
def test_the_bootstrap_token_escrows_under_every_prompt_and_wording(options_fleet, host):
    args = {"state": "escrowed", "admin_user": "localadmin", "admin_password": "local-pw"}
    results = options_fleet.steps("macops.tokens.bootstrap_token", args, host)
    assert [r["_event"] for r in results] == ["runner_on_ok"] * 4, [r.get("msg") for r in results]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert options_fleet.state(host)["mdm"]["bootstrap_escrowed"] is True


def test_a_grant_that_confers_no_ownership_is_reported_as_such(options_fleet):
    host = "opt-cli-users-wording"
    args = {"user": "labuser", "user_password": "lab-pw", "admin_user": "macadmin", "admin_password": "macadmin-pw"}
    done = options_fleet.run("macops.tokens.secure_token", args, hosts=host)[host]
    assert done["_event"] == "runner_on_ok" and done["changed"] and done["secure_token"], done.get("msg")
    assert done["volume_owner"] is False is options_fleet.state(host)["users"][1]["volume_owner"]


@pytest.mark.parametrize("host,allowed", [("opt-fv-on-prompts", True), ("opt-fv-on-accounts", False)])
def test_removing_the_last_holders_own_token_under_both_answers(options_fleet, host, allowed):
    args = {"user": "macadmin", "state": "absent", "user_password": "macadmin-pw", "admin_user": "macadmin",
            "admin_password": "macadmin-pw", "force": True}
    result = options_fleet.run("macops.tokens.secure_token", args, hosts=host)[host]
    holder = next(u for u in options_fleet.state(host)["users"] if u["name"] == "macadmin")
    if allowed:
        assert result["_event"] == "runner_on_ok" and result["changed"], result.get("msg")
        assert holder["secure_token"] is False
    else:  # refused by macOS ('User cannot disable their own SEP credential'): the module says so
        assert result["_event"] == "runner_on_failed" and "own SEP credential" in result["msg"]
        assert holder["secure_token"] is True


def test_remediate_converges_under_every_option(options_fleet):
    report_dir = options_fleet.work / "report"
    # opt-fv-on-prompts lost its only token above: FileVault on with no user key reads like setup still
    # finishing, which the audit rightly waits for; a short wait keeps the run short (test_transient covers it).
    extra = {"macops_report_dir": str(report_dir), "macops_transient_wait": 5}
    options_fleet.playbook("remediate.yml", "remediate.log", extra)
    first = {m["host"]: m for m in json.loads((report_dir / "fleet-report.json").read_text())["macs"]}
    assert set(first) == set(options_fleet.hosts)
    failed = {h: m["error"] for h, m in first.items() if m["error"]}
    assert failed == {}
    for host, mac in first.items():
        for outcome in mac["left"]:
            assert outcome["detail"] and outcome.get("next_step"), (host, outcome)
    options_fleet.playbook("remediate.yml", "again.log", extra)
    second = {m["host"]: m for m in json.loads((report_dir / "fleet-report.json").read_text())["macs"]}
    assert {h: [o["detail"] for o in m["changed"]] for h, m in second.items() if m["changed"]} == {}
    audit = options_fleet.run("macops.tokens.chain_of_trust_info")
    for host, result in audit.items():
        assert_matches_truth(host, result, options_fleet.state(host))
    # The deleted holder's key decides whether a first token can be given at all.
    assert second["opt-orphan-does-not-block"]["token_holders"] >= 1
    assert second["opt-orphan-blocks"]["token_holders"] == 0
    assert any("deleted account" in o["detail"] or "first-token" in o.get("next_step", "")
               for o in second["opt-orphan-blocks"]["left"]), second["opt-orphan-blocks"]["left"]
