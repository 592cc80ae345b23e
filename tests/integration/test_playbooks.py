"""The playbooks on the demo fleet (one simulated Mac per situation): audit is read-only, check mode predicts
exactly what remediation then does, the report renders in a browser, and no controller file holds a secret.

Converge, idempotence and the end state of every Mac are molecule's (extensions/molecule/situations); this
suite covers what molecule cannot: a --check run compared with the real one, and the files on the controller.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from fleetlib import ROOT, needs_fleet

sys.path.insert(0, str(ROOT / "tools" / "demo"))
import demo  # noqa: E402  (tools/demo/demo.py: the fleet and inventory `make demo` uses)

pytestmark = needs_fleet
WRITES = (("sysadminctl", "-secureTokenOn"), ("sysadminctl", "-secureTokenOff"), ("fdesetup", "enable"),
          ("fdesetup", "add"), ("fdesetup", "changerecovery"), ("profiles", "install"), ("dseditgroup", "-o"))
PASSWORDS = ["macadmin-pw", "local-pw", "alice-pw", "lab-pw", "teacher-pw", "student-pw", "rsmith-AD-pw",
             "kiosk-pw", "kwong-AD-pw", "jdoe-AD-pw", "mdm-Admin-1", "pchan-AD-pw"]


class DemoFleet:
    def __init__(self, work: Path, manifest: dict) -> None:
        self.work, self.manifest = work, manifest
        self.inventory = work / "inventory" / "hosts.yml"
        self.hosts = {h["name"]: h for h in manifest["hosts"]}

    def playbook(self, name: str, log: str, extra: dict | None = None, check: bool = False) -> int:
        return demo.playbook(self.work, name, self.inventory, self.work / log, extra or {}, check=check)

    def writes(self, host: str) -> list:
        from macsim.store import HostStore

        return [r["argv"] for r in HostStore(self.hosts[host]["dir"]).invocations()
                if any(r["argv"][:1] == [tool] and flag in r["argv"] for tool, flag in WRITES)]

    def state(self, host: str) -> dict:
        from macsim.store import HostStore

        return HostStore(self.hosts[host]["dir"]).load()

    def read_escrow(self, path: Path) -> dict:
        """Decrypt an escrow file with the demo's vault password, as an administrator would."""
        from ansible.parsing.vault import VaultLib, VaultSecret

        secret = VaultSecret((self.work / "vault-password").read_text().strip().encode())
        return yaml.safe_load(VaultLib([("default", secret)]).decrypt(path.read_bytes()))


@pytest.fixture(scope="module")
def demo_fleet():
    work = Path(tempfile.mkdtemp(prefix="macops-demo-it-", dir="/tmp"))
    (work / "vault-password").write_text("playbook-suite-vault\n")
    manifest = demo.up(work, "playbook-suite-vault")
    try:
        yield DemoFleet(work, manifest)
    finally:
        demo.down(work)
        shutil.rmtree(work, ignore_errors=True)


def _outcomes(report: dict) -> dict:
    return {m["host"]: m for m in report["macs"]}


def _normalise(detail: str) -> str:
    """'would grant a secure token to x (after ...)' and 'granted a secure token to x' name the same change."""
    detail = re.sub(r"^would ", "", detail)
    detail = re.sub(r"\s*\(after the administrator gets (one|a token)\)", "", detail)
    detail = re.sub(r"; recovery key escrowed \(fingerprint [0-9a-f]+\)", "", detail)
    detail = detail.replace("rotated the recovery key and escrowed it", "rotate the recovery key and escrow it")
    for verb, done in (("grant ", "granted "), ("escrow ", "escrowed "), ("defer ", "deferred ")):
        if detail.startswith(done):
            detail = verb + detail[len(done):]
    return detail


def test_audit_is_read_only_and_reports_every_mac(demo_fleet):
    code = demo_fleet.playbook("audit.yml", "audit.log", {"macops_report_dir": str(demo_fleet.work / "before")})
    assert code == 0  # read-only: a Mac preflight stops is reported with its reason, not failed (issue 12)
    for host in demo_fleet.hosts:
        assert demo_fleet.writes(host) == [], host
    report = json.loads((demo_fleet.work / "before" / "fleet-report.json").read_text())
    macs = _outcomes(report)
    assert report["counts"]["macs"] == 14 and report["counts"]["unreachable_or_failed"] == 1
    assert "no working Python at /usr/bin/python3" in macs["no-python"]["error"]
    assert macs["no-token"]["token_holders"] == 0 and "no_token_holder" in [f["code"] for f in
                                                                           macs["no-token"]["findings"]]
    rows = list(csv.DictReader((demo_fleet.work / "before" / "fleet-report.csv").open()))
    assert [r["host"] for r in rows] == sorted(demo_fleet.hosts) and rows[0].keys() >= {"status", "findings", "error"}


