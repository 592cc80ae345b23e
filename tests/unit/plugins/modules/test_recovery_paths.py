# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who can recover each Mac (chain_of_trust_info's mac.filevault.recovery_path and its findings), on the one fake
Mac (tests/unit/plugins/harness.py) simulated by macsim: every path, the escrow check read-only with the key on
stdin only, and the finding's next step."""

from __future__ import annotations

import json

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _findings, _rules
from ansible_collections.macops.tokens.plugins.modules import chain_of_trust_info, filevault_info
from ansible_collections.macops.tokens.tests.unit.plugins.modules.macs import KEY, OTHER_KEY, state

ESCROW = {"escrow_dir": "/controller/escrow"}
RECOVERY_CODES = {"no_recovery_key", "icloud_recovery_only", "recovery_key_not_escrowed", "recovery_key_revealed"}
REVEALED = "revealed 2026-12-02T10:00:00+00:00 by helpdesk1 (job 42): INC-4711"


def fv(**fields):
    doc = {"state": "on", "personal_recovery_key": KEY, "rate": None}
    doc.update(fields)
    return doc


# id, FileVault section, the module's arguments, (escrow, recovery_path, recovery finding or None)
CASES = [
    ("escrowed-and-valid", fv(), dict(ESCROW, recovery_key=KEY), ("valid", "escrowed", None)),
    # A revealed key: still the organisation's way in, but used (the escrow's ledger): rotate it.
    ("escrowed-valid-and-revealed", fv(), dict(ESCROW, recovery_key=KEY, revealed=REVEALED),
     ("valid", "escrowed", "recovery_key_revealed")),
    ("revealed-but-rotated-elsewhere", fv(), dict(ESCROW, recovery_key=OTHER_KEY, revealed=REVEALED),
     ("invalid", "personal_not_escrowed_here", "recovery_key_not_escrowed")),
    ("escrowed-key-rotated-elsewhere", fv(), dict(ESCROW, recovery_key=OTHER_KEY),
     ("invalid", "personal_not_escrowed_here", "recovery_key_not_escrowed")),
    ("nothing-escrowed-here", fv(), ESCROW, ("absent", "personal_not_escrowed_here", "recovery_key_not_escrowed")),
    ("escrow-not-given", fv(), {}, ("not_checked", "personal_escrow_not_checked", None)),
    ("institutional-only", fv(personal_recovery_key=None, institutional_key=True), ESCROW,
     ("absent", "institutional", None)),
    ("institutional-and-escrowed-personal", fv(institutional_key=True), dict(ESCROW, recovery_key=KEY),
     ("valid", "escrowed", None)),
    ("institutional-and-unescrowed-personal", fv(institutional_key=True), ESCROW, ("absent", "institutional", None)),
    ("icloud-only", fv(personal_recovery_key=None, icloud_recovery=True), ESCROW,
     ("absent", "icloud_only", "icloud_recovery_only")),
    ("icloud-and-a-personal-key", fv(icloud_recovery=True), ESCROW,
     ("absent", "personal_not_escrowed_here", "recovery_key_not_escrowed")),
    ("icloud-and-an-escrowed-personal-key", fv(icloud_recovery=True), dict(ESCROW, recovery_key=KEY),
     ("valid", "escrowed", None)),
    ("no-key-at-all", fv(personal_recovery_key=None), ESCROW, ("absent", "none", "no_recovery_key")),
    ("encrypting-and-escrowed", fv(state="encrypting", percent=40.0), dict(ESCROW, recovery_key=KEY),
     ("valid", "escrowed", None)),
    ("filevault-off", {"state": "off"}, dict(ESCROW, recovery_key=KEY), ("not_checked", "not_applicable", None)),
]


def _validations(mac):
    return [c for c in mac.calls if c.tool == "fdesetup" and "validaterecovery" in c.argv]


