# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: recovery_key
short_description: Reveal one Mac's escrowed FileVault recovery key, with an entry in the escrow's ledger
version_added: 0.2.0
description:
  - Decrypts the recovery key escrowed for one inventory host in O(escrow_dir) (with the run's vault password) and
    returns it, after appending to C(<escrow_dir>/ledger.jsonl) who revealed it, when, in which AWX job and why.
  - The ledger names the key by its fingerprint only; it never holds a key. If the entry cannot be written, the key
    is not revealed.
  - A revealed key is I(used) - M(macops.tokens.filevault_recovery_key) (and so C(remediate.yml)) rotates it on its
    next run, escrows and validates the new key, and keeps the old escrow file with a C(.superseded-) suffix.
  - Show the value only where it must be seen; it is a secret. The C(reveal_key.yml) playbook shows it once, marks
    the reveal in the ledger and says when it is rotated.
author:
  - macops.tokens maintainers (@macops)
options:
  _terms:
    description: The inventory hostname of one Mac (the name its escrow file is written under).
    type: list
    elements: str
    required: true
  escrow_dir:
    description: The escrow directory on the controller.
    type: path
    required: true
  reason:
    description: Why the key is revealed (a ticket, the user's request); written to the ledger. Required.
    type: str
    required: true
  operator:
    description:
      - Who reveals it. Defaults to the AWX job's user (C(awx_user_name)) and, outside AWX, the controller's login
        user.
    type: str
notes:
  - The AWX job id (C(awx_job_id)) is written to the ledger when the lookup runs in an AWX job.
seealso:
  - module: macops.tokens.filevault_recovery_key
"""

EXAMPLES = r"""
- name: Reveal mac-01's recovery key for a helpdesk ticket (recorded in the ledger, rotated on the next remediation)
  ansible.builtin.debug:
    msg: "{{ lookup('macops.tokens.recovery_key', 'mac-01', escrow_dir='/srv/macops/escrow',
             reason='INC-4711: user locked out at pre-boot') }}"
"""

RETURN = r"""
_raw:
  description: The recovery key, one per term (one term is usual).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.macops.tokens.plugins.plugin_utils import _ledger
from ansible_collections.macops.tokens.plugins.plugin_utils._escrow import Escrow, EscrowError, fingerprint


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        escrow_dir = self.get_option("escrow_dir")
        reason = (self.get_option("reason") or "").strip()
        if not reason:
            raise AnsibleLookupError("recovery_key: reason is required and was empty; say why the key is revealed "
                                     "(a ticket number, the request). Nothing was revealed")
        if not terms:
            raise AnsibleLookupError("recovery_key: name the Mac (its inventory hostname); nothing was revealed")
        who, job = _ledger.operator(variables, self.get_option("operator"))
        escrow = Escrow(self._loader, escrow_dir)
        keys = []
        for host in terms:
            try:
                escrow.check()
                doc = escrow.read(host)
            except EscrowError as exc:
                raise AnsibleLookupError("recovery_key: %s" % exc)
            if doc is None:
                raise AnsibleLookupError("recovery_key: no recovery key is escrowed for %s in %s (the name is the "
                                         "Mac's inventory hostname); nothing was revealed" % (host, escrow_dir))
            key = doc["recovery_key"]
            try:
                _ledger.append(escrow_dir, {"event": "revealed", "host": host, "fingerprint": fingerprint(key),
                                            "by": who, "job": job, "reason": reason}, secrets=[key])
            except _ledger.LedgerError as exc:
                raise AnsibleLookupError("recovery_key: %s" % exc)
            keys.append(key)
        return keys
