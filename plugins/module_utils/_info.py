# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glue shared by the read-only modules: read the Mac once, shape one view, fail with the command named.

PRIVATE: this module is internal to macops.tokens and may change without notice.
"""

from __future__ import annotations

from ansible_collections.macops.tokens.plugins.module_utils import _findings
from ansible_collections.macops.tokens.plugins.module_utils._mac import gather
from ansible_collections.macops.tokens.plugins.module_utils._runner import Runner, ToolError

TOKEN_CODES = {"no_token_holder", "only_standard_token_holders", "token_state_inconsistent",
               "local_user_without_token", "mobile_account_without_token", "managed_admin_without_token",
               "network_account_not_eligible", "no_volume_owner"}
BOOTSTRAP_CODES = {"not_enrolled_in_mdm", "bootstrap_token_unsupported", "bootstrap_token_not_escrowed"}
FILEVAULT_CODES = {"filevault_off", "filevault_deferred", "filevault_encrypting", "filevault_decrypting",
                   "filevault_restart_pending", "token_holder_not_filevault_user", "no_recovery_key"}
PARTS = {
    "all": ("os", "users", "filevault", "mdm"),
    "secure_token": ("os", "users", "filevault", "mdm"),
    "bootstrap_token": ("os", "mdm"),
    "filevault": ("os", "users", "filevault"),
}


def read_mac(module, parts):
    """Gather the model, or fail the task naming the command and quoting what it printed."""
    if module.params["timeout"] < 1:
        module.fail_json(msg="timeout must be at least 1 second; got %s" % module.params["timeout"])
    runner = Runner(module, timeout=module.params["timeout"])
    try:
        return gather(runner, managed_admins=module.params.get("managed_admins") or [], parts=parts)
    except ToolError as exc:
        module.fail_json(msg=str(exc), **exc.details())


def run_info(module, view):
    model = read_mac(module, PARTS[view])
    found = _findings.findings(model)
    if view == "all":
        allowed = module.params.get("bootstrap_allowed_for_authentication", "unknown")
        module.exit_json(changed=False, mac=model, readiness=_findings.readiness(model, allowed), findings=found)
    wanted = module.params.get("users") or []
    if view == "secure_token":
        users = model["users"]
        unknown = sorted(set(wanted) - {u["name"] for u in users})
        if unknown:
            module.fail_json(msg="no account named %s on this Mac (accounts with UID 500 or above and token "
                                 "holders are listed)" % ", ".join(unknown))
        if wanted:
            users = [u for u in users if u["name"] in wanted]
        module.exit_json(changed=False, os=model["os"], users=users, token_holders=model["token_holders"],
                         admin_token_holders=model["admin_token_holders"], volume_owners=model["volume_owners"],
                         bootstrap_token=model["bootstrap_token"], tool_calls=model["tool_calls"],
                         findings=[f for f in found if f["code"] in TOKEN_CODES])
    if view == "bootstrap_token":
        module.exit_json(changed=False, os=model["os"], mdm=model["mdm"], bootstrap_token=model["bootstrap_token"],
                         tool_calls=model["tool_calls"], findings=[f for f in found if f["code"] in BOOTSTRAP_CODES])
    users = [{"name": u["name"], "secure_token": u["secure_token"], "filevault_user": u["filevault_user"],
              "volume_owner": u["volume_owner"]} for u in model["users"]]
    module.exit_json(changed=False, os=model["os"], filevault=model["filevault"], users=users,
                     tool_calls=model["tool_calls"], findings=[f for f in found if f["code"] in FILEVAULT_CODES])
