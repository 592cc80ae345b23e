# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Full Disk Access probe: reading the system privacy database, the only sign of the right a process has."""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils import _mac


def test_a_readable_database_means_full_disk_access(tmp_path):
    db = tmp_path / "TCC.db"
    db.write_bytes(b"SQLite format 3\x00")
    assert _mac.full_disk_access(str(db)) is True


def test_a_refused_open_means_none(tmp_path):
    # Opening a directory fails as the refused database does (an OSError), whoever runs the test (root included).
    assert _mac.full_disk_access(str(tmp_path)) is False


def test_no_database_tells_nothing(tmp_path):
    assert _mac.full_disk_access(str(tmp_path / "absent" / "TCC.db")) is None


def test_the_probe_reads_the_system_database_path():
    assert _mac.TCC_DB == "/Library/Application Support/com.apple.TCC/TCC.db"
