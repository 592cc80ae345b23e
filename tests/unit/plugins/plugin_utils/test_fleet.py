# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-Mac report rows, their merge (newest row of each Mac wins), the run's summary, and the controller inputs."""

from __future__ import annotations

import json

import pytest

from ansible_collections.macops.tokens.plugins.filter.fleet_merge import fleet_merge
from ansible_collections.macops.tokens.plugins.filter.fleet_report import fleet_report
from ansible_collections.macops.tokens.plugins.filter.fleet_row import fleet_row
from ansible_collections.macops.tokens.plugins.filter.fleet_summary import fleet_summary
from ansible_collections.macops.tokens.plugins.lookup import controller_inputs


def trust(holders=1, findings=()):
    users = [{"name": "admin", "kind": "local", "admin": True, "secure_token": holders > 0, "filevault_user": True,
              "volume_owner": True}]
    return {"mac": {"os": {"version": "14.5", "apple_silicon": True}, "users": users, "token_holders": holders,
                    "admin_token_holders": holders, "filevault": {"state": "on"},
                    "mdm": {"enrolled": True}, "bootstrap_token": {"supported": True, "escrowed": True}},
            "readiness": {"filevault": {"available": True}},
            "findings": [{"code": c, "severity": s, "message": "m", "next_step": "n"} for c, s in findings]}


ENTRIES = {
    "mac-a": {"trust": trust(0, [("no_token_holder", "critical")])},
    "mac-b": {"trust": trust(1, [("filevault_deferred", "warning"), ("not_enrolled_in_mdm", "info")])},
    "mac-c": {"trust": None, "error": "no working Python at /usr/bin/python3"},
}


def test_rows_of_one_run_merge_into_the_report_of_that_run():
    docs = [fleet_row(entry, host, "run-1", "2026-01-01T10:00:00.000001Z", playbook="audit")
            for host, entry in ENTRIES.items()]
    merged = fleet_merge(json.loads(json.dumps(docs)), generated="g")  # as read back from the files
    single = fleet_report(ENTRIES, generated="g")
    assert merged.pop("runs") == [{"run_id": "run-1", "playbook": "audit", "check_mode": False, "macs": 3}]
    for mac in merged["macs"]:
        assert mac.pop("run_id") == "run-1" and mac.pop("read_at") == "2026-01-01T10:00:00.000001Z"
    assert merged == single


def test_the_newest_row_of_each_mac_wins_and_rows_of_several_runs_mix():
    old = fleet_row(ENTRIES["mac-a"], "mac-a", "run-1", "2026-01-01T10:00:00.000000Z")
    new = fleet_row({"trust": trust(1)}, "mac-a", "run-2", "2026-01-02T10:00:00.000000Z")
    other = fleet_row(ENTRIES["mac-c"], "mac-c", "run-1", "2026-01-01T10:00:00.000000Z")
    for order in ([old, new, other], [new, other, old]):
        report = fleet_merge(order)
        rows = {m["host"]: m for m in report["macs"]}
        assert rows["mac-a"]["status"] == "healthy" and rows["mac-a"]["run_id"] == "run-2"
        assert rows["mac-c"]["error"] == "no working Python at /usr/bin/python3"
        assert [r["run_id"] for r in report["runs"]] == ["run-1", "run-2"]
    assert [m["host"] for m in fleet_merge([old, new, other], hosts=["mac-c"])["macs"]] == ["mac-c"]
    with pytest.raises(ValueError):
        fleet_merge([{"host": "x"}])


def test_the_summary_counts_by_status_and_severity_and_names_the_critical_macs():
    summary = fleet_summary(fleet_report(ENTRIES), "/r/fleet-report.html")
    assert summary["macs"] == 3 and summary["critical_macs"] == ["mac-a"]
    assert summary["status"] == {"critical": 1, "warning": 1, "info": 0, "healthy": 0, "unreachable or failed": 1}
    assert summary["findings_by_severity"] == {"critical": 1, "warning": 1, "info": 1}
    assert summary["not_read"] == {"mac-c": "no working Python at /usr/bin/python3"}
    assert summary["report"] == "/r/fleet-report.html"


def test_controller_inputs_name_the_variable_and_what_to_do(tmp_path):
    problems = controller_inputs.report_dir_problems
    assert problems("", "macops_report_dir") == []
    assert problems(str(tmp_path / "new" / "report"), "macops_report_dir") == []  # can be created
    assert "absolute path" in problems("report", "macops_report_dir")[0]
    (tmp_path / "file").write_text("")
    assert "not a directory" in problems(str(tmp_path / "file"), "macops_report_dir")[0]
    escrow = controller_inputs.dir_problem  # the escrowing tasks' own check, under the playbooks' variable name
    assert escrow("", "macops_escrow_dir").startswith("macops_escrow_dir is required")
    assert escrow(str(tmp_path / "missing"), "macops_escrow_dir") == (
        "macops_escrow_dir %s does not exist on the controller; create it (mode 0700, on storage that outlives this "
        "run) and run again. Nothing was changed" % (tmp_path / "missing"))
    assert escrow(str(tmp_path), "macops_escrow_dir") is None
