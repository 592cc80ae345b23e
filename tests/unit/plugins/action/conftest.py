# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the action plugin tests (see harness.py)."""

from __future__ import annotations

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultSecret, VaultSecretsContext
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.macops.tokens.tests.unit.plugins.action.harness import VAULT_PASSWORD, Run


@pytest.fixture
def run_action(monkeypatch):
    """``run_action(plugin, args, script=(), check_mode=False, vault_password=...)``: a ``Run`` of that plugin.

    The vault secrets are where ansible-core 2.19 keeps them (``VaultSecretsContext``) and on the loader;
    ``vault_password=None`` is a run given no vault password.
    """
    if AnsibleCollectionConfig.collection_finder is None:  # pytest-ansible has usually installed it
        init_plugin_loader()

    def make(plugin, args, script=(), check_mode=False, vault_password=VAULT_PASSWORD):
        secrets = [("default", VaultSecret(vault_password))] if vault_password else []
        loader = DataLoader()
        loader.set_vault_secrets(secrets)
        monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext(secrets) if secrets else None)
        return Run(plugin, "macops.tokens." + plugin.__name__.rsplit(".", 1)[1], args, script, check_mode, loader)
    return make
