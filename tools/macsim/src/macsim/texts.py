"""Every text the simulated tools print, in one registry.

Each entry says whether the text is *attested* (a sample or a quoted string in
``shared/reference/macos-tool-output.md``; the ``source`` field names it) or
*invented* (no public sample exists; the simulator had to choose a wording).

Invented texts carry an ``alt`` wording. When a host's state sets
``sim.alt_wording`` (or ``MACSIM_ALT_WORDING=1`` is in the environment of a
direct call) every invented text is replaced by its alternative, so a test
suite can prove that no module depends on a wording nobody has seen.
Attested texts never change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    key: str
    text: str
    source: str | None = None  # sample name or reference section when attested
    alt: str | None = None  # alternative wording; required when invented

    @property
    def invented(self) -> bool:
        return self.source is None


_ENTRIES = [
    # ---- sysadminctl (stderr, every line NSLog-prefixed) -------------------------
    Text("sysadminctl.status", "Secure token is {state} for user {name}",
         source="sysadminctl-status-enabled-ec2 / -disabled-ec2 (name is RealName: macOSLAPS #106, 26.6 fixture)"),
    Text("sysadminctl.unknown_user", "Unknown user {name}",
         source="sysadminctl-status-unknown-user-26"),
    Text("sysadminctl.done", "- Done!",
         source="§1 '-secureTokenOn success': mkuser matches '] - Done!'"),
    Text("sysadminctl.auth_error",
         "### Error:-14090 File:/AppleInternal/Library/BuildRoots/{build_uuid}/Library/Caches/"
         "com.apple.xbs/Sources/Admin/DSAuthenticator.m Line:94",
         source="sysadminctl-adduser-fail-14090"),
    Text("sysadminctl.no_token_unlock", "Operation is not permitted without secure token unlock.",
         source="sysadminctl-resetpassword-no-token"),
    Text("sysadminctl.creating_user", "Creating user record\u2026",
         source="sysadminctl-adduser-stub-cookbook"),
    Text("sysadminctl.separator", "----------------------------",
         source="sysadminctl-adduser-fail-14090"),
    Text("sysadminctl.no_clear_text",
         "No clear text password or interactive option was specified (adduser, change/reset password "
         "will not allow user to use FDE) !",
         source="sysadminctl-adduser-fail-14090"),
    Text("sysadminctl.new_password_error", "New account password error.  (5402)",
         source="sysadminctl-adduser-fail-14090"),
    Text("sysadminctl.home_assigned", "Home directory is assigned (not created!) at {home}",
         source="§1 'Other real lines seen in passing'"),
    Text("sysadminctl.killing", "Killing all processes for UID {uid}",
         source="§1 '-deleteUser' lines"),
    Text("sysadminctl.deleting_record", "Deleting record for {name}",
         source="§1 '-deleteUser' lines"),
    Text("sysadminctl.auth_framework", "Failed to authenticate with SystemAdministration framework.",
         source="sysadminctl-auth-framework-failure-10.13.2"),
    Text("sysadminctl.usage_head", "Usage: sysadminctl",
         source="§1 usage text is NSLog-prefixed"),
    Text("sysadminctl.usage_prompt_hint", "Pass '-' instead of password in commands above to request prompt.",
         source="§1 ss64 usage text"),
    Text("sysadminctl.interaction_not_allowed",
         "Operation is not permitted: errAuthorizationInteractionNotAllowed (-60007)",
         alt="Authorization refused: errAuthorizationInteractionNotAllowed [-60007]"),
    Text("sysadminctl.wrong_user_password",
         "Authentication failed for user {name}: incorrect password.",
         alt="Could not verify the password of {name}."),
    Text("sysadminctl.not_admin",
         "User {admin} is not an administrator and cannot perform this operation.",
         alt="{admin} lacks administrative rights for this request."),
    Text("sysadminctl.not_eligible",
         "Secure token cannot be enabled for network user {name}.",
         alt="{name} is a directory account; secure token is unavailable."),
    Text("sysadminctl.token_off_done", "Secure token disabled for user {name}.",
         alt="Removed secure token of {name}."),
    Text("sysadminctl.token_on_done", "Secure token enabled for user {name}.",
         alt="Granted secure token to {name}."),
    Text("sysadminctl.last_token_user",
         "Cannot delete the last Secure Token user {name}.",
         alt="Refusing to remove {name}: no other secure token holder remains."),
    Text("sysadminctl.user_exists", "User {name} already exists.",
         alt="A record named {name} exists already."),
    Text("sysadminctl.password_prompt", "Enter password for {name} : ",
         alt="Password ({name}): "),
    Text("sysadminctl.reset_done", "Password reset for user {name}.",
         alt="New password set for {name}."),
    Text("sysadminctl.hfs_no_token", "Secure token is not supported on this volume.",
         alt="This file system has no secure token support."),
    # ---- fdesetup --------------------------------------------------------------
    Text("fdesetup.on", "FileVault is On.", source="fdesetup-status-on-masterkeychain-10.15.6"),
    Text("fdesetup.off", "FileVault is Off.", source="fdesetup-status-off-doc"),
    Text("fdesetup.master_keychain", "FileVault master keychain appears to be installed.",
         source="fdesetup-status-on-masterkeychain-10.15.6"),
    Text("fdesetup.deferred", "Deferred enablement appears to be active for user '{name}'.",
         source="fdesetup-status-off-deferred-placeholder"),
    Text("fdesetup.encrypting", "Encryption in progress: Percent completed = {percent}",
         source="fdesetup-status-encrypting-fixture"),
    Text("fdesetup.decrypting", "Decryption in progress: Percent completed = {percent}",
         source="R54 / munkireport 'Decryption in progress: '"),
    Text("fdesetup.on_needs_restart", "FileVault is On, but needs to be restarted to finish.",
         source="fdesetup-status-on-needs-restart"),
    Text("fdesetup.off_enable_after_restart", "FileVault is Off, but will be enabled after the next restart.",
         source="fdesetup-status-off-enable-after-restart"),
    Text("fdesetup.extended_apfs", "Volume is APFS", source="§2 munkireport parses 'Volume is APFS'"),
    Text("fdesetup.true", "true", source="fdesetup-isactive-true"),
    Text("fdesetup.false", "false", source="fdesetup-isactive-false"),
    Text("fdesetup.prompt_user", "Enter the user name:", source="fdesetup-enable-interactive-10.13"),
    Text("fdesetup.prompt_password", "Enter the password for user '{name}':",
         source="fdesetup-enable-interactive-10.13"),
    Text("fdesetup.prompt_added_password", "Enter the password for the added user '{name}':",
         source="fdesetup-add-prompts-user-flag"),
    Text("fdesetup.prompt_recovery", "Enter a password for '/', or the recovery key:",
         source="fdesetup-changerecovery-prompts-10.13plus"),
    Text("fdesetup.prompt_disable", "Enter a password for '/' or recovery key:",
         source="fdesetup-disable-prompt"),
    Text("fdesetup.recovery_key", "Recovery key = '{key}'", source="fdesetup-enable-interactive-10.13"),
    Text("fdesetup.new_personal_key", "New personal recovery key = '{key}'",
         source="fdesetup-changerecovery-newkey"),
    Text("fdesetup.auth_failed", "Error: User authentication failed.", source="fdesetup-enable-auth-failed"),
    Text("fdesetup.unable_unlock", "Error: Unable to unlock FileVault.",
         source="fdesetup-changerecovery-wrongpw-expected"),
    Text("fdesetup.unable_change_key", "Error: Unable to change key", source="fdesetup-changerecovery-failed-10.13b3"),
    Text("fdesetup.problem_enable", "Error: A problem occurred while trying to enable FileVault. ({code})",
         source="fdesetup-enable-failed-22-10.11"),
    Text("fdesetup.already_on", "Error: FileVault is already On.", source="§7 item 5 (real: 'Error: FileVault is already On.')"),
    Text("fdesetup.blank_password", "One or more users have a blank password. FileVault cannot be enabled.",
         source="fdesetup(8) EXIT STATUS 37"),
    Text("fdesetup.disabled", "FileVault has been disabled.", source="fdesetup-disable-success"),
    Text("fdesetup.add_failed_user", "Error: user could not be added (-69578).",
         source="fdesetup-add-inputplist-failed-10.13b3"),
    Text("fdesetup.add_failed", "Error: Unable to add one or more users to FileVault.",
         source="fdesetup-add-inputplist-failed-10.13b3"),
    Text("fdesetup.od_not_authenticated", "OD user '{name}' could not be authenticated.",
         source="fdesetup-add-inputplist-failed-10.13b3"),
    Text("fdesetup.adding_user", "Adding user '{name}' to existing FileVault",
         source="fdesetup-add-inputplist-failed-10.13b3"),
    Text("fdesetup.not_valid_key", "Error: Not a valid recovery key.", source="fdesetup-validaterecovery-error-mock"),
    Text("fdesetup.deferral_not_found", "Not found.", source="fdesetup-showdeferralinfo-notfound"),
    Text("fdesetup.not_root", "Error: This command must be run as root.",
         alt="fdesetup: root privileges are required for this verb."),
    Text("fdesetup.no_full_disk_access",
         "Error: Unable to enable FileVault: the calling process does not have Full Disk Access.",
         alt="Error: enabling refused because Remote Login lacks Full Disk Access."),
    Text("fdesetup.no_token_user",
         "Error: User '{name}' cannot be used to enable FileVault because it does not have a secure token.",
         alt="Error: '{name}' has no secure token and cannot unlock this volume."),
    Text("fdesetup.busy", "Error: FileVault is busy. Wait until encryption or decryption has finished.",
         alt="Error: FileVault conversion in progress; try again later."),
    Text("fdesetup.is_off", "Error: FileVault is Off.",
         alt="Error: FileVault is not enabled on this volume."),
    Text("fdesetup.deferred_configured",
         "Deferred enablement is configured. FileVault will be enabled at the next logout or login of '{name}'.",
         alt="FileVault enablement deferred until '{name}' logs out or in."),
    Text("fdesetup.deferred_already", "Error: A deferred enablement configuration is already active.",
         alt="Error: deferral already set up."),
    Text("fdesetup.remove_not_user", "Error: User '{name}' is not a FileVault user.",
         alt="Error: no FileVault entry for '{name}'."),
    Text("fdesetup.remove_last", "Error: Unable to remove the last FileVault user '{name}'.",
         alt="Error: '{name}' is the only FileVault user and cannot be removed."),
    Text("fdesetup.unknown_user", "Error: Unable to find user record for '{name}'.",
         alt="Error: no user record named '{name}'."),
    Text("fdesetup.not_authorized_to_add",
         "Error: User '{name}' is not a FileVault user and cannot add other users.",
         alt="Error: '{name}' cannot authorise adding FileVault users."),
    Text("fdesetup.prompt_validate", "Enter the current recovery key:",
         alt="Recovery key to validate:"),
    Text("fdesetup.usage", "Usage: fdesetup <verb> <options>",
         alt="fdesetup: unrecognised verb or option; see fdesetup help."),
    Text("fdesetup.bad_input", "Error: Unable to read the input property list.",
         alt="Error: malformed -inputplist data."),
    Text("fdesetup.no_personal_key", "Error: No personal recovery key is set.",
         alt="Error: this volume has no personal recovery key."),
    Text("fdesetup.hfs_unsupported", "Error: This command is not supported on this file system.",
         alt="Error: unsupported volume format for this verb."),
    Text("fdesetup.list_extended_header",
         "ESCROW  UUID                                  TYPE                USER",
         alt="ESCROW\tUUID\tTYPE\tUSER"),
    # ---- profiles ----------------------------------------------------------------
    Text("profiles.bt_supported", "profiles: Bootstrap Token supported on server: {yesno}",
         source="profiles-bt-supported-escrowed"),
    Text("profiles.bt_escrowed", "profiles: Bootstrap Token escrowed to server: {yesno}",
         source="profiles-bt-supported-escrowed"),
    Text("profiles.enroll_dep", "Enrolled via DEP: {yesno}", source="profiles-enrollment-uamdm-server"),
    Text("profiles.enroll_mdm", "MDM enrollment: {value}", source="profiles-enrollment-uamdm-server"),
    Text("profiles.enroll_server", "MDM server: {url}", source="profiles-enrollment-uamdm-server"),
    Text("profiles.show_enrollment_null", "Device Enrollment configuration:\n(null)",
         source="profiles-show-enrollment-null"),
    Text("profiles.prompt_admin", "Enter the admin user name:", source="profiles-bt-install-prompts"),
    Text("profiles.prompt_password", "Enter the password for user '{name}':", source="profiles-bt-install-prompts"),
    Text("profiles.password_required", "Error: Password is required.", source="profiles-bt-install-blank-password"),
    Text("profiles.bt_created", "profiles: Bootstrap Token created", source="§3 mkuser matches the line"),
    Text("profiles.bt_escrowed_line", "profiles: Bootstrap Token escrowed",
         source="§3 mkuser matches a line beginning with this"),
    Text("profiles.bt_validated", "Bootstrap Token validated.", source="profiles-bt-validate-ok"),
    Text("profiles.not_enrolled", "profiles: Error: This device is not enrolled in MDM.",
         alt="profiles: device has no MDM enrollment (error -67)."),
    Text("profiles.not_supported_error",
         "profiles: Error: The MDM server does not support Bootstrap Token.",
         alt="profiles: bootstrap token unsupported by the management server."),
    Text("profiles.escrow_failed", "profiles: Error: Unable to escrow the Bootstrap Token to the MDM server.",
         alt="profiles: bootstrap token could not be sent to the server."),
    Text("profiles.auth_failed", "profiles: Error: Authentication of user '{name}' failed.",
         alt="profiles: credentials for '{name}' were rejected."),
    Text("profiles.no_token_admin",
         "profiles: Error: User '{name}' is not a Secure Token administrator.",
         alt="profiles: '{name}' must be an administrator holding a secure token."),
    Text("profiles.bt_removed", "profiles: Bootstrap Token removed",
         alt="profiles: removed the bootstrap token from the Mac and the server."),
    Text("profiles.no_bt", "profiles: Error: No Bootstrap Token is present on this device.",
         alt="profiles: there is no bootstrap token to act on."),
    Text("profiles.validate_failed", "profiles: Error: Bootstrap Token validation failed.",
         alt="profiles: the bootstrap token did not validate."),
    Text("profiles.not_root", "profiles: this command requires root privileges",
         alt="profiles: must be run as root."),
    Text("profiles.usage", "Usage: profiles <command> [options]",
         alt="profiles: unknown command or option; see 'profiles help'."),
    # ---- diskutil -----------------------------------------------------------------
    Text("diskutil.crypto_header", "Cryptographic {noun} for {dev} ({count} found)",
         source="diskutil-listusers-10.15.6-bootstrap / diskutil-listkeys-disk-user"),
    Text("diskutil.no_crypto_users", "No cryptographic users for {dev}",
         alt="No cryptographic users were found on {dev}"),
    Text("diskutil.updatepreboot_tail",
         "UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)=0\n"
         "Finished APFS operation", source="diskutil-updatepreboot-success-tail"),
    Text("diskutil.updatepreboot_head", "Started APFS operation\nUpdatePreboot: Updating the Preboot volume for {dev}",
         alt="Started APFS operation\nUpdatePreboot: Refreshing Preboot data for {dev}"),
    Text("diskutil.not_apfs", "{target} is not an APFS Volume",
         alt="Error: {target} does not reside on an APFS container"),
    Text("diskutil.usage", "Usage:  diskutil apfs <verb> <options>",
         alt="diskutil: unknown apfs verb; run 'diskutil apfs' for help."),
    # ---- dscl / dsmemberutil / dseditgroup ------------------------------------------
    Text("dscl.auth_failed", "Authentication for node {node} failed. (-14090, eDSAuthFailed)\n"
         "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)", source="dscl-authonly-wrong-password"),
    Text("dscl.no_such_key", "No such key: {key}", source="dscl-originalnodename-local-missing"),
    Text("dscl.record_not_found", "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)",
         alt="<dscl_cmd> DS Error: -14136 (record not found)"),
    Text("dscl.permission_denied", "<dscl_cmd> DS Error: -14120 (eDSPermissionError)",
         alt="<dscl_cmd> DS Error: -14120 (permission error)"),
    Text("dscl.password_prompt", "Password:", alt="Password for account:"),
    Text("dscl.invalid_path", "Invalid Path", alt="Unknown data source path"),
    Text("dscl.usage", "Usage: dscl [options] [<datasource> [<command>]]",
         alt="dscl: unrecognised command; see dscl -h."),
    Text("dsmemberutil.member", "user is a member of the group", source="dsmemberutil-member"),
    Text("dsmemberutil.not_member", "user is not a member of the group", source="§5 dsmemberutil man page"),
    Text("dsmemberutil.unknown", "Unable to find user {name}", alt="dsmemberutil: no such user {name}"),
    Text("dseditgroup.member", "yes {user} is a member of {group}", source="§5 Go comment"),
    Text("dseditgroup.not_member", "no {user} is NOT a member of {group}", source="dseditgroup-checkmember-no"),
    Text("dseditgroup.unknown_user", "Record was not found.", alt="dseditgroup: record not found"),
    Text("dseditgroup.not_root", "Operation failed with error: eDSPermissionError",
         alt="dseditgroup: permission denied"),
    # ---- sw_vers / uname / sysctl / python stub ---------------------------------------
    Text("sw_vers.usage", "usage: sw_vers [--productName|--productVersion|--productVersionExtra|--buildVersion]",
         alt="sw_vers: unrecognised option"),
    Text("uname.usage", "usage: uname [-amnprsv]", alt="uname: illegal option"),
    Text("sysctl.usage", "usage: sysctl [-n] name ...", alt="sysctl: missing variable name"),
    Text("dsmemberutil.usage", "usage: dsmemberutil checkmembership -U user -G group",
         alt="dsmemberutil: bad arguments"),
    Text("dseditgroup.usage", "usage: dseditgroup [-o checkmember|edit] [-m|-a|-d member] [-t user] group",
         alt="dseditgroup: invalid arguments"),
    Text("diskutil.not_root", "UpdatePreboot: Error: must be run as root",
         alt="Error: updatePreboot requires root privileges"),
    Text("sysctl.unknown_oid", "sysctl: unknown oid '{oid}'", source="sysctl-unknown-oid"),
    Text("python.stub",
         "xcode-select: note: No developer tools were found, requesting install.\n"
         "If developer tools are located at a non-default location on disk, use `sudo xcode-select --switch path`, "
         "specifying the Xcode that you wish to use for command line developer tools, and cancel the installation "
         "dialog.\nSee `man xcode-select` for more details.",
         alt="xcode-select: note: No developer tools were found, requesting install.\n"
             "Install the command line developer tools to use python3."),
]

REGISTRY: dict[str, Text] = {t.key: t for t in _ENTRIES}
if len(REGISTRY) != len(_ENTRIES):  # pragma: no cover - guards the table above
    raise RuntimeError("duplicate text keys in macsim.texts")
for _t in _ENTRIES:
    if _t.invented and not _t.alt:  # pragma: no cover
        raise RuntimeError(f"invented text {_t.key} has no alternative wording")


def alt_from_env() -> bool:
    return os.environ.get("MACSIM_ALT_WORDING", "") not in ("", "0", "false", "no")


def render(text_key: str, /, alt: bool = False, **values: object) -> str:
    """Return the text for ``key`` with ``values`` filled in.

    ``alt`` selects the alternative wording of invented texts.
    """
    entry = REGISTRY[text_key]
    template = entry.alt if (alt and entry.invented) else entry.text
    return template.format(**values) if values else template


def invented() -> list[Text]:
    return [t for t in _ENTRIES if t.invented]
