# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parsers on every published sample (samples.py), on variants real Macs print, and on malformed text."""

from __future__ import annotations

import pytest

from ansible_collections.macops.tokens.plugins.module_utils import _parsers as p
from ansible_collections.macops.tokens.tests.unit.plugins.module_utils.samples import SAMPLES


@pytest.mark.parametrize("name,enabled,shown", [
    ("sysadminctl-status-disabled-ec2", False, "ec2-user"),
    ("sysadminctl-status-enabled-ec2", True, "ec2-user"),
    ("sysadminctl-status-enabled-createdviacli", True, "createdviacli"),
    ("sysadminctl-status-26", True, "Tuist Runner Operator"),
])
def test_secure_token_status_samples(name, enabled, shown):
    assert p.parse_secure_token_status(SAMPLES[name]) == {"enabled": enabled, "name": shown, "error": None}


@pytest.mark.parametrize("name,error", [
    ("sysadminctl-status-unknown-user-26", "unknown_user"),
    ("sysadminctl-auth-framework-failure-10.13.2", "framework_auth_failed"),
    ("sysadminctl-resetpassword-no-token", "no_secure_token_unlock"),
    ("sysadminctl-adduser-fail-14090", "authentication_failed"),
])
def test_secure_token_status_errors(name, error):
    assert p.parse_secure_token_status(SAMPLES[name]) == {"enabled": None, "name": None, "error": error}


def test_secure_token_status_error_line_does_not_hide_the_status():
    text = SAMPLES["sysadminctl-adduser-fail-14090"].splitlines()[0] + "\n" + SAMPLES["sysadminctl-status-enabled-ec2"]
    assert p.parse_secure_token_status(text)["enabled"] is True


def test_secure_token_status_other_pid_forms_and_garbage():
    line = "2019-01-01 00:00:00.1 sysadminctl[1:0x1a2] Secure token is DISABLED for user Joshua D. Miller"
    assert p.parse_secure_token_status(line)["name"] == "Joshua D. Miller"
    with pytest.raises(p.ParseError) as err:
        p.parse_secure_token_status("#@%&*!?~^01xyz")
    assert err.value.parser == "parse_secure_token_status" and err.value.text == "#@%&*!?~^01xyz"


def test_sysadminctl_error_and_messages():
    assert p.sysadminctl_error(SAMPLES["sysadminctl-adduser-fail-14090"]) == "authentication_failed"
    assert p.sysadminctl_messages(SAMPLES["sysadminctl-adduser-fail-14090"])[-1] == \
        "New account password error.  (5402)"
    assert p.sysadminctl_error("2021-01-01 00:00:00.000 sysadminctl[1:2] - Done!") is None


def test_crypto_users_samples():
    users = p.parse_crypto_users(SAMPLES["diskutil-listusers-10.15.6-bootstrap"])
    expected = ["Local Open Directory User", "Personal Recovery User", "Local Open Directory User",
                "MDM Bootstrap Token External Key"]
    assert [u["type"] for u in users] == expected
    assert users[0]["uuid"] == "FB756838-XXXX-XXXX-XXXX-40FB5E7D5D3F" and users[0]["volume_owner"] is None
    assert p.parse_crypto_users(SAMPLES["diskutil-listkeys-disk-user"]) == [
        {"uuid": "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA", "type": "Disk User", "volume_owner": None}]
    assert len(p.parse_crypto_users(SAMPLES["diskutil-listkeys-od-prk"])) == 2


def test_crypto_users_variants():
    owner = ("Cryptographic users for disk3s1s1 (2 found)\n|\n+-- 0A1B2C3D-0000-1111-2222-333344445555\n"
             "|   Type: Local Open Directory User\n|   Volume Owner: Yes\n|\n"
             "+-- 0A1B2C3D-0000-1111-2222-333344445556\n    Type: Local Open Directory User\n    Volume Owner: No\n")
    assert [u["volume_owner"] for u in p.parse_crypto_users(owner)] == [True, False]
    beta = "Cryptographic users (1 found)\n|\n+-- 0A1B2C3D-0000-1111-2222-333344445555\n    Type: Local Open Directory"
    assert p.parse_crypto_users(beta)[0]["type"] == "Local Open Directory"
    assert p.parse_crypto_users("No cryptographic users for disk1s1\n") == []