# Every situation's end state after one remediation (molecule's verify checks five of them the same way):
# token holders, FileVault, bootstrap token escrowed, and the findings left for what cannot be fixed.
END_STATES = {
    "ade-skipped": (["macadmin"], "on", True, ["managed_admin_without_token"]),
    # FileVault was on with a key escrowed only to the MDM: rotation is opt-in, so the organisation still holds none
    "ade-not-skipped": (["alice", "macadmin"], "on", True,
                        ["managed_admin_without_token", "recovery_key_not_escrowed"]),
    "mobile-bt": (["localadmin"], "on", True, ["mobile_account_without_token"]),
    "mobile-nobt": (["localadmin"], "on", True, ["mobile_account_without_token"]),
    "mobile-1015": (["localadmin"], "on", True, ["mobile_account_without_token"]),
    "cli-users": (["labuser", "macadmin"], "on", True, ["local_user_without_token"]),
    "no-token": (["macadmin", "teacher"], "on", False, ["not_enrolled_in_mdm"]),
    "standard-holder": (["macadmin", "student"], "on", False, ["not_enrolled_in_mdm"]),
    "fv-off": (["macadmin"], "on", False, ["not_enrolled_in_mdm"]),
    "fv-deferred": (["macadmin"], "deferred", False, ["filevault_deferred", "not_enrolled_in_mdm"]),
    "mobile-nomdm": (["localadmin", "pchan"], "on", False, ["not_enrolled_in_mdm"]),
    "no-credentials": (["macadmin"], "deferred", False, ["filevault_deferred", "not_enrolled_in_mdm"]),
    "fv-no-fda": (["macadmin"], "off", False, ["filevault_off", "not_enrolled_in_mdm"]),
}


def test_check_mode_predicts_the_real_run_and_changes_nothing(demo_fleet):
    before = {h: demo_fleet.state(h) for h in demo_fleet.hosts}
    assert demo_fleet.playbook("remediate.yml", "check.log", {"macops_report_dir": str(demo_fleet.work / "check")},
                               check=True) == 2
    for host in demo_fleet.hosts:
        assert demo_fleet.state(host) == before[host], f"{host} changed in check mode"
        assert demo_fleet.writes(host) == [], host
    assert not list((demo_fleet.work / "escrow").iterdir())
    predicted = _outcomes(json.loads((demo_fleet.work / "check" / "fleet-report.json").read_text()))
    assert demo_fleet.playbook("remediate.yml", "remediate.log") == 2
    done = _outcomes(json.loads((demo_fleet.work / "report" / "fleet-report.json").read_text()))
    for host in demo_fleet.hosts:
        want = sorted(_normalise(o["detail"]) for o in predicted[host]["changed"])
        got = sorted(_normalise(o["detail"]) for o in done[host]["changed"])
        assert want == got, host
        assert [o["detail"] for o in predicted[host]["left"]] == [o["detail"] for o in done[host]["left"]], host
    for host, (holders, filevault, escrowed, codes) in END_STATES.items():
        state = demo_fleet.state(host)
        truth = sorted(u["name"] for u in state["users"] if u.get("secure_token"))
        assert truth == holders, (host, truth)
        assert state["filevault"]["state"] == filevault and bool(state["mdm"]["bootstrap_escrowed"]) == escrowed, host
        if not done[host]["error"]:
            assert sorted(f["code"] for f in done[host]["findings"]) == codes, (host, done[host]["findings"])
    assert not any(u.get("admin") for u in demo_fleet.state("standard-holder")["users"] if u["name"] == "student")
    # Deferred without credentials; a mobile account granted where no bootstrap token can do it.
    assert [o["detail"] for o in done["no-credentials"]["changed"]] == [
        "deferred FileVault enablement to the next login"]
    assert "no administrator credentials given" in done["no-credentials"]["left"][0]["detail"]
    assert "granted a secure token to mobile account pchan" in [o["detail"] for o in done["mobile-nomdm"]["changed"]]
    # Both a grant and FileVault were predicted where nobody held a token, not a failure.
    assert len(predicted["no-token"]["changed"]) == 3 and predicted["no-token"]["left"] == []
    assert done["no-token"]["token_holders"] == 2 and done["no-token"]["filevault"] == "on"
    assert done["no-token"]["findings_before"] and done["no-token"]["token_holders_before"] == 0


