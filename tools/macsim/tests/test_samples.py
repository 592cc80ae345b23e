"""Every sample of macos-tool-output.md that a simulated tool produces, reproduced from a matching state.

Timestamps and pids are ignored; the rest must match the published text exactly.
"""

from __future__ import annotations

import plistlib

import pytest

from simlib import mac, strip_nslog, user


def test_sysadminctl_status_short_name_disabled_and_enabled(make_host):
    # sysadminctl-status-disabled-ec2 / -enabled-ec2 (RealName equal to the short name)
    host = make_host(doc=mac(users=[user("ec2-user", 501, admin=True)]))
    code, out, err = host.run("sysadminctl", "-secureTokenStatus", "ec2-user")
    assert (code, out) == (0, "")
    assert strip_nslog(err) == "sysadminctl: Secure token is DISABLED for user ec2-user\n"
    with host.store.transaction() as state:
        state["users"][0]["secure_token"] = True
    assert strip_nslog(host.run("sysadminctl", "-secureTokenStatus", "ec2-user")[2]) == \
        "sysadminctl: Secure token is ENABLED for user ec2-user\n"


def test_sysadminctl_status_prints_full_name(make_host):
    # (26.6 fixture) "... for user Tuist Runner Operator"
    host = make_host(doc=mac(version="26.1", users=[user("runner", 501, full_name="Tuist Runner Operator",
                                                         secure_token=True)]))
    assert strip_nslog(host.run("sysadminctl", "-secureTokenStatus", "runner")[2]) == \
        "sysadminctl: Secure token is ENABLED for user Tuist Runner Operator\n"


def test_sysadminctl_status_nslog_prefix_shape(make_host):
    host = make_host(doc=mac(users=[user("a", 501)]))
    err = host.run("sysadminctl", "-secureTokenStatus", "a")[2]
    assert __import__("re").match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} sysadminctl\[\d+:\d+\] Secure", err)


def test_sysadminctl_unknown_user(make_host):
    host = make_host(doc=mac(users=[user("a", 501)]))
    assert strip_nslog(host.run("sysadminctl", "-secureTokenStatus", "nosuchuser")[2]) == \
        "sysadminctl: Unknown user nosuchuser\n"


def test_sysadminctl_wrong_admin_password_still_prints_status(make_host):
    # rdar 36163828 / sysadminctl-adduser-fail-14090 error line
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)]))
    err = strip_nslog(host.run("sysadminctl", "-secureTokenStatus", "a", "-adminUser", "a", "-adminPassword", "x")[2])
    lines = err.splitlines()
    assert lines[0].startswith("sysadminctl: ### Error:-14090 File:/AppleInternal/Library/BuildRoots/")
    assert lines[0].endswith("/Library/Caches/com.apple.xbs/Sources/Admin/DSAuthenticator.m Line:94")
    assert lines[1] == "sysadminctl: Secure token is ENABLED for user a"


def test_sysadminctl_adduser_failed_admin_auth_block(make_host):
    # sysadminctl-adduser-fail-14090: five lines, two spaces before (5402), exit 0
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True)]))
    code, out, err = host.run("sysadminctl", "-adminUser", "ADMIN", "-adminPassword", "PW", "-addUser", "ADMIN",
                              "-fullName", "NAME", "-password", "PW", "-admin")
    lines = strip_nslog(err).splitlines()
    assert code == 0 and out == ""
    assert lines[0].startswith("sysadminctl: ### Error:-14090 File:")
    assert lines[1:] == [
        "sysadminctl: ----------------------------",
        "sysadminctl: No clear text password or interactive option was specified (adduser, change/reset password "
        "will not allow user to use FDE) !",
        "sysadminctl: ----------------------------",
        "sysadminctl: New account password error.  (5402)",
    ]


