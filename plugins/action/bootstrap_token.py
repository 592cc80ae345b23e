# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.bootstrap_token: keeps its passwords out of ansible-core's failed-task report."""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.plugin_utils._plain import PlainAction


class ActionModule(PlainAction):
    MODULE = "macops.tokens.bootstrap_token"
