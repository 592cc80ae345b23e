"""Last: after every suite has run, no password reached the argv of any tool on any simulated Mac."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest

from fleetlib import needs_fleet
from macsim.testing import run_steps

pytestmark = [needs_fleet, pytest.mark.secrets_scan]
SECRETS = ["lab-pw", "kiosk-pw", "mdm-Admin-1", "alice-pw", "student-pw", "macadmin-pw", "teacher-pw", "kwong-AD-pw",
           "local-pw", "not-kiosks", "not-the-admins", "wrong-pw", "s0-pw",
           "integration-vault-secret"]


def test_no_password_reached_any_argv(mac_fleet):
    seen = 0
    for host in mac_fleet.hosts:
        for record in mac_fleet.store(host).invocations():
            seen += 1
            argv = json.dumps(record["argv"])
            assert not any(secret in argv for secret in SECRETS), (host, record["argv"])
    assert seen > 500  # the suites before this one really ran tools on these Macs


def test_no_recovery_key_reached_any_argv_and_escrow_holds_only_ciphertext(mac_fleet):
    keys = set()
    ledger = b""
    for name in os.listdir(mac_fleet.escrow_dir):
        data = (mac_fleet.escrow_dir / name).read_bytes()
        if name.startswith(".") and name.endswith(".lock"):
            assert data == b"", f"{name}: the per-Mac lock files hold nothing"
            continue
        if name == "ledger.jsonl":  # plain JSON by design: fingerprints, never keys (checked below)
            ledger = data
            continue
        assert data.startswith(b"$ANSIBLE_VAULT;"), f"{name} in the escrow directory is not vault-encrypted"
        keys.add(mac_fleet.read_escrow(mac_fleet.escrow_dir / name)["recovery_key"])
    for host in mac_fleet.hosts:
        key = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
        if key:
            keys.add(key)
    assert len(keys) >= 5  # enabled, rotated and superseded keys of the FileVault suites
    entries = [json.loads(line) for line in ledger.decode().splitlines() if line.strip()]
    assert entries and all(e["event"] == "escrowed" for e in entries)  # every key the suites escrowed is recorded
    assert not any(key.encode() in ledger for key in keys)
    for host in mac_fleet.hosts:
        for record in mac_fleet.store(host).invocations():
            argv = json.dumps(record["argv"])
            assert not any(key in argv for key in keys), (host, record["argv"])


def _keys(mac_fleet) -> set:
    """Every recovery key this session made: escrowed, superseded, and each Mac's current one."""
    keys = set()
    for name in os.listdir(mac_fleet.escrow_dir):
        if name.endswith(".vault") or ".superseded-" in name:
            keys.add(mac_fleet.read_escrow(mac_fleet.escrow_dir / name)["recovery_key"])
    for host in mac_fleet.hosts:
        key = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
        if key:
            keys.add(key)
    return keys


def _hits(root: Path, needles: set, skip=()) -> list:
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink() or any(part in skip for part in path.relative_to(root).parts):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found.extend((str(path), n) for n in needles if n.encode() in data)
    return found


def test_verbose_runs_and_failed_tasks_print_no_secret(mac_fleet):
    """-vvv of a rotation (the key passes through the connection) and of failing tasks (their reports quote them)."""
    host = "fv-on"
    key_args = {"user": "macadmin", "password": "macadmin-pw", "escrow_dir": str(mac_fleet.escrow_dir)}
    results = run_steps(str(mac_fleet.inventory), host, [
        ("macops.tokens.filevault_recovery_key", dict(key_args, force=True), False),
        ("macops.tokens.secure_token", {"user": "macadmin", "user_password": "macadmin-pw", "admin_user": "macadmin",
                                        "admin_password": "wrong-pw", "state": "absent"}, False),
        ("macops.tokens.filevault", dict(key_args, password="wrong-pw", state="disabled"), False),
    ], become=True, envvars=mac_fleet.env(), verbosity=3)
    assert results[0]["_event"] == "runner_on_ok" and results[0]["escrowed"], results[0].get("msg")
    assert results[1]["_event"] == results[2]["_event"] == "runner_on_failed"
    # Scanned with everything else the session's runs left, by the test below.


def test_no_secret_in_any_run_artifact_mac_filesystem_or_controller_temp_dir(mac_fleet, kept_artifacts):
    needles = set(SECRETS) | _keys(mac_fleet)
    assert len(needles) > len(SECRETS)
    artifacts = Path(kept_artifacts)
    runs = list(artifacts.glob("run-*"))
    assert len(runs) > 50, "the suites' runs kept their artifacts for this scan"
    # ``command`` is the command line the test itself ran (an ad-hoc run's arguments are the test's input, as a
    # user's own shell history would be); everything else is what the runs produced.
    hits = [(path, needle) for path, needle in _hits(artifacts, needles) if os.path.basename(path) != "command"]
    if hits and os.environ.get("SECRET_SCAN_DEBUG"):
        for path, needle in hits[:3]:
            text = Path(path).read_text(errors="replace")
            at = text.index(needle)
            print("HIT", path, needle, repr(text[max(0, at - 600):at + 80]))
    assert hits == [], sorted({(os.path.relpath(p, artifacts).split("/", 1)[1], n[:4]) for p, n in hits})[:40]
    for host in mac_fleet.hosts:  # everything on the simulated Mac but the simulator's own state and inputs
        root = Path(mac_fleet.hosts[host]["dir"])
        for part in ("Library", "Users", "home", "root", "work"):
            if (root / part).is_dir():
                assert _hits(root / part, needles) == [], host
    controller = [Path(p) for p in glob.glob("/tmp/ansible_macops.tokens.*")] + [Path.home() / ".ansible" / "tmp"]
    for place in controller:
        if place.is_dir():
            assert _hits(place, needles) == [], place
