# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of a restart: is the Mac's SSH port answering, which host key does it show, and the macOS 26
pre-boot unlock, where a FileVault user's password is typed at the pre-boot SSH server's prompt.

PRIVATE: this module is internal to macops.tokens and may change without notice.

The unlock runs the controller's own ``ssh`` on a pseudo-terminal, so the password travels the way a person typing
it would: through the terminal ssh reads it from, never on argv, in the environment or in a file. The server must
show a host key pinned from the Mac before the restart (``ssh-keyscan``), or ssh stops before any prompt. What the
pre-boot server does (macOS 26, Apple's apple_ssh_and_filevault(7) and a published session): a banner saying the
system is locked, public keys refused, one hidden ``Password:`` prompt through keyboard-interactive, then on success
``System successfully unlocked.`` as an information round, an authentication failure and a closed connection; a
wrong password is a plain refusal. A refusal is never retried here: failed attempts count towards FileVault's limit.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import tempfile
import time

UNLOCKED = "unlocked"  # the server said the system is unlocked
CLOSED = "closed"  # the password was typed and the server closed without a word: decided by what boots next
REFUSED = "refused"  # a plain refusal: wrong password, or not a FileVault user
LOCKED_OUT = "locked_out"  # too many failed attempts: FileVault refuses for a while
HOST_KEY = "host_key"  # the server's host key is not the Mac's: nothing was typed
LOGGED_IN = "logged_in"  # the password opened an ordinary session: the Mac is already up in macOS
NO_PROMPT = "no_prompt"  # no password prompt came (connection refused, timed out, other methods only)

PROMPT_RE = re.compile(r"(?i)password:\s*$")
HOST_KEY_SIGNS = ("host key verification failed", "remote host identification has changed",
                  "host key for", "no matching host key")


def ssh_banner(host, port, timeout=5.0):
    """Whether an SSH server answers on ``host``:``port`` (its identification string arrives)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def scan_host_keys(host, port, timeout=10, keyscan="ssh-keyscan"):
    """The host keys ``host`` shows now, as known_hosts lines; empty when none could be read."""
    try:
        run = subprocess.run([keyscan, "-T", str(timeout), "-p", str(port), host], capture_output=True, text=True,
                             timeout=timeout + 20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in run.stdout.splitlines() if line.strip() and not line.startswith("#")]


def unlock_argv(host, port, user, known_hosts, connect_timeout=20, extra_args="", ssh="ssh"):
    """ssh's argv for the unlock: pinned host keys, password methods only, one prompt, no multiplexing.

    ssh keeps the first value it is given for an option, so these come before the connection's own common
    arguments (a jump host there still applies; its host-key settings do not).
    """
    argv = [ssh, "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=%s" % known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "CheckHostIP=no", "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=keyboard-interactive", "-o", "NumberOfPasswordPrompts=1",
            "-o", "BatchMode=no", "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "-o", "ConnectTimeout=%d" % connect_timeout, "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null"]
    argv += shlex.split(extra_args or "")
    argv += ["-p", str(port), "-l", user, host, "/usr/bin/true"]
    return argv


def classify(transcript, rc, typed):
    """What the pre-boot attempt came to, from ssh's terminal output and exit code."""
    text = transcript.lower()
    if any(sign in text for sign in HOST_KEY_SIGNS):
        return HOST_KEY
    if "successfully unlocked" in text:
        return UNLOCKED
    if "temporarily locked" in text:
        return LOCKED_OUT
    if not typed:
        return NO_PROMPT
    if rc == 0:
        return LOGGED_IN
    if "permission denied" in text or "authentication failed" in text:
        return REFUSED
    return CLOSED


def unlock(argv, password, timeout=60.0):
    """Run ``argv`` (see unlock_argv) on a pseudo-terminal and type ``password`` at the first password prompt, once.

    Returns (outcome, transcript without the password, ssh's exit code).
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes ssh
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    chunks, typed, refused_again, deadline = [], False, False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: ssh has exited and the terminal is gone
                break
            if not data:
                break
            chunks.append(data.decode("utf-8", "replace"))
            if PROMPT_RE.search("".join(chunks).rsplit("\n", 1)[-1]):
                if typed:  # asked again: the first answer was refused, and a refusal is never retried
                    refused_again = True
                    os.kill(pid, signal.SIGKILL)
                    break
                chunks.append("\n")
                os.write(fd, password.encode("utf-8") + b"\n")
                typed = True
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        status = os.waitpid(pid, 0)[1]
        os.close(fd)
    rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    transcript = "".join(chunks).replace(password, "********") if password else "".join(chunks)
    transcript = transcript.replace("\r\n", "\n")
    return (REFUSED if refused_again else classify(transcript, rc, typed)), transcript, rc


class PinnedKeys(object):
    """A known_hosts file of the Mac's host keys (public: not a secret), removed when done."""

    def __init__(self, lines):
        handle, self.path = tempfile.mkstemp(prefix="macops-hostkeys-", suffix=".known_hosts")
        with os.fdopen(handle, "w") as out:
            out.write("\n".join(lines) + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.unlink(self.path)
        except OSError:
            pass
