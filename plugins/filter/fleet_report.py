# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report
short_description: Shape the audit of many Macs into one fleet report (rows, counts, details)
version_added: 0.1.0
description:
  - Takes, per Mac, what the C(macops.tokens.audit) role recorded (the C(chain_of_trust_info) reading, or the error
    that prevented it) and what the remediation roles did, and returns the data of the fleet report; the role
    renders it as JSON, CSV and HTML.
  - Secrets are never part of the input; the output holds names, states, findings and next steps only.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description:
      - A mapping of host name to a dictionary with C(trust) (the module's result, or V(null)), C(error) (why the
        Mac could not be read, or V(null)), C(trust_before) (an earlier reading, optional) and C(outcomes) (a list of
        what remediation did or left, optional), and C(stopped) (true when a remediation began on the Mac but did not
        reach its end, because the connection died or a task failed; such a Mac is counted unreachable or failed,
        never fine).
    type: dict
    required: true
  generated:
    description: When the report was made (shown as is).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Build the report data
  ansible.builtin.set_fact:
    report: "{{ per_host | macops.tokens.fleet_report(generated=now(utc=true).isoformat()) }}"
"""

RETURN = r"""
_value:
  description: C(generated), C(counts) (fleet totals), C(macs) (one row per Mac, sorted by host, with details;
    C(recovery_path) says who can recover the Mac, as in M(macops.tokens.chain_of_trust_info)).
  type: dict
"""

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def _status(trust, stopped):
    if trust is None or stopped:
        return "unreachable or failed"
    worst = min([SEVERITY_RANK.get(f["severity"], 3) for f in trust.get("findings", [])] or [3])
    return {0: "critical", 1: "warning", 2: "info"}.get(worst, "healthy")


def _row(host, entry):
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


def fleet_report(per_host, generated=""):
    macs = [_row(host, per_host[host] or {}) for host in sorted(per_host)]
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
    return {"generated": generated, "counts": counts, "finding_counts": codes, "macs": macs}


class FilterModule(object):
    def filters(self):
        return {"fleet_report": fleet_report}
