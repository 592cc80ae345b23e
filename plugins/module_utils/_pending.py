# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Mac's half of the recovery-key handshake: a new key stays on the Mac until the controller holds it.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Before ``fdesetup enable`` or ``changerecovery`` runs, a marker is written to a root-only
directory on the Mac's data volume (which FileVault encrypts); the moment fdesetup has
printed the new key, the key replaces the marker, written atomically and synced, while
hang-up, termination and interrupt signals are held off. Only then is the key handed to the
controller. The controller escrows it, reads it back, has it validated here, and only then
is the file removed (matched by fingerprint, so a newer key is never removed by mistake).

Whatever is interrupted — the controller killed, SSH dropped, the job cancelled — the next run
finds either the key (it is collected and escrowed) or the marker alone, which means the key
printed by fdesetup was lost with the process (it was killed outright): that run rotates the
key, because nobody holds the current one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import tempfile
import time

DIRECTORY = "/Library/Application Support/macops.tokens"
NAME = "pending-recovery-key.json"
HELD_OFF = ("SIGHUP", "SIGTERM", "SIGINT", "SIGPIPE")


class PendingError(Exception):
    """The pending-key file cannot be written or read; the message says what to do."""


def fingerprint(key):
    """The same fingerprint the controller's escrow reports: 16 hex digits of the key's SHA-256."""
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()[:16]


@contextlib.contextmanager
def held_off():
    """Ignore hang-up, termination and interrupt while a new key exists only in this process.

    Ignored signals stay ignored across exec, so fdesetup itself is not stopped by a dropped connection either.
    SIGKILL cannot be held off: the marker written before tells the next run that a key may have been lost.
    """
    saved = []
    for name in HELD_OFF:
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            saved.append((number, signal.signal(number, signal.SIG_IGN)))
        except (ValueError, OSError):  # not the main thread, or not settable
            continue
    try:
        yield
    finally:
        for number, handler in saved:
            try:
                signal.signal(number, handler)
            except (ValueError, OSError):
                pass


def _write(doc):
    directory, path = DIRECTORY, os.path.join(DIRECTORY, NAME)
    try:
        os.makedirs(directory, 0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pending-", suffix=".tmp")  # created 0600
    except OSError as exc:
        raise PendingError("cannot write %s on the Mac (%s); nothing was changed: run as root (become: true)"
                           % (directory, exc.strerror or exc))
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def running(doc):
    """Whether the run that wrote this marker is still under way (its process is alive): then its key is not lost,
    only not written yet. A reused pid can only make another run wait, never make it drop a key."""
    pid = (doc or {}).get("pid")
    if not doc or doc.get("state") != "started" or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


BUSY = ("another run of this collection is changing this Mac's FileVault recovery key right now (process %s, since "
        "%s); nothing was done here: run again once it has finished")


def begin(verb):
    """Record, before fdesetup runs, that a new key is about to exist. A key already pending is never replaced,
    and neither is the marker of a run still under way."""
    current = read()
    if running(current):
        raise PendingError(BUSY % (current["pid"], current.get("started")))
    if current and current.get("RecoveryKey"):
        raise PendingError("a recovery key made by another run (one still under way on this Mac, or one that was "
                           "interrupted) is waiting on this Mac to be escrowed, so no new key is made now; run the "
                           "task again once the other run has finished: it collects that key")
    _write({"state": "started", "verb": verb, "started": int(time.time()), "pid": os.getpid()})


def store(doc, verb):
    """Keep the key fdesetup printed (with its -outputplist details) until the controller confirms it."""
    entry = dict((k, v) for k, v in doc.items() if isinstance(v, (str, int, bool)))
    entry.update(state="key", verb=verb, stored=int(time.time()))
    _write(entry)


def read():
    """The pending document, or None. A file that cannot be parsed is reported, never taken as absent."""
    path = os.path.join(DIRECTORY, NAME)
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise PendingError("cannot read %s on the Mac (%s): run as root (become: true)" % (path, exc.strerror))
    try:
        doc = json.loads(text)
    except ValueError:
        raise PendingError("%s on the Mac is not readable JSON; it may hold a recovery key: move it aside as root, "
                           "copy the key it holds to your escrow, and run again" % path)
    if not isinstance(doc, dict) or doc.get("state") not in ("started", "key"):
        raise PendingError("%s on the Mac is not a pending-key record of this collection; move it aside and run "
                           "again" % path)
    return doc


def clear(confirmed=None):
    """Remove the pending record once the controller has a validated copy of the key it holds.

    ``confirmed`` is the fingerprint the controller validated; a record holding another key is kept. With no
    fingerprint, only a marker without a key is removed. Returns True when the record is gone.
    """
    doc = read()
    if doc is None:
        return True
    key = doc.get("RecoveryKey")
    if key and (confirmed is None or fingerprint(key) != confirmed):
        return False
    os.unlink(os.path.join(DIRECTORY, NAME))
    return True