def test_sysadminctl_adduser_success_lines(make_host):
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True)]))
    err = strip_nslog(host.run("sysadminctl", "-addUser", "carl", "-password", "carl-pw")[2])
    assert "sysadminctl: Creating user record\u2026\n" in err
    assert err.endswith("sysadminctl: - Done!\n")


def test_sysadminctl_no_token_unlock_exit_zero(make_host):
    # sysadminctl-resetpassword-no-token: the message, nothing changed, exit 0
    host = make_host(doc=mac(users=[user("runner", 501, admin=True, secure_token=True)]))
    code, out, err = host.run("sysadminctl", "-resetPasswordFor", "runner", "-newPassword", "PW")
    assert code == 0
    assert strip_nslog(err) == "sysadminctl: Operation is not permitted without secure token unlock.\n"
    assert host.user("runner")["password"] == "runner-pw"


def test_dscl_authonly_wrong_password(make_host):
    host = make_host(doc=mac(version="10.15.7", arch="intel_t2", users=[user("u", 501, secure_token=True)]))
    code, out, err = host.run("dscl", "/Local/Default", "-authonly", "u", "PW")
    assert code != 0 and out == ""
    assert err == ("Authentication for node /Local/Default failed. (-14090, eDSAuthFailed)\n"
                   "<dscl_cmd> DS Error: -14090 (eDSAuthFailed)\n")


@pytest.mark.parametrize("state,expected,code", [
    ({"state": "on", "institutional_key": True, "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"},
     "FileVault is On.\nFileVault master keychain appears to be installed.\n", 0),
    ({"state": "off"}, "FileVault is Off.\n", 0),
    ({"state": "deferred", "deferred_user": "shortName"},
     "FileVault is Off.\nDeferred enablement appears to be active for user 'shortName'.\n", 0),
    ({"state": "encrypting", "percent": 12}, "FileVault is On.\nEncryption in progress: Percent completed = 12\n", 0),
    ({"state": "on", "restart_pending": True}, "FileVault is On, but needs to be restarted to finish.\n", 0),
    ({"state": "off", "restart_pending": True}, "FileVault is Off, but will be enabled after the next restart.\n", 0),
])
def test_fdesetup_status_samples(make_host, state, expected, code):
    host = make_host(doc=mac(version="10.15.6", arch="intel_t2", users=[user("shortName", 501, secure_token=True)],
                             filevault=state))
    assert host.run("fdesetup", "status") == (code, expected, "")


@pytest.mark.parametrize("fv,out,code", [("on", "true\n", 0), ("off", "false\n", 1)])
def test_fdesetup_isactive(make_host, fv, out, code):
    host = make_host(doc=mac(users=[user("a", 501, secure_token=True)], filevault={"state": fv}))
    assert host.run("fdesetup", "isactive") == (code, out, "")


def test_fdesetup_list_stig_shape(make_host):
    host = make_host(doc=mac(users=[user("fvuser", 501, secure_token=True,
                                         guid="85F41F44-22B3-6CB7-85A1-BCC2EA2B887A")], filevault={"state": "on"}))
    assert host.run("fdesetup", "list") == (0, "fvuser,85F41F44-22B3-6CB7-85A1-BCC2EA2B887A\n", "")


def test_fdesetup_recovery_key_checks_and_showdeferralinfo(make_host):
    host = make_host(doc=mac(users=[user("a", 501, secure_token=True)],
                             filevault={"state": "on", "personal_recovery_key": "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"}))
    assert host.run("fdesetup", "haspersonalrecoverykey") == (0, "true\n", "")
    assert host.run("fdesetup", "hasinstitutionalrecoverykey") == (0, "false\n", "")
    assert host.run("fdesetup", "showdeferralinfo") == (0, "Not found.\n", "")
    plist = plistlib.dumps({"Password": "77CW-QBNT-BXW6-7ZUR-5XJR-NF8A"}).decode()
    assert host.run("fdesetup", "validaterecovery", "-inputplist", stdin=plist) == (0, "true\n", "")
    code, out, err = host.run("fdesetup", "validaterecovery", "-inputplist",
                              stdin=plistlib.dumps({"Password": "nonsense"}).decode())
    assert err == "Error: Not a valid recovery key.\n" and code != 0


