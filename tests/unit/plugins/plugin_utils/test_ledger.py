# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The escrow's ledger: append-only, one whole line per entry, no key ever, and what "used" means."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger

KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"


def _append_many(directory, worker):
    for n in range(50):
        _ledger.append(directory, {"event": "revealed", "host": "mac-%d" % worker, "fingerprint": "%016x" % n,
                                   "by": "w%d" % worker, "reason": "x" * 500})


def test_entries_are_appended_oldest_first_and_never_rewritten(tmp_path):
    first = _ledger.append(str(tmp_path), {"event": "escrowed", "host": "mac-01", "fingerprint": "aa", "by": "ops"})
    before = (tmp_path / _ledger.LEDGER).read_bytes()
    _ledger.append(str(tmp_path), {"event": "revealed", "host": "mac-01", "fingerprint": "aa", "by": "hd",
                                   "reason": "INC-1", "job": None})
    after = (tmp_path / _ledger.LEDGER).read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    assert (tmp_path / _ledger.LEDGER).stat().st_mode & 0o777 == 0o600
    got = _ledger.entries(str(tmp_path), "mac-01")
    assert [e["event"] for e in got] == ["escrowed", "revealed"] and got[0]["at"] == first["at"]
    assert "job" not in got[1]  # empty fields are left out
    assert _ledger.entries(str(tmp_path), "mac-02") == [] and _ledger.entries(str(tmp_path / "none")) == []


def test_a_key_is_used_once_revealed_until_another_key_is_escrowed(tmp_path):
    d = str(tmp_path)
    assert _ledger.revealed(d, "mac-01", "aa") is None
    _ledger.append(d, {"event": "escrowed", "host": "mac-01", "fingerprint": "aa", "by": "ops"})
    assert _ledger.revealed(d, "mac-01", "aa") is None
    _ledger.append(d, {"event": "revealed", "host": "mac-02", "fingerprint": "aa", "by": "hd", "reason": "other Mac"})
    assert _ledger.revealed(d, "mac-01", "aa") is None
    _ledger.append(d, {"event": "revealed", "host": "mac-01", "fingerprint": "aa", "by": "hd", "reason": "INC-1",
                       "job": "42"})
    used = _ledger.revealed(d, "mac-01", "aa")
    assert used["reason"] == "INC-1"
    assert _ledger.describe(used) == "revealed %s by hd (job 42): INC-1" % used["at"]
    _ledger.append(d, {"event": "escrowed", "host": "mac-01", "fingerprint": "bb", "replaces": "aa", "by": "ops"})
    assert _ledger.revealed(d, "mac-01", "bb") is None  # the new key is not used


@pytest.mark.parametrize("entry,message", [
    ({"event": "revealed", "host": "m", "recovery_key": KEY}, "a ledger entry may hold only at, event, host"),
    ({"event": "shown", "host": "m"}, "with an event in revealed, escrowed; got shown"),
    ({"event": "revealed", "host": "m", "reason": "the key is " + KEY}, "refusing to write a ledger entry that holds "
                                                                        "a key"),
])
def test_an_entry_that_could_hold_a_key_is_refused_and_nothing_is_written(tmp_path, entry, message):
    with pytest.raises(_ledger.LedgerError, match=message):
        _ledger.append(str(tmp_path), entry, secrets=[KEY])
    assert not (tmp_path / _ledger.LEDGER).exists()


def test_an_unwritable_or_damaged_ledger_says_what_to_do(tmp_path):
    with pytest.raises(_ledger.LedgerError, match="cannot open the ledger .* for appending .*nothing was revealed"):
        _ledger.append(str(tmp_path / "missing"), {"event": "revealed", "host": "m", "fingerprint": "aa"})
    (tmp_path / _ledger.LEDGER).write_text('{"event": "escrowed", "host": "m"}\n\n{broken\n')
    with pytest.raises(_ledger.LedgerError, match=r"line 3 of the ledger .* is not JSON; .*\(the keys are not in it\)"):
        _ledger.entries(str(tmp_path))


def test_concurrent_writers_never_interleave_lines(tmp_path):
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    lines = (tmp_path / _ledger.LEDGER).read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["reason"] == "x" * 500 for line in lines)


@pytest.mark.parametrize("task_vars,given,expect", [
    ({"awx_user_name": "alice", "awx_job_id": 42}, None, ("alice", "42")),
    ({"tower_user_name": "bob", "tower_job_id": "7"}, None, ("bob", "7")),
    ({"awx_user_name": "alice", "awx_job_id": 42}, "carol", ("carol", "42")),
    ({}, "carol", ("carol", None)),
])
def test_the_operator_is_the_one_given_else_awxs_job_user(task_vars, given, expect):
    assert _ledger.operator(task_vars, given) == expect


def test_outside_awx_the_operator_is_the_controllers_login_user(monkeypatch):
    monkeypatch.setattr(_ledger.getpass, "getuser", lambda: "root")
    assert _ledger.operator({}) == ("root", None)

    def no_user():
        raise KeyError("no passwd entry")
    monkeypatch.setattr(_ledger.getpass, "getuser", no_user)
    assert _ledger.operator(None) == ("uid %d" % os.getuid(), None)