def test_html_report_renders_counts_and_table_in_chromium(demo_fleet):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "make test installs Debian's chromium package"
    page = demo_fleet.work / "report" / "fleet-report.html"
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text and "http://" not in text and "https://" not in text

    def dom(query: str = "") -> str:
        result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                                 page.as_uri() + query], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-500:]
        return result.stdout

    full = dom()
    assert '<b id="count-macs">14</b>' in full and "14 of 14 shown" in full
    assert full.count('<tr class="mac"') == 14 and "no working Python" in full
    filtered = dom("?status=unreachable%20or%20failed")
    assert "2 of 14 shown" in filtered
    visible = re.findall(r'<tr class="mac" data-status="([^"]+)" data-host="([^"]+)"( style="display: none;")?',
                         filtered)
    assert len(visible) == 14 and sorted(h for s, h, hidden in visible if not hidden) == ["fv-no-fda", "no-python"]
    assert "1 of 14 shown" in dom("?q=kiosk")


def test_no_controller_file_holds_a_secret_except_the_vault_encrypted_ones(demo_fleet):
    keys = {demo_fleet.state(h)["filevault"]["personal_recovery_key"] for h in demo_fleet.hosts} - {None}
    assert len(keys) >= 9
    files = sorted((demo_fleet.work / "escrow").iterdir())
    locks = [p for p in files if p.name.startswith(".") and p.name.endswith(".lock")]
    escrowed = [p for p in files if p not in locks and p.name != "ledger.jsonl"]
    assert all(p.read_bytes() == b"" for p in locks)  # the per-Mac lock files hold nothing
    assert len(escrowed) == 9 and all(p.read_bytes().startswith(b"$ANSIBLE_VAULT;") for p in escrowed)
    # The ledger: one entry per key escrowed, by fingerprint (the scan below checks that it holds no key).
    ledger = [json.loads(line) for line in (demo_fleet.work / "escrow" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(e["host"] for e in ledger if e["event"] == "escrowed") == sorted(
        p.name.split(".recovery-key.vault")[0] for p in escrowed)
    scanned = 0
    for path in demo_fleet.work.rglob("*"):
        if not path.is_file() or "fleet" in path.relative_to(demo_fleet.work).parts[:1]:
            continue  # fleet/: the simulated Macs themselves (their state holds their passwords)
        data = path.read_bytes()
        if data.startswith(b"$ANSIBLE_VAULT;"):
            continue
        text = data.decode("utf-8", "replace")
        scanned += 1
        for secret in PASSWORDS + sorted(keys):
            assert secret not in text, f"{secret[:4]}... found in {path}"
    assert scanned >= 10  # reports (json, csv, html), logs, inventory


def test_rotating_unescrowed_keys_is_opt_in(demo_fleet):
    """After the real run, ade-not-skipped is encrypted with a key escrowed only to the MDM: reported, not rotated,
    until filevault_enforce_rotate_unescrowed_keys is true; then rotated, escrowed and validated, and a further run
    changes nothing."""
    key_file = demo_fleet.work / "escrow" / "ade-not-skipped.recovery-key.vault"
    assert not key_file.exists()
    old_key = demo_fleet.state("ade-not-skipped")["filevault"]["personal_recovery_key"]
    extra = {"macops_hosts": "ade-not-skipped", "filevault_enforce_rotate_unescrowed_keys": True,
             "macops_report_dir": str(demo_fleet.work / "rotate")}
    assert demo_fleet.playbook("remediate.yml", "rotate.log", extra) == 0
    mac = _outcomes(json.loads((demo_fleet.work / "rotate" / "fleet-report.json").read_text()))["ade-not-skipped"]
    assert [o["detail"] for o in mac["changed"]] == [
        "rotated the recovery key and escrowed it (no key is escrowed for this Mac)"]
    new_key = demo_fleet.state("ade-not-skipped")["filevault"]["personal_recovery_key"]
    assert new_key != old_key and key_file.exists()
    assert demo_fleet.playbook("remediate.yml", "rotate-again.log", extra) == 0
    again = _outcomes(json.loads((demo_fleet.work / "rotate" / "fleet-report.json").read_text()))["ade-not-skipped"]
    assert (again["changed"] == []
            and demo_fleet.state("ade-not-skipped")["filevault"]["personal_recovery_key"] == new_key)


def test_a_revealed_key_is_recorded_then_rotated_after_use(demo_fleet):
    """reveal_key.yml shows fv-off's escrowed key (escrowed by the real run) and records who, when and why in the
    ledger; remediate.yml in check mode predicts the rotation and changes nothing; the real run rotates, escrows and
    validates a new key and keeps the old file; a further run changes nothing. No key is in the ledger, and the
    revealed key is in no log but the reveal's own."""
    escrow = demo_fleet.work / "escrow"

    def ledger():  # as an auditor reads it: one JSON object per line
        return [json.loads(line) for line in (escrow / "ledger.jsonl").read_text().splitlines() if line.strip()
                and json.loads(line)["host"] == "fv-off"]

    def fingerprint(key):
        return hashlib.sha256(key.strip().encode()).hexdigest()[:16]

    key_file = escrow / "fv-off.recovery-key.vault"
    first = demo_fleet.state("fv-off")["filevault"]["personal_recovery_key"]
    assert key_file.exists() and first
    reveal = {"macops_escrow_dir": str(escrow), "macops_reveal_host": "fv-off",
              "macops_reveal_reason": "INC-4711: user locked out", "macops_operator": "helpdesk1"}
    assert demo_fleet.playbook("reveal_key.yml", "reveal.log", reveal) == 0
    assert "Recovery key of fv-off: %s" % first in (demo_fleet.work / "reveal.log").read_text()
    (entry,) = [e for e in ledger() if e["event"] == "revealed"]
    assert (entry["fingerprint"], entry["by"], entry["reason"]) == (fingerprint(first), "helpdesk1",
                                                                     "INC-4711: user locked out")
    # Bad input: no reason, nothing revealed and nothing recorded.
    recorded = ledger()
    assert demo_fleet.playbook("reveal_key.yml", "reveal-bad.log", dict(reveal, macops_reveal_reason=" ")) != 0
    bad = (demo_fleet.work / "reveal-bad.log").read_text()
    assert first not in bad and "needs macops_escrow_dir" in bad and ledger() == recorded

    def run(log, check=False):
        extra = {"macops_hosts": "fv-off", "macops_report_dir": str(demo_fleet.work / log)}
        assert demo_fleet.playbook("remediate.yml", log + ".log", extra, check=check) == 0
        report = json.loads((demo_fleet.work / log / "fleet-report.json").read_text())
        return [o["detail"] for o in _outcomes(report)["fv-off"]["changed"]]

    said = "revealed %s by helpdesk1: INC-4711: user locked out" % entry["at"]
    why = "the escrowed key was %s; a revealed key is rotated after use" % said

    def audit_codes(log):
        extra = {"macops_hosts": "fv-off", "macops_report_dir": str(demo_fleet.work / log)}
        assert demo_fleet.playbook("audit.yml", log + ".log", extra) == 0
        report = json.loads((demo_fleet.work / log / "fleet-report.json").read_text())
        return [f["code"] for f in _outcomes(report)["fv-off"]["findings"]]

    # The audit says so too (the escrow's ledger), so audit and remediation agree on what is to be done.
    assert "recovery_key_revealed" in audit_codes("reveal-audit")
    assert run("reveal-check", check=True) == ["would rotate the recovery key and escrow it (%s)" % why]
    assert demo_fleet.state("fv-off")["filevault"]["personal_recovery_key"] == first
    assert run("reveal-rotate") == ["rotated the recovery key and escrowed it (%s)" % why]
    second = demo_fleet.state("fv-off")["filevault"]["personal_recovery_key"]
    assert second != first
    kept = sorted(escrow.glob("fv-off.recovery-key.vault.superseded-*"))
    assert demo_fleet.read_escrow(key_file)["recovery_key"] == second
    assert first in [demo_fleet.read_escrow(k)["recovery_key"] for k in kept]
    last = ledger()[-1]
    assert (last["event"], last["fingerprint"], last["replaces"]) == ("escrowed", fingerprint(second),
                                                                      fingerprint(first))
    assert run("reveal-again") == []
    assert "recovery_key_revealed" not in audit_codes("reveal-audit-after")
    assert demo_fleet.state("fv-off")["filevault"]["personal_recovery_key"] == second
    ledger_text = (escrow / "ledger.jsonl").read_text()
    assert first not in ledger_text and second not in ledger_text
    for log in demo_fleet.work.glob("*.log"):
        text = log.read_text()
        assert second not in text, log
        assert log.name == "reveal.log" or first not in text, log
