#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: chain_of_trust_info
short_description: The whole chain of trust of one Mac in one task
version_added: 0.1.0
description:
  - Reads, in one pass, the macOS release and architecture, every account with UID 500 or above and every
    secure-token holder, the MDM enrollment, the bootstrap token and FileVault.
  - Says who can recover the Mac (RV(mac.filevault.recovery_path)) - the organisation (a key escrowed here, or
    an institutional key), only someone else (an unescrowed personal key, the user's Apple Account) or nobody.
  - Reports which token-gated functions are ready (FileVault, software updates, startup security policy,
    Erase All Content and Settings, kernel extension approval, bootstrap token authorisation, granting tokens)
    and who or what can authorise each, and every problem found, with a stable code and the next step.
  - The number of tool calls does not grow with the number of accounts.
  - A user's token state comes from three signals (the V(;SecureToken;) entry of AuthenticationAuthority, the
    APFS crypto users and, when FileVault is on, C(fdesetup list)). When they disagree the user is reported as
    V(inconsistent) with every signal shown, never as a guess.
author:
  - macops.tokens maintainers (@macops)
extends_documentation_fragment:
  - macops.tokens._common
  - macops.tokens._common.INFO_ATTRIBUTES
options:
  managed_admins:
    description:
      - Short names of MDM-managed administrator accounts. No local tool marks them, so they come from the
        inventory; they are reported with kind V(managed_admin).
    type: list
    elements: str
    default: []
  service_accounts:
    description:
      - Short names of LAPS or service accounts the organisation relies on (the inventory's
        C(macops_service_accounts)). For each of them and each of O(managed_admins), the chain an account needs is
        checked - a secure token, a FileVault user when FileVault is on, and on Apple silicon a volume owner - and
        each missing link is a finding naming the account (V(watched_account_without_token),
        V(watched_account_not_filevault_user), V(watched_account_not_volume_owner)), or V(watched_account_missing)
        when the account is not on the Mac.
    type: list
    elements: str
    default: []
  transient_wait:
    description:
      - Seconds to wait, reading the Mac again every few seconds, while it is in a state that settles by itself
        within minutes (FileVault reported on before the user's key is on the volume, right after Setup Assistant).
      - V(0) reads once. States that take hours (encryption, decryption, a pending restart) are never waited for;
        every transient state left is listed in RV(mac.transient).
    type: int
    default: 0
  verify_credentials:
    description:
      - Passwords to check against the Mac with C(dscl -authonly), answered on a pseudo-terminal.
      - A password is not checked where authenticating could itself grant the first secure token (nobody holds
        one), or when it is longer than the 128 bytes macOS password prompts take; RV(credentials) says why.
      - A wrong password or a missing account becomes a V(credential_rejected) finding naming the account and
        O(verify_credentials[].source).
    type: list
    elements: dict
    default: []
    suboptions:
      user:
        description: Short name of the account.
        type: str
        required: true
      password:
        description: The password to check (never logged or returned).
        type: str
        required: true
      source:
        description: Where the password came from, for the finding (for example V(macops_admin_password)).
        type: str
      required:
        description:
          - Whether the account must exist. V(false) for entries of a fleet-wide password map, which names accounts
            only some Macs have; such an entry is skipped where the account is missing.
        type: bool
        default: true
  escrow_dir:
    description:
      - The controller directory of escrowed recovery keys (see M(macops.tokens.filevault_recovery_key)). When given,
        the action plugin reads this Mac's escrowed key and the module validates it on the Mac, read-only, with
        C(fdesetup validaterecovery) (the key on stdin, never on the command line); RV(mac.filevault.escrow) and
        RV(mac.filevault.recovery_path) say what came of it. Nothing is written to the escrow or the Mac.
      - An escrow that cannot be read (no such directory, no vault password) is a warning, and the key is then not
        checked.
      - Unset, the escrow is not checked and a Mac whose only key is a personal one is reported as
        V(personal_escrow_not_checked).
    type: path
  recovery_key:
    description:
      - The escrowed key to validate. The action plugin fills it in from O(escrow_dir); do not set it in a task.
    type: str
  revealed:
    description:
      - When, by whom and why the escrowed key was revealed, from the escrow's ledger. The action plugin fills it in
        from O(escrow_dir); do not set it in a task. A valid escrowed key that was revealed is reported by the
        C(recovery_key_revealed) finding and in RV(mac.filevault.escrow_revealed).
    type: str
  bootstrap_allowed_for_authentication:
    description:
      - Whether the MDM reports C(BootstrapTokenAllowedForAuthentication) as V(allowed) for this Mac (Apple silicon).
        No local tool shows it; V(unknown) reports the functions that depend on it as unknown.
    type: str
    choices: [allowed, disallowed, unknown]
    default: unknown
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
    details: The action plugin keeps the passwords given to O(verify_credentials) out of ansible-core's report
      of a failed task and, with O(escrow_dir), reads the Mac's escrowed recovery key on the controller.
seealso:
  - module: macops.tokens.secure_token_info
  - module: macops.tokens.bootstrap_token_info
  - module: macops.tokens.filevault_info
"""

EXAMPLES = r"""
- name: Read the chain of trust of every Mac
  macops.tokens.chain_of_trust_info:
    managed_admins: "{{ macops_managed_admins | default([]) }}"
  become: true
  register: trust

- name: Show what needs doing
  ansible.builtin.debug:
    msg: "{{ trust.findings | map(attribute='next_step') | list }}"
"""

RETURN = r"""
mac:
  description: The model of the Mac.
  returned: success
  type: dict
  contains:
    os:
      description: C(product_name), C(version), C(build), C(version_extra), C(major), C(version_tuple),
        C(machine) (from C(uname -m)), C(cpu_brand), C(apple_silicon), C(architecture), C(t2) (V(null) when
        unknown) and C(t2_reason).
      type: dict
      returned: always
    users:
      description:
        - Accounts with UID 500 or above, and every token holder. Each has C(name), C(full_name), C(uid),
          C(guid), C(admin), C(kind) (V(local), V(mobile), V(managed_admin), V(network) or V(service)), C(home),
          C(original_node), C(disabled_tags), C(secure_token) (V(null) when inconsistent), C(token_state)
          (V(enabled), V(disabled) or V(inconsistent)), C(token_signals), C(crypto_user), C(filevault_user) and
          C(volume_owner) (V(null) on Intel).
      type: list
      elements: dict
      returned: always
    token_holders:
      description: How many accounts hold a secure token.
      type: int
      returned: always
    admin_token_holders:
      description: How many administrators hold a secure token.
      type: int
      returned: always
    volume_owners:
      description: How many token holders are volume owners (Apple silicon).
      type: int
      returned: always
    crypto_users:
      description: The APFS crypto users of the boot volume (C(uuid), C(type), C(volume_owner)).
      type: list
      elements: dict
      returned: always
    mdm:
      description: C(enrolled), C(dep), C(user_approved) and C(server).
      type: dict
      returned: always
    bootstrap_token:
      description: C(supported) by the server, C(escrowed) to it (V(null) when unsupported) and whether a
        C(local_record) (the MDM Bootstrap Token External Key crypto user) exists.
      type: dict
      returned: always
    filevault:
      description: C(state) (V(off), V(on), V(encrypting), V(decrypting) or V(deferred)), C(enabled), C(percent),
        C(restart_pending), C(deferred_user), C(deferral_configured), C(personal_recovery_key),
        C(institutional_recovery_key), C(icloud_recovery), C(users) (from C(fdesetup list)), C(escrow) and
        C(recovery_path).
      type: dict
      returned: always
      contains:
        icloud_recovery:
          description: The volume has an iCloud Recovery User or iCloud Recovery External Key crypto user (the
            user let the Apple Account unlock the disk, legacy iCloud escrow).
          type: bool
        escrow:
          description: What the escrow in O(escrow_dir) says of this Mac's personal recovery key - V(valid) (the
            escrowed key validates on the Mac), V(invalid) (it does not), V(absent) (no key escrowed for this Mac)
            or V(not_checked) (no O(escrow_dir), or FileVault is not on).
          type: str
        escrow_revealed:
          description: When, by whom and why the valid escrowed key was revealed (the escrow's ledger); V(null)
            when it was not, or the escrow was not checked. Such a key is rotated by the next remediation.
          type: str
        recovery_path:
          description:
            - Who can recover this Mac if every FileVault user forgets their password, the best path first.
            - V(escrowed) - a personal recovery key escrowed on this controller validates on the Mac.
            - V(institutional) - an institutional recovery key is on the volume.
            - V(personal_not_escrowed_here) - a personal recovery key exists, but no key escrowed here validates.
            - V(personal_escrow_not_checked) - a personal recovery key exists; no O(escrow_dir) was given to check.
            - V(icloud_only) - only the user's Apple Account (iCloud Recovery User), no personal or institutional key.
            - V(none) - no recovery key at all.
            - V(not_applicable) - FileVault is off or deferred.
          type: str
    watched_accounts:
      description: The accounts the organisation relies on, each with the input that names it
        (V(macops_managed_admins) for O(managed_admins), V(macops_service_accounts) for O(service_accounts)).
      type: dict
      returned: always
    orphan_crypto_users:
      description: UUIDs of Local Open Directory crypto users with no account (a deleted token holder's key).
      type: list
      elements: str
      returned: always
    transient:
      description: Finding codes of states that change by themselves (V(filevault_setup_incomplete),
        V(filevault_encrypting), V(filevault_decrypting), V(filevault_restart_pending)).
      type: list
      elements: str
      returned: always
    tool_calls:
      description: How many tool invocations the read took.
      type: int
      returned: always
    remote_login_full_disk_access:
      description:
        - Whether Remote Login has Full Disk Access, which enabling FileVault over SSH needs on macOS 10.15 and
          later. The module opens the system privacy database, which only a process with that right can read; no
          tool is run for it.
        - V(null) when that database is not there. Read as root (C(become)); the C(macops.tokens.preflight) role
          turns it into advice where FileVault is off.
      type: bool
      returned: always
  sample:
    os: {version: "14.4.1", apple_silicon: true}
    token_holders: 1
readiness:
  description: For each token-gated function, C(available) (V(true), V(false) or V(null) for unknown),
    C(authorised_by) (accounts, or V(MDM (bootstrap token\))) and C(reason).
  returned: success
  type: dict
  sample:
    filevault: {available: true, authorised_by: [alice], reason: "FileVault is on; these users unlock it at startup"}
credentials:
  description: One entry per O(verify_credentials) item, C(user), C(source), C(verified) (V(true), V(false) or
    V(null) when not checked) and C(reason).
  returned: success
  type: list
  elements: dict
  sample: [{user: macadmin, source: macops_admin_password, verified: true, reason: null}]
findings:
  description: Problems found, most severe first.
  returned: success
  type: list
  elements: dict
  contains:
    code:
      description:
        - A stable identifier, such as V(no_token_holder) or V(mobile_account_without_token); the collection's
          README lists them all.
        - Who can recover the Mac - V(no_recovery_key), V(icloud_recovery_only) (only the user's Apple Account),
          V(recovery_key_not_escrowed) (a personal key that no key escrowed in O(escrow_dir) validates); each says
          how to rotate and escrow a key the organisation holds.
        - The chain of an account in O(managed_admins) or O(service_accounts) - V(watched_account_missing),
          V(watched_account_without_token), V(watched_account_not_filevault_user),
          V(watched_account_not_volume_owner), one per account and missing link, unless another finding already
          names that account for that link (for example V(managed_admin_without_token)).
      type: str
    severity:
      description: V(critical), V(warning) or V(info).
      type: str
    users:
      description: The accounts it concerns.
      type: list
      elements: str
    message:
      description: What is wrong, in plain words.
      type: str
    next_step:
      description: What to do about it.
      type: str
    rule:
      description: The behaviour rules or failure modes it follows, as listed in the collection's
        C(docs/macos-rules.md).
      type: str
  sample:
    - code: mobile_account_without_token
      severity: info
      users: [jdoe]
      message: "Mobile (Active Directory) accounts without a secure token: jdoe."
      next_step: "None needed from here: the token is granted at the user's next graphical login."
      rule: R42
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.macops.tokens.plugins.module_utils._info import run_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            managed_admins=dict(type="list", elements="str", default=[]),
            service_accounts=dict(type="list", elements="str", default=[]),
            escrow_dir=dict(type="path"),
            recovery_key=dict(type="str", no_log=True),
            revealed=dict(type="str"),
            bootstrap_allowed_for_authentication=dict(type="str", choices=["allowed", "disallowed", "unknown"],
                                                      default="unknown"),
            transient_wait=dict(type="int", default=0),
            verify_credentials=dict(type="list", elements="dict", default=[], options=dict(
                user=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                source=dict(type="str"),
                required=dict(type="bool", default=True),
            )),
            timeout=dict(type="int", default=60),
            parallel_reads=dict(type="int", default=4),
        ),
        supports_check_mode=True,
    )
    run_info(module, view="all")


if __name__ == "__main__":
    main()
