# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the action plugin tests share: a real task, a scripted Mac in place of ``_execute_module``, a vault.

The task is built the way a play builds it (``Play.load``, then ``post_validate`` with a template engine), so the
plugin sees the same ``Task`` object, arguments and source (``get_ds()``) as under ansible-core; only the module
run is replaced. ``Mac`` answers each module call from a script, in order, and records what reached it.
"""

from __future__ import annotations

import copy
import types

from ansible.module_utils.common.yaml import yaml_load
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.playbook.play import Play
from ansible.playbook.play_context import PlayContext
from ansible.template import Templar
from ansible._internal._templating._engine import TemplateEngine  # what TaskExecutor post-validates a task with

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import Escrow, fingerprint

VAULT_PASSWORD = b"unit-vault-secret"  # of the run
NO_LOG_VALUE = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# The options the modules declare no_log (AnsibleModule masks them in ``invocation``).
NO_LOG_OPTIONS = ("password", "user_password", "admin_password", "user_passwords", "recovery_key")
HOST = "mac-01"


def masked(node):
    """``module_args`` as AnsibleModule reports them in ``invocation``: no_log options masked."""
    if isinstance(node, dict):
        return dict((k, NO_LOG_VALUE if k in NO_LOG_OPTIONS and v is not None else masked(v)) for k, v in node.items())
    if isinstance(node, list):
        return [masked(item) for item in node]
    return node


class Mac(object):
    """Stands in for ``ActionBase._execute_module``: each call takes the next ``(module, answer)`` of the script.

    ``answer`` is a result dict, an exception to raise, or a callable taking the module args and returning either.
    A result gets the ``invocation`` a real module run returns (no_log options masked), unless it has one.
    """

    def __init__(self, action, script):
        self.action, self.script, self.calls = action, list(script), []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        quiet = (self.action._play_context.no_log, self.action._connection._play_context.no_log)
        self.calls.append(types.SimpleNamespace(module=module_name, args=copy.deepcopy(module_args), quiet=quiet,
                                                task_vars=task_vars))
        if not self.script:
            raise AssertionError("unexpected call of %s with %r" % (module_name, masked(module_args)))
        expected, answer = self.script.pop(0)
        assert module_name == expected, "called %s, the script expected %s" % (module_name, expected)
        if callable(answer):
            answer = answer(module_args)
        if isinstance(answer, BaseException):
            raise answer
        result = copy.deepcopy(answer)
        result.setdefault("invocation", {"module_args": masked(module_args)})
        return result


class Run(object):
    """One action plugin run: the action, its task and the scripted Mac."""

    def __init__(self, plugin, action_name, args, script, check_mode, loader):
        ds = {"name": "unit", action_name: copy.deepcopy(args)}
        if check_mode:
            ds["check_mode"] = True
        play = Play.load({"hosts": "all", "gather_facts": False, "tasks": [ds]}, loader=loader, variable_manager=None)
        task = next(t for b in play.compile() for t in b.block if t.action == action_name).copy()
        task.post_validate(templar=TemplateEngine(loader=loader, variables={}))
        self.task, self.task_vars = task, {"inventory_hostname": HOST}
        self.play_context = PlayContext()
        self.connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir=None),
                                                _play_context=PlayContext())
        self.action = plugin.ActionModule(task, self.connection, self.play_context, loader,
                                          Templar(loader=loader, variables={}), None)
        self.mac = Mac(self.action, script)
        self.action._execute_module = self.mac

    def __call__(self):
        return self.action.run(task_vars=self.task_vars)

    @property
    def calls(self):
        return self.mac.calls

    def source_args(self):
        """The task's arguments in the source ansible-core quotes when the task fails."""
        ds = self.task.get_ds()
        return ds.get("args") or ds[next(k for k in ds if k.startswith("macops.tokens."))]


def assert_no_secret(shown, secrets):
    """None of ``secrets`` anywhere in ``shown`` (a result, a message, an exception's text)."""
    text = repr(shown)
    for secret in secrets:
        at = text.find(secret)
        assert at < 0, "a secret is shown: ...%s..." % text[max(0, at - 200):at + 50]


