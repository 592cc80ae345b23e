# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: password_map
short_description: The user-password map as a mapping, whether it came as one or as YAML/JSON text
version_added: 0.2.0
description:
  - C(macops_user_passwords) maps short names to passwords. From an inventory or ansible-vault it is a mapping; from
    an AWX credential it arrives as one string (an AWX credential field holds text only), the mapping written as
    YAML or JSON. This filter returns the mapping in both cases, and an empty one for an empty or missing value.
  - A value that is not a mapping of names to passwords fails with a message that names only the types found, never
    the text, which holds passwords.
author:
  - macops.tokens maintainers (@macops)
options:
  _input:
    description: A mapping, a YAML or JSON text of one, or nothing.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Grant tokens with the passwords known, however they were given
  macops.tokens.secure_token:
    users: "{{ (macops_user_passwords | macops.tokens.password_map).keys() | list }}"
    user_passwords: "{{ macops_user_passwords | macops.tokens.password_map }}"
    admin_user: "{{ macops_admin_user }}"
    admin_password: "{{ macops_admin_password }}"
"""

RETURN = r"""
_value:
  description: Short name to password.
  type: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

HINT = ("macops_user_passwords must be a mapping of short name to password, or that mapping written as YAML or JSON "
        "text (as an AWX credential gives it)")


def password_map(value):
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value  # as given: values may be vault-encrypted, decrypted only where they are used
    if not isinstance(value, str):
        raise AnsibleFilterError("%s; got %s" % (HINT, type(value).__name__))
    if not value.strip():
        return {}
    try:
        parsed = yaml.safe_load(str(value))
    except yaml.YAMLError:
        # The parser's message quotes the text around the error, and the text is passwords: say only where to look.
        raise AnsibleFilterError("%s; the text given is not valid YAML or JSON (its content is not shown: it holds "
                                 "passwords)" % HINT) from None
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise AnsibleFilterError("%s; the text given holds a %s, not a mapping" % (HINT, type(parsed).__name__))
    bad = sorted({type(k).__name__ for k in parsed if not isinstance(k, str)}
                 | {type(v).__name__ for v in parsed.values() if not isinstance(v, str)})
    if bad:
        raise AnsibleFilterError("%s; every name and every password must be a string (quote numbers and "
                                 "true/false), found %s" % (HINT, ", ".join(bad)))
    return dict(parsed)


class FilterModule(object):
    def filters(self):
        return {"password_map": password_map}
