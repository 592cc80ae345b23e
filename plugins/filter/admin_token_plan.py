# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: admin_token_plan
short_description: How the administrator whose credentials were given gets a secure token on one Mac
version_added: 0.1.0
description:
  - From a Mac's C(chain_of_trust_info) reading, decides whether the administrator already holds a token, gets the
    first one (nobody holds a token), gets one from a standard token holder promoted for the grant (only standard
    users hold one, and one of their passwords is known), or cannot get one here, with the next step.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: The C(mac) part of the module's result.
    type: dict
    required: true
  admin:
    description: The administrator's short name.
    type: str
    required: true
  have_password:
    description: Whether the administrator's password was given.
    type: bool
    required: true
  known:
    description: Short names whose passwords are known.
    type: list
    elements: str
  promote:
    description: Whether a standard token holder may be promoted for the grant.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Plan the administrator's token
  ansible.builtin.set_fact:
    plan: "{{ audit_trust.mac | macops.tokens.admin_token_plan(admin='macadmin', have_password=true,
      known=['student']) }}"
"""

RETURN = r"""
_value:
  description:
    - C(action) (V(none), V(grant) or V(left)); for V(grant) C(grantor), C(grantor_is_admin), C(promote) and C(how);
      for V(left) C(detail) and C(next_step).
  type: dict
"""


def _left(detail, next_step):
    return {"action": "left", "detail": detail, "next_step": next_step}


def admin_token_plan(mac, admin, have_password, known=None, promote=True):
    if not admin or not have_password:
        return _left("no administrator credentials given",
                     "set macops_admin_user and macops_admin_password (an AWX credential or ansible-vault)")
    users = mac.get("users") or []
    me = [u for u in users if u["name"] == admin]
    if not me:
        return _left("administrator %s is not an account on this Mac" % admin,
                     "create it, or give another administrator in macops_admin_user")
    if me[0]["secure_token"]:
        return {"action": "none"}
    holders = [u for u in users if u["secure_token"]]
    if not holders:
        return {"action": "grant", "grantor": admin, "grantor_is_admin": True, "promote": False,
                "how": "first token (nobody held one)"}
    admins = [u["name"] for u in holders if u["admin"]]
    if admins:
        return _left("administrator %s holds no token, but %s do" % (admin, ", ".join(admins)),
                     "give the credentials of a token-holding administrator in macops_admin_user")
    standard = [u["name"] for u in holders]
    able = [name for name in standard if name in (known or [])]
    if able and promote:
        return {"action": "grant", "grantor": able[0], "grantor_is_admin": False, "promote": True,
                "how": "from standard token holder %s, promoted for the grant" % able[0]}
    return _left("only standard users hold a token (%s) and none of their passwords is known" % ", ".join(standard),
                 "add one of their passwords to macops_user_passwords, or have that user grant a token to %s" % admin)


class FilterModule(object):
    def filters(self):
        return {"admin_token_plan": admin_token_plan}
