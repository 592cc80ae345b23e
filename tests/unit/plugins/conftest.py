# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every unit test gets its own place for the Mac-side pending-key file, never the controller's /Library."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _pending


@pytest.fixture(autouse=True)
def pending_dir(tmp_path, monkeypatch):
    directory = tmp_path / "mac-library-macops.tokens"
    monkeypatch.setattr(_pending, "DIRECTORY", str(directory))
    return directory
