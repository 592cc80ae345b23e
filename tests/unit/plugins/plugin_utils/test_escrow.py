# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side escrow: encrypted, 0600, atomic, read back, never losing a key, never leaking it."""

from __future__ import annotations

import os
import stat

import pytest

from ansible.parsing.vault import VaultSecret

from ansible_collections.macops.tokens.plugins.plugin_utils import _escrow

KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"
INFO = {"SerialNumber": "C02XXXX", "HardwareUUID": "F6329A14-0000", "EnabledUser": "alice",
        "EnabledDate": "2026-01-01 10:00:00 +0000"}


class Loader(object):
    def __init__(self, password=b"unit-vault-secret"):
        class Vault(object):
            secrets = [("default", VaultSecret(password))] if password else []
        self._vault = Vault()


def test_write_read_back_mode_and_ciphertext(tmp_path):
    escrow = _escrow.Escrow(Loader(), str(tmp_path))
    escrow.check()
    path = escrow.write("mac-01", KEY, INFO)
    assert path == str(tmp_path / "mac-01.recovery-key.vault")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = open(path, "rb").read()
    assert data.startswith(b"$ANSIBLE_VAULT;1.1;AES256") and KEY.encode() not in data
    doc = escrow.read("mac-01")
    assert doc["recovery_key"] == KEY and doc["serial_number"] == "C02XXXX" and doc["enabled_user"] == "alice"
    assert sorted(os.listdir(tmp_path)) == [".mac-01.lock", "mac-01.recovery-key.vault"]
    assert os.path.getsize(tmp_path / ".mac-01.lock") == 0


def test_a_replaced_key_is_kept(tmp_path):
    escrow = _escrow.Escrow(Loader(), str(tmp_path))
    escrow.write("mac-01", KEY, INFO)
    escrow.write("mac-01", "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A", dict(INFO, Change=True))
    escrow.write("mac-01", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", INFO)
    names = sorted(n for n in os.listdir(tmp_path) if not n.startswith("."))
    assert names[0] == "mac-01.recovery-key.vault" and len(names) == 3
    kept = [_escrow.VaultLib(Loader()._vault.secrets).decrypt(open(tmp_path / n, "rb").read()) for n in names[1:]]
    assert any(KEY.encode() in k for k in kept) and any(b"77CW" in k for k in kept)
    assert escrow.read("mac-01")["recovery_key"] == "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"


def test_writers_for_one_mac_in_the_same_second_lose_no_key(tmp_path):
    """Defect 4: concurrent writers once picked the same .superseded name and one key replaced another (the loss
    needs a tight interleaving, so the race is run many times, each round with writers released at once)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")

    def writer(directory, key, start):
        start.wait()
        _escrow.Escrow(Loader(), directory).write("mac-01", key, INFO)

    for round_ in range(12):
        directory = tmp_path / ("round-%d" % round_)
        directory.mkdir()
        escrow = _escrow.Escrow(Loader(), str(directory))
        escrow.write("mac-01", KEY, INFO)
        keys = ["%02d%02d-BBBB-CCCC-DDDD-EEEE-FFFF" % (round_, n) for n in range(8)]
        start = context.Event()
        procs = [context.Process(target=writer, args=(str(directory), k, start)) for k in keys]
        for proc in procs:
            proc.start()
        start.set()
        for proc in procs:
            proc.join(30)
            assert proc.exitcode == 0
        names = [n for n in os.listdir(directory) if not n.startswith(".")]
        held = {_escrow.yaml_load(_escrow.VaultLib(Loader()._vault.secrets).decrypt(
            open(directory / n, "rb").read()).decode())["recovery_key"] for n in names}
        assert held == set(keys) | {KEY} and len(names) == len(keys) + 1, (round_, sorted(held))


def test_host_names_cannot_escape_the_directory(tmp_path):
    escrow = _escrow.Escrow(Loader(), str(tmp_path))
    path = escrow.write("../../etc/passwd", KEY, INFO)
    assert os.path.dirname(path) == str(tmp_path) and os.path.basename(path) == ".._.._etc_passwd.recovery-key.vault"


@pytest.mark.parametrize("make,password,message", [
    (lambda p: None, b"x", "escrow_dir is required"),
    (lambda p: "relative/dir", b"x", "must be an absolute path"),
    (lambda p: str(p / "missing"), b"x", "does not exist on the controller"),
    (str, None, "needs a vault password"),
])
def test_check_names_what_is_wrong(tmp_path, make, password, message):
    with pytest.raises(_escrow.EscrowError) as caught:
        _escrow.Escrow(Loader(password), make(tmp_path)).check()
    assert message in str(caught.value)


def test_unreadable_or_foreign_files_are_named(tmp_path):
    _escrow.Escrow(Loader(b"one"), str(tmp_path)).write("mac-01", KEY, INFO)
    with pytest.raises(_escrow.EscrowError) as caught:
        _escrow.Escrow(Loader(b"two"), str(tmp_path)).read("mac-01")
    assert "cannot be decrypted with the vault password" in str(caught.value) and KEY not in str(caught.value)
    assert _escrow.Escrow(Loader(b"one"), str(tmp_path)).read("mac-02") is None


class FakeAction(object):
    """Just what escrow_new_key uses of an action plugin."""

    def __init__(self, valid=True):
        self.valid, self.calls = valid, []

        class Task(object):
            args = {"timeout": 30}

        class Context(object):
            no_log = False

        self._task, self._play_context, self._connection = Task(), Context(), None

    def _execute_module(self, module_name, module_args, task_vars):
        self.calls.append((module_name, dict(module_args), self._play_context.no_log))
        return {"changed": False, "valid": self.valid}


def test_escrow_new_key_strips_the_key_and_validates_the_read_back(tmp_path):
    action = FakeAction()
    escrow = _escrow.Escrow(Loader(), str(tmp_path))
    result = _escrow.escrow_new_key(action, {"inventory_hostname": "mac-01"}, escrow,
                                    {"changed": True, "recovery_key": KEY, "recovery_key_info": INFO})
    assert result == {"changed": True, "escrowed": True, "escrow_file": str(tmp_path / "mac-01.recovery-key.vault"),
                      "key_fingerprint": _escrow.fingerprint(KEY)}
    (name, args, quiet), = action.calls
    assert name == "macops.tokens.filevault_recovery_key" and args["recovery_key"] == KEY and args["validate_only"]
    assert quiet is True and action._play_context.no_log is False  # quiet for that call only


def test_escrow_new_key_failures_never_show_the_key(tmp_path, monkeypatch):
    bad = FakeAction(valid=False)
    escrow = _escrow.Escrow(Loader(), str(tmp_path))
    result = _escrow.escrow_new_key(bad, {"inventory_hostname": "mac-01"}, escrow, {"recovery_key": KEY})
    assert result["failed"] and "does not validate on the Mac" in result["msg"] and KEY not in str(result)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_escrow.tempfile, "mkstemp", full_disk)
    result = _escrow.escrow_new_key(FakeAction(), {"inventory_hostname": "mac-02"}, escrow, {"recovery_key": KEY})
    assert not os.path.exists(tmp_path / "mac-02.recovery-key.vault")
    assert "No space left on device" in result["msg"]
    assert result["failed"] and "writing the recovery key to escrow_dir failed" in result["msg"]
    assert "force=true" in result["msg"] and KEY not in str(result)


def test_no_key_no_escrow(tmp_path):
    result = {"changed": False}
    assert _escrow.escrow_new_key(FakeAction(), {}, _escrow.Escrow(Loader(), str(tmp_path)), result) is result
    assert os.listdir(tmp_path) == []
