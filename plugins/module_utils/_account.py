# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Account checks that act on the Mac: a password check through dscl -authonly on a terminal.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Beware: while nobody holds a secure token, an authentication can itself grant the first
token (see _tokens.authentication_grants_first_token); callers decide when a check is safe.
"""

from __future__ import annotations

# macOS password prompts (readpassphrase: dscl -authonly, sysadminctl, profiles) take at most 128 bytes; a longer
# password typed there fails as if it were wrong (mkuser's tests on 10.13 to 12).
MAX_PROMPT_BYTES = 128


def password_ok(runner, name, password):
    """True when dscl accepts ``password`` for ``name``; the password is typed at dscl's prompt, never on argv.

    Success is exit 0 without a DS error: a refused password prints
    ``Authentication for node ... failed. (-14090, eDSAuthFailed)``.
    """
    result = runner.converse("dscl", ["/Local/Default", "-authonly", name], [(r":\s*$", password, True)])
    return result.rc == 0 and "DS Error" not in result.out and "eDSAuthFailed" not in result.out, result


def require_password(module, runner, name, password):
    """Fail the task, naming the account, when its password is refused; nothing has been changed yet."""
    ok, result = password_ok(runner, name, password)
    if not ok:
        module.fail_json(msg="the password given for %s is wrong: dscl -authonly refused it (nothing was changed)"
                             % name, cmd=result.command, rc=result.rc, stdout=result.out)