@pytest.mark.parametrize("text,reason", [
    ("Cryptographic users for disk1s1 (2 found)\n|\n+-- 0A1B2C3D-0000-1111-2222-333344445555\n    Type: X\n",
     "header says 2 found"),
    ("+-- 0A1B2C3D-0000-1111-2222-333344445555\n    Type: X\n", "entry before"),
    ("disk1s1 is not an APFS Volume\n", "unexpected line 'disk1s1 is not an APFS Volume'"),
    ("Cryptographic user for disk1s1 (1 found)\n|\n+-- 0A1B2C3D-0000-1111-2222-333344445555\n", "without a Type"),
    ("Cryptographic user for d (1 found)\n+-- 0A1B2C3D-0000-1111-2222-333344445555\n    Type: A\n    Volume Owner: "
     "Maybe\n", "expected Yes or No"),
])
def test_crypto_users_malformed(text, reason):
    with pytest.raises(p.ParseError, match=reason):
        p.parse_crypto_users(text)


def test_crypto_users_plist():
    text = ('<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Users</key><array>'
            "<dict><key>APFSCryptoUserType</key><string>LocalOpenDirectory</string><key>APFSCryptoUserUUID</key>"
            "<string>ffffeeee-dddd-cccc-bbbb-aaaa000000c9</string></dict>"
            "<dict><key>APFSCryptoUserType</key><string>ICloudRecovery</string><key>APFSCryptoUserUUID</key>"
            "<string>64C0C6EB-0000-11AA-AA11-00306543ECAC</string></dict></array></dict></plist>")
    users = p.parse_crypto_users_plist(text)
    assert users[0] == {"uuid": "FFFFEEEE-DDDD-CCCC-BBBB-AAAA000000C9", "type": "Local Open Directory User",
                        "volume_owner": None}
    assert users[1]["type"] == "iCloud Recovery External Key"  # 64C0C6EB... is the fixed key (kolide/launcher #487)
    with pytest.raises(p.ParseError):
        p.parse_crypto_users_plist("not xml")


@pytest.mark.parametrize("name,expected", [
    ("fdesetup-status-on-masterkeychain-10.15.6", {"enabled": True, "master_keychain": True}),
    ("fdesetup-status-off-doc", {"enabled": False, "deferred_user": None}),
    ("fdesetup-status-off-deferred-placeholder", {"enabled": False, "deferred_user": "<shortName>"}),
    ("fdesetup-status-encrypting-placeholder", {"enabled": True, "encrypting": True, "percent": None}),
    ("fdesetup-status-encrypting-fixture", {"enabled": True, "encrypting": True, "percent": 12.0}),
    ("fdesetup-status-off-enable-after-restart", {"enabled": False, "restart_pending": True}),
    ("fdesetup-status-on-needs-restart", {"enabled": True, "restart_pending": True}),
])
def test_fdesetup_status_samples(name, expected):
    result = p.parse_fdesetup_status(SAMPLES[name])
    for key, value in expected.items():
        assert result[key] == value, key


def test_fdesetup_status_variants_and_malformed():
    status = p.parse_fdesetup_status("FileVault is On.\nDecryption in progress: Percent completed = 42.5\n"
                                     "Volume is APFS\nEstimated time remaining: 10 minutes\n")
    assert status["decrypting"] and status["percent"] == 42.5 and not status["encrypting"]
    assert p.parse_fdesetup_status("Encryption in progress: Pending")["enabled"] is True
    with pytest.raises(p.ParseError, match="no FileVault state line"):
        p.parse_fdesetup_status("Error: This command must be run as root.")


