# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller-side escrow of FileVault recovery keys, shared by the filevault action plugins.

PRIVATE: this module is internal to macops.tokens and may change without notice.

One file per Mac, ``<escrow_dir>/<inventory_hostname>.recovery-key.vault``: a YAML document
(key, serial number, hardware UUID, enabling user, dates) encrypted with ansible-vault. It is
written to a temporary file in the same directory (created 0600, already encrypted), flushed
to disk and renamed over the old one, so a reader sees the old file or the new one, never half
of either. A replaced file is kept under a ``.superseded-<UTC time>[-<pid>-<n>]`` name made with an
exclusive hard link, and writers for one Mac take turns under a lock file (``.<host>.lock``, empty):
two runs in the same second never overwrite each other's keys. The key appears in no result, log or
unencrypted file.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import os
import re
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib
from ansible.module_utils.common.yaml import yaml_dump, yaml_load

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger

SUFFIX = ".recovery-key.vault"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class EscrowError(AnsibleError):
    """The escrow directory, the vault secret or an escrow file is not usable; the message says what to do."""


def vault_secrets(loader):
    """The run's vault secrets: from ansible-core's public ``VaultSecretsContext`` (2.19), else from the loader
    (tests build a loader of their own; older cores have no context)."""
    try:
        from ansible.parsing.vault import VaultSecretsContext
        context = VaultSecretsContext.current(optional=True)
    except ImportError:
        context = None
    if context is not None and context.secrets:
        return list(context.secrets)
    return list(getattr(getattr(loader, "_vault", None), "secrets", None) or [])


NO_VAULT_PASSWORD = ("escrowing recovery keys needs a vault password to encrypt them with, and none was given: run "
                     "with --vault-password-file or --vault-id, set ANSIBLE_VAULT_PASSWORD_FILE, or attach a vault "
                     "credential to the AWX job template. Nothing was changed")


def dir_problem(path, name="escrow_dir"):
    """Why ``path`` cannot take escrow files (``name`` is how the message calls it), or None when it can."""
    if not path:
        return ("%s is required: give a persistent directory on the controller for the recovery keys (there is no "
                "default location on purpose)" % name)
    if not os.path.isabs(path):
        return "%s must be an absolute path on the controller; got %s" % (name, path)
    if not os.path.isdir(path):
        return ("%s %s does not exist on the controller; create it (mode 0700, on storage that outlives this run) "
                "and run again. Nothing was changed" % (name, path))
    if not os.access(path, os.W_OK | os.X_OK):
        return "%s %s is not writable by the controller's user; nothing was changed" % (name, path)
    return None


def fingerprint(key):
    return hashlib.sha256(to_bytes(key.strip())).hexdigest()[:16]


def escrow_path(escrow_dir, host):
    return os.path.join(escrow_dir, _SAFE.sub("_", host) + SUFFIX)


