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
    keep: tuple = ()  # attested fragments of an invented text, which its alternative may share

    @property
    def invented(self) -> bool:
        return self.source is None


# sysadminctl's usage text, as published for each release (one NSLog message; option lines start with a tab).
USAGE_CORE_OLD = (
    "\t-deleteUser <user name> [-secure || -keepHome] (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
    "\t-newPassword <new password> -oldPassword <old password> [-passwordHint <password hint>]\n"
    "\t-resetPasswordFor <local user name> -newPassword <new password> [-passwordHint <password hint>] "
    "(interactive] || -adminUser <administrator user name> -adminPassword <administrator password>)\n"
    "\t-addUser <user name> [-fullName <full name>] [-UID <user ID>] [-shell <path to shell>] [-password <user "
    "password>] [-hint <user hint>] [-home <full path to home>] [-admin] [-picture <full path to user image>] "
    "(interactive] || -adminUser <administrator user name> -adminPassword <administrator password>)\n"
    "\t-secureTokenStatus <user name>\n"
    "\t-secureTokenOn <user name> -password <password> (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
    "\t-secureTokenOff <user name> -password <password> (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
    "\t-guestAccount <on || off || status>\n"
    "\t-afpGuestAccess <on || off || status>\n"
    "\t-smbGuestAccess <on || off || status>\n"
    "\t-automaticTime <on || off || status>\n"
    "\t-filesystem status\n"
)
USAGE_CORE_11 = (
    "\t-deleteUser <user name> [-secure || -keepHome] (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
    "\t-newPassword <new password> -oldPassword <old password> [-passwordHint <password hint>]\n"
    "\t-resetPasswordFor <local user name> -newPassword <new password> [-passwordHint <password hint>] "
    "(interactive] || -adminUser <administrator user name> -adminPassword <administrator password>)\n"
    "\t-addUser <user name> [-fullName <full name>] [-UID <user ID>] [-GID <group ID>] [-shell <path to shell>] "
    "[-password <user password>] [-hint <user hint>] [-home <full path to home>] [-admin] [-roleAccount] "
    "[-picture <full path to user image>] (interactive] || -adminUser <administrator user name> -adminPassword "
    "<administrator password>)\n"
    "\t-secureTokenStatus <user name>\n"
    "\t-secureTokenOn <user name> -password <password> (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
    "\t-secureTokenOff <user name> -password <password> (interactive || -adminUser <administrator user name> "
    "-adminPassword <administrator password>)\n"
)
USAGE_AUTOLOGIN = ("\t-autologin set -userName <user name> [-password <user password>] || off || status "
                   "(interactive || -adminUser <administrator user name> -adminPassword <administrator password>)\n")
USAGE_TAIL_11 = (
    "\t-guestAccount <on || off || status>\n"
    "\t-afpGuestAccess <on || off || status>\n"
    "\t-smbGuestAccess <on || off || status>\n"
    "\t-automaticTime <on || off || status>\n"
    "\t-filesystem status\n"
    "\t-screenLock <status || immediate || off || seconds> -password <password>"
)
USAGE_TRAILER = (
    "Pass '-' instead of password in commands above to request prompt.\n"
    "'-adminPassword' used mostly for scripted operation. Use '-' or 'interactive' to get the authentication "
    "string interactively. This preferred for security reasons"
)
USAGE_FOOTNOTE = "\n\n*Role accounts require name starting with _ and UID in 200-400 range."