def test_fdesetup_showdeferralinfo_shape(make_host):
    host = make_host(doc=mac(users=[user("frederick", 501, secure_token=True)],
                             filevault={"state": "deferred", "deferred_output_path":
                                        "/var/db/ConfigurationProfiles/fdesetup.plist"}))
    assert host.run("fdesetup", "showdeferralinfo")[1] == (
        '{\n    Defer = 1;\n    OutputPath = "/var/db/ConfigurationProfiles/fdesetup.plist";\n'
        '    ShowRecoveryKey = 1;\n    Usernames =     (\n    );\n}\n')


@pytest.mark.parametrize("escrowed", [True, False])
def test_profiles_bootstrap_status_two_lines(make_host, escrowed):
    host = make_host(doc=mac(mdm={"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": escrowed}))
    yes = "YES" if escrowed else "NO"
    assert host.run("profiles", "status", "-type", "bootstraptoken") == (
        0, f"profiles: Bootstrap Token supported on server: YES\nprofiles: Bootstrap Token escrowed to server: {yes}\n",
        "")


def test_profiles_bootstrap_status_unsupported_one_line(make_host):
    host = make_host(doc=mac(version="10.15.6", arch="intel_t2", mdm={"enrolled": True, "user_approved": True}))
    assert host.run("profiles", "status", "-type", "bootstraptoken") == (
        0, "profiles: Bootstrap Token supported on server: NO\n", "")


def test_profiles_enrollment_samples(make_host):
    host = make_host(doc=mac(mdm={"enrolled": True, "user_approved": True,
                                  "server_url": "https://test.example.com/mdm/apple/mdm"}))
    assert host.run("profiles", "status", "-type", "enrollment") == (
        0, "Enrolled via DEP: No\nMDM enrollment: Yes (User Approved)\nMDM server: https://test.example.com/mdm/apple/mdm\n",
        "")
    host = make_host(doc=mac())
    assert host.run("profiles", "status", "-type", "enrollment") == (0, "Enrolled via DEP: No\nMDM enrollment: No\n", "")
    assert host.run("profiles", "show", "-type", "enrollment") == (0, "Device Enrollment configuration:\n(null)\n", "")


def test_profiles_validate_and_blank_password(make_host):
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True, password="")],
                             mdm={"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": True}))
    code, out, err = host.run("profiles", "install", "-type", "bootstraptoken", "-user", "admin", "-password", "")
    assert err == "Error: Password is required.\n" and code != 0
    assert host.run("profiles", "validate", "-type", "bootstraptoken")[1] == "Bootstrap Token validated.\n"


def test_diskutil_listusers_1015_shape(make_host):
    # diskutil-listusers-10.15.6-bootstrap: two OD users, the PRK and the bootstrap key; the last one indented by 4
    host = make_host(doc=mac(version="10.15.6", arch="intel_t2",
                             users=[user("a", 501, secure_token=True, guid="FB756838-0000-0000-0000-40FB5E7D5D3F"),
                                    user("b", 502, secure_token=True, guid="C22BDCD3-0000-0000-0000-65D3332605C3")],
                             filevault={"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"},
                             mdm={"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": True}))
    code, out, err = host.run("diskutil", "apfs", "listusers", "/")
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0] == "Cryptographic users for disk1s5 (4 found)"
    assert lines[1:5] == ["|", "+-- FB756838-0000-0000-0000-40FB5E7D5D3F", "|   Type: Local Open Directory User", "|"]
    assert "+-- EBC6C064-0000-11AA-AA11-00306543ECAC" in lines
    assert "|   Type: Personal Recovery User" in lines
    assert lines[-1] == "    Type: MDM Bootstrap Token External Key"
    assert not any("Volume Owner" in line for line in lines)  # Intel: no owner lines


