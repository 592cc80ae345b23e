# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/ learns about the Mac only from Apple's tools: never from the interpreter or from Ansible facts."""

from __future__ import annotations

import os
import re

import pytest

PLUGINS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins")
FORBIDDEN = [
    (re.compile(r"\bsys\.platform\b"), "sys.platform describes the interpreter's build, not the Mac"),
    (re.compile(r"^\s*(import platform|from platform import)", re.M), "the platform module describes the interpreter"),
    (re.compile(r"\bplatform\.(mac_ver|machine|system|uname|release|version|processor)\("), "platform APIs"),
    (re.compile(r"\bos\.uname\("), "os.uname() describes the interpreter's view, not the Mac"),
    (re.compile(r"\bansible_facts\b|\bansible_(distribution|architecture|machine|os_family)\b"), "Ansible facts"),
    (re.compile(r"get_bin_path\(\s*['\"](sysadminctl|fdesetup|profiles|diskutil|dscl)"),
     "Apple's tools are called at their absolute paths, never looked up on PATH"),
]


def _sources():
    for root, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(root, name)


def test_there_are_sources_to_check():
    assert len(list(_sources())) >= 8


@pytest.mark.parametrize("pattern,why", FORBIDDEN, ids=[entry[1] for entry in FORBIDDEN])
def test_plugins_never_ask_the_interpreter_about_the_mac(pattern, why):
    offenders = []
    for path in _sources():
        with open(path) as handle:
            if pattern.search(handle.read()):
                offenders.append(os.path.relpath(path, PLUGINS))
    assert offenders == [], why
