# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mobile_account_plan
short_description: How each AD mobile account without a secure token gets one on one Mac
version_added: 0.1.0
description:
  - From a Mac's C(chain_of_trust_info) reading, returns per mobile account without a token one of V(at_login) (the
    bootstrap token is supported and escrowed, and macOS grants at login, on 11 and later, or on 10.15 when enrolled
    through Automated Device Enrollment), V(grant) (the password is known and an administrator can grant now),
    V(predict) (the same, in check mode, after a predicted administrator token), or V(left) with the next step.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the module's result.
    type: dict
    required: true
  known:
    description: Short names whose passwords are known.
    type: list
    elements: str
  escrowed_now:
    description: Whether the bootstrap token was escrowed (or predicted to be) earlier in this run.
    type: bool
    default: false
  admin_ready:
    description: Whether a token-holding administrator can grant now.
    type: bool
    default: false
  admin_predicted:
    description: Whether the administrator is predicted to hold a token (check mode).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan the mobile accounts
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.mobile_account_plan(known=['jdoe'], admin_ready=true) }}"
"""

RETURN = r"""
_value:
  description: A list of C(name), C(action) and, for V(left), C(next_step).
  type: list
  elements: dict
"""


def grants_at_login(mac, escrowed_now=False):
    bt = mac.get("bootstrap_token") or {}
    mdm = mac.get("mdm") or {}
    version = tuple(mac["os"]["version_tuple"])
    escrowed = bool(bt.get("escrowed")) or escrowed_now
    return bool(bt.get("supported")) and escrowed and (version >= (11,) or (version[:2] == (10, 15) and mdm.get("dep")))


def mobile_account_plan(mac, known=None, escrowed_now=False, admin_ready=False, admin_predicted=False):
    known = known or []
    at_login = grants_at_login(mac, escrowed_now)
    bt = mac.get("bootstrap_token") or {}
    mdm = mac.get("mdm") or {}
    version = tuple(mac["os"]["version_tuple"])
    plan = []
    for user in mac.get("users") or []:
        if user.get("kind") != "mobile" or user.get("secure_token") is not False:
            continue
        name = user["name"]
        if at_login:
            plan.append({"name": name, "action": "at_login"})
        elif name in known and (admin_ready or admin_predicted):
            plan.append({"name": name, "action": "grant" if admin_ready else "predict"})
        elif name in known:
            plan.append({"name": name, "action": "left",
                         "next_step": "give the credentials of a token-holding administrator in macops_admin_user"})
        elif bt.get("supported"):
            extra = ""
            if version < (11,) and not mdm.get("dep"):
                extra = ", and upgrade to macOS 11 or enroll through Automated Device Enrollment"
            plan.append({"name": name, "action": "left",
                         "next_step": "escrow the bootstrap token so the MDM grants it at the next graphical login%s; "
                                      "or add its password to macops_user_passwords" % extra})
        else:
            why = "the MDM server lacks the capability" if mdm.get("enrolled") else "the Mac is not enrolled in an MDM"
            plan.append({"name": name, "action": "left",
                         "next_step": "add its password to macops_user_passwords and run again (no bootstrap token "
                                      "is available here: %s)" % why})
    return plan


class FilterModule(object):
    def filters(self):
        return {"mobile_account_plan": mobile_account_plan}