def test_fdesetup_list_plain_extended_null_and_malformed():
    assert p.parse_fdesetup_list(SAMPLES["fdesetup-list-stig"]) == [
        {"user": "fvuser", "uuid": "85F41F44-22B3-6CB7-85A1-BCC2EA2B887A", "type": None}]
    assert p.parse_fdesetup_list("a,0A1B2C3D-0000-1111-2222-333344445555\n(null),EBC6C064-0000-11AA-AA11-00306543ECAC"
                                 )[1]["user"] is None
    extended = ("ESCROW  UUID                                  TYPE                USER\n"
                "Yes     0A1B2C3D-0000-1111-2222-333344445555  OS User             alice\n")
    assert p.parse_fdesetup_list(extended) == [
        {"user": "alice", "uuid": "0A1B2C3D-0000-1111-2222-333344445555", "type": "OS User"}]
    assert p.parse_fdesetup_list("") == []
    with pytest.raises(p.ParseError):
        p.parse_fdesetup_list("alice 0A1B2C3D")


def test_fdesetup_bools_keys_and_deferral():
    for name, value in (("fdesetup-isactive-true", True), ("fdesetup-isactive-false", False),
                        ("fdesetup-haspersonalrecoverykey-true", True),
                        ("fdesetup-hasinstitutionalrecoverykey-false", False),
                        ("fdesetup-validaterecovery-true", True)):
        assert p.parse_fdesetup_bool(SAMPLES[name]) is value
    with pytest.raises(p.ParseError):
        p.parse_fdesetup_bool("Error: Not a valid recovery key.")
    assert p.parse_fdesetup_key_output(SAMPLES["fdesetup-enable-outputplist-corestorage"]) == \
        "DLEV-ZYT9-ODLA-PVML-66DV-HZ8R"
    assert p.parse_fdesetup_key_output(SAMPLES["fdesetup-changerecovery-newkey"]) == "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"
    assert p.parse_fdesetup_key_output(SAMPLES["fdesetup-enable-interactive-10.13"]) == "recovery key displayed here"
    assert p.parse_fdesetup_key_output("") is None
    assert p.parse_showdeferralinfo(SAMPLES["fdesetup-showdeferralinfo-10.15.6"]) == {
        "active": True, "users": [], "output_path": "/var/db/ConfigurationProfiles/fdesetup.plist"}
    assert p.parse_showdeferralinfo(SAMPLES["fdesetup-showdeferralinfo-notfound"])["active"] is False
    assert p.parse_showdeferralinfo('{\n    Defer = 1;\n    Usernames =     (\n'
                                    '        "alice"\n    );\n}')["users"] == ["alice"]


@pytest.mark.parametrize("name,expected", [
    ("profiles-bt-supported-not-escrowed", {"supported": True, "escrowed": False, "allowed": True}),
    ("profiles-bt-supported-escrowed", {"supported": True, "escrowed": True, "allowed": True}),
    ("profiles-bt-unsupported-10.15.6", {"supported": False, "escrowed": None, "allowed": True}),
])
def test_bootstrap_status(name, expected):
    assert p.parse_bootstrap_status(SAMPLES[name]) == expected


def test_bootstrap_status_malformed():
    with pytest.raises(p.ParseError):
        p.parse_bootstrap_status("profiles: Error: This device is not enrolled in MDM.")
    with pytest.raises(p.ParseError):
        p.parse_bootstrap_status("")


def test_enrollment_status():
    assert p.parse_enrollment_status(SAMPLES["profiles-enrollment-uamdm-server"]) == {
        "dep": False, "mdm_enrolled": True, "user_approved": True, "server": "https://test.example.com/mdm/apple/mdm"}
    assert p.parse_enrollment_status(SAMPLES["profiles-enrollment-not-enrolled"]) == {
        "dep": False, "mdm_enrolled": False, "user_approved": False, "server": None}
    assert p.parse_enrollment_status("Enrolled via DEP: Yes\nMDM enrollment: Yes\n")["user_approved"] is False
    with pytest.raises(p.ParseError):
        p.parse_enrollment_status("Device Enrollment configuration:\n(null)")
    assert p.parse_profiles_validate(SAMPLES["profiles-bt-validate-ok"]) is True


