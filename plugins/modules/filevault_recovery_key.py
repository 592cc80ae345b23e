#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: filevault_recovery_key
short_description: Keep a valid FileVault personal recovery key escrowed on the controller, rotating it when needed
version_added: 0.1.0
description:
  - Makes sure the controller holds a valid personal recovery key for the Mac in O(escrow_dir).
  - The action plugin reads the Mac's escrow file (vault-encrypted, named after the inventory host) and the module
    validates that key on the Mac with C(fdesetup validaterecovery) (key on stdin). A valid key is left as it is,
    so a second run reports no change.
  - When no escrowed key exists, the escrowed key no longer validates, or O(force=true), the module rotates the key
    with C(fdesetup changerecovery -personal -inputplist -outputplist), authorised by O(user) and O(password) (a
    FileVault user) or, failing those, by the escrowed key itself while it is still valid. The action plugin then
    escrows the new key exactly as M(macops.tokens.filevault) does (encrypted, 0600, atomic, read back, validated on
    the Mac); the replaced file is kept with a C(.superseded-) suffix, never deleted.
  - The key never appears in the task result, only RV(key_fingerprint).
  - "A new key survives any interruption: before C(changerecovery) runs, a marker is written to
    C(/Library/Application Support/macops.tokens/) on the Mac (root only, on the volume FileVault encrypts); the new
    key replaces the marker before it is handed to the controller, and that copy is removed only once the controller
    has escrowed, read back and validated the key. The next run escrows a key left there (RV(collected_pending)); a
    marker left alone on an encrypted Mac means the key was lost with a killed process, and the key is rotated
    without O(force) (RV(pending)). See the collection's docs/security.md."
  - FileVault must be on (or encrypting); otherwise the task fails and says to enable it first.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.write_attributes