@pytest.mark.parametrize("section,args,expect", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mac_says_who_can_recover_it(harness, section, args, expect):
    escrow, path, code = expect
    mac = harness.sim(state(filevault=section))
    before = mac.state()
    result = harness.run(chain_of_trust_info, args, mac, allowed=())
    assert result.get("failed") is not True, result.get("msg")
    got = result["mac"]["filevault"]
    assert (got["escrow"], got["recovery_path"]) == (escrow, path)
    assert got["icloud_recovery"] is bool(section.get("icloud_recovery"))
    found = [f for f in result["findings"] if f["code"] in RECOVERY_CODES]
    assert [f["code"] for f in found] == ([code] if code else [])
    assert got["escrow_revealed"] == (REVEALED if code == "recovery_key_revealed" else None)
    if code == "recovery_key_revealed":
        assert REVEALED in found[0]["message"] and "filevault_enforce_rotate_revealed_keys" in found[0]["next_step"]
    if code in ("icloud_recovery_only", "recovery_key_not_escrowed"):
        assert found[0]["next_step"].startswith("The organisation holds no recovery key for this Mac")
        assert "filevault_enforce_rotate_unescrowed_keys" in found[0]["next_step"]
    checks = _validations(mac)
    assert len(checks) == (1 if args.get("recovery_key") and escrow != "not_checked" else 0)
    for call in checks:  # the key reaches fdesetup on stdin only, and nothing changed on the Mac
        assert call.argv == ["validaterecovery", "-inputplist"] and args["recovery_key"] in call.text()
    assert [act[1][0] for act in mac.acts()] == ["validaterecovery"] * len(checks) and mac.state() == before
    if args.get("recovery_key"):
        assert args["recovery_key"] not in json.dumps(result)
    assert result["mac"]["tool_calls"] == len(mac.calls)


def test_the_finding_says_why_the_escrow_does_not_count(harness):
    rotated = harness.run(chain_of_trust_info, dict(ESCROW, recovery_key=OTHER_KEY), harness.sim(state()),
                          allowed=())
    absent = harness.run(chain_of_trust_info, ESCROW, harness.sim(state()), allowed=())
    messages = [next(f["message"] for f in r["findings"] if f["code"] == "recovery_key_not_escrowed")
                for r in (rotated, absent)]
    assert "does not validate on the Mac" in messages[0] and "holds no key for this Mac" in messages[1]


def test_filevault_info_reports_the_path_without_an_escrow(harness):
    section = fv(personal_recovery_key=None, icloud_recovery=True)
    result = harness.run(filevault_info, {}, harness.sim(state(filevault=section)))
    assert result["filevault"]["recovery_path"] == "icloud_only"
    assert result["filevault"]["escrow"] == "not_checked"
    assert "icloud_recovery_only" in {f["code"] for f in result["findings"]}


def test_every_path_is_one_of_the_documented_values_and_only_one_rule_decides():
    """The rule, not the finding, decides: a model with each combination gives one documented path, and the
    organisation can recover exactly where no recovery finding is raised."""
    seen = set()
    for st in ("on", "off", "deferred", "decrypting"):
        for prk in (True, False):
            for irk in (True, False):
                for icloud in (True, False):
                    for escrow in ("valid", "invalid", "absent", "not_checked"):
                        model = {"os": {"version_tuple": [14, 4, 1], "apple_silicon": True},
                                 "filevault": {"state": st, "personal_recovery_key": prk, "escrow": escrow,
                                               "institutional_recovery_key": irk, "icloud_recovery": icloud,
                                               "restart_pending": False, "deferred_user": None, "percent": None}}
                        path = _rules.recovery_path(model)
                        seen.add(path)
                        codes = {f["code"] for f in _findings.findings(model)} & RECOVERY_CODES
                        quiet = _rules.organisation_can_recover(path) or path in (
                            "not_applicable", "personal_escrow_not_checked") or (st == "decrypting" and path != "none")
                        assert bool(codes) is not quiet, (model, path, codes)
    assert seen == set(_rules.RECOVERY_PATHS)


def test_the_readme_lists_every_finding_code_and_recovery_path():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parents[4] / "README.md").read_text(encoding="utf-8")
    missing = [c for c in _findings.FINDING_CODES + _rules.RECOVERY_PATHS if "`%s`" % c not in readme]
    assert missing == []