def test_dscl_read_one_line_wrapped_and_missing():
    record = p.parse_dscl_read(SAMPLES["dscl-originalnodename-local-missing"])
    assert list(record) == ["AuthenticationAuthority"]
    assert record["AuthenticationAuthority"][0] == ";ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2>"
    assert len(p.parse_dscl_read(SAMPLES["dscl-authauthority-local-lkdc-pymacad"])["AuthenticationAuthority"]) == 3
    wrapped = ("AuthenticationAuthority:\n ;LocalCachedUser;/Active Directory/CORP/corp.example.com:jdoe:ABC\n"
               " ;Kerberosv5;;jdoe@CORP.EXAMPLE.COM;CORP.EXAMPLE.COM;\nRealName:\n Jane Doe\nUniqueID: 1103\n"
               "dsAttrTypeNative:_writers_passwd: jdoe\n")
    record = p.parse_dscl_read(wrapped)
    assert record["AuthenticationAuthority"][0].startswith(";LocalCachedUser;/Active Directory/")
    assert record["RealName"] == ["Jane Doe"] and record["UniqueID"] == ["1103"]
    assert record["dsAttrTypeNative:_writers_passwd"] == ["jdoe"]
    with pytest.raises(p.ParseError):
        p.parse_dscl_read("<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)")


def test_dscl_readall_list_and_authority():
    text = "RecordName: a\nUniqueID: 501\n-\nRealName:\n B B\nRecordName: b\nUniqueID: 502\n"
    assert p.parse_dscl_readall(text) == [{"RecordName": ["a"], "UniqueID": ["501"]},
                                          {"RealName": ["B B"], "RecordName": ["b"], "UniqueID": ["502"]}]
    assert p.parse_dscl_list(SAMPLES["dscl-list-uniqueid-excerpt"])[0] == ("_accessoryupdater", "278")
    info = p.parse_authentication_authority([";LocalCachedUser;/Active Directory/X/x:u:G", ";SecureToken;",
                                             ";DisabledTags;SecureToken"])
    assert info == {"secure_token_tag": True, "disabled_tags": ["SecureToken"], "local_cached_user": True,
                    "netlogon": False, "shadow_hash": False}


def test_membership():
    assert p.parse_dsmemberutil(SAMPLES["dsmemberutil-member"]) is True
    assert p.parse_dsmemberutil("user is not a member of the group\n") is False
    assert p.parse_dseditgroup_checkmember(SAMPLES["dseditgroup-checkmember-no"]) is False
    assert p.parse_dseditgroup_checkmember("yes boss is a member of admin") is True
    for parser in (p.parse_dsmemberutil, p.parse_dseditgroup_checkmember):
        with pytest.raises(p.ParseError):
            parser("Record was not found.")


def test_sw_vers_layouts():
    assert p.parse_sw_vers(SAMPLES["sw_vers-man-13.0"]) == {
        "product_name": "macOS", "product_version": "13.0", "product_version_extra": "(a)", "build_version": "22A100"}
    assert p.parse_sw_vers(SAMPLES["sw_vers-10.13.2-radar"])["product_version"] == "10.13.2"
    assert p.parse_sw_vers("ProductName:\t\tmacOS\nProductVersion:\t\t26.1\nBuildVersion:\t\t25B78\n")[
        "build_version"] == "25B78"
    with pytest.raises(p.ParseError):
        p.parse_sw_vers(SAMPLES["sw_vers-productversion-man"])


def test_single_values_preboot_and_versions():
    assert p.parse_single_value(SAMPLES["uname-m-arm64"]) == "arm64"
    assert p.parse_single_value(SAMPLES["sysctl-brand-m1pro"]) == "Apple M1 Pro"
    with pytest.raises(p.ParseError):
        p.parse_single_value("")
    assert p.parse_updatepreboot(SAMPLES["diskutil-updatepreboot-success-tail"]) is True
    assert p.parse_updatepreboot("UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)"
                                 "=22") is False
    assert p.version_tuple("10.15") == (10, 15, 0) and p.version_tuple("26.1.2") == (26, 1, 2)
    assert p.strip_nslog("2021-01-14 18:17:47.414 sysadminctl[96836:904874] x") == "x"


def test_parse_error_message_names_the_command():
    err = p.ParseError("parse_x", "garbage", command=["/usr/bin/fdesetup", "status"])
    assert "parse_x" in str(err) and "/usr/bin/fdesetup status" in str(err) and "garbage" in str(err)
