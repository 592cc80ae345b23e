# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Keep secrets out of ansible-core's report of a failed task.

PRIVATE: this module is internal to macops.tokens and may change without notice.

When a task fails, ansible-core 2.19 prints the task's source with the error, at every verbosity: for a playbook
the task's lines in its file (templates, not values), for an ad-hoc command the task itself, arguments included
(``ansible -m macops.tokens.secure_token -a 'user_password=...'``). The module's ``no_log`` options protect its
result, not that report. So every action plugin of this collection masks the secret arguments in the task's source
(``Task.get_ds()``, a public method) before anything runs. Action plugins run in a worker process that works on its
own copy of the task, so the masking reaches only that report and changes nothing else.

This relies on the report being built from ``get_ds()``; ``tests/unit/plugins/plugin_utils/test_redact.py`` runs a
failing ad-hoc task through the pinned ansible-core and fails if a password reappears.
"""

from __future__ import annotations

MASK = "********"
SECRET_WORDS = ("password", "recovery_key", "passphrase", "secret")


def _secret(name):
    name = str(name).lower()
    return any(word in name for word in SECRET_WORDS)


def _mask_all(node):
    """Mask, in place, every string in ``node`` (the value of a secret's key: ``user_passwords: {bob: ...}``)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, (str, bytes)) and value:
            node[key] = MASK
        elif isinstance(value, (dict, list)):
            _mask_all(value)


def scrub(node):
    """Mask, in place, every string value whose key names a secret, at any depth, and every string inside a
    dict or list whose key names a secret. Returns ``node``."""
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if _secret(key) and isinstance(value, (str, bytes)) and value:
                node[key] = MASK
            elif _secret(key) and isinstance(value, (dict, list)):
                _mask_all(value)
            elif isinstance(value, (dict, list)):
                scrub(value)
    elif isinstance(node, list):
        for item in node:
            scrub(item)
    return node


def redact_task_source(task):
    """Mask the secrets in the source ansible-core quotes when ``task`` fails."""
    try:
        source = task.get_ds()
    except Exception:  # a task without a source has nothing to quote
        return
    scrub(source)
