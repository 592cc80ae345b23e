"""Last: after every suite has run, no password reached the argv of any tool on any simulated Mac."""

from __future__ import annotations

import json
import os

from fleetlib import needs_fleet

pytestmark = needs_fleet
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
    for name in os.listdir(mac_fleet.escrow_dir):
        data = (mac_fleet.escrow_dir / name).read_bytes()
        if name.startswith(".") and name.endswith(".lock"):
            assert data == b"", f"{name}: the per-Mac lock files hold nothing"
            continue
        assert data.startswith(b"$ANSIBLE_VAULT;"), f"{name} in the escrow directory is not vault-encrypted"
        keys.add(mac_fleet.read_escrow(mac_fleet.escrow_dir / name)["recovery_key"])
    for host in mac_fleet.hosts:
        key = mac_fleet.state(host)["filevault"]["personal_recovery_key"]
        if key:
            keys.add(key)
    assert len(keys) >= 5  # enabled, rotated and superseded keys of the FileVault suites
    for host in mac_fleet.hosts:
        for record in mac_fleet.store(host).invocations():
            argv = json.dumps(record["argv"])
            assert not any(key in argv for key in keys), (host, record["argv"])
