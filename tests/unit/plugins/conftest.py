# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every unit test gets its own place for the Mac-side pending-key file, never the controller's /Library, and the
``harness`` fixture: a module's main() run against one fake Mac."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _pending, _runner
from ansible_collections.macops.tokens.tests.unit.plugins.harness import Harness


@pytest.fixture(autouse=True)
def pending_dir(tmp_path, monkeypatch):
    directory = tmp_path / "mac-library-macops.tokens"
    monkeypatch.setattr(_pending, "DIRECTORY", str(directory))
    return directory


@pytest.fixture(autouse=True)
def stays_on_its_terminal(monkeypatch):
    """Modules run in pytest's own process here: leaving the terminal would take pytest off it (test_runner.py
    tests ``detach_from_terminal`` in a child of its own)."""
    monkeypatch.setattr(_runner, "detach_from_terminal", lambda: False)


@pytest.fixture
def harness(monkeypatch, capsys, tmp_path):
    """Runs a module's main() in-process against a fake Mac (tests/unit/plugins/harness.py)."""
    return Harness(monkeypatch, capsys, tmp_path)