_ENTRIES = [
    # ---- sysadminctl (stderr: one NSLog prefix per message) -------------------
    Text("sysadminctl.status", "Secure token is {state} for user {name}",
         source="sysadminctl-status-disabled-ec2-2021, sysadminctl-status-enabled-fullname-26.6"),
    Text("sysadminctl.unknown_user", "Unknown user {name}", source="sysadminctl-status-unknown-user-26.6"),
    Text("sysadminctl.done", "- Done!", source="sysadminctl-tokenon-done-mkuser"),
    Text("sysadminctl.error_line", "### Error:{code} File:{build_root}/Library/Caches/com.apple.xbs/Sources/Admin/"
                                   "{admin_dir}{file}.m Line:{line}",
         source="sysadminctl-status-wrong-adminpw-10.13.2, sysadminctl-adduser-fail-14090-5402-intune, "
                "sysadminctl-deleteuser-secure-no-fda-14120"),
    Text("sysadminctl.no_token_unlock", "Operation is not permitted without secure token unlock.",
         source="sysadminctl-resetpw-not-permitted-period, sysadminctl-resetpw-not-permitted-gha-26"),
    Text("sysadminctl.creating_user", "Creating user record\u2026", source="sysadminctl-adduser-success-gid-crackme"),
    Text("sysadminctl.separator", "----------------------------", source="sysadminctl-adduser-success-gid-crackme"),
    Text("sysadminctl.no_clear_text",
         "No clear text password or interactive option was specified (adduser, change/reset password "
         "will not allow user to use FDE) !", source="sysadminctl-adduser-success-gid-crackme"),
    Text("sysadminctl.new_password_error", "New account password error.  (5402)",
         source="sysadminctl-adduser-fail-14090-5402-intune"),
    Text("sysadminctl.user_password_prompt", "User password:", source="sysadminctl-adduser-interactive-password-2018"),
    Text("sysadminctl.new_password_prompt", "New password:", source="sysadminctl-resetpw-prompts-pexpect"),
    Text("sysadminctl.assigning_uid", "Assigning UID: {uid}", source="sysadminctl-adduser-interactive-password-2018"),
    Text("sysadminctl.assigning_uid_gid", "Assigning UID: {uid} GID: {gid}",
         source="sysadminctl-adduser-success-gid-crackme, sysadminctl-adduser-success-gid-trainee"),
    Text("sysadminctl.creating_home", "Creating home directory at {home}",
         source="sysadminctl-adduser-success-gid-crackme"),
    Text("sysadminctl.home_exists", "Directory at path:{home} already exists",
         source="sysadminctl-adduser-14135-existing-record-maxieds"),
    Text("sysadminctl.home_assigned", "\nHome directory is assigned (not created!) at {home}",
         source="sysadminctl-adduser-home-assigned-not-created"),
    Text("sysadminctl.killing", "Killing all processes for UID {uid}", source="sysadminctl-deleteuser-secure-success"),
    Text("sysadminctl.removing_home_secure", "Securely removing {name}'s home at {home}",
         source="sysadminctl-deleteuser-secure-success"),
    Text("sysadminctl.deleting_share", "Deleting Public share point for {name}",
         source="sysadminctl-deleteuser-secure-success"),
    Text("sysadminctl.deleting_record", "Deleting record for {name}", source="sysadminctl-deleteuser-secure-success"),
    Text("sysadminctl.btmm", "AOSKit INFO: Disabling BTMM for user, no zone found for uid={uid}, usersToZones: (null)",
         source="sysadminctl-deleteuser-secure-success"),
    Text("sysadminctl.owner_not_deletable",
         "User {name} can not be deleted (it's either last admin user or last secure token user neither of which "
         "can be deleted)", source="sysadminctl-deleteuser-last-token-user-stub"),
    Text("sysadminctl.own_sep_credential", "User cannot disable their own SEP credential",
         source="sysadminctl-tokenoff-own-sep-credential"),
    Text("sysadminctl.auth_framework", "Failed to authenticate with SystemAdministration framework.",
         source="sysadminctl-status-auth-framework-failure-10.13.2"),
    Text("sysadminctl.fs_status_cs", "Boot volume CS FDE: {value}", source="sysadminctl-filesystem-status-2019"),
    Text("sysadminctl.fs_status_apfs", "Boot volume APFS FDE: {value}", source="sysadminctl-filesystem-status-2019"),
    Text("sysadminctl.guest_status", "Guest account {state}.", source="sysadminctl-guestaccount-status-disabled"),
    Text("sysadminctl.guest_already", "Guest account is already {state}",
         source="sysadminctl-guestaccount-off-already"),
    Text("sysadminctl.autologin_status", "Automatic login user: {name}", source="sysadminctl-autologin-status-mkuser"),
    Text("sysadminctl.usage_1013",
         "Usage: sysadminctl\n"
         "\t-adminUser <admin user name> -adminPassword <admin user password>\n" + USAGE_CORE_OLD +
         "Pass '-' instead of password in commands above to request prompt.",
         source="sysadminctl-usage-admin679-maxieds"),
    Text("sysadminctl.usage_1015",
         "Usage: sysadminctl\n" + USAGE_CORE_OLD +
         "\t-screenLock <immediate || off> -password <password>\n\n" + USAGE_TRAILER,
         source="sysadminctl-usage-2019-screenlock-immediate"),
    Text("sysadminctl.usage_11",
         "Usage: sysadminctl\n" + USAGE_CORE_11 + USAGE_TAIL_11 + "\n\n" + USAGE_TRAILER + USAGE_FOOTNOTE,
         source="sysadminctl-usage-11-12-tabs-comment (the option lines); the header, trailer and footnote as "
                "in sysadminctl-usage-13.2.1-derflounder (inferred for 11 and 12)"),
    Text("sysadminctl.usage_13",
         "Usage: sysadminctl\n" + USAGE_CORE_11 + USAGE_AUTOLOGIN + USAGE_TAIL_11 + "\n\n" + USAGE_TRAILER
         + USAGE_FOOTNOTE, source="sysadminctl-usage-13.2.1-derflounder"),
    Text("sysadminctl.interaction_not_allowed",
         "Operation is not permitted: errAuthorizationInteractionNotAllowed (-60007)",
         alt="Authorization refused: errAuthorizationInteractionNotAllowed [-60007]",
         keep=("errAuthorizationInteractionNotAllowed",)),
    Text("sysadminctl.wrong_user_password",
         "Authentication failed for user {name}: incorrect password.",
         alt="Could not verify the credential of {name}."),
    Text("sysadminctl.not_admin",
         "User {admin} is not an administrator and cannot perform this operation.",
         alt="{admin} may not approve this (no admin group membership)."),
    Text("sysadminctl.not_eligible",
         "Secure token cannot be enabled for network user {name}.",
         alt="{name} is a directory account; SEP credential unavailable."),
    Text("sysadminctl.token_off_done", "Secure token disabled for user {name}.",
         alt="Removed the SEP credential of {name}."),
    Text("sysadminctl.token_on_done", "Secure token enabled for user {name}.",
         alt="Granted a SEP credential to {name}."),
    Text("sysadminctl.admin_password_prompt", "Enter password for {name} : ",
         alt="Admin credential ({name}): ", keep=("Enter password for",)),
    Text("sysadminctl.removing_home", "Removing {name}'s home at {home}",
         alt="Deleting the home folder of {name} ({home})"),
    Text("sysadminctl.reset_done", "Password reset for user {name}.",
         alt="Changed the login secret of {name}."),
    Text("sysadminctl.autologin_off", "Automatic login is off", alt="Nobody is signed in at boot"),
    Text("sysadminctl.not_root_guest", "Changing the guest account requires root",
         alt="Superuser rights needed to toggle visitor login"),
    Text("sysadminctl.hfs_no_token", "Secure token is not supported on this volume.",
         alt="No SEP credential exists for that kind of disk format"),
    # ---- fdesetup --------------------------------------------------------------
    Text("fdesetup.on", "FileVault is On.", source="fdesetup-status-on-masterkeychain-ttg-10.15.6"),
    Text("fdesetup.off", "FileVault is Off.", source="fdesetup-status-off-jamf-ea"),
    Text("fdesetup.master_keychain", "FileVault master keychain appears to be installed.",
         source="fdesetup-status-on-masterkeychain-ttg-10.15.6"),
    Text("fdesetup.deferred", "Deferred enablement appears to be active for user '{name}'.",
         source="fdesetup-status-off-deferred-inspec"),
    Text("fdesetup.deferred_nobody", "Deferred enablement appears to be active.",
         source="DEPNotify-Starter #58 on 13.2.1 (evidence/notes/behaviour.md, question 8)"),
    Text("fdesetup.encrypting", "Encryption in progress: Percent completed = {percent}",
         source="fdesetup-status-encrypting-placeholder-jamf-ea (the shape), fixtures in the reference"),
    Text("fdesetup.encrypting_pending", "Encryption in progress: Pending",
         source="fdesetup-status-encrypting-pending-jamf-ea"),
    Text("fdesetup.decrypting", "Decryption in progress: Percent completed = {percent}",
         source="fdesetup-status-decrypting-crypt (the prefix; the rest as for encryption)"),
    Text("fdesetup.on_needs_restart", "FileVault is On, but needs to be restarted to finish.",
         source="fdesetup-status-on-needs-restart-munkireport"),
    Text("fdesetup.off_needs_restart", "FileVault is Off, but needs to be restarted to finish.",
         source="fdesetup-status-off-needs-restart-munkireport"),
    Text("fdesetup.off_enable_after_restart", "FileVault is Off, but will be enabled after the next restart.",
         source="fdesetup-status-off-enable-after-restart-strap"),
    Text("fdesetup.extended_apfs", "Volume is APFS", source="fdesetup-status-extended-volume-apfs-munkireport"),
    Text("fdesetup.true", "true", source="fdesetup-isactive-true-man"),
    Text("fdesetup.false", "false", source="fdesetup-isactive-false-man"),
    Text("fdesetup.verbose_inputplist", "fdesetup: auth info dictionary path = stdin",
         source="fdesetup-add-inputplist-verbose-failed-17-10.13b3-openradar18039"),
    Text("fdesetup.verbose_personal", "fdesetup: use personal recovery key",
         source="fdesetup-changerecovery-inputplist-verbose-failed-10.13b3-openradar18038"),
    Text("fdesetup.verbose_norecoverykey", "fdesetup: do not return recovery key",
         source="fdesetup-changerecovery-verbose-norecoverykey-authfail-jssreissue58"),
    Text("fdesetup.verbose_device", "fdesetup: device path = {device}",
         source="fdesetup-enable-verbose-already-on-device-nix2925"),
    Text("fdesetup.prompt_user", "Enter the user name:", source="fdesetup-enable-interactive-sequoia-derflounder"),
    Text("fdesetup.prompt_password", "Enter the password for user '{name}':",
         source="fdesetup-enable-interactive-sequoia-derflounder"),
    Text("fdesetup.prompt_added_password", "Enter the password for the added user '{name}':",
         source="fdesetup-add-prompts-user-flag-expect-zsh"),
    Text("fdesetup.prompt_recovery", "Enter a password for '/', or the recovery key:",
         source="fdesetup-changerecovery-prompts-10.13plus-jamf, fdesetup-add-prompts-password-or-key-ad-migration"),
    Text("fdesetup.prompt_disable", "Enter a password for '/' or recovery key:",
         source="fdesetup-disable-prompt-no-comma-jamf"),
    Text("fdesetup.prompt_validate", "Enter the current recovery key:", source="fdesetup-validaterecovery-prompt-ttg"),
    Text("fdesetup.recovery_key", "Recovery key = '{key}'", source="fdesetup-enable-interactive-sequoia-derflounder"),
    Text("fdesetup.new_personal_key", "New personal recovery key = '{key}'",
         source="fdesetup-changerecovery-newkey-swift-comment"),
    Text("fdesetup.auth_failed", "Error: User authentication failed.", source="fdesetup-enable-auth-failed-expect-zsh"),
    Text("fdesetup.user_not_authenticated", "Error: User could not be authenticated.",
         source="fdesetup-changerecovery-inputplist-authfail-11-escrowbuddy5"),
    Text("fdesetup.unable_unlock_authenticate", "Error: Unable to unlock or authenticate to FileVault.",
         source="fdesetup-changerecovery-inputplist-authfail-11-escrowbuddy5"),
    Text("fdesetup.unable_unlock", "Error: Unable to unlock FileVault.",
         source="fdesetup-changerecovery-wrongpw-expected-openradar18782"),
    Text("fdesetup.unable_change_key", "Error: Unable to change key.",
         source="fdesetup-changerecovery-failed-136-10.13-17A360a-openradar18363"),
    Text("fdesetup.problem_enable", "Error: A problem occurred while trying to enable FileVault. ({code})",
         source="fdesetup-enable-authrestart-failed-22-10.11-openradar6604"),
    Text("fdesetup.already_on", "Error: FileVault is already On.",
         source="fdesetup-enable-verbose-already-on-device-nix2925"),
    Text("fdesetup.blank_password", "One or more users have a blank password. FileVault cannot be enabled.",
         source="fdesetup(8) EXIT STATUS 37"),
    Text("fdesetup.disabled", "FileVault has been disabled.", source="fdesetup-disable-success-expect-zsh"),
    Text("fdesetup.not_disabled", "FileVault was not disabled ({code}).",
         source="fdesetup-disable-failed-69594-bigsur"),
    Text("fdesetup.add_failed_user", "Error: user could not be added (-69578).",
         source="fdesetup-add-inputplist-verbose-failed-17-10.13b3-openradar18039"),
    Text("fdesetup.add_failed", "Error: Unable to add one or more users to FileVault.",
         source="fdesetup-add-inputplist-verbose-failed-17-10.13b3-openradar18039"),
    Text("fdesetup.od_not_authenticated", "OD user '{name}' could not be authenticated.",
         source="fdesetup-add-inputplist-verbose-failed-17-10.13b3-openradar18039"),
    Text("fdesetup.adding_user", "Adding user '{name}' to existing FileVault",
         source="fdesetup-add-inputplist-verbose-failed-17-10.13b3-openradar18039"),
    Text("fdesetup.restarting", "System is being restarted", source="fdesetup-authrestart-success-stderr-munki"),
    Text("fdesetup.not_valid_key", "Error: Not a valid recovery key.",
         source="fdesetup-validaterecovery-invalid-crypt-mock"),
    Text("fdesetup.deferral_not_found", "Not found.", source="fdesetup-showdeferralinfo-notfound-ttg"),
    Text("fdesetup.list_extended_header",
         "ESCROW  UUID                                                                     TYPE USER",
         source="fdesetup-list-extended-ttg-10.15.6"),
    Text("fdesetup.not_root", "Error: This command must be run as root.",
         alt="fdesetup: superuser privileges are required for this verb."),
    Text("fdesetup.no_full_disk_access",
         "Error: Unable to enable FileVault: the calling process does not have Full Disk Access.",
         alt="Error: enabling refused because Remote Login lacks FDA rights."),
    Text("fdesetup.no_token_user",
         "Error: User '{name}' cannot be used to enable FileVault because it does not have a secure token.",
         alt="Error: '{name}' holds no SEP credential; pick a different account."),
    Text("fdesetup.busy", "Error: FileVault is busy. Wait until encryption or decryption has finished.",
         alt="Error: volume conversion in progress; try again later."),
    Text("fdesetup.is_off", "Error: FileVault is Off.",
         alt="Error: this volume is not protected yet.", keep=("Error: ",)),
    Text("fdesetup.deferred_configured",
         "Deferred enablement is configured. FileVault will be enabled at the next logout or login of '{name}'.",
         alt="Volume protection postponed until '{name}' signs off or signs on."),
    Text("fdesetup.deferred_already", "Error: A deferred enablement configuration is already active.",
         alt="Error: postponement set up earlier is still in force.", keep=("Error: ",)),
    Text("fdesetup.remove_not_user", "Error: User '{name}' is not a FileVault user.",
         alt="Error: no unlock entry for '{name}'.", keep=("Error: ",)),
    Text("fdesetup.remove_last", "Error: Unable to remove the last FileVault user '{name}'.",
         alt="Error: '{name}' is the only unlock entry and stays.", keep=("Error: ",)),
    Text("fdesetup.unknown_user", "Error: Unable to find user record for '{name}'.",
         alt="Error: no account named '{name}'.", keep=("Error: ",)),
    Text("fdesetup.not_authorized_to_add",
         "Error: User '{name}' is not a FileVault user and cannot add other users.",
         alt="Error: '{name}' may not approve new unlock entries.", keep=("Error: ",)),
    Text("fdesetup.usage", "Usage: fdesetup <verb> <options>",
         alt="fdesetup: unrecognised verb or flag; see fdesetup help."),
    Text("fdesetup.bad_input", "Error: Unable to read the input property list.",
         alt="Error: malformed -inputplist data.", keep=("Error: ", "-inputplist")),
    Text("fdesetup.hfs_unsupported", "Error: This command is not supported on this file system.",
         alt="Error: volume format not handled by this verb.", keep=("Error: ",)),
    # ---- profiles ----------------------------------------------------------------
    Text("profiles.bt_supported", "profiles: Bootstrap Token supported on server: {yesno}",
         source="profiles-bt-status-unsupported-one-line-ttg-10.15.6, profiles-bt-status-supported-escrowed-mkuser"),
    Text("profiles.bt_escrowed", "profiles: Bootstrap Token escrowed to server: {yesno}",
         source="profiles-bt-status-supported-escrowed-mkuser"),
    Text("profiles.bt_is_supported", "profiles: Bootstrap Token is supported on server: {yesno}",
         source="profiles-bt-status-is-supported-escrowed-on-super-62"),
    Text("profiles.bt_escrowed_on", "profiles: Bootstrap Token escrowed on server: {yesno}",
         source="profiles-bt-status-is-supported-escrowed-on-super-62"),
    Text("profiles.bt_not_allowed", "Bootstrap Token functionality is not supported on the server.",
         source="profiles-bt-status-not-supported-on-server-kendall"),
    Text("profiles.enroll_dep", "Enrolled via DEP: {yesno}",
         source="profiles-enroll-status-uamdm-server-fleet-comment"),
    Text("profiles.enroll_mdm", "MDM enrollment: {value}", source="profiles-enroll-status-uamdm-server-fleet-comment"),
    Text("profiles.enroll_server", "MDM server: {url}", source="profiles-enroll-status-uamdm-server-fleet-comment"),
    Text("profiles.dep_header", "Device Enrollment configuration:", source="profiles-enroll-show-null-fleet"),
    Text("profiles.dep_not_enabled", "Error fetching Device Enrollment configuration: {code}Client is not DEP enabled.",
         source="profiles-enroll-show-not-dep-enabled, profiles-enroll-show-not-dep-enabled-34000"),
    Text("profiles.apsd_bad_response", "Bad response from apsd: Connection interrupted",
         source="profiles-enroll-show-apsd-cannot-determine"),
    Text("profiles.dep_cannot_determine",
         "Error fetching Device Enrollment configuration: We can't determine if this machine is DEP enabled.",
         source="profiles-enroll-show-apsd-cannot-determine"),
    Text("profiles.dep_too_soon",
         "Error fetching Device Enrollment configuration - Request too soon.  Try again later.",
         source="profiles-enroll-show-rate-limited"),
    Text("profiles.must_be_root", "Must be running as root", source="profiles-enroll-show-not-root"),
    Text("profiles.no_longer_installs", "profiles tool no longer supports installs.",
         source="profiles-install-config-no-longer-supported"),
    Text("profiles.prompt_admin", "Enter the admin user name:", source="profiles-bt-install-prompts-fabienconus"),
    Text("profiles.prompt_password", "Enter the password for user '{name}':",
         source="profiles-bt-install-prompts-fabienconus"),
    Text("profiles.prompt_password_unquoted", "Enter the password for user {name}:",
         source="profiles-bt-install-prompt-unquoted-kendall"),
    Text("profiles.prompt_volume_password", "Enter a password for '/',: ",
         source="profiles-bt-install-prompt-volume-password-variant"),
    Text("profiles.password_required", "Error: Password is required.",
         source="profiles-bt-install-blank-password-mkuser"),
    Text("profiles.bt_created", "profiles: Bootstrap Token created", source="profiles-bt-install-created-line-mkuser"),
    Text("profiles.bt_escrowed_line", "profiles: Bootstrap Token escrowed",
         source="profiles-bt-install-escrowed-prefix-mkuser"),
    Text("profiles.bt_escrowed_successfully", "profiles: Bootstrap Token escrowed successfully",
         source="profiles-bt-install-escrowed-successfully-expect"),
    Text("profiles.bt_validated", "profiles: Bootstrap Token validated.",
         source="profiles-bt-validate-ok-prefixed-jamf-ea, profiles-bt-validate-ok-microsoft"),
    Text("profiles.auth_failed", "Unable to authenticate user information.",
         source="profiles-bt-validate-auth-failed-cocopuff, profiles-bt-install-auth-failed"),
    Text("profiles.verify_failed", "Unable to verify token (err = -69594).",
         source="profiles-bt-validate-verify-failed-69594-cocopuff"),
    Text("profiles.not_enrolled", "profiles: Error: This device is not enrolled in MDM.",
         alt="profiles: this Mac has no management link (error -67)."),
    Text("profiles.not_supported_error",
         "profiles: Error: The MDM server does not support Bootstrap Token.",
         alt="profiles: management host lacks the capability for this request."),
    Text("profiles.escrow_failed", "profiles: Error: Unable to escrow the Bootstrap Token to the MDM server.",
         alt="profiles: could not hand the token over to management."),
    Text("profiles.password_too_long", "profiles: Error: -69581",
         alt="profiles: credential rejected [code -69581]", keep=("-69581",)),
    Text("profiles.no_token_admin",
         "profiles: Error: User '{name}' is not a Secure Token administrator.",
         alt="profiles: '{name}' needs admin rights and a SEP credential."),
    Text("profiles.bt_removed", "profiles: Bootstrap Token removed",
         alt="profiles: deleted the token from the Mac and from management."),
    Text("profiles.no_bt", "profiles: Error: No Bootstrap Token is present on this device.",
         alt="profiles: there is no such token to act on."),
    Text("profiles.not_root", "profiles: this command requires root privileges",
         alt="profiles: must be run by the superuser."),
    Text("profiles.usage", "Usage: profiles <command> [options]",
         alt="profiles: verb or flag not understood; see its help page."),
    # ---- diskutil -----------------------------------------------------------------
    Text("diskutil.crypto_header", "Cryptographic {noun} for {dev} ({count} found)",
         source="diskutil-listusers-10.15.6-bootstrap-ttg, diskutil-listusers-10.13-single-user-zhblog"),
    Text("diskutil.no_crypto_users", "No cryptographic users for {dev}",
         source="diskutil-listcryptousers-none-tokenrabbit"),
    Text("diskutil.updatepreboot_start", "Started APFS operation",
         source="diskutil-updatepreboot-root-head-chat-transcript"),
    Text("diskutil.updatepreboot_commencing",
         "UpdatePreboot: Commencing operation to update the Preboot Volume for Target Volume {dev} ({name})",
         source="diskutil-updatepreboot-root-head-chat-transcript"),
    Text("diskutil.updatepreboot_data_sibling", "UpdatePreboot: The Data-sibling or self of the target is {dev} err=0",
         source="diskutil-updatepreboot-root-head-chat-transcript"),
    Text("diskutil.updatepreboot_exit",
         "UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)={code}",
         source="diskutil-updatepreboot-success-tail-fgsnapshotreset, diskutil-updatepreboot-failure-69572-title"),
    Text("diskutil.updatepreboot_finished", "Finished APFS operation",
         source="diskutil-updatepreboot-success-tail-fgsnapshotreset"),
    Text("diskutil.not_apfs", "{target} is not an APFS Volume",
         alt="Error: {target} lies outside every APFS container"),
    Text("diskutil.usage", "Usage:  diskutil [quiet] ap[fs] <verb> <options>",
         source="diskutil-apfs-usage-10.13-unlock25 (first line)"),
    # ---- dscl / dsmemberutil / dseditgroup ------------------------------------------
    Text("dscl.auth_failed", "Authentication for node {node} failed. (-14090, eDSAuthFailed)",
         source="dscl-authonly-wrong-password-ttg-10.15, dscl-authonly-authfailed-exit10-apple-source"),
    Text("dscl.ds_error", "<dscl_cmd> DS Error: {code} ({name})",
         source="dscl-authonly-wrong-password-ttg-10.15, dscl-read-record-not-found-nix-pr98, "
                "dscl-permission-error-gha-exit40"),
    Text("dscl.no_such_key", "No such key: {key}", source="dscl-read-no-such-key-authenticationhint-mkuser"),
    Text("dscl.invalid_path", "{verb}: Invalid Path", source="dscl-delete-missing-user-invalid-path-apple-source"),
    Text("dscl.attribute_status", "<main> attribute status: {name}",
         source="dscl-create-record-already-exists-nix1190"),
    Text("dscl.password_prompt", "Password: ", source="dscl-authonly-password-prompt-kandji-expect (getpass)"),
    Text("dscl.bad_datasource", "Data source ({node}) is not valid.",
         source="DSTools-162 dscl.m, as reported in evidence/notes/dscl.md, section 2"),
    Text("dscl.usage", "Usage: dscl [options] [<datasource> [<command>]]",
         alt="dscl: verb not understood; see dscl -h."),
    Text("dsmemberutil.member", "user is a member of the group", source="dsmemberutil-checkmembership-member-man"),
    Text("dsmemberutil.not_member", "user is not a member of the group",
         source="dsmemberutil-checkmembership-not-member-uid-gid-man"),
    Text("dsmemberutil.user_cannot_be_found", "The user {name} cannot be found",
         source="DSTools-162 dsmbrutil.c (evidence/notes/dscl.md, section 1.8)"),
    Text("dsmemberutil.user_not_found", "User not found",
         source="dsmemberutil-checkmembership-unknown-user-stdout-apple-source"),
    Text("dsmemberutil.group_cannot_be_found", "The group {name} cannot be found",
         source="DSTools-162 dsmbrutil.c (evidence/notes/dscl.md, section 1.8)"),
    Text("dsmemberutil.group_not_found", "Group not found",
         source="dsmemberutil-checkmembership-unknown-group-stdout-apple-source"),
    Text("dsmemberutil.usage", "Usage: dsmemberutil checkmembership missing appropriate options",
         source="DSTools-162 dsmbrutil.c (evidence/notes/dscl.md, section 1.8)"),
    Text("dseditgroup.member", "yes {user} is a member of {group}",
         source="DSTools-162 dseditgroup.c format string (evidence/notes/dscl.md, section 1.7)"),
    Text("dseditgroup.not_member", "no {user} is NOT a member of {group}", source="dseditgroup-checkmember-no-runbook"),
    Text("dseditgroup.unknown_member", "Unable to find the user record",
         source="dseditgroup-checkmember-unknown-user-apple-source"),
    Text("dseditgroup.group_not_found", "Group not found.", source="dseditgroup-checkmember-group-not-found"),
    Text("dseditgroup.record_not_found", "Record was not found.",
         source="dseditgroup-edit-add-unknown-record-apple-source"),
    Text("dseditgroup.credentials_required", "Username and password must be provided.",
         source="dseditgroup-edit-not-root-no-credentials-apple-source"),
    Text("dseditgroup.usage", "usage: dseditgroup [-o checkmember|edit] [-m|-a|-d member] [-t user] group",
         alt="dseditgroup: invalid arguments"),
    # ---- shutdown (Apple's system_cmds shutdown.tproj/shutdown.c; evidence/shutdown.yml) --------------------
    Text("shutdown.not_root", "shutdown: NOT super-user", source="shutdown-not-super-user-macos-notes"),
    Text("shutdown.usage", "usage: shutdown [-] [-h [-u] [-n] | -r [-n] | -s | -k] time [warning-message ...]",
         source="shutdown-usage-system_cmds-source"),
    Text("shutdown.bad_time", "shutdown: bad time format", source="shutdown-usage-system_cmds-source"),
    Text("shutdown.now", "Shutdown NOW!", source="shutdown-r-now-ssh-session-runbook"),
    Text("shutdown.wall_final", "\a*** FINAL System shutdown message from {user}@{host} ***\a\n"
                                "System going down IMMEDIATELY\n\n", source="shutdown-r-now-ssh-session-runbook"),
    Text("shutdown.arrived", "\r\nSystem shutdown time has arrived\a\a\r\n",
         source="shutdown-r-now-ssh-session-runbook"),
    Text("shutdown.at", "Shutdown at {when}.", source="shutdown-usage-system_cmds-source"),
    Text("shutdown.forked", "shutdown: [pid {pid}]", source="shutdown-usage-system_cmds-source"),
    # ---- the pre-boot sshd of macOS 26 (evidence/notes/issue13-research.md section 2) ------------------------
    Text("preboot.banner", "This system is locked. To unlock it, use a local\naccount name and password. "
                           "Once successfully\nunlocked, you will be able to connect normally.",
         source="evidence/notes/issue13-research.md section 2 (shoon/fv-ssh-unlock Tahoe 26.0 real output)"),
    Text("preboot.unlocked", "System successfully unlocked.\nYou may now use SSH to authenticate normally.\n",
         source="evidence/notes/issue13-research.md section 2 (shoon/fv-ssh-unlock Tahoe 26.0 real output)"),
    Text("preboot.locked_out", "Authentication failed: account is temporarily locked",
         source="evidence/notes/issue13-research.md section 2 (FileVaultUnlock.swift; that the text reaches the "
                "SSH client is an inference)"),
    # ---- sw_vers / uname / sysctl / python stub ---------------------------------------
    Text("sw_vers.usage_1013", "Usage: sw_vers [-productName|-productVersion|-buildVersion]",
         source="sw_vers-usage-legacy-10.11-tips (quoted on a 10.11 page)"),
    Text("sw_vers.usage_11",
         "Usage: sw_vers [--help|--productName|--productVersion|--productVersionExtra|--buildVersion]",
         source="sw_vers-usage-modern-reimplementations (three re-implementations agree; no captured run)"),
    Text("uname.usage", "usage: uname [-amnoprsv]", source="uname-usage-shell_cmds-source"),
    Text("sysctl.usage_old", "usage: sysctl [-bdehiNnoqx] name[=value] ...\n       sysctl [-bdehNnoqx] -a",
         source="sysctl-usage-system_cmds-953-source"),
    Text("sysctl.usage_new", "usage: sysctl [-bdeFhilNnoqtWx] [ -B <bufsize> ] [-f filename] name[=value] ...\n"
                             "       sysctl [-bdeFhlNnoqtWx] [ -B <bufsize> ] -a",
         source="sysctl-usage-system_cmds-979-source"),
    Text("sysctl.unknown_oid", "sysctl: unknown oid '{oid}'", source="sysctl-hw.optional.arm64-unknown-flutter-log-a"),
    Text("diskutil.not_root", "UpdatePreboot: Error: must be run as root",
         alt="Error: refreshing the boot volume requires superuser privileges"),
    Text("python.stub",
         "xcode-select: note: No developer tools were found, requesting install.\n"
         "If developer tools are located at a non-default location on disk, use `sudo xcode-select --switch "
         "path/to/Xcode.app` to specify the Xcode that you wish to use for command line developer tools, and cancel "
         "the installation dialog.\nSee `man xcode-select` for more details.",
         source="python3-stub-no-clt-munki-125, python3-stub-no-clt-sonoma-14.7.6-binmerge-29"),
    Text("python.stub_stale_xcode",
         'xcrun: error: active developer path ("/Applications/Xcode.app/Contents/Developer") does not exist\n'
         "Use `sudo xcode-select --switch path/to/Xcode.app` to specify the Xcode that you wish to use for command "
         "line developer tools, or use `xcode-select --install` to install the standalone command line developer "
         "tools.\nSee `man xcode-select` for more details.", source="python3-stale-xcode-path-alfred-notes-17"),
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