class Escrow(object):
    def __init__(self, loader, escrow_dir):
        self.dir = escrow_dir
        self.secrets = vault_secrets(loader)
        self.superseded = None  # the name the last write kept the replaced file under

    def check(self):
        """Fail before anything changes on a Mac when a key could not be escrowed afterwards."""
        problem = dir_problem(self.dir)
        if problem:
            raise EscrowError(problem)
        if not self._secret():
            raise EscrowError(NO_VAULT_PASSWORD)

    def _secret(self):
        if not self.secrets:
            return None
        wanted = C.DEFAULT_VAULT_ENCRYPT_IDENTITY
        for vault_id, secret in self.secrets:
            if wanted and vault_id == wanted:
                return vault_id, secret
        return self.secrets[0]

    @contextlib.contextmanager
    def locked(self, host):
        """An exclusive lock per Mac across processes (two runs, or two forks, escrowing for one Mac)."""
        lock = os.path.join(self.dir, "." + _SAFE.sub("_", host) + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _keep(path, now):
        """Keep the file being replaced under a name nobody else can have taken: a hard link made exclusively."""
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        for n in range(1, 10000):
            kept = "%s.superseded-%s-%d-%d" % (path, stamp, os.getpid(), n) if n > 1 else "%s.superseded-%s" % (
                path, stamp)
            try:
                os.link(path, kept)  # fails when the name exists: never overwrites a kept key
                return kept
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        raise EscrowError("no free name to keep the replaced escrow file %s under; nothing was replaced" % path)

    def read(self, host):
        """The escrowed document for ``host``, or None when there is none."""
        path = escrow_path(self.dir, host)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except IOError:
            if os.path.exists(path):
                raise EscrowError("escrow file %s exists but cannot be read by the controller's user" % path)
            return None
        try:
            plain = VaultLib(self.secrets).decrypt(data)
        except Exception as exc:  # ansible-vault raises several types
            raise EscrowError("escrow file %s cannot be decrypted with the vault password(s) given (%s); run with "
                              "the vault password it was written with. Nothing was changed"
                              % (path, type(exc).__name__))
        doc = yaml_load(to_text(plain))
        if not isinstance(doc, dict) or not isinstance(doc.get("recovery_key"), str):
            raise EscrowError("escrow file %s decrypts but holds no recovery_key; move it aside and run again with "
                              "force=true to escrow a new key" % path)
        return doc

    def write(self, host, key, info):
        """Encrypt and write atomically; keep a replaced file. Returns the path."""
        vault_id, secret = self._secret()
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        doc = {"host": host, "recovery_key": key.strip(), "escrowed_at": now.isoformat()}
        for src, dest in (("SerialNumber", "serial_number"), ("HardwareUUID", "hardware_uuid"),
                          ("EnabledUser", "enabled_user"), ("EnabledDate", "enabled_date")):
            if info.get(src) is not None:
                doc[dest] = to_text(info[src])
        if info.get("Change"):
            doc["rotated"] = True
        plain = to_bytes(yaml_dump(doc, default_flow_style=False, sort_keys=True))
        data = VaultLib(self.secrets).encrypt(plain, secret=secret, vault_id=vault_id)
        path = escrow_path(self.dir, host)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".escrow-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            with self.locked(host):  # writers for one Mac take turns: no replaced key is ever lost
                self.superseded = self._keep(path, now) if os.path.exists(path) else None
                os.rename(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return path


def execute_quietly(action, module_name, module_args, task_vars):
    """Run a module whose raw output may hold a recovery key.

    At -vvv the connection plugin prints each command's raw stdout unless the play context says no_log;
    the raw output of these modules can hold the key before this plugin strips it, so the connection is
    told no_log for this call only. The task's own result and its no_log setting are unaffected.
    """
    contexts = [action._play_context]
    connection_context = getattr(action._connection, "_play_context", None)
    if connection_context is not None and connection_context is not action._play_context:
        contexts.append(connection_context)  # the connection holds its own copy, with the task's overrides
    saved = [c.no_log for c in contexts]
    for context in contexts:
        context.no_log = True
    try:
        return action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
    finally:
        for context, value in zip(contexts, saved):
            context.no_log = value


def revealed_note(escrow_dir, host, doc):
    """When, by whom and why the escrowed key ``doc`` was revealed (the ledger), or None: the escrowed key is used
    until a new one replaces it. Raises _ledger.LedgerError when the ledger cannot be read."""
    used = doc and _ledger.revealed(escrow_dir, host, fingerprint(doc["recovery_key"]))
    return _ledger.describe(used) if used else None


def record_escrow(escrow, host, key, replaced, task_vars, result):
    """The ledger's entry for a key just written to escrow; a ledger that cannot be written is a warning, since the
    key itself is kept."""
    who, job = _ledger.operator(task_vars)
    try:
        _ledger.append(escrow.dir, {"event": "escrowed", "host": host, "fingerprint": fingerprint(key),
                                    "replaces": replaced, "by": who, "job": job,
                                    "superseded_file": escrow.superseded}, secrets=[key])
    except _ledger.LedgerError as exc:
        result.setdefault("warnings", []).append("the key is escrowed and valid, but the ledger entry for it was not "
                                                 "written: %s" % exc)


def escrow_new_key(action, task_vars, escrow, result):
    """Escrow the key a module returned, read it back, validate it on the Mac; strip it from ``result``.

    Runs whenever the module returned a key, failed or not: a key that exists on a Mac is never dropped.
    """
    key = result.pop("recovery_key", None)
    info = result.pop("recovery_key_info", None) or {}
    if key is None:
        return result
    pending = result.pop("pending_fingerprint", None)
    host = task_vars.get("inventory_hostname", "localhost")
    replaced = wrote = None
    recover = ("the new key is valid on the Mac but is not escrowed; FileVault users can still unlock the Mac. Fix "
               "the cause and run macops.tokens.filevault_recovery_key with force=true to rotate and escrow a new key")
    try:
        # Says what is wrong in words; a key can come with no check before it (one an interrupted run left).
        escrow.check()
        current = escrow.read(host)
        if current and current.get("recovery_key") == key.strip():
            path = escrow_path(escrow.dir, host)  # collected again after a run that escrowed it but was cut off
        else:
            path = escrow.write(host, key, info)
            wrote, replaced = True, fingerprint(current["recovery_key"]) if current else None
        readback = escrow.read(host)
    except Exception as exc:  # the key must not leak into the message: only the exception's type and text
        return dict(result, failed=True, escrowed=False,
                    msg="writing the recovery key to escrow_dir failed (%s: %s); %s" % (type(exc).__name__, exc,
                                                                                        recover))
    if wrote:  # every key written is in the ledger, whether or not it then validates
        record_escrow(escrow, host, key, replaced, task_vars, result)
    if readback is None or readback.get("recovery_key") != key.strip():
        return dict(result, failed=True, escrowed=False, escrow_file=path,
                    msg="the escrow file %s did not read back the key just written; %s" % (path, recover))
    check = execute_quietly(
        action, "macops.tokens.filevault_recovery_key",
        dict({"escrow_dir": escrow.dir, "recovery_key": readback["recovery_key"], "validate_only": True,
              "timeout": action._task.args.get("timeout", 60)}, **({"confirm_pending": pending} if pending else {})),
        task_vars)
    result.update(escrow_file=path, key_fingerprint=fingerprint(key))
    if check.get("failed") or not check.get("valid"):
        return dict(result, failed=True, escrowed=False,
                    msg="the key read back from %s does not validate on the Mac (%s); %s" % (
                        path, check.get("msg") or "fdesetup validaterecovery said false", recover))
    result["escrowed"] = True
    if pending and not check.get("pending_cleared"):
        result.setdefault("warnings", []).append(
            "the key is escrowed and valid, but the Mac's copy kept for the handshake was not removed; the next run "
            "removes it")
    return result
