# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Published output of the macOS tools (shared/reference/macos-tool-output.md), by sample name.

Tool output is data: these are the texts real Macs printed, as their authors published them.
"""

from __future__ import annotations

SAMPLES = {
    "sysadminctl-status-disabled-ec2":
        "2021-01-14 18:17:47.414 sysadminctl[96836:904874] Secure token is DISABLED for user ec2-user",
    "sysadminctl-status-enabled-ec2":
        "2021-01-14 19:21:55.854 sysadminctl[14193:181530] Secure token is ENABLED for user ec2-user",
    "sysadminctl-status-enabled-createdviacli":
        "2017-10-07 17:51:56.505 sysadminctl[674:9389] Secure token is ENABLED for user createdviacli",
    "sysadminctl-status-26":
        "2026-09-23 10:10:38.619 sysadminctl[1053:11513] Secure token is ENABLED for user Tuist Runner Operator",
    "sysadminctl-status-unknown-user-26":
        "2026-09-23 10:10:38.638 sysadminctl[1056:11522] Unknown user nosuchuser",
    "sysadminctl-adduser-fail-14090": (
        "2025-03-21 09:23:36.993 sysadminctl[55188:5120763] ### Error:-14090 File:/AppleInternal/Library/BuildRoots/"
        "d187755d-b9a3-11ef-83e5-aabfac210453/Library/Caches/com.apple.xbs/Sources/Admin/DSAuthenticator.m Line:94\n"
        "2025-03-21 09:23:36.994 sysadminctl[55188:5120763] ----------------------------\n"
        "2025-03-21 09:23:36.994 sysadminctl[55188:5120763] No clear text password or interactive option was "
        "specified (adduser, change/reset password will not allow user to use FDE) !\n"
        "2025-03-21 09:23:36.994 sysadminctl[55188:5120763] ----------------------------\n"
        "2025-03-21 09:23:36.996 sysadminctl[55188:5120763] New account password error.  (5402)"),
    "sysadminctl-auth-framework-failure-10.13.2": "Failed to authenticate with SystemAdministration framework.",
    "sysadminctl-resetpassword-no-token": "Operation is not permitted without secure token unlock.",
    "fdesetup-status-on-masterkeychain-10.15.6": "FileVault is On.\nFileVault master keychain appears to be installed.",
    "fdesetup-status-off-doc": "FileVault is Off.",
    "fdesetup-status-off-deferred-placeholder":
        "FileVault is Off.\nDeferred enablement appears to be active for user '<shortName>'.",
    "fdesetup-status-encrypting-placeholder": "FileVault is On.\nEncryption in progress: percent completed = ##.##",
    "fdesetup-status-encrypting-fixture": "FileVault is On.\nEncryption in progress: Percent completed = 12",
    "fdesetup-status-off-enable-after-restart": "FileVault is Off, but will be enabled after the next restart.",
    "fdesetup-status-on-needs-restart": "FileVault is On, but needs to be restarted to finish.",
    "fdesetup-isactive-true": "true",
    "fdesetup-isactive-false": "false",
    "fdesetup-haspersonalrecoverykey-true": "true",
    "fdesetup-hasinstitutionalrecoverykey-false": "false",
    "fdesetup-validaterecovery-true": "true",
    "fdesetup-list-stig": "fvuser,85F41F44-22B3-6CB7-85A1-BCC2EA2B887A",
    "fdesetup-showdeferralinfo-10.15.6": (
        "{\n    Defer = 1;\n    OutputPath = \"/var/db/ConfigurationProfiles/fdesetup.plist\";\n"
        "    ProfileUUID = \"418DEB1B-XXXX-XXXX-XXXX-60BC894B1558\";\n    ShowRecoveryKey = 1;\n"
        "    Usernames =     (\n    );\n}"),
    "fdesetup-showdeferralinfo-notfound": "Not found.",
    "fdesetup-enable-outputplist-corestorage": (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n  <key>EnabledDate</key>\n  <string>2012-10-09 14:01:55 -0400</string>\n'
        '  <key>HardwareUUID</key>\n  <string>F934ABE5-O5K9-1035-B04D-AO4203LLO034</string>\n'
        '  <key>LVGUUID</key>\n  <string>19A65A81-9AD9-473D-AD65-7E933B338D23</string>\n'
        '  <key>LVUUID</key>\n  <string>217CEC95-018C-4CA5-964F-4E7235CA2937</string>\n'
        '  <key>PVUUID</key>\n  <string>8D5D3D81-0F1B-4311-9804-1E5FA087D1B4</string>\n'
        '  <key>RecoveryKey</key>\n  <string>DLEV-ZYT9-ODLA-PVML-66DV-HZ8R</string>\n'
        '  <key>SerialNumber</key>\n  <string>W53035EINFA</string>\n</dict>\n</plist>'),
    "fdesetup-enable-interactive-10.13": (
        "Enter the user name:createdviacli\nEnter the password for user 'createdviacli':\n"
        "Recovery key = 'recovery key displayed here'"),
    "fdesetup-changerecovery-newkey": "New personal recovery key = '77CW-QBNT-BXW6-7ZUR-5XJR-NF8A'",
    "profiles-bt-supported-not-escrowed":
        "profiles: Bootstrap Token supported on server: YES\nprofiles: Bootstrap Token escrowed to server: NO",
    "profiles-bt-supported-escrowed":
        "profiles: Bootstrap Token supported on server: YES\nprofiles: Bootstrap Token escrowed to server: YES",
    "profiles-bt-unsupported-10.15.6": "profiles: Bootstrap Token supported on server: NO",
    "profiles-bt-validate-ok": "Bootstrap Token validated.",
    "profiles-enrollment-uamdm-server": (
        "Enrolled via DEP: No\nMDM enrollment: Yes (User Approved)\nMDM server: https://test.example.com/mdm/apple/mdm"),
    "profiles-enrollment-not-enrolled": "Enrolled via DEP: No\nMDM enrollment: No",
    "diskutil-listusers-10.15.6-bootstrap": (
        "Cryptographic users for disk1s5 (4 found)\n|\n+-- FB756838-XXXX-XXXX-XXXX-40FB5E7D5D3F\n"
        "|   Type: Local Open Directory User\n|\n+-- EBC6C064-XXXX-XXXX-XXXX-00306543ECAC\n"
        "|   Type: Personal Recovery User\n|\n+-- C22BDCD3-XXXX-XXXX-XXXX-65D3332605C3\n"
        "|   Type: Local Open Directory User\n|\n+-- 2457711A-XXXX-XXXX-XXXX-F48A571D5036\n"
        "    Type: MDM Bootstrap Token External Key"),
    "diskutil-listkeys-disk-user": (
        "Cryptographic user for disk3s1 (1 found)\n|\n+-- AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA\n    Type: Disk User"),
    "diskutil-listkeys-od-prk": (
        "Cryptographic users for disk1s2 (2 found)\n|\n+-- BBBBBBBB-BBBB-BBBB-BBBB-BBBBBBBBBBBB\n"
        "|   Type: Local Open Directory User\n|\n+-- CCCCCCCC-CCCC-CCCC-CCCC-CCCCCCCCCCCC\n"
        "    Type: Personal Recovery User"),
    "diskutil-updatepreboot-success-tail": (
        "UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)=0\n"
        "Finished APFS operation"),
    "dscl-authauthority-local-lkdc-pymacad": (
        "AuthenticationAuthority: ;ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2> ;Kerberosv5;;testuser@LKDC:SHA1."
        "8392019230AABB3399494BB1191999AAAF999AA;LKDC:SHA1.8392019230AABB3399494BB1191999AAAF999AA ;Kerberosv5Cert;;"
        "9170197410974109731097BBAA10101001029CC@LKDC:SHA1.9170197410974109731097BBAA10101001029CC;LKDC:SHA1."
        "9170197410974109731097BBAA10101001029CC;"),
    "dscl-originalnodename-local-missing": (
        "AuthenticationAuthority: ;ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2> ;Kerberosv5;;carol@LKDC:SHA1."
        "0123456789ABCDEF0123456789ABCDEF01234567;LKDC:SHA1.0123456789ABCDEF0123456789ABCDEF01234567;\n"
        "No such key: OriginalNodeName"),
    "dscl-list-uniqueid-excerpt": (
        "_accessoryupdater        278\n_amavisd                 83\n_analyticsd              263\n"
        "_appinstalld             273\n_appleevents             55"),
    "dsmemberutil-member": "user is a member of the group",
    "dseditgroup-checkmember-no": "no agent is NOT a member of admin",
    "sw_vers-man-13.0": (
        "ProductName:              macOS\nProductVersion:           13.0\nProductVersionExtra:      (a)\n"
        "BuildVersion:             22A100"),
    "sw_vers-productversion-man": "13.0",
    "sw_vers-10.13.2-radar": "ProductVersion:\t10.13.2\nBuildVersion:\t17C88",
    "uname-m-arm64": "arm64",
    "sysctl-brand-m1pro": "Apple M1 Pro",
}
