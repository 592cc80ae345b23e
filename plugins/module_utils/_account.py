# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Account checks that act on the Mac: a password check through dscl -authonly on a terminal.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Beware: while nobody holds a secure token, an authentication can itself grant the first
token (see _rules.authentication_grants_first_token); callers decide when a check is safe.
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils._change import ChangeError

# macOS password prompts (readpassphrase: dscl -authonly, sysadminctl, profiles) take at most 128 bytes; a longer
# password typed there fails as if it were wrong (mkuser's tests on 10.13 to 12).
MAX_PROMPT_BYTES = 128
# What any of Apple's command-line tools accepts at all: sysadminctl reads each password as one line from stdin, at
# most 1023 bytes for the account and 1022 for the granting administrator on 10.14 and later; no secure prompt
# takes 1024 bytes or more (mkuser's tests, 10.13 to 12). Longer passwords exist (the login window takes them), but
# no tool this collection drives can be given one.
MAX_TOOL_BYTES = 1022


def password_problem(password):
    """Why ``password`` cannot be handed to Apple's tools, or None. Never echoes the password."""
    if password is None:
        return None
    if any(c in password for c in "\n\r\0"):
        return ("it contains a line break or NUL character, which no macOS password prompt or stdin-reading tool "
                "can take (they read one line); set a password without one on the Mac")
    size = len(password.encode("utf-8"))
    if size > MAX_TOOL_BYTES:
        return ("it is %d bytes long, and macOS's command-line tools take at most %d (the login window takes longer "
                "ones, the tools do not); use a shorter password for this account, or make the change at the Mac"
                % (size, MAX_TOOL_BYTES))
    return None


def refuse_unusable_passwords(module, named):
    """Fail before anything runs when a password cannot be used; ``named`` is (option, account, password)."""
    for option, account, password in named:
        problem = password_problem(password)
        if problem:
            module.fail_json(msg="%s (for %s) cannot be used: %s. Nothing was changed" % (option, account, problem))


def password_ok(runner, name, password):
    """True when dscl accepts ``password`` for ``name``; the password is typed at dscl's prompt, never on argv.

    Success is exit 0 without a DS error: a refused password prints
    ``Authentication for node ... failed. (-14090, eDSAuthFailed)``.
    """
    result = runner.converse("dscl", ["/Local/Default", "-authonly", name], [(r":\s*$", password, True)])
    return result.rc == 0 and "DS Error" not in result.out and "eDSAuthFailed" not in result.out, result


LONG_PASSWORD = ("the password of %s is longer than the %d bytes a macOS password prompt takes, so it was not "
                 "checked beforehand; the change is verified by reading the Mac again")


def check_password(runner, name, password):
    """``(problem, result, checked)``: why ``password`` of ``name`` cannot be used or was refused (else None), the
    dscl run that refused it (else None), and whether it was checked at all: a password longer than a prompt takes
    cannot be checked there (it would be refused as if wrong), and is left to the tool that uses it."""
    problem = password_problem(password)
    if problem:
        return "the password given for %s cannot be used: %s" % (name, problem), None, False
    if len(password.encode("utf-8")) > MAX_PROMPT_BYTES:
        return None, None, False
    ok, result = password_ok(runner, name, password)
    return (None if ok else "the password given for %s is wrong: dscl -authonly refused it" % name), result, True


def require_password(module, runner, name, password):
    """Raise ChangeError, naming the account, when its password is refused; nothing has been changed yet. An
    unchecked (too long) password is warned about; the tool that uses it is verified by re-reading the Mac."""
    problem, result, checked = check_password(runner, name, password)
    if problem and result is None:
        raise ChangeError(problem + ". Nothing was changed")
    if problem:
        raise ChangeError(problem + " (nothing was changed)", cmd=result.command, rc=result.rc, stdout=result.out)
    if not checked:
        module.warn(LONG_PASSWORD % (name, MAX_PROMPT_BYTES))
