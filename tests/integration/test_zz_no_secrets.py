"""Last: after every suite has run, no password reached the argv of any tool on any simulated Mac."""

from __future__ import annotations

import json

from fleetlib import needs_fleet

pytestmark = needs_fleet
SECRETS = ["lab-pw", "kiosk-pw", "mdm-Admin-1", "alice-pw", "student-pw", "macadmin-pw", "teacher-pw", "kwong-AD-pw",
           "local-pw", "not-kiosks", "not-the-admins", "wrong-pw"]


def test_no_password_reached_any_argv(mac_fleet):
    seen = 0
    for host in mac_fleet.hosts:
        for record in mac_fleet.store(host).invocations():
            seen += 1
            argv = json.dumps(record["argv"])
            assert not any(secret in argv for secret in SECRETS), (host, record["argv"])
    assert seen > 500  # the suites before this one really ran tools on these Macs
