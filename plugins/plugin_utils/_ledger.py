# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The escrow's ledger: who revealed or escrowed which Mac's recovery key, when and why.

PRIVATE: this module is internal to macops.tokens and may change without notice.

One file next to the escrowed keys, ``<escrow_dir>/ledger.jsonl``: one JSON object per line, only ever appended
(opened ``O_APPEND``, written whole under an exclusive lock, flushed to disk), never rewritten by this collection.
An entry names a key by its fingerprint only (the first 16 hex digits of its SHA-256); the ledger holds no key, and
``append`` refuses an entry that does. A key is *used* once an entry says it was revealed; the next escrow of a new
key for that Mac ends that, because the new key has another fingerprint.
"""

from __future__ import annotations

import datetime
import fcntl
import getpass
import json
import os

LEDGER = "ledger.jsonl"
EVENTS = ("revealed", "escrowed")
# What an entry may hold, and nothing else: no field can carry a key by accident.
FIELDS = ("at", "event", "host", "fingerprint", "replaces", "by", "reason", "job", "superseded_file")


class LedgerError(Exception):
    """The ledger cannot be read or appended to; the message says what to do."""


def ledger_path(escrow_dir):
    return os.path.join(escrow_dir, LEDGER)


def operator(task_vars, given=None):
    """Who acts, and in which job: the operator given, else AWX's job user, else the controller's login user."""
    task_vars = task_vars or {}
    who = given or task_vars.get("awx_user_name") or task_vars.get("tower_user_name")
    if not who:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (a container's arbitrary UID)
            who = "uid %d" % os.getuid()
    job = task_vars.get("awx_job_id") or task_vars.get("tower_job_id")
    return str(who), (str(job) if job not in (None, "") else None)


def append(escrow_dir, entry, secrets=()):
    """Append one entry (``at`` is filled in); refuses unknown fields and any field holding one of ``secrets``."""
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown or entry.get("event") not in EVENTS:
        raise LedgerError("a ledger entry may hold only %s with an event in %s; got %s"
                          % (", ".join(FIELDS), ", ".join(EVENTS), ", ".join(unknown) or entry.get("event")))
    doc = dict(entry, at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat())
    line = json.dumps({k: v for k, v in doc.items() if v is not None}, sort_keys=True)
    for secret in secrets:
        if secret and secret.strip() and secret.strip() in line:
            raise LedgerError("refusing to write a ledger entry that holds a key")
    path = ledger_path(escrow_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LedgerError("cannot open the ledger %s for appending (%s); nothing was revealed or recorded. Check that "
                          "escrow_dir is writable by the controller's user" % (path, exc.strerror))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one whole line at a time, across forks and runs
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return doc


def entries(escrow_dir, host=None):
    """The ledger's entries, oldest first (only ``host``'s when given); none when there is no ledger yet."""
    path = ledger_path(escrow_dir)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LedgerError("cannot read the ledger %s (%s)" % (path, exc.strerror))
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            raise LedgerError("line %d of the ledger %s is not JSON; the ledger is append-only: restore it from a "
                              "backup or move it aside (the keys are not in it)" % (number, path))
        if host is None or doc.get("host") == host:
            out.append(doc)
    return out


def revealed(escrow_dir, host, key_fingerprint):
    """The last entry that revealed this key of ``host``, or None: a key revealed is used until it is replaced."""
    found = None
    for doc in entries(escrow_dir, host):
        if doc.get("event") == "revealed" and doc.get("fingerprint") == key_fingerprint:
            found = doc
    return found


def describe(entry):
    """One line for a result or a report: when, by whom, why."""
    said = "revealed %s by %s" % (entry.get("at"), entry.get("by"))
    if entry.get("job"):
        said += " (job %s)" % entry["job"]
    if entry.get("reason"):
        said += ": %s" % entry["reason"]
    return said
