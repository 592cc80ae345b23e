# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: preflight_problems
short_description: What stops Ansible on a Mac, in words, from the preflight role's raw checks
version_added: 0.1.0
description:
  - Takes what the C(macops.tokens.preflight) role learnt about a Mac and returns one sentence per problem, each
    with the fix; an empty list when Ansible can work on the Mac.
  - The input is either the registered result of the role's raw check, or that of a
    M(macops.tokens.chain_of_trust_info) call that ran first. The raw check's output is marked C(macops-python),
    C(macops-sudo-ok) or C(macops-sudo-no), and, with the Full Disk Access check, C(macops-fda-check) followed by
    C(macops-filevault-off) where C(fdesetup status) says FileVault is off and by C(macops-fda-yes),
    C(macops-fda-no) or C(macops-fda-unknown) (no privacy database to read); separate results of each check may be
    given instead with O(sudo) and O(fda).
  - A reading (a result with C(mac)) proves that Python and C(sudo) work; its C(remote_login_full_disk_access)
    and FileVault state are judged as the raw check's marks are, when O(full_disk_access) is true. An
    unreachable result is reported as such. A failed or unreachable module call proves nothing (a Mac without
    the interpreter can close the channel while the module is sent), so the raw check runs then.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The check's registered result (with O(sudo), the Python check's alone), or a reading's.
    type: dict
    required: true
  sudo:
    description: A separate sudo check's registered result (V(null) - the input's C(macops-sudo-) line decides).
    type: dict
  fda:
    description:
      - A separate Full Disk Access check's registered result (V(null) - the input's C(macops-fda-) lines decide;
        skipped - not checked).
    type: dict
  interpreter:
    description: The interpreter that was checked.
    type: str
    required: true
  user:
    description: The SSH user.
    type: str
  full_disk_access:
    description: Whether Full Disk Access matters (a reading's is judged only then; the raw check's marks say it).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Work out what stops Ansible here
  ansible.builtin.set_fact:
    problems: "{{ python_check | macops.tokens.preflight_problems(sudo=sudo_check, fda=fda_check,
      interpreter='/usr/bin/python3') }}"

- name: Or from a chain_of_trust_info reading, FileVault to be enabled
  ansible.builtin.set_fact:
    problems: "{{ reading | macops.tokens.preflight_problems(interpreter='/usr/bin/python3', full_disk_access=true) }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem, with the fix.
  type: list
  elements: str
"""

import re

MIN_PYTHON = (3, 8)


def preflight_problems(python, sudo=None, fda=None, interpreter="/usr/bin/python3", user=None,
                       full_disk_access=False):
    python = python or {}
    if python.get("unreachable"):
        return ["unreachable over SSH: %s" % (python.get("msg") or "").strip()]
    if isinstance(python.get("mac"), dict):
        mac = python["mac"]
        filevault = mac.get("filevault") or {}
        # The reading's view of the raw check's "FileVault is Off." line: off, no restart pending.
        off = filevault.get("enabled") is False and not filevault.get("restart_pending")
        return [NO_FDA] if full_disk_access and _lacks_fda(off, mac.get("remote_login_full_disk_access")) else []
    problems = []
    text = "%s%s" % (python.get("stdout") or "", python.get("stderr") or "")
    found = re.search(r"macops-python (\d+)\.(\d+)", text)
    if "xcode-select" in text:
        problems.append("%s is the stub that only offers to install the Command Line Tools: install them "
                        "(xcode-select --install, or a package from your MDM), or point ansible_python_interpreter "
                        "at a managed Python" % interpreter)
    elif not found:
        problems.append("no working Python at %s (macOS 10.13 and 10.14 have no Python 3 unless a managed Python is "
                        "installed; 10.15 and later need the Command Line Tools): install one, or set "
                        "ansible_python_interpreter to a Python 3.8 or later" % interpreter)
    elif (int(found.group(1)), int(found.group(2))) < MIN_PYTHON:
        problems.append("Python %s.%s at %s is too old for ansible-core 2.19 (3.8 or later is needed): point "
                        "ansible_python_interpreter at a newer one" % (found.group(1), found.group(2), interpreter))
    if sudo is None:
        sudo_ok = "macops-sudo-ok" in text
    else:
        sudo_ok = not sudo.get("skipped") and sudo.get("rc") == 0
    if fda is None and "macops-fda-check" in text:
        fda = {"stdout": text.split("macops-fda-check", 1)[1]}
    if not sudo_ok:
        problems.append("sudo does not work without a password for %s: give the account passwordless sudo, or "
                        "provide ansible_become_password" % (user or "the SSH user"))
    if sudo_ok and fda and not fda.get("skipped"):
        out = fda.get("stdout") or ""
        access = True if "macops-fda-yes" in out else (None if "macops-fda-unknown" in out else False)
        if _lacks_fda("macops-filevault-off" in out, access):
            problems.append(NO_FDA)
    return problems


NO_FDA = ("Remote Login has no Full Disk Access, so FileVault cannot be enabled over SSH: turn on 'Allow full disk "
          "access for remote users' (System Settings > General > Sharing > Remote Login) or deploy a Privacy "
          "Preferences Policy Control profile for sshd-keygen-wrapper")


def _lacks_fda(filevault_off, access):
    """The one rule: Full Disk Access is a problem only where FileVault is off (it is needed to enable it) and
    reading the privacy database was refused (not where there is none to read)."""
    return bool(filevault_off) and access is False


class FilterModule(object):
    def filters(self):
        return {"preflight_problems": preflight_problems}
