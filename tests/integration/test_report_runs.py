"""Reports that survive job slicing, the run's summary for AWX, exit codes AWX can act on (issue 12: 4, 5, 7).

A fleet of its own (eight Macs of the demo fleet): an audit run in three --limit slices side by side, writing to one
report directory with the merge left to playbooks/report.yml, gives the report of one unsliced run; every run hands
its summary to AWX (set_stats) and prints it; a Mac that cannot be read is reported, not failed, unless asked; a step
that fails in check mode fails the run; bad controller inputs and a host pattern that matches nothing stop the run
before any Mac is touched.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from fleetlib import ROOT, needs_fleet

sys.path.insert(0, str(ROOT / "tools" / "demo"))
import demo  # noqa: E402

pytestmark = needs_fleet
HOSTS = ["ade-not-skipped", "cli-users", "fv-off", "mobile-bt", "no-credentials", "no-python", "no-token",
         "standard-holder"]
SECRETS = ["macadmin-pw", "local-pw", "alice-pw", "lab-pw", "teacher-pw", "student-pw", "rsmith-AD-pw", "pchan-AD-pw",
           "report-suite-vault"]


class ReportFleet:
    def __init__(self, work: Path, manifest: dict) -> None:
        self.work, self.manifest = work, manifest
        self.inventory = work / "inventory" / "hosts.yml"
        self.hosts = {h["name"]: h for h in manifest["hosts"]}

    def store(self, host: str):
        from macsim.store import HostStore

        return HostStore(self.hosts[host]["dir"])

    def snapshot(self) -> dict:
        """Every Mac's state and how many tool calls it has seen: equal before and after means nothing touched."""
        return {h: (self.store(h).load(), len(self.store(h).invocations())) for h in self.hosts}

    def start(self, playbook: str, log: str, extra: dict, *options: str, env: dict | None = None,
              inventory: Path | None = None) -> tuple[subprocess.Popen, Path]:
        cmd = [str(demo.VENV_BIN / "ansible-playbook"), "-i", str(inventory or self.inventory),
               str(ROOT / "playbooks" / playbook), "-e", json.dumps(extra), *options]
        environment = dict(demo.ansible_env(self.work), **(env or {}))
        environment = {k: v for k, v in environment.items() if v is not None}  # None: not set at all
        handle = open(self.work / log, "w")
        proc = subprocess.Popen(cmd, env=environment, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        return proc, self.work / log

    def playbook(self, playbook: str, log: str, extra: dict, *options: str, **kwargs) -> tuple[int, str]:
        proc, path = self.start(playbook, log, extra, *options, **kwargs)
        code = proc.wait(timeout=600)
        return code, path.read_text()


@pytest.fixture(scope="module")
def report_fleet():
    work = Path(tempfile.mkdtemp(prefix="macops-report-it-", dir="/tmp"))
    (work / "vault-password").write_text("report-suite-vault\n")
    doc = yaml.safe_load(demo.FLEET.read_text())
    doc["hosts"] = {name: doc["hosts"][name] for name in HOSTS}
    fleet_file = work / "fleet-subset.yml"
    fleet_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    manifest = demo.up(work, "report-suite-vault", fleet_file=fleet_file)
    try:
        yield ReportFleet(work, manifest)
    finally:
        demo.down(work)
        shutil.rmtree(work, ignore_errors=True)


def _comparable(report: dict) -> dict:
    """A report without what differs from run to run: when it was made, and which run each row comes from."""
    out = {k: v for k, v in report.items() if k not in ("generated", "runs")}
    out["macs"] = [{k: v for k, v in mac.items() if k not in ("run_id", "read_at")} for mac in report["macs"]]
    return out


def _runner_audit(fleet: ReportFleet, extra: dict) -> tuple[int, dict, str]:
    """audit.yml through ansible-runner, as AWX runs it: (rc, the set_stats data AWX receives, stdout)."""
    import ansible_runner
    from macsim.testing import keep_artifacts

    env = {k: v for k, v in demo.ansible_env(fleet.work).items() if k.startswith("ANSIBLE_") or k == "PATH"}
    with tempfile.TemporaryDirectory() as private:
        runner = ansible_runner.run(private_data_dir=private, inventory=str(fleet.inventory),
                                    playbook=str(ROOT / "playbooks" / "audit.yml"), extravars=extra, envvars=env,
                                    quiet=True, timeout=600)
        stats = [e["event_data"].get("artifact_data") for e in runner.events if e["event"] == "playbook_on_stats"]
        stdout = runner.stdout.read()
        keep_artifacts(private)
    return runner.rc, (stats[-1] if stats else None) or {}, stdout


def test_audit_in_three_parallel_slices_merges_into_the_report_of_one_run_and_hands_awx_its_summary(report_fleet):
    whole, sliced = report_fleet.work / "whole", report_fleet.work / "sliced"
    before = report_fleet.snapshot()
    code, stats, stdout = _runner_audit(report_fleet, {"macops_report_dir": str(whole)})
    # Read-only and successful although no-python cannot be read: it is reported with its reason, not failed.
    assert code == 0, stdout[-3000:]
    summary = stats["macops_audit"]
    assert summary["macs"] == len(HOSTS) and sum(summary["status"].values()) == len(HOSTS)
    assert summary["status"]["unreachable or failed"] == 1 and "no working Python" in summary["not_read"]["no-python"]
    assert "no-token" in summary["critical_macs"] and summary["findings_by_severity"]["critical"] >= 1
    assert summary["report"] == str(whole / "fleet-report.html")
    assert "Macs with critical findings: " + ", ".join(summary["critical_macs"]) in stdout
    assert f"Report: {whole / 'fleet-report.html'} (also .json and .csv)" in stdout
    assert not [s for s in SECRETS if s in stdout or s in json.dumps(stats)]
    for host, (state, _) in before.items():
        assert report_fleet.store(host).load() == state, f"{host} changed during an audit"

    slices = [",".join(HOSTS[i::3]) for i in range(3)]
    runs = [report_fleet.start("audit.yml", f"slice-{i}.log", {"macops_report_dir": str(sliced),
                                                               "macops_report_merge": False}, "--limit", hosts)
            for i, hosts in enumerate(slices)]
    for proc, log in runs:
        assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
        assert "Report: not merged by this run; rows in " + str(sliced / "rows") in log.read_text()
    assert not (sliced / "fleet-report.json").exists()  # each slice wrote its rows only
    assert sorted(p.name for p in (sliced / "rows").iterdir()) == sorted(f"{h}.json" for h in HOSTS)

    code, log = report_fleet.playbook("report.yml", "merge.log", {"macops_report_dir": str(sliced)})
    assert code == 0, log[-3000:]
    merged = json.loads((sliced / "fleet-report.json").read_text())
    single = json.loads((whole / "fleet-report.json").read_text())
    assert _comparable(merged) == _comparable(single)
    assert len(merged["runs"]) == 3 and len(single["runs"]) == 1
    assert len({m["run_id"] for m in merged["macs"]}) == 3
    assert list(csv.DictReader((sliced / "fleet-report.csv").open())) == list(
        csv.DictReader((whole / "fleet-report.csv").open()))
    assert (sliced / "fleet-report.html").read_text().count('<tr class="mac"') == len(HOSTS)
    assert "macops.tokens report: 8 Macs" in log


def test_a_mac_that_cannot_be_read_fails_the_audit_only_when_asked(report_fleet):
    # A Mac nobody answers for (a closed port): unreachable, as a Mac that is off or away is.
    gone = report_fleet.work / "gone.yml"
    gone.write_text(yaml.safe_dump({"all": {"children": {"macs": {"hosts": {"gone": {
        "ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "nobody"}}}}}}))
    for strict in (False, True):
        report_dir = report_fleet.work / ("strict" if strict else "lenient")
        extra = {"macops_hosts": "no-python:no-token:gone", "macops_report_dir": str(report_dir),
                 **({"macops_fail_unmanageable": True} if strict else {})}
        code, log = report_fleet.playbook("audit.yml", f"unmanageable-{strict}.log", extra, "-i", str(gone))
        report = {m["host"]: m for m in json.loads((report_dir / "fleet-report.json").read_text())["macs"]}
        # Either way every Mac is in the report, the two that cannot be read with the reason, before any fails.
        assert set(report) == {"no-python", "no-token", "gone"}, log[-3000:]
        assert "no working Python" in report["no-python"]["error"] and report["no-token"]["error"] is None
        assert report["gone"]["error"].startswith("unreachable over SSH") and report["gone"]["status"] == (
            "unreachable or failed")
        assert "Not read: gone: unreachable over SSH" in log and "Not read: no-python: " in log
        if not strict:
            assert code == 0, log[-3000:]
            recap = log.split("PLAY RECAP")[1]
            assert recap.count("failed=0") == 4 and "unreachable=0" in recap.split("gone")[1].splitlines()[0], recap
        else:
            assert code == 2, log[-3000:]
            assert "fatal: [no-python]" in log and "not read: no working Python" in log
            assert "fatal: [gone]" in log and "fatal: [no-token]" not in log


def test_check_mode_fails_when_a_step_fails_and_not_for_what_is_only_left(report_fleet):
    """A step that failed was rescued into a "left" outcome, so --check exited 0 (the rescue counts as handled).
    Now the last play fails the Mac where a step failed; an outcome left with its reason is not a failure."""
    escrow = report_fleet.work / "broken-escrow"
    escrow.mkdir(mode=0o700)
    (escrow / "ade-not-skipped.recovery-key.vault").write_text("not a vault file\n")  # its key check cannot decrypt
    before = report_fleet.snapshot()
    extra = {"macops_hosts": "ade-not-skipped:no-credentials", "macops_escrow_dir": str(escrow),
             "macops_report_dir": str(report_fleet.work / "check")}
    code, log = report_fleet.playbook("remediate.yml", "check.log", extra, "--check",
                                      env={"ANSIBLE_SHOW_CUSTOM_STATS": "True"})
    assert code == 2, log[-3000:]
    assert "fatal: [ade-not-skipped]: FAILED! => {\"changed\": false, \"msg\": \"a step failed on this Mac" in log
    assert "fatal: [no-credentials]" not in log.split("PLAY [Report and summarise]")[1]
    report = {m["host"]: m for m in json.loads((report_fleet.work / "check" / "fleet-report.json").read_text())["macs"]}
    assert "no administrator credentials given" in [o["detail"] for o in report["no-credentials"]["left"]]
    assert "macops.tokens remediate (check mode): 2 Macs" in log and "CUSTOM STATS" in log and "macops_remediate" in log
    for host, (state, _) in before.items():
        assert report_fleet.store(host).load() == state, f"{host} changed in check mode"


@pytest.mark.parametrize("case", ["no-escrow-dir", "no-vault-password", "report-dir-is-a-file"])
def test_bad_controller_inputs_stop_the_run_before_any_mac_is_touched(report_fleet, case):
    env, inventory = {}, None
    extra = {"macops_escrow_dir": str(report_fleet.work / "escrow"), "macops_report_dir": str(report_fleet.work / "r")}
    if case == "no-escrow-dir":
        extra["macops_escrow_dir"] = str(report_fleet.work / "no-such-escrow")
        expect = f"macops_escrow_dir {report_fleet.work / 'no-such-escrow'} does not exist on the controller"
    elif case == "no-vault-password":
        # Without the vault password the vaulted inventory cannot be read either: the Macs' plain inventory alone.
        plain = report_fleet.work / "plain"
        plain.mkdir(exist_ok=True)
        inventory = plain / "hosts.yml"
        shutil.copy(report_fleet.inventory, inventory)
        env = {"ANSIBLE_VAULT_PASSWORD_FILE": None}
        expect = "escrowing recovery keys needs a vault password to encrypt them with, and none was given"
    else:
        (report_fleet.work / "a-file").write_text("")
        extra["macops_report_dir"] = str(report_fleet.work / "a-file")
        expect = f"macops_report_dir is {report_fleet.work / 'a-file'}, which is not a directory"
    before = report_fleet.snapshot()
    code, log = report_fleet.playbook("remediate.yml", f"inputs-{case}.log", extra, env=env, inventory=inventory)
    assert code == 2, log[-3000:]
    assert "The controller's inputs are not usable, so nothing was done on any Mac" in log and expect in log, log
    assert "Check, in one round trip" not in log  # preflight never ran
    assert report_fleet.snapshot() == before, "a Mac was touched although the run's inputs were bad"


@pytest.mark.parametrize("playbook", ["audit.yml", "remediate.yml"])
def test_a_host_pattern_that_matches_nothing_says_to_set_macops_hosts(report_fleet, playbook):
    inventory = report_fleet.work / "no-macs.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"laptops": {"hosts": {"other": {}}}}}}))
    before = report_fleet.snapshot()
    code, log = report_fleet.playbook(playbook, f"nomacs-{playbook}.log", {}, inventory=inventory)
    assert code == 2, log[-3000:]
    assert ("No host in the inventory matches the host pattern 'macs' (the default, a group named macs)" in log
            and "Set macops_hosts to the group or host pattern of your Macs" in log), log[-3000:]
    code, log = report_fleet.playbook(playbook, f"nomacs-named-{playbook}.log", {"macops_hosts": "kiosks"},
                                      inventory=inventory)
    assert code == 2 and "matches the host pattern 'kiosks', so there is no Mac" in log, log[-3000:]
    assert report_fleet.snapshot() == before
    assert os.path.exists(inventory)
