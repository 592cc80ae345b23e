# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Defect 9: a failed ad-hoc task's report (ansible-core quotes the task) never shows a password."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.macops.tokens.plugins.plugin_utils._redact import MASK, scrub

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
MARKER = "Adhoc-Marker-Pw-7731"


def test_scrub_masks_secret_keys_at_any_depth_and_nothing_else():
    ds = {"action": "x", "args": {"user": "bob", "user_password": "a", "users": [{"name": "n", "password": "b"}],
                                  "recovery_key": "K", "escrow_dir": "/e", "verify_credentials": [
                                      {"user": "u", "password": "c", "source": "s"}], "timeout": 5,
                                  "user_passwords": {"bob": "d", "carol": {"nested": "e"}}}}
    scrub(ds)
    args = ds["args"]
    assert args["user_passwords"] == {"bob": MASK, "carol": {"nested": MASK}}
    assert args["user_password"] == args["users"][0]["password"] == args["recovery_key"] == MASK
    assert args["verify_credentials"][0]["password"] == MASK and args["verify_credentials"][0]["user"] == "u"
    assert args["user"] == "bob" and args["escrow_dir"] == "/e" and args["timeout"] == 5


@pytest.mark.parametrize("module,args", [
    ("macops.tokens.secure_token", "user=bob user_password=%s admin_user=alice admin_password=%s" % (MARKER, MARKER)),
    # A dict of passwords, first: the report cuts the quoted task short.
    ("macops.tokens.secure_token", '{"user_passwords": {"bob": "%s"}, "users": ["bob"]}' % MARKER),
    ("macops.tokens.filevault", "user=alice password=%s escrow_dir=/nonexistent" % MARKER),  # fails in its plugin
    ("macops.tokens.filevault_recovery_key", "user=alice password=%s escrow_dir=/nonexistent" % MARKER),
    ("macops.tokens.bootstrap_token", "admin_user=alice admin_password=%s" % MARKER),
    ("macops.tokens.chain_of_trust_info", '{"verify_credentials": [{"user": "a", "password": "%s"}]}' % MARKER),
])
def test_a_failed_adhoc_task_report_holds_no_password_at_any_verbosity(tmp_path, module, args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    # The report is printed at every verbosity; the most verbose run is a superset, and one module runs both.
    for verbosity in ([], ["-vvvv"]) if module == "macops.tokens.secure_token" else (["-vvvv"],):
        run = subprocess.run([sys.executable, "-c", "from ansible.cli.adhoc import main; main()", "localhost", "-c",
                              "local", "-m", module, "-a", args] + verbosity, env=env, capture_output=True, text=True,
                             timeout=120, cwd=str(tmp_path), check=False)
        shown = run.stdout + run.stderr
        assert run.returncode != 0 and "Origin: <adhoc" in shown, shown[-2000:]  # the report this is about
        assert MARKER not in shown, shown[shown.index(MARKER) - 400:shown.index(MARKER) + 100]