def escrowed_key(directory, name, password=VAULT_PASSWORD):
    """The recovery key held by escrow file ``name`` in ``directory``."""
    data = (directory / name).read_bytes()
    assert data.startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    return yaml_load(VaultLib([("default", VaultSecret(password))]).decrypt(data).decode())["recovery_key"]


def visible_files(directory):
    """The escrow files in ``directory`` (the ledger is checked on its own: ``ledger``)."""
    return sorted(n for n in (p.name for p in directory.iterdir()) if not n.startswith(".") and n != _ledger.LEDGER)


def ledger(directory):
    """The ledger's entries as (event, host, fingerprint, replaces), and that no key is in it."""
    path = directory / _ledger.LEDGER
    if path.exists():
        assert path.stat().st_mode & 0o777 == 0o600
        assert_no_secret(path.read_text(), [OLD_KEY, NEW_KEY])
    return [(e["event"], e["host"], e["fingerprint"], e.get("replaces")) for e in _ledger.entries(str(directory))]


def all_strings(node):
    """Every string value in ``node``, at any depth."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in all_strings(v)]
    return [node] if isinstance(node, str) else []


def check_plain_run(run, module, args, answer, secrets):
    """A PlainAction run: the module gets the task's arguments as given (secrets included), its result comes back
    as it is, and the quoted source holds none of the secrets."""
    result = run()
    (call,) = run.calls
    assert call.module == module and call.args == args
    assert call.task_vars == run.task_vars
    assert call.quiet == (False, False)  # nothing of these modules' raw output needs hiding from -vvv
    assert result == dict(answer, invocation={"module_args": masked(args)})
    assert_no_secret(result, secrets)
    assert_no_secret(run.task.get_ds(), secrets)
    assert run.task.args == args  # the masking reached the quoted source only
    return result


# The recovery keys of the filevault tests (the published fdesetup samples' keys) and the password of the
# FileVault user authorising a change.
OLD_KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"
NEW_KEY = "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"
USER_PW = "Alice <&> FileVault-Pw-9921"
SECRETS = (OLD_KEY, NEW_KEY, USER_PW)
KEY_INFO = {"SerialNumber": "C02XXXX", "HardwareUUID": "F6329A14-0000", "EnabledUser": "alice",
            "EnabledDate": "2026-01-01 10:00:00 +0000"}
ESCROW_NAME = HOST + ".recovery-key.vault"


def with_key(result, key=NEW_KEY, pending=True, **info):
    """A module result carrying a new key for the action plugin (as _filevault.run_keeping_key leaves it)."""
    out = dict(result, recovery_key=key, recovery_key_info=dict(KEY_INFO, **info))
    if pending:
        out["pending_fingerprint"] = fingerprint(key)
    return out


def validated(valid=True, cleared=True, **extra):
    """The answer of the validate_only call the plugin makes after writing the key."""
    out = {"changed": False, "escrowed": False, "valid": valid,
           "reason": "validated the key given" if valid else "the key given does not validate"}
    if cleared is not None:
        out["pending_cleared"] = cleared
    out.update(extra)
    return out


def validate_args(directory, key=NEW_KEY, pending=True, timeout=60):
    """What the plugin's validate_only call must send: the key read back, and the handshake's fingerprint."""
    args = {"escrow_dir": str(directory), "recovery_key": key, "validate_only": True, "timeout": timeout}
    if pending:
        args["confirm_pending"] = fingerprint(key)
    return args


def pre_escrow(directory, key=OLD_KEY, password=VAULT_PASSWORD):
    """An escrow file written by an earlier run (with ``password``)."""
    escrow = Escrow(None, str(directory))
    escrow.secrets = [("default", VaultSecret(password))]
    escrow.write(HOST, key, KEY_INFO)


def assert_no_key_or_password(run, result):
    """No key and no password in the result, in the quoted task, or in the no_log state left behind."""
    assert_no_secret(result, SECRETS)
    assert_no_secret(run.task.get_ds(), SECRETS)
    assert run.play_context.no_log is False and run.connection._play_context.no_log is False  # restored
    assert all(call.quiet == (True, True) for call in run.calls), [c.quiet for c in run.calls]


HANDSHAKE = ("the key is escrowed and valid, but the Mac's copy kept for the handshake was not removed; the next run "
             "removes it")


def handshake_warnings(result):
    return [w for w in result.get("warnings", []) if "handshake" in w]
