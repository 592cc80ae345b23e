# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""FileVault actions shared by the filevault and filevault_recovery_key modules.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Credentials reach fdesetup only as an ``-inputplist`` property list on stdin (plistlib
escapes the values), never on argv. Exit codes are explained from fdesetup(8) EXIT STATUS;
success is decided from the exit code, the ``-outputplist`` document and the state re-read
afterwards, never from a message's wording.
"""

from __future__ import annotations

import errno
import plistlib
import re
import time

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as P
from ansible_collections.macops.tokens.plugins.module_utils import _pending as pending
from ansible_collections.macops.tokens.plugins.module_utils._change import ChangeError
from ansible_collections.macops.tokens.plugins.module_utils._runner import ToolError

# fdesetup(8) EXIT STATUS, in words a person acts on.
EXIT_MEANINGS = {
    1: "FileVault is off (on macOS 10.15 and later an enable refused for lack of Full Disk Access also exits 1)",
    2: "FileVault is busy (encrypting or decrypting); wait until it has finished and run this again",
    11: "authentication failed: the password (or recovery key) was not accepted for FileVault",
    12: "fdesetup rejected its parameters (a bug in this module: please report it)",
    13: "fdesetup does not know this command on this macOS version",
    14: "fdesetup rejected the command",
    15: "fdesetup could not read its input (the credentials property list)",
    16: "a legacy FileVault (home directory encryption) is in the way",
    17: "one or more users could not be added to FileVault (wrong password, or the user cannot be added)",
    19: "a keychain error occurred",
    20: "the deferred enablement configuration is missing or broken",
    21: "enabling failed in the keychain step",
    22: "enabling failed in the CoreStorage step",
    23: "enabling failed in the disk management step",
    24: "FileVault is already enabled",
    25: "the user could not be removed, or FileVault could not be disabled",
    26: "the recovery key could not be changed",
    27: "the recovery key could not be removed",
    28: "FileVault is off, busy, or the volume is locked",
    30: "the user record could not be found",
    31: "management settings (a configuration profile) forbid enabling FileVault here",
    32: "FileVault is already active (a deferred enablement is configured)",
    33: "this option is not supported on this file system",
    34: "this option is not supported on APFS volumes",
    35: "an error occurred while disabling FileVault",
    36: "this computer does not support enabling FileVault",
    37: "one or more secure token holders have a blank password, so FileVault cannot be enabled; give them "
        "passwords first",
    99: "fdesetup hit an internal error",
}

TCC_DB = "/Library/Application Support/com.apple.TCC/TCC.db"
KEY_RE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){5}$")


def explain(rc):
    return EXIT_MEANINGS.get(rc, "fdesetup failed with exit code %s, which fdesetup(8) does not document" % rc)


def input_plist(username=None, password=None, additional=None, key_only=None):
    """The ``-inputplist`` document: plistlib escapes every value, so any password is safe."""
    doc = {}
    if key_only is not None:
        doc["Password"] = key_only
    else:
        doc["Username"] = username
        doc["Password"] = password
        if additional:
            doc["AdditionalUsers"] = [{"Username": u, "Password": p} for u, p in additional]
    return plistlib.dumps(doc)


def full_disk_access(opener=open):
    """Whether this process may read the system TCC database, which needs Full Disk Access.

    True or False; None when the probe proves nothing (the file is absent). Processes started
    through Remote Login inherit sshd's privacy rights, so this is sshd's Full Disk Access.
    """
    try:
        with opener(TCC_DB, "rb") as handle:
            handle.read(16)
        return True
    except (IOError, OSError) as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            return False
        return None


KEY_SHAPE = re.compile(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){5}")
WITHHELD = "(withheld: fdesetup's output may hold a recovery key)"


def redact(text):
    """Tool output fit for a task result: a property list is withheld whole, any key-shaped run is masked."""
    if not text:
        return text
    if "<plist" in text or "<?xml" in text or "RecoveryKey" in text:
        return WITHHELD
    return KEY_SHAPE.sub("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX", text)


def says_enable(user, added):
    """How enabling FileVault is reported (the module's ``actions``, and the planner's prediction of it)."""
    return "enable FileVault authorised by %s%s" % (user, " with %s" % ", ".join(added) if added else "")


def says_add(name):
    """How adding a token holder to FileVault is reported."""
    return "add %s to FileVault" % name


def tool_failed(result, what):
    """The failure of an fdesetup call: the command, fdesetup's exit code in words, and its output with any key
    withheld."""
    return ChangeError("%s: fdesetup exited %s: %s" % (what, result.rc, explain(result.rc)), cmd=result.command,
                       rc=result.rc, stdout=redact(result.out), stderr=redact(result.err))


def run_keeping_key(runner, args, data, verb, result):
    """Run a verb that prints a new recovery key, so that the key survives any interruption (see _pending).

    A marker is written first; while fdesetup runs and until its key is on the Mac's disk, hang-up, termination
    and interrupt are held off. The key (even from a run that exited non-zero) goes into ``result`` for the
    action plugin, which escrows it and then has the Mac's copy removed. Returns the run and the key document.
    """
    try:
        pending.begin(verb)
    except pending.PendingError as exc:
        raise ChangeError(str(exc))
    with pending.held_off():
        run = runner.run("fdesetup", args, ok_codes=None, data=data)
        try:
            doc = key_document(runner, run)
        except ToolError:
            doc = {}
        if doc.get("RecoveryKey"):
            pending.store(doc, verb)
    if doc.get("RecoveryKey"):
        # For the action plugin only: it escrows the key and removes it from the result.
        result["recovery_key"] = doc["RecoveryKey"]
        result["recovery_key_info"] = dict((k, v) for k, v in doc.items() if k != "RecoveryKey")
        result["pending_fingerprint"] = pending.fingerprint(doc["RecoveryKey"])
    return run, doc


def collect_pending(module, runner, model):
    """What an interrupted run left on the Mac: ``recovery_key`` (a result carrying the key for the action plugin
    to escrow), ``marker`` (a key was created and lost: rotate), or nothing. A left key that no longer unlocks
    the Mac (rotated since) is removed."""
    try:
        doc = pending.read()
    except pending.PendingError as exc:
        raise ChangeError(str(exc))
    if not doc:
        return {}
    on = model["filevault"]["state"] in ("on", "encrypting")
    key = doc.get("RecoveryKey")
    if not key:
        if pending.running(doc):  # its key is not lost, only not on disk yet: never rotate under a live run
            raise ChangeError(pending.BUSY % (doc["pid"], _when(doc.get("started"))))
        if not on:
            return {}  # FileVault never came on: nothing was lost; the next enable replaces the marker
        return {"marker": True, "action": "an interrupted run of this collection (%s, %s) left FileVault on without "
                                          "capturing its recovery key: nobody holds the current key, so it is rotated"
                                          % (doc.get("verb"), _when(doc.get("started")))}
    if not on or not validate_key(runner, key):
        if not module.check_mode:
            pending.clear(pending.fingerprint(key))
        return {"marker": on, "action": "removed a recovery key left by an interrupted run: it no longer unlocks "
                                        "this Mac"}
    info = dict((k, v) for k, v in doc.items() if k not in ("RecoveryKey", "state", "verb", "stored", "started"))
    action = ("%scollect the recovery key an interrupted run (%s, %s) left on the Mac and escrow it"
              % ("would " if module.check_mode else "", doc.get("verb"), _when(doc.get("stored"))))
    result = {"collected_pending": True}
    if not module.check_mode:
        result.update(recovery_key=key, recovery_key_info=info, pending_fingerprint=pending.fingerprint(key))
    return {"recovery_key": True, "action": action, "result": result}


def _when(stamp):
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(stamp)))
    except (TypeError, ValueError):
        return "at an unknown time"


def key_document(runner, result):
    """The ``-outputplist`` dictionary (RecoveryKey, SerialNumber, HardwareUUID, EnabledUser, EnabledDate)."""
    text = result.out.strip()
    start = text.find("<?xml")
    if start < 0:
        start = text.find("<plist")
    if start < 0:
        return {}
    body = text[start:]
    try:
        doc = plistlib.loads(body.encode("utf-8"))
    except Exception:  # plistlib raises several types
        raise ToolError("%s printed a property list that cannot be read" % " ".join(result.command),
                        command=result.command, rc=result.rc, out="(withheld: it may hold a recovery key)")
    if not isinstance(doc, dict):
        return {}
    return dict((k, doc[k]) for k in ("RecoveryKey", "SerialNumber", "HardwareUUID", "EnabledUser",
                                      "EnabledDate", "Change") if k in doc)


def validate_key(runner, key):
    """True when fdesetup validaterecovery accepts ``key`` (fed in an input plist on stdin)."""
    result = runner.run("fdesetup", ["validaterecovery", "-inputplist"], data=input_plist(key_only=key),
                        ok_codes=None)
    try:
        return P.parse_fdesetup_bool(result.out)
    except P.ParseError:
        return False


def well_formed_key(key):
    return bool(key) and bool(KEY_RE.match(key.strip()))
