# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's data: one row per Mac, the rows of one or several runs merged, and the run's summary.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Pure: what the roles recorded per Mac in, plain data out (names, states, findings, next steps; never a secret).
A row is built once, on the controller, from one Mac's reading and outcomes (``row``); it is written as one file
per Mac (``<report_dir>/rows/<host>.json``, a ``row_document``) so that slices of a job, or several jobs, each add
their Macs, and ``merge`` builds the fleet report from those files: the newest row of each Mac wins.
"""

from __future__ import annotations

ROW_FORMAT = 1
STATUSES = ("critical", "warning", "info", "healthy", "unreachable or failed")

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def _status(trust, stopped):
    if trust is None or stopped:
        return "unreachable or failed"
    worst = min([SEVERITY_RANK.get(f["severity"], 3) for f in trust.get("findings", [])] or [3])
    return {0: "critical", 1: "warning", 2: "info"}.get(worst, "healthy")


def row(host, entry):
    """One Mac's report row from what the roles recorded for it (see the fleet_report filter's input)."""
    trust = entry.get("trust")
    if trust and not trust.get("mac"):
        trust = None
    error = entry.get("error")
    outcomes = entry.get("outcomes") or []
    # The connection died or a task failed part-way through a remediation: never summarised as fine.
    stopped = bool(entry.get("stopped")) and not error
    if stopped:
        done = [o.get("detail") for o in outcomes if o.get("status") == "changed"]
        error = ("the run stopped on this Mac before it finished (unreachable, or a task failed)%s; run again"
                 % ("; done before it stopped: " + "; ".join(done) if done else ""))
    row = {"host": host, "status": _status(trust, stopped),
           "error": error if stopped else (None if trust else (error or "no reading")),
           "outcomes": outcomes,
           "changed": [o for o in outcomes if o.get("status") == "changed"],
           "left": [o for o in outcomes if o.get("status") in ("left", "failed", "pending")]}
    if trust is None:
        row.update(macos=None, arch=None, token_holders=None, admin_token_holders=None, filevault=None,
                   recovery_path=None, bootstrap_token=None, findings=[], users=[], readiness={})
        return row
    mac = trust["mac"]
    os_ = mac["os"]
    bt = mac.get("bootstrap_token") or {}
    mdm = mac.get("mdm") or {}
    if not mdm.get("enrolled"):
        bootstrap = "not enrolled"
    elif not bt.get("supported"):
        bootstrap = "unsupported"
    else:
        bootstrap = "escrowed" if bt.get("escrowed") else "not escrowed"
    row.update(
        macos=os_.get("version"), arch="Apple silicon" if os_.get("apple_silicon") else "Intel",
        token_holders=mac.get("token_holders"), admin_token_holders=mac.get("admin_token_holders"),
        filevault=(mac.get("filevault") or {}).get("state"), bootstrap_token=bootstrap,
        recovery_path=(mac.get("filevault") or {}).get("recovery_path"),
        findings=[{"code": f["code"], "severity": f["severity"], "message": f["message"],
                   "next_step": f["next_step"], "users": f.get("users", [])} for f in trust.get("findings", [])],
        users=[{"name": u["name"], "kind": u.get("kind"), "admin": u.get("admin"),
                "secure_token": u.get("secure_token"), "filevault_user": u.get("filevault_user"),
                "volume_owner": u.get("volume_owner")}
               for u in mac.get("users", [])],
        readiness=dict((name, bool(r.get("available"))) for name, r in (trust.get("readiness") or {}).items()),
    )
    before = entry.get("trust_before")
    if before and before.get("mac"):
        row["findings_before"] = [f["code"] for f in before.get("findings", [])]
        row["token_holders_before"] = before["mac"].get("token_holders")
        row["filevault_before"] = (before["mac"].get("filevault") or {}).get("state")
        bbt = before["mac"].get("bootstrap_token") or {}
        row["bootstrap_escrowed_before"] = bool(bbt.get("escrowed"))
    return row


def report(macs, generated="", runs=None):
    """The fleet report from rows (one per Mac): counts, finding counts and the rows sorted by host."""
    macs = sorted(macs, key=lambda m: m["host"])
    read = [m for m in macs if m["error"] is None]
    counts = {
        "macs": len(macs),
        "read": len(read),
        "unreachable_or_failed": len(macs) - len(read),
        "healthy": len([m for m in read if m["status"] == "healthy"]),
        "critical": len([m for m in read if m["status"] == "critical"]),
        "warning": len([m for m in read if m["status"] == "warning"]),
        "with_token_holder": len([m for m in read if m["token_holders"]]),
        "without_token_holder": len([m for m in read if not m["token_holders"]]),
        "filevault_on": len([m for m in read if m["filevault"] in ("on", "encrypting")]),
        "filevault_off": len([m for m in read if m["filevault"] == "off"]),
        "filevault_deferred": len([m for m in read if m["filevault"] == "deferred"]),
        "bootstrap_escrowed": len([m for m in read if m["bootstrap_token"] == "escrowed"]),
        "bootstrap_not_escrowed": len([m for m in read if m["bootstrap_token"] == "not escrowed"]),
        "ready_for_filevault": len([m for m in read if m["readiness"].get("filevault")]),
        "ready_for_software_updates": len([m for m in read if m["readiness"].get("software_updates")]),
        "changed": len([m for m in macs if m["changed"]]),
        "left": len([m for m in macs if m["left"]]),
    }
    codes = {}
    for mac in read:
        for finding in mac["findings"]:
            codes[finding["code"]] = codes.get(finding["code"], 0) + 1
    out = {"generated": generated, "counts": counts, "finding_counts": codes, "macs": macs}
    if runs is not None:
        out["runs"] = runs
    return out


def fleet_report(per_host, generated=""):
    """The report of one run, from each Mac's entry (host name -> what the roles recorded)."""
    return report([row(host, per_host[host] or {}) for host in per_host], generated)