def test_diskutil_singular_header_and_owner_lines(make_host):
    host = make_host(doc=mac(version="14.4", users=[user("a", 501, secure_token=True, volume_owner=True)]))
    out = host.run("diskutil", "apfs", "listCryptoUsers", "/")[1].splitlines()
    assert out[0] == "Cryptographic user for disk3s5 (1 found)"
    assert out[-2:] == ["    Type: Local Open Directory User", "    Volume Owner: Yes"]
    plist = plistlib.loads(host.run("diskutil", "apfs", "listCryptoUsers", "-plist", "/")[1].encode())
    assert plist["Users"][0]["APFSCryptoUserType"] == "LocalOpenDirectory"


def test_diskutil_updatepreboot_tail(make_host):
    host = make_host(doc=mac(users=[user("a", 501, secure_token=True)]))
    out = host.run("diskutil", "apfs", "updatePreboot", "/")[1]
    assert out.endswith("UpdatePreboot: Exiting Update Preboot operation with overall error=(ZeroMeansSuccess)=0\n"
                        "Finished APFS operation\n")


def test_dscl_one_line_and_missing_key(make_host):
    # dscl-originalnodename-local-missing: the value line, then "No such key" on stderr
    host = make_host(doc=mac(users=[user("carol", 501)]))
    code, out, err = host.run("dscl", ".", "-read", "/Users/carol", "AuthenticationAuthority", "OriginalNodeName")
    assert out.startswith("AuthenticationAuthority: ;ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2")
    assert ";Kerberosv5;;carol@LKDC:SHA1." in out and out.count("\n") == 1
    assert err == "No such key: OriginalNodeName\n"


def test_dscl_list_uniqueid_columns(make_host):
    host = make_host(doc=mac(users=[user("carol", 501)]))
    out = host.run("dscl", ".", "-list", "/Users", "UniqueID")[1].splitlines()
    assert "_appleevents             55" in out  # dscl-list-uniqueid-excerpt alignment
    assert "carol                    501" in out


def test_membership_tools(make_host):
    host = make_host(doc=mac(users=[user("agent", 501), user("boss", 502, admin=True)]))
    assert host.run("dsmemberutil", "checkmembership", "-U", "root", "-G", "wheel") == \
        (0, "user is a member of the group\n", "")
    assert host.run("dsmemberutil", "checkmembership", "-U", "boss", "-G", "admin") == \
        (0, "user is a member of the group\n", "")
    assert host.run("dseditgroup", "-o", "checkmember", "-m", "agent", "admin") == \
        (67, "no agent is NOT a member of admin\n", "")
    assert host.run("dseditgroup", "-o", "checkmember", "-m", "boss", "admin") == \
        (0, "yes boss is a member of admin\n", "")


def test_sw_vers_uname_sysctl(make_host):
    host = make_host(doc=mac(version="10.13.2", arch="intel_pre_t2", os={"version": "10.13.2", "build": "17C88"}))
    assert host.run("sw_vers")[1] == "ProductName:\tMac OS X\nProductVersion:\t10.13.2\nBuildVersion:\t17C88\n"
    host = make_host(doc=mac(os={"version": "13.0", "build": "22A100", "extra": "(a)"},
                             hardware={"arch": "apple_silicon", "cpu_brand": "Apple M1 Pro"}))
    assert host.run("sw_vers", "--productVersion") == (0, "13.0\n", "")
    assert "ProductVersionExtra:\t(a)\n" in host.run("sw_vers")[1]
    assert host.run("uname", "-m") == (0, "arm64\n", "")
    assert host.run("sysctl", "-n", "machdep.cpu.brand_string") == (0, "Apple M1 Pro\n", "")
    code, out, err = host.run("sysctl", "-n", "machdep.cpu.model")
    assert err == "sysctl: unknown oid 'machdep.cpu.model'\n" and code != 0