options:
  state:
    description: V(escrowed) keeps a valid key in escrow.
    type: str
    choices: [escrowed]
    default: escrowed
  user:
    description: A FileVault user that authorises a rotation.
    type: str
  password:
    description: The password of O(user).
    type: str
  escrow_dir:
    description: The controller directory of escrowed keys, which must exist (see M(macops.tokens.filevault)).
    type: path
    required: true
  force:
    description: Rotate and escrow a new key even when the escrowed one is valid.
    type: bool
    default: false
  recovery_key:
    description:
      - The escrowed key to validate. The action plugin fills it in from O(escrow_dir); do not set it in a task.
    type: str
  validate_only:
    description:
      - Only validate O(recovery_key) and report it in RV(valid); never rotate. The action plugin uses it to check
        the key it has just read back from escrow.
    type: bool
    default: false
  confirm_pending:
    description:
      - For the collection's action plugins only, with O(validate_only=true) - the fingerprint of the key the
        controller has escrowed and validated; the copy the Mac keeps of that key for the handshake is removed.
    type: str
  rotate_revealed:
    description:
      - Rotate a valid escrowed key once it has been revealed (the escrow's ledger, C(ledger.jsonl), has a
        C(revealed) entry for it; see the P(macops.tokens.recovery_key#lookup) lookup and the C(reveal_key.yml)
        playbook). The new key is escrowed and validated, the old escrow file is kept as C(.superseded-), and the
        ledger records the new key.
      - With V(false), a revealed key is kept and RV(revealed) says so.
      - Do not trust C(fdesetup usingrecoverykey) for this - it stays true until the next restart.
    type: bool
    default: true
  revealed:
    description:
      - When, by whom and why the escrowed key was revealed. The action plugin fills it in from the escrow's ledger;
        do not set it in a task.
    type: str
seealso:
  - module: macops.tokens.filevault
"""

EXAMPLES = r"""
- name: Keep a valid recovery key escrowed for every Mac
  macops.tokens.filevault_recovery_key:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
    escrow_dir: "{{ macops_escrow_dir }}"
  become: true

- name: Rotate the key after a helpdesk used it (a key revealed with the recovery_key lookup is rotated anyway)
  macops.tokens.filevault_recovery_key:
    user: "{{ macops_admin_user }}"
    password: "{{ macops_admin_password }}"
    escrow_dir: "{{ macops_escrow_dir }}"
    force: true
  become: true
"""

RETURN = r"""
valid:
  description: Whether the escrowed key validated on the Mac before any rotation (V(null) when none was escrowed).
  returned: always
  type: bool
reason:
  description: Why the key was (or would be) rotated, or why not.
  returned: always
  type: str
  sample: no key is escrowed for this Mac
actions:
  description: The change made (or that check mode would make), with its reason; empty when the key is kept.
  returned: when the task got as far as deciding
  type: list
  elements: str
  sample: ["rotate the personal recovery key (no key is escrowed for this Mac)"]
escrowed:
  description:
    - Whether O(escrow_dir) holds a key for this Mac that validated on the Mac in this task (the existing key, or a
      new one written, read back and validated).
  returned: always
  type: bool
collected_pending:
  description: Whether a key an interrupted run left on the Mac was (or in check mode would be) escrowed instead of
    rotating.
  returned: when such a key was found
  type: bool
pending:
  description: Whether an interrupted run of this collection left only its marker, so the current key is held by
    nobody and is rotated without O(force).
  returned: when FileVault is on and no key was collected
  type: bool
pending_cleared:
  description: With O(validate_only) and O(confirm_pending), whether the Mac's copy of that key is gone.
  returned: with O(confirm_pending)
  type: bool
revealed:
  description: When, by whom and why the escrowed key was revealed, from the escrow's ledger.
  returned: when the escrowed key has been revealed
  type: str
  sample: "revealed 2026-12-02T10:00:00+00:00 by helpdesk1 (job 42): INC-4711"
escrow_file:
  description: The controller path of the vault-encrypted escrow file.
  returned: when a key is escrowed
  type: str
key_fingerprint:
  description: The first 16 hexadecimal digits of the SHA-256 of the escrowed key.
  returned: when a key is escrowed
  type: str
diff:
  description: Whether a valid key was escrowed before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils import _filevault as F
from ansible_collections.macops.tokens.plugins.module_utils._account import refuse_unusable_passwords
from ansible_collections.macops.tokens.plugins.module_utils._change import Action, ChangeError, Plan, carry_out, failing
from ansible_collections.macops.tokens.plugins.module_utils._info import read_mac
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner
from ansible_collections.macops.tokens.plugins.module_utils._tokens import find_user

PARTS = ("os", "users", "filevault")


def view(state):
    return {"valid_key_escrowed": bool(state["valid_key_escrowed"])}


def rotate(runner, data, result):
    run, doc = F.run_keeping_key(runner, ["changerecovery", "-personal", "-inputplist", "-outputplist"], data,
                                 "changerecovery", result)
    if run.rc != 0:
        raise F.tool_failed(run, "the recovery key could not be changed%s" % (
            "; the key it printed is escrowed before this task fails" if doc.get("RecoveryKey") else ""))


def no_key_printed(wrong, after):
    return ChangeError("fdesetup changerecovery exited 0 but printed no recovery key; the old key may no longer be "
                       "valid: run this task again (it rotates again, since this run left a marker)")


def plan_rotation(runner, model, p, result):
    """Rotate when no valid key is escrowed (or force=true), authorised by a FileVault user or by the valid key."""
    key = p["recovery_key"]
    if p["user"]:
        user = find_user(model, p["user"])
        if user is None or not user["filevault_user"]:
            raise ChangeError("user %s is not a FileVault user on this Mac, so it cannot authorise a new recovery key "
                              "(FileVault users: %s)" % (p["user"], ", ".join(
                                  u["name"] for u in model["users"] if u["filevault_user"]) or "none"))
        data = F.input_plist(p["user"], p["password"])
    elif result["valid"]:
        data = F.input_plist(key_only=key.strip())
    else:
        raise ChangeError("a new recovery key is needed (%s) and rotating it needs user and password (a FileVault "
                          "user)" % result["reason"])
    # What is checked afterwards is that fdesetup printed a new key; the action plugin validates the escrowed copy
    # on the Mac before the Mac's own copy is removed.
    return Plan([Action("rotate the personal recovery key (%s)" % result["reason"],
                        lambda: rotate(runner, data, result))], {"valid_key_escrowed": True}, no_key_printed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["escrowed"], default="escrowed"),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            escrow_dir=dict(type="path", required=True),
            force=dict(type="bool", default=False),
            recovery_key=dict(type="str", no_log=True),
            validate_only=dict(type="bool", default=False),
            confirm_pending=dict(type="str"),
            rotate_revealed=dict(type="bool", default=True),
            revealed=dict(type="str"),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        required_together=[("user", "password")],
        supports_check_mode=True,
    )
    p = module.params
    refuse_unusable_passwords(module, [("password", p["user"], p["password"])])
    model = read_mac(module, PARTS)
    fv = model["filevault"]
    runner = Runner(module, timeout=p["timeout"])
    result = {"changed": False, "escrowed": False, "valid": None}
    key = p["recovery_key"]
    with failing(module, result):
        if fv["state"] not in ("on", "encrypting"):
            raise ChangeError("FileVault is %s on this Mac, so there is no recovery key to escrow; enable it first "
                              "with macops.tokens.filevault" % fv["state"])
        if key is not None:
            result["valid"] = F.well_formed_key(key) and F.validate_key(runner, key.strip())
        if p["validate_only"]:
            result["reason"] = "validated the key given" if result["valid"] else "the key given does not validate"
            if result["valid"] and p["confirm_pending"]:
                # The controller holds a validated copy: the Mac's copy of that key (and only that key) goes.
                result["pending_cleared"] = F.pending.clear(p["confirm_pending"])
            module.exit_json(**result)
        waiting = F.collect_pending(module, runner, model)
        if waiting.get("recovery_key"):
            result.update(waiting["result"], changed=True, reason=waiting["action"])
            module.exit_json(**result)
        result["pending"] = bool(waiting.get("marker"))
        if key is None:
            result["reason"] = "no key is escrowed for this Mac"
        elif not result["valid"]:
            result["reason"] = ("the escrowed key does not unlock this Mac (it was rotated elsewhere, "
                                "or it is another Mac's)")
        elif p["force"]:
            result["reason"] = "force=true"
        elif p["revealed"] and p["rotate_revealed"]:
            result["revealed"] = p["revealed"]
            result["reason"] = "the escrowed key was %s; a revealed key is rotated after use" % p["revealed"]
        else:
            if p["revealed"]:
                result["revealed"] = p["revealed"]
            if waiting.get("marker") and not module.check_mode:
                F.pending.clear()  # an interrupted rotation that never changed the key: the escrowed one still unlocks
            result["reason"] = "the escrowed key is valid"
            module.exit_json(**result)
        if waiting.get("marker"):
            result["reason"] += "; " + waiting["action"]
        plan = plan_rotation(runner, model, p, result)
    carry_out(module, plan, {"valid_key_escrowed": result["valid"]}, view,
              lambda: {"valid_key_escrowed": bool(result.get("recovery_key"))}, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
