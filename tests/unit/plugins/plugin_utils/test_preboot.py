# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of the pre-boot unlock (plugin_utils/_preboot.py): the password is typed once, at a terminal,
never passed on argv; each way a pre-boot server can answer comes to one outcome. A stand-in for ``ssh`` plays the
server's side on the pseudo-terminal exactly as the published macOS 26 session shows it."""

from __future__ import annotations

import json
import socket
import sys
import threading

import pytest

from ansible_collections.macops.tokens.plugins.plugin_utils import _preboot as preboot

SECRET = "alice-Pa55 word"
LOCKED = ("This system is locked. To unlock it, use a local\\naccount name and password. Once successfully\\n"
          "unlocked, you will be able to connect normally.")

FAKE_SSH = r'''#!%(python)s
import getpass, json, sys
mode, log = %(mode)r, %(log)r
answers = []
def ask():
    answers.append(getpass.getpass("(alice@192.0.2.10) Password:"))
    json.dump({"argv": sys.argv, "answers": answers}, open(log, "w"))
if mode == "hostkey":
    sys.stderr.write("Host key verification failed.\n"); sys.exit(255)
if mode == "refused-connection":
    sys.stderr.write("ssh: connect to host 192.0.2.10 port 22: Connection refused\n"); sys.exit(255)
print("%(locked)s")
ask()
if mode == "ask-again":
    ask()
if mode == "ok" and answers[0] == %(secret)r:
    print("System successfully unlocked.\nYou may now use SSH to authenticate normally.\n")
    sys.stderr.write("Connection closed by 192.0.2.10 port 22\n"); sys.exit(255)
if mode == "silent-close":
    sys.stderr.write("Connection closed by 192.0.2.10 port 22\n"); sys.exit(255)
if mode == "lockout":
    print("Authentication failed: account is temporarily locked"); sys.exit(255)
if mode == "session":
    sys.exit(0)
sys.stderr.write("alice@192.0.2.10: Permission denied (publickey,password,keyboard-interactive).\n"); sys.exit(255)
'''


def fake_ssh(tmp_path, mode):
    log = tmp_path / "log.json"
    path = tmp_path / "ssh"
    path.write_text(FAKE_SSH % {"python": sys.executable, "mode": mode, "log": str(log), "locked": LOCKED,
                                "secret": SECRET})
    path.chmod(0o755)
    return str(path), log


# mode of the stand-in, the outcome, how many times the password was typed
CASES = [
    ("ok", preboot.UNLOCKED, 1),
    ("wrong", preboot.REFUSED, 1),
    ("ask-again", preboot.REFUSED, 1),  # a second prompt means the first answer was refused: never typed twice
    ("silent-close", preboot.CLOSED, 1),  # a later macOS may say nothing: what boots next decides
    ("lockout", preboot.LOCKED_OUT, 1),
    ("session", preboot.LOGGED_IN, 1),
    ("hostkey", preboot.HOST_KEY, 0),
    ("refused-connection", preboot.NO_PROMPT, 0),
]


@pytest.mark.parametrize("mode,outcome,typed", CASES, ids=[c[0] for c in CASES])
def test_each_answer_of_the_server_comes_to_one_outcome(tmp_path, mode, outcome, typed):
    ssh, log = fake_ssh(tmp_path, mode)
    argv = preboot.unlock_argv("192.0.2.10", 22, "alice", str(tmp_path / "known"), ssh=ssh)
    password = SECRET if mode != "wrong" else "not-the-password"
    got, transcript, rc = preboot.unlock(argv, password, timeout=20)
    assert got == outcome, transcript
    assert password not in transcript and password not in " ".join(argv)
    if typed:
        seen = json.loads(log.read_text())
        assert seen["answers"][:1] == [password] and len([a for a in seen["answers"] if a]) == typed
        assert password not in " ".join(seen["argv"])
    if mode == "ok":
        assert "System successfully unlocked." in transcript and "This system is locked." in transcript


def test_the_pinned_host_key_and_password_only_options_win_over_the_connections_own():
    argv = preboot.unlock_argv("mac1", 2222, "alice", "/tmp/pinned", extra_args=(
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -J jump.example"))
    text = " ".join(argv)
    assert text.index("StrictHostKeyChecking=yes") < text.index("StrictHostKeyChecking=no")
    assert text.index("UserKnownHostsFile=/tmp/pinned") < text.index("UserKnownHostsFile=/dev/null")
    for option in ("PubkeyAuthentication=no", "PreferredAuthentications=keyboard-interactive",
                   "NumberOfPasswordPrompts=1", "ControlPath=none"):
        assert option in argv
    assert "-J" in argv and argv[-4:] == ["-l", "alice", "mac1", "/usr/bin/true"]
    assert argv[argv.index("-p") + 1] == "2222"


def test_ssh_banner_tells_an_ssh_server_from_a_closed_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer():
        conn = server.accept()[0]
        conn.sendall(b"SSH-2.0-OpenSSH_10.0\r\n")
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    assert preboot.ssh_banner("127.0.0.1", port) is True
    thread.join()
    server.close()
    assert preboot.ssh_banner("127.0.0.1", port, timeout=1) is False


def test_pinned_keys_are_removed_after_use():
    with preboot.PinnedKeys(["mac1 ssh-ed25519 AAAAC3Nza"]) as keys:
        with open(keys.path) as handle:
            assert handle.read() == "mac1 ssh-ed25519 AAAAC3Nza\n"
    import os

    assert not os.path.exists(keys.path)  # noqa: PTH110
