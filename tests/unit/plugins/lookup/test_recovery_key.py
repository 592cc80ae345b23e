# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The recovery_key lookup: the ledger entry first, then the key; no entry, no key; no key in any message."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultSecret, VaultSecretsContext
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import Escrow, fingerprint

KEY = "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"
VAULT = b"unit-vault-secret"


@pytest.fixture
def reveal(monkeypatch, tmp_path):
    """``reveal(host, variables=None, vault=VAULT, **options)``: the lookup's value, on an escrow holding mac-01."""
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()
    escrow = Escrow(None, str(tmp_path))
    escrow.secrets = [("default", VaultSecret(VAULT))]
    escrow.write("mac-01", KEY, {})

    def run(host, variables=None, vault=VAULT, **options):
        secrets = [("default", VaultSecret(vault))] if vault else []
        loader = DataLoader()
        loader.set_vault_secrets(secrets)
        monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(secrets) if secrets else None)
        lookup = lookup_loader.get("macops.tokens.recovery_key", loader=loader)
        return lookup.run([host], variables=variables or {}, **dict({"escrow_dir": str(tmp_path)}, **options))
    return run


def test_reveal_records_who_when_why_and_the_job_then_returns_the_key(reveal, tmp_path):
    got = reveal("mac-01", {"awx_user_name": "helpdesk1", "awx_job_id": 42}, reason="INC-4711: locked out")
    assert got == [KEY]
    (entry,) = _ledger.entries(str(tmp_path))
    assert {k: v for k, v in entry.items() if k != "at"} == {
        "event": "revealed", "host": "mac-01", "fingerprint": fingerprint(KEY), "by": "helpdesk1", "job": "42",
        "reason": "INC-4711: locked out"}
    assert KEY not in (tmp_path / _ledger.LEDGER).read_text()
    assert _ledger.revealed(str(tmp_path), "mac-01", fingerprint(KEY)) == entry
    reveal("mac-01", reason="again", operator="carol")
    assert [e["by"] for e in _ledger.entries(str(tmp_path))] == ["helpdesk1", "carol"]  # every reveal is recorded


@pytest.mark.parametrize("host,options,vault,prepare,message", [
    ("mac-01", {"reason": "  "}, VAULT, None, "reason is required and was empty"),
    ("mac-02", {"reason": "INC-1"}, VAULT, None, "no recovery key is escrowed for mac-02 in"),
    ("mac-01", {"reason": "INC-1"}, None, None, "needs a vault password"),
    ("mac-01", {"reason": "INC-1"}, b"wrong", None, "cannot be decrypted with the vault password"),
    ("mac-01", {"reason": "INC-1"}, VAULT, "ledger-unwritable", "cannot open the ledger"),
], ids=["no-reason", "not-escrowed", "no-vault-password", "wrong-vault-password", "ledger-unwritable"])
def test_nothing_is_revealed_without_a_ledger_entry(reveal, tmp_path, host, options, vault, prepare, message):
    if prepare == "ledger-unwritable":
        (tmp_path / _ledger.LEDGER).mkdir()  # a directory where the ledger should be: it cannot be opened
    with pytest.raises(AnsibleLookupError, match=message) as raised:
        reveal(host, vault=vault, **options)
    assert KEY not in str(raised.value)
    if prepare is None:
        assert _ledger.entries(str(tmp_path)) == []
