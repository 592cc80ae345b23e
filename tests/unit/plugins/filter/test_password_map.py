# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""macops_user_passwords as a mapping (inventory, vault) or as the text an AWX credential field gives."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.macops.tokens.plugins.filter.password_map import password_map


@pytest.mark.parametrize("given", [None, "", "  \n", "---\n", {}])
def test_nothing_given_is_an_empty_map(given):
    assert password_map(given) == {}


def test_a_mapping_is_returned_as_it_is():
    given = {"labuser": "lab-pw"}
    assert password_map(given) is given


@pytest.mark.parametrize("text", ['{"labuser": "lab-pw", "teacher": "t: 1"}', "labuser: lab-pw\nteacher: 't: 1'\n"])
def test_json_and_yaml_text_give_the_mapping(text):
    assert password_map(text) == {"labuser": "lab-pw", "teacher": "t: 1"}


@pytest.mark.parametrize("text,says", [
    ('{"labuser": "secret-one", ', "not valid YAML or JSON"),
    ("- secret-one\n- secret-two\n", "holds a list"),
    ("labuser: 123456\n", "found int"),
    ("labuser: secret-one\n42: secret-two\n", "found int"),
    ("labuser: [secret-one]\n", "found list"),
])
def test_bad_text_fails_without_quoting_it(text, says):
    with pytest.raises(AnsibleFilterError) as caught:
        password_map(text)
    message = str(caught.value)
    assert says in message and "macops_user_passwords must be a mapping" in message
    for secret in ("secret-one", "secret-two", "123456"):
        assert secret not in message
    assert caught.value.__cause__ is None  # the YAML parser's own message (it quotes the text) is not chained


def test_other_types_fail():
    with pytest.raises(AnsibleFilterError, match="got list"):
        password_map(["labuser"])