def row_document(host, entry, run_id, written, playbook="", check_mode=False):
    """What is written to ``rows/<host>.json``: the Mac's row and where it comes from (run, time, mode)."""
    return {"format": ROW_FORMAT, "host": host, "run_id": str(run_id), "written": str(written),
            "playbook": playbook or "", "check_mode": bool(check_mode), "row": row(host, entry or {})}


def _key(doc):
    return (str(doc.get("written") or ""), str(doc.get("run_id") or ""))


def merge(documents, hosts=None, generated=""):
    """The fleet report from row documents of one or several runs: the newest row of each Mac wins (by the time
    it was written, then run id); ``hosts`` (optional) keeps only those Macs. Each Mac's row says which run it
    is from (``run_id``, ``read_at``) and ``runs`` lists the runs the report is made of."""
    newest = {}
    for doc in documents or []:
        if not isinstance(doc, dict) or doc.get("format") != ROW_FORMAT or not isinstance(doc.get("row"), dict):
            raise ValueError("not a macops.tokens report row (format %s): %r" % (ROW_FORMAT, str(doc)[:80]))
        host = doc["host"]
        if hosts is not None and host not in hosts:
            continue
        if host not in newest or _key(doc) > _key(newest[host]):
            newest[host] = doc
    macs, runs = [], {}
    for host, doc in newest.items():
        mac = dict(doc["row"], run_id=doc["run_id"], read_at=doc["written"])
        macs.append(mac)
        run = runs.setdefault(doc["run_id"], {"run_id": doc["run_id"], "playbook": doc.get("playbook", ""),
                                              "check_mode": bool(doc.get("check_mode")), "macs": 0})
        run["macs"] += 1
    return report(macs, generated, runs=sorted(runs.values(), key=lambda r: r["run_id"]))


def summary(fleet, report_path=""):
    """A short summary of a report (counts by status and by severity, the Macs with critical findings, the Macs
    not read and why, where the report is): for the screen and for AWX (set_stats). Names and counts only."""
    macs = fleet.get("macs") or []
    status = dict((name, 0) for name in STATUSES)
    severity = {"critical": 0, "warning": 0, "info": 0}
    for mac in macs:
        status[mac["status"]] = status.get(mac["status"], 0) + 1
        for finding in mac.get("findings") or []:
            severity[finding["severity"]] = severity.get(finding["severity"], 0) + 1
    return {
        "macs": len(macs),
        "status": status,
        "findings_by_severity": severity,
        "critical_macs": [m["host"] for m in macs if m["status"] == "critical"],
        "not_read": dict((m["host"], m["error"]) for m in macs if m["error"]),
        "changed": len([m for m in macs if m.get("changed")]),
        "with_something_left": len([m for m in macs if m.get("left")]),
        "report": report_path or "",
    }
