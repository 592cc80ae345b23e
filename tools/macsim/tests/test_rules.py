"""Each transition of macos-behaviour.md §9b that a command or an event triggers, per version and architecture."""

from __future__ import annotations

import plistlib

import pytest

from simlib import mac, strip_nslog, user
from macsim.mac import Mac

BT = {"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": True}


def grant(host, target, admin, tpw=None, apw=None):
    return host.run("sysadminctl", "-secureTokenOn", target, "-password", "-", "-adminUser", admin,
                    "-adminPassword", "-", stdin=f"{apw or admin + '-pw'}\n{tpw or target + '-pw'}\n")


# ---- T2, T3: accounts made from the command line (R14, R15, R17, R18, R11a) --------------------------
def test_t2_adduser_first_token_on_11(make_host):
    host = make_host(doc=mac(version="11.7"))
    host.run("sysadminctl", "-addUser", "first", "-password", "-", stdin="first-pw\n")
    assert host.user("first")["secure_token"] is True
    host.run("sysadminctl", "-addUser", "second", "-password", "second-pw")
    assert host.user("second")["secure_token"] is False  # R17/R18: once a token exists, none automatically


def test_t2_adduser_on_1015_gets_no_first_token(make_host):
    host = make_host(doc=mac(version="10.15.7", arch="intel_t2"))
    host.run("sysadminctl", "-addUser", "first", "-password", "first-pw", "-admin")
    assert host.user("first")["secure_token"] is False


def test_t2prime_adduser_authenticated_by_token_admin(make_host):
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True, volume_owner=True)]))
    host.run("sysadminctl", "-addUser", "bob", "-password", "-", "-adminUser", "admin", "-adminPassword", "-",
             stdin="admin-pw\nbob-pw\n")
    bob = host.user("bob")
    assert bob["secure_token"] and bob["volume_owner"]


def test_t2_second_adduser_with_tokenless_admin_1014_2(make_host):
    host = make_host(doc=mac(version="10.14.6", arch="intel_t2", users=[user("admin", 501, admin=True)]))
    host.run("sysadminctl", "-addUser", "bob", "-password", "bob-pw", "-adminUser", "admin", "-adminPassword",
             "admin-pw")
    assert host.user("bob")["secure_token"] and host.user("admin")["secure_token"]


def test_t3_dscl_create_then_passwd_first_token_and_disabled_tag(make_host):
    host = make_host(doc=mac(version="12.6"))
    for argv in (["-create", "/Users/tagged"], ["-append", "/Users/tagged", "AuthenticationAuthority",
                                                 ";DisabledTags;SecureToken"], ["-passwd", "/Users/tagged", "pw1"]):
        assert host.run("dscl", ".", *argv)[0] == 0
    assert host.user("tagged")["secure_token"] is False  # R15: the tag skips this user
    host.run("dscl", ".", "-create", "/Users/plain")
    host.run("dscl", ".", "-passwd", "/Users/plain", "pw2")
    assert host.user("plain")["secure_token"] is True  # R14: the first user without the tag


def test_r4_writing_securetoken_into_authority_creates_no_token(make_host):
    host = make_host(doc=mac(users=[user("a", 501)]))
    host.run("dscl", ".", "-append", "/Users/a", "AuthenticationAuthority", ";SecureToken;")
    assert ";SecureToken;" in host.run("dscl", ".", "-read", "/Users/a", "AuthenticationAuthority")[1]
    assert host.user("a")["secure_token"] is False
    assert "No cryptographic users" in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]


def test_dscl_writes_need_root(make_host):
    host = make_host(doc=mac(users=[user("a", 501)]))
    code, _, err = host.run("dscl", ".", "-create", "/Users/x", euid=501)
    assert code != 0 and "eDSPermissionError" in err


# ---- T5: authentication while nobody holds a token (R10, R12, R16) ------------------------------------
@pytest.mark.parametrize("version,users,who,expected", [
    ("10.13.6", [user("solo", 501)], "solo", True),  # R10: the only UID >= 500 user
    ("10.13.6", [user("one", 501), user("two", 502)], "one", False),  # R10: several users -> none
    ("10.14.6", [user("svc", 401), user("solo", 501)], "svc", False),  # R10: UID < 500 never
    ("10.15.7", [user("std", 501), user("adm", 502, admin=True)], "std", False),  # R12: admins only
    ("10.15.7", [user("std", 501), user("adm", 502, admin=True)], "adm", True),
    ("14.4", [user("hashed", 501, password_mode="prehashed", admin=True)], "hashed", True),  # R16
    ("14.4", [user("plain", 501, admin=True)], "plain", False),  # 11+: plaintext users got theirs at password set
])
def test_t5_authonly_first_token(make_host, version, users, who, expected):
    arch = "apple_silicon" if version.startswith("14") else "intel_t2"
    host = make_host(doc=mac(version=version, arch=arch, users=users))
    assert host.run("dscl", "/Local/Default", "-authonly", who, f"{who}-pw")[0] == 0
    assert host.user(who)["secure_token"] is expected


def test_t5_authonly_prompts_on_the_terminal(make_host):
    host = make_host(doc=mac(version="10.15.7", arch="intel_t2", users=[user("adm", 501, admin=True)]))
    assert host.run("dscl", ".", "-authonly", "adm", tty="adm-pw\n")[0] == 0
    assert host.user("adm")["secure_token"]
    record = host.store.invocations()[-1]
    assert record["tty_bytes"] == len("adm-pw\n") and "adm-pw" not in " ".join(record["argv"])


# ---- T6/T7: graphical login and logout (R33-R36, R41, R42, R55) ---------------------------------------------
def login(host, name, graphical=True):
    with host.store.transaction() as state:
        m = Mac(state)
        return m.login(m.find(name, include_network=True), graphical=graphical)


@pytest.mark.parametrize("version,kind,expected", [
    ("10.15.7", "mobile", True), ("10.15.7", "managed_admin", True), ("10.15.7", "local", False),  # R41
    ("11.7", "local", True), ("14.4", "mobile", True), ("14.4", "network", False),  # R42, R21
])
def test_t6_bootstrap_grant_at_graphical_login(make_host, version, kind, expected):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    host = make_host(doc=mac(version=version, arch=arch, mdm=BT,
                             users=[user("holder", 501, admin=True, secure_token=True), user("u", 502, kind=kind)]))
    login(host, "u")
    assert host.user("u")["secure_token"] is expected
    if expected and arch == "apple_silicon":
        assert host.user("u")["volume_owner"]


def test_t6_no_bootstrap_grant_for_blank_password_unreachable_mdm_or_ssh_login(make_host):
    host = make_host(doc=mac(version="14.4", mdm=dict(BT, reachable=False),
                             users=[user("u", 502), user("blank", 503, password="")]))
    login(host, "u")
    assert not host.user("u")["secure_token"]
    host.edit(mdm__reachable=True)
    login(host, "blank")
    assert not host.user("blank")["secure_token"]  # R42: not blank passwords
    login(host, "u", graphical=False)
    assert not host.user("u")["secure_token"]  # R42: not with login/su
    login(host, "u")
    assert host.user("u")["secure_token"]


def test_t6_token_user_login_creates_and_escrows_bootstrap(make_host):
    mdm = {"enrollment": "ade", "bootstrap_capable": True, "reachable": False}
    host = make_host(doc=mac(version="14.4", mdm=mdm, users=[user("a", 501, admin=True, secure_token=True)]))
    login(host, "a")
    assert host.state["mdm"]["bootstrap_on_device"] and not host.state["mdm"]["bootstrap_escrowed"]  # R35
    host.edit(mdm__reachable=True)
    login(host, "a")
    assert host.state["mdm"]["bootstrap_escrowed"]


@pytest.mark.parametrize("version,enrollment,option,expected", [
    ("10.15.3", "device_enrollment", "10.15.4", False), ("10.15.3", "ade", "10.15.4", True),
    ("10.15.5", "device_enrollment", "10.15.4", True), ("10.15.5", "device_enrollment", "11", False),
    ("12.6", "user_enrollment", "10.15.4", False),
])
def test_bootstrap_support_by_enrollment(make_host, version, enrollment, option, expected):
    doc = mac(version=version, arch="intel_t2", mdm={"enrollment": enrollment, "enrolled": True,
                                                       "user_approved": True, "bootstrap_capable": True,
                                                       "supervised": True},
              options={"bootstrap_user_approved_from": option})
    host = make_host(doc=doc)
    assert ("YES" in host.run("profiles", "status", "-type", "bootstraptoken")[1]) is expected


def test_t7_deferred_enablement_at_logout_and_forced_at_login(make_host):
    doc = mac(version="14.4", users=[user("a", 501, admin=True, secure_token=True)],
              filevault={"state": "deferred", "deferred_user": "a"})
    host = make_host(doc=doc)
    with host.store.transaction() as state:
        m = Mac(state)
        m.logout(m.find("a"))
    assert host.state["filevault"]["state"] == "on" and host.state["filevault"]["personal_recovery_key"]
    doc["filevault"] = {"state": "deferred", "deferred_user": "a", "force_at_login": 0, "dont_ask_at_logout": True}
    host = make_host(doc=doc)
    with host.store.transaction() as state:
        m = Mac(state)
        m.logout(m.find("a"))
    assert host.state["filevault"]["state"] == "deferred"
    login(host, "a")
    assert host.state["filevault"]["state"] == "on"


# ---- T8/T9: grants and removals (R11a, R26, R27, R29) ------------------------------------------------------
def test_t8_grant_paths(make_host):
    users = [user("admin", 501, admin=True, secure_token=True, volume_owner=True), user("std", 502),
             user("plainadmin", 503, admin=True), user("net", 504, kind="network")]
    host = make_host(doc=mac(version="13.6", users=users, filevault={"state": "on"}))
    code, out, err = grant(host, "std", "admin", apw="wrong")
    assert code == 0 and "Error:-14090" in err and not host.user("std")["secure_token"]
    code, _, err = grant(host, "std", "admin", tpw="wrong")
    assert code == 0 and not host.user("std")["secure_token"]
    code, _, err = grant(host, "std", "plainadmin")
    assert code == 0 and "Operation is not permitted without secure token unlock." in err
    code, _, err = grant(host, "plainadmin", "std")  # R27: a standard user cannot grant
    assert code == 0 and not host.user("plainadmin")["secure_token"]
    code, _, err = grant(host, "net", "admin")
    assert code == 0 and not host.user("net")["secure_token"]
    code, _, err = grant(host, "std", "admin")
    assert code == 0 and strip_nslog(err).endswith("sysadminctl: - Done!\n")
    std = host.user("std")
    assert std["secure_token"] and std["fv_enabled"] and not std["in_preboot"]  # R29a until updatePreboot
    host.run("diskutil", "apfs", "updatePreboot", "/")
    assert host.user("std")["in_preboot"]
    record = host.store.invocations()[-2]
    assert record["stdin_bytes"] == len("admin-pw\nstd-pw\n") and "std-pw" not in record["argv"]


def test_t8_r11a_both_get_tokens_when_nobody_has_one(make_host):
    host = make_host(doc=mac(version="10.14.4", arch="intel_t2", users=[user("admin", 501, admin=True),
                                                                       user("u", 502)]))
    grant(host, "u", "admin")
    assert host.user("admin")["secure_token"] and host.user("u")["secure_token"]
    host = make_host(doc=mac(version="10.14.1", arch="intel_t2", users=[user("admin", 501, admin=True),
                                                                       user("u", 502)]))
    grant(host, "u", "admin")
    assert not host.user("u")["secure_token"]  # before 10.14.2 there is no such rule


def test_t8_hardened_authorizationdb(make_host):
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True), user("u", 502)],
                             authorizationdb_hardened=True))
    code, _, err = grant(host, "u", "admin")
    assert code == 0 and "errAuthorizationInteractionNotAllowed" in err and not host.user("u")["secure_token"]


def test_t9_secure_token_off(make_host):
    host = make_host(doc=mac(users=[user("admin", 501, admin=True, secure_token=True), user("u", 502,
                                                                                         secure_token=True)]))
    host.run("sysadminctl", "-secureTokenOff", "u", "-password", "u-pw", "-adminUser", "admin", "-adminPassword",
             "admin-pw")
    assert not host.user("u")["secure_token"]


# ---- T10/T11: password resets and deletion (R29c, R29d) ---------------------------------------------------
def test_t10_reset_token_holder_password_refuse_or_desync(make_host):
    doc = mac(users=[user("a", 501, admin=True, secure_token=True), user("b", 502, admin=True, secure_token=True),
                     user("c", 503)])
    host = make_host(doc=doc)
    host.run("sysadminctl", "-resetPasswordFor", "b", "-newPassword", "new")
    assert host.user("b")["password"] == "b-pw"
    doc["options"] = {"reset_token_holder_password": "desync"}
    host = make_host(doc=doc)
    host.run("sysadminctl", "-resetPasswordFor", "b", "-newPassword", "new")
    b = host.user("b")
    assert b["password"] == "new" and b["secure_token"] and not b["token_in_sync"]
    code, _, err = grant(host, "c", "b", apw="new")  # a desynced holder can no longer grant (F8)
    assert "secure token unlock" in err and not host.user("c")["secure_token"]


def test_t11_delete_last_token_holder(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True), user("b", 502, admin=True)]))
    code, _, err = host.run("sysadminctl", "-deleteUser", "a")
    assert code == 0 and "can not be deleted (it's either last admin user or last secure token user" in err
    assert host.user("a")
    assert host.run("dscl", ".", "-delete", "/Users/a")[0] == 0  # dscl has no such check
    listed = host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]
    assert "Local Open Directory User" in listed  # the deleted account's crypto user stays on the volume
    assert host.state["orphan_crypto_users"][0]["volume_owner"] is True
    host.run("dscl", ".", "-passwd", "/Users/b", "new-b-pw")
    assert not host.user("b")["secure_token"]  # orphan_blocks_first_token: no first token after that


# ---- T12-T15: FileVault (R13, R29a, R29b, R51-R58) --------------------------------------------------------
def enable(host, name, password, *extra):
    plist = plistlib.dumps({"Username": name, "Password": password}).decode()
    return host.run("fdesetup", "enable", "-inputplist", "-outputplist", *extra, stdin=plist)


def test_t12_enable_outputplist_and_rerun(make_host):
    host = make_host(doc=mac(version="15.1", mdm={"enrolled": True, "escrow_payload": True},
                             users=[user("a", 501, admin=True, secure_token=True, volume_owner=True)]))
    code, out, err = enable(host, "a", "a-pw")
    assert code == 0, err
    doc = plistlib.loads(out.encode())
    assert set(doc) == {"EnabledDate", "EnabledUser", "HardwareUUID", "RecoveryKey", "SerialNumber"}
    state = host.state["filevault"]
    assert state["state"] == "on" and state["personal_recovery_key"] == doc["RecoveryKey"]
    assert state["escrowed_key"] == doc["RecoveryKey"]  # R57 with an escrow payload
    assert enable(host, "a", "a-pw")[0] == 24


def test_t12_enable_errors(make_host):
    users = [user("a", 501, admin=True, secure_token=True), user("b", 502, admin=True)]
    host = make_host(doc=mac(version="14.4", users=users, remote_login_full_disk_access=False))
    code, _, err = enable(host, "a", "a-pw")
    assert code != 0 and "Full Disk Access" in err
    host.edit(remote_login_full_disk_access=True)
    assert enable(host, "a", "nope")[0] == 11
    code, _, err = enable(host, "b", "b-pw")
    assert code == 11 and host.state["filevault"]["state"] == "off"  # R51: no token
    host.edit(filevault__state="decrypting", filevault__percent=5)
    assert enable(host, "a", "a-pw")[0] == 2
    blank = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True, password="")]))
    assert enable(blank, "a", "")[0] == 37


def test_t12_r13_enabling_grants_first_token_on_1015(make_host):
    host = make_host(doc=mac(version="10.15.7", arch="intel_pre_t2", users=[user("a", 501, admin=True)]))
    code, out, err = enable(host, "a", "a-pw")
    assert code == 0, err
    assert host.user("a")["secure_token"] and host.state["filevault"]["state"] == "encrypting"


def test_t12_interactive_prompts_and_norecoverykey(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)]))
    code, out, err = host.run("fdesetup", "enable", "-user", "a", "-norecoverykey", tty="a-pw\n")
    assert code == 0 and out == "" and host.state["filevault"]["personal_recovery_key"] is None


def test_t12prime_defer(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)]))
    assert host.run("fdesetup", "enable", "-defer", "/var/db/x.plist", "-user", "a", "-forceatlogin", "0")[0] == 0
    assert host.run("fdesetup", "status")[1] == ("FileVault is Off.\n"
                                                 "Deferred enablement appears to be active for user 'a'.\n")
    assert host.run("fdesetup", "enable", "-defer", "/var/db/x.plist")[0] == 32


def test_t13_remove_keeps_token_and_add_needs_fv_user(make_host):
    users = [user("a", 501, admin=True, secure_token=True), user("b", 502, secure_token=True), user("c", 503)]
    host = make_host(doc=mac(users=users, filevault={"state": "on"}))
    assert host.run("fdesetup", "remove", "-user", "b")[0] == 0
    b = host.user("b")
    assert b["secure_token"] and not b["fv_enabled"]  # R29b
    assert "b," not in host.run("fdesetup", "list")[1]
    plist = plistlib.dumps({"Username": "b", "Password": "b-pw",
                            "AdditionalUsers": [{"Username": "c", "Password": "c-pw"}]}).decode()
    assert host.run("fdesetup", "add", "-inputplist", stdin=plist)[0] == 17  # b is no longer a FileVault user
    plist = plistlib.dumps({"Username": "a", "Password": "a-pw",
                            "AdditionalUsers": [{"Username": "c", "Password": "c-pw"}]}).decode()
    assert host.run("fdesetup", "add", "-inputplist", stdin=plist)[0] == 0
    assert host.user("c")["fv_enabled"]
    assert host.run("fdesetup", "remove", "-user", "a")[0] == 0
    assert host.run("fdesetup", "remove", "-user", "c")[0] == 25  # the last FileVault user stays


def test_t14_changerecovery_and_validate(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)],
                             filevault={"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}))
    bad = plistlib.dumps({"Username": "a", "Password": "wrong"}).decode()
    assert host.run("fdesetup", "changerecovery", "-personal", "-inputplist", stdin=bad) == \
        (11, "", "Error: User could not be authenticated.\nError: Unable to unlock or authenticate to FileVault.\n")
    good = plistlib.dumps({"Username": "a", "Password": "a-pw"}).decode()
    code, out, _ = host.run("fdesetup", "changerecovery", "-personal", "-inputplist", stdin=good)
    key = out.split("'")[1]
    assert code == 0 and out == f"New personal recovery key = '{key}'\n"
    assert host.state["filevault"]["personal_recovery_key"] == key
    assert host.run("fdesetup", "validaterecovery", "-inputplist",
                    stdin=plistlib.dumps({"Password": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}).decode())[1] == "false\n"


def test_fdesetup_disable_keeps_prk_and_reenable_reuses_it(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)],
                             filevault={"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}))
    assert host.run("fdesetup", "disable", "-user", "a", tty="a-pw\n")[1] == "FileVault has been disabled.\n"
    assert host.state["filevault"]["state"] == "off"
    out = enable(host, "a", "a-pw")[1]
    assert plistlib.loads(out.encode())["RecoveryKey"] == "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"  # R52


def test_fdesetup_list_on_1013_shows_null_recovery_entry(make_host):
    host = make_host(doc=mac(version="10.13.6", arch="intel_pre_t2", users=[user("a", 501, secure_token=True)],
                             filevault={"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}))
    assert host.run("fdesetup", "list")[1].splitlines()[-1] == "(null),EBC6C064-0000-11AA-AA11-00306543ECAC"


# ---- T16-T18: bootstrap token with profiles (R36-R38) ---------------------------------------------------------
def test_t16_install_through_prompts(make_host):
    mdm = {"enrollment": "ade", "bootstrap_capable": True}
    host = make_host(doc=mac(mdm=mdm, users=[user("admin", 501, admin=True, secure_token=True), user("std", 502)]))
    code, out, err = host.run("profiles", "install", "-type", "bootstraptoken", tty="admin\nadmin-pw\n")
    assert code == 0, err
    assert out.splitlines() == ["profiles: Bootstrap Token created", "profiles: Bootstrap Token escrowed"]
    assert host.state["mdm"]["bootstrap_escrowed"]
    assert "MDM Bootstrap Token External Key" in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]
    record = host.store.invocations()[-2]
    assert record["argv"] == ["profiles", "install", "-type", "bootstraptoken"] and record["tty_bytes"] > 0


def test_t16_install_failures(make_host):
    users = [user("admin", 501, admin=True, secure_token=True), user("plain", 502, admin=True)]
    host = make_host(doc=mac(users=users))
    assert host.run("profiles", "install", "-type", "bootstraptoken", tty="admin\nadmin-pw\n")[0] != 0  # not enrolled
    host = make_host(doc=mac(users=users, mdm={"enrolled": True, "user_approved": True}))
    code, _, err = host.run("profiles", "install", "-type", "bootstraptoken", tty="admin\nadmin-pw\n")
    assert code != 0 and not host.state["mdm"]["bootstrap_on_device"]  # server lacks the capability
    host = make_host(doc=mac(users=users, mdm={"enrollment": "ade", "bootstrap_capable": True, "reachable": False}))
    code, out, err = host.run("profiles", "install", "-type", "bootstraptoken", tty="plain\nplain-pw\n")
    assert code != 0 and not host.state["mdm"]["bootstrap_on_device"]  # admin without a token
    code, out, err = host.run("profiles", "install", "-type", "bootstraptoken", tty="admin\nadmin-pw\n")
    assert code != 0 and out == "profiles: Bootstrap Token created\n"  # R35: created, not escrowed
    state = host.state["mdm"]
    assert state["bootstrap_on_device"] and not state["bootstrap_escrowed"]


def test_t17_remove_and_t18_status_requires_root_and_enrollment(make_host):
    host = make_host(doc=mac(mdm=BT, users=[user("a", 501, admin=True, secure_token=True)]))
    assert host.run("profiles", "status", "-type", "bootstraptoken", euid=501)[0] != 0
    assert host.run("profiles", "remove", "-type", "bootstraptoken")[0] == 0
    assert "escrowed to server: NO" in host.run("profiles", "status", "-type", "bootstraptoken")[1]
    assert make_host(doc=mac()).run("profiles", "status", "-type", "bootstraptoken")[0] != 0


# ---- time: encryption and decryption progress with the Mac's clock (R54) ----------------------------------------
def _advance(host, seconds):
    with host.store.transaction() as state:
        return Mac(state).advance(seconds)


def test_encryption_progresses_with_the_clock_and_finishes(make_host):
    host = make_host(doc=mac(version="12.7", arch="intel_pre_t2", users=[user("a", 501, secure_token=True)],
                             filevault={"state": "encrypting", "percent": 50, "rate": 10.0}))
    assert "Percent completed = 50\n" in host.run("fdesetup", "status")[1]
    _advance(host, 2 * 3600)
    assert "Encryption in progress: Percent completed = 70\n" in host.run("fdesetup", "status")[1]
    with host.store.transaction() as state:
        assert Mac(state).reboot() == []  # a restart does not finish it
    notes = _advance(host, 3 * 3600)
    assert notes == ["encryption finished"]
    assert host.run("fdesetup", "status") == (0, "FileVault is On.\n", "")
    assert host.state["filevault"]["percent"] is None


def test_decryption_ends_with_filevault_off(make_host):
    host = make_host(doc=mac(version="12.7", arch="intel_pre_t2", users=[user("a", 501, secure_token=True)],
                             filevault={"state": "decrypting", "percent": 95, "rate": 10.0}))
    _advance(host, 3600)
    assert host.state["filevault"]["state"] == "off"


def test_time_passes_between_tool_calls(make_host):
    host = make_host(doc=mac(version="12.7", arch="intel_pre_t2", users=[user("a", 501, secure_token=True)],
                             filevault={"state": "encrypting", "percent": 10, "rate": 360000.0}))  # 100 %/s
    host.run("fdesetup", "status")
    __import__("time").sleep(1.1)
    assert host.run("fdesetup", "status")[1] == "FileVault is On.\n"


def test_scheduled_changes_happen_when_the_clock_reaches_them(make_host):
    host = make_host(doc=mac(mdm={"enrolled": True, "bootstrap_capable": True, "enrollment": "ade"},
                             users=[user("a", 501, admin=True, secure_token=True)],
                             schedule=[{"at": __import__("time").time() + 600,
                                        "set": {"mdm.bootstrap_escrowed": True}, "note": "the MDM stores it"}]))
    assert "escrowed to server: NO" in host.run("profiles", "status", "-type", "bootstraptoken")[1]
    assert _advance(host, 900) == ["scheduled: the MDM stores it"]
    assert "escrowed to server: YES" in host.run("profiles", "status", "-type", "bootstraptoken")[1]
    assert host.state["schedule"] == []


def test_advance_cli_parses_durations(make_host):
    from macsim.cli import parse_duration

    assert [parse_duration(t) for t in ("90", "90s", "15m", "2h", "1d", "1h30m")] == [90, 90, 900, 7200, 86400, 5400]
    with pytest.raises(Exception, match="not a duration"):
        parse_duration("soon")


def test_t1_setup_assistant_user_and_cli_events(make_host):
    import subprocess
    import sys
    from pathlib import Path

    macsim = str(Path(sys.executable).parent / "macsim")
    host = make_host(doc=mac(version="14.4", mdm={"enrollment": "ade", "bootstrap_capable": True},
                             setup_assistant_account_created=False,
                             users=[user("mdmadmin", 501, admin=True, kind="managed_admin",
                                         password_mode="prehashed")]))
    out = subprocess.run([macsim, "setup-assistant", host.dir, "alice", "--password", "alice-pw", "--admin"],
                         capture_output=True, text=True, check=True).stdout
    assert "T1/R9" in out and "escrowed" in out
    alice = host.user("alice")
    assert alice["secure_token"] and alice["volume_owner"] and host.state["mdm"]["bootstrap_escrowed"]
    subprocess.run([macsim, "login", host.dir, "mdmadmin", "--graphical"], check=True, capture_output=True)
    assert host.user("mdmadmin")["secure_token"]  # R42 with the escrowed bootstrap token
    subprocess.run([macsim, "reboot", host.dir], check=True, capture_output=True)
    assert [r["argv"][1] for r in host.store.invocations() if r["tool"] == "macsim"] == [
        "setup-assistant", "login", "reboot"]


def test_r30_unsupervised_1015_device_enrollment_makes_no_bootstrap_token(make_host):
    doc = mac(version="10.15.7", arch="intel_t2", mdm={"enrolled": True, "user_approved": True,
                                                       "bootstrap_capable": True, "supervised": False})
    assert "NO" in make_host(doc=doc).run("profiles", "status", "-type", "bootstraptoken")[1]


# ---- R3: on Apple silicon a FileVault user must also be a volume owner ----------------------------------------
@pytest.mark.parametrize("arch,listed", [("apple_silicon", False), ("intel_t2", True)])
def test_r3_token_holder_who_is_not_an_owner(make_host, arch, listed):
    owner = dict(volume_owner=True) if arch == "apple_silicon" else {}
    users = [user("owner", 501, admin=True, secure_token=True, **owner),
             user("plain", 502, secure_token=True, volume_owner=False)]
    host = make_host(doc=mac(version="14.6", arch=arch, users=users, filevault={"state": "on"}))
    out = host.run("fdesetup", "list")[1]
    assert out.startswith("owner,")
    assert ("plain," in out) is listed  # the contested half: a non-owner token holder is no FileVault user on AS
    assert "Type: Local Open Directory User" in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]


def test_r3_state_cannot_make_a_non_owner_a_filevault_user(make_host):
    from macsim.schema import StateError

    with pytest.raises(StateError, match=r"R3"):
        make_host(doc=mac(users=[user("plain", 501, secure_token=True, volume_owner=False, fv_enabled=True)]))


def test_r3_enabling_filevault_adds_only_owners_on_apple_silicon(make_host):
    users = [user("owner", 501, admin=True, secure_token=True, volume_owner=True),
             user("plain", 502, secure_token=True, volume_owner=False)]
    host = make_host(doc=mac(version="15.1", users=users))
    plist = plistlib.dumps({"Username": "owner", "Password": "owner-pw"}).decode()
    assert host.run("fdesetup", "enable", "-inputplist", stdin=plist)[0] == 0
    assert host.user("owner")["fv_enabled"] and not host.user("plain")["fv_enabled"]


def test_r3_grant_by_a_non_owner_gives_no_filevault_unlock(make_host):
    # The grantor holds a token but no ownership: the grantee gets a token, not ownership, so no FileVault unlock.
    users = [user("owner", 501, admin=True, secure_token=True, volume_owner=True),
             user("admin2", 502, admin=True, secure_token=True, volume_owner=False), user("std", 503)]
    host = make_host(doc=mac(version="14.6", users=users, filevault={"state": "on"}))
    grant(host, "std", "admin2")
    std = host.user("std")
    assert std["secure_token"] and not std["volume_owner"] and not std["fv_enabled"]


# ---- R23: the first mobile account to log in gets the first token (the contested half: it is granted) --------
@pytest.mark.parametrize("version,option,expected", [
    ("10.15.7", True, True), ("14.6", True, True),  # R23 (Datajar, osxbytes, FileWave)
    ("10.15.7", False, False),  # the option's other side
    ("10.14.6", True, False),  # R22: before 10.15 a mobile account gets no token by itself
])
def test_r23_first_mobile_login_on_an_ad_bound_mac_without_holders(make_host, version, option, expected):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    users = [user("localadmin", 501, admin=True), user("jdoe", 1103, kind="mobile")]
    host = make_host(doc=mac(version=version, arch=arch, users=users, setup_assistant_account_created=False,
                             options={"mobile_first_login_token": option}))
    notes = login(host, "jdoe")
    assert host.user("jdoe")["secure_token"] is expected
    assert ("R23" in " ".join(notes)) is expected
    if expected and arch == "apple_silicon":
        assert host.user("jdoe")["volume_owner"]  # the first holder owns the volume (R46)


def test_r23_only_while_nobody_holds_a_token(make_host):
    users = [user("localadmin", 501, admin=True, secure_token=True), user("jdoe", 1103, kind="mobile")]
    host = make_host(doc=mac(version="14.6", users=users))
    login(host, "jdoe")
    assert not host.user("jdoe")["secure_token"]


# ---- R33: before 10.15.4 only Setup Assistant creates the bootstrap token (the contested half) -----------------
@pytest.mark.parametrize("version,expected", [("10.15.3", False), ("10.15.4", True), ("12.6", True)])
def test_r33_first_graphical_login_of_a_token_user_creates_the_bootstrap_token(make_host, version, expected):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    mdm = {"enrollment": "ade", "bootstrap_capable": True}
    host = make_host(doc=mac(version=version, arch=arch, mdm=mdm,
                             users=[user("a", 501, admin=True, secure_token=True)]))
    login(host, "a")
    assert host.state["mdm"]["bootstrap_escrowed"] is expected
    assert host.state["mdm"]["bootstrap_on_device"] is expected


def test_r33_setup_assistant_creates_it_before_10154(make_host):
    host = make_host(doc=mac(version="10.15.2", arch="intel_t2", mdm={"enrollment": "ade", "bootstrap_capable": True}))
    with host.store.transaction() as state:
        Mac(state).setup_assistant_user("alice", "alice-pw", admin=True)
    assert host.state["mdm"]["bootstrap_escrowed"]


# ---- the options for unknowns, each value --------------------------------------------------------------------------
@pytest.mark.parametrize("value,codes", [("zero", (0, 0, 0)), ("man_page", (1, 0, 2))])
def test_option_fdesetup_status_exit(make_host, value, codes):
    host = make_host(doc=mac(version="12.7", arch="intel_pre_t2", users=[user("a", 501, secure_token=True)],
                             options={"fdesetup_status_exit": value}))
    assert host.run("fdesetup", "status") == (codes[0], "FileVault is Off.\n", "")
    host.edit(filevault__state="on")
    assert host.run("fdesetup", "status")[0] == codes[1]
    host.edit(filevault__state="encrypting", filevault__percent=10.0)
    assert host.run("fdesetup", "status")[0] == codes[2]


@pytest.mark.parametrize("value,fv,removed", [("refuse", "on", False), ("allow", "on", True),
                                              ("refuse", "off", False), ("allow", "off", True)])
def test_option_token_off_self_is_how_the_last_holder_loses_it(make_host, value, fv, removed):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)], filevault={"state": fv},
                             options={"token_off_self": value}))
    code, _, err = host.run("sysadminctl", "-secureTokenOff", "a", "-password", "-", "-adminUser", "a",
                            "-adminPassword", "-", stdin="a-pw\na-pw\n")
    assert code == 0
    assert host.user("a")["secure_token"] is not removed
    assert ("- Done!" in err) is removed
    assert ("User cannot disable their own SEP credential" in err) is not removed
    if removed:
        assert not host.user("a")["fv_enabled"] and not host.user("a")["volume_owner"]


@pytest.mark.parametrize("value,dscl_grants,sysadminctl_grants", [
    ("both", True, True), ("dscl", True, False), ("sysadminctl", False, True), ("none", False, False)])
def test_option_password_change_first_token(make_host, value, dscl_grants, sysadminctl_grants):
    users = [user("u1", 501, admin=True), user("u2", 502, admin=True)]
    host = make_host(doc=mac(version="13.6", users=users, options={"password_change_first_token": value}))
    host.run("dscl", ".", "-passwd", "/Users/u1", "new-pw-1")
    assert host.user("u1")["secure_token"] is dscl_grants
    if not dscl_grants:
        host.run("sysadminctl", "-resetPasswordFor", "u2", "-newPassword", "-", stdin="new-pw-2\n")
        assert host.user("u2")["secure_token"] is sysadminctl_grants


def test_initial_password_set_grants_the_first_token_whatever_the_option(make_host):
    host = make_host(doc=mac(version="13.6", options={"password_change_first_token": "none"}))
    host.run("dscl", ".", "-create", "/Users/fresh")
    host.run("dscl", ".", "-passwd", "/Users/fresh", "pw")
    assert host.user("fresh")["secure_token"]  # R14: setting the first password


@pytest.mark.parametrize("value,version,expected", [("never", "15.1", True), ("15", "15.1", False),
                                                    ("15", "14.6", True), ("26", "15.1", True),
                                                    ("26", "26.1", False)])
def test_option_bootstrap_ade_only_from(make_host, value, version, expected):
    mdm = {"enrollment": "device_enrollment", "enrolled": True, "user_approved": True, "supervised": True,
           "bootstrap_capable": True}
    host = make_host(doc=mac(version=version, mdm=mdm, options={"bootstrap_ade_only_from": value}))
    assert ("supported on server: YES" in host.run("profiles", "status", "-type", "bootstraptoken")[1]) is expected
    host.edit(mdm__enrollment="ade")
    assert "supported on server: YES" in host.run("profiles", "status", "-type", "bootstraptoken")[1]


@pytest.mark.parametrize("value,granted", [("refuse", False), ("allow", True)])
def test_option_standard_holder_grantor(make_host, value, granted):
    users = [user("student", 501, secure_token=True), user("macadmin", 502, admin=True)]
    host = make_host(doc=mac(users=users, options={"standard_holder_grantor": value}))
    code, _, err = grant(host, "macadmin", "student")
    assert code == 0 and host.user("macadmin")["secure_token"] is granted


# ---- combinations Apple never shipped -----------------------------------------------------------------------------
@pytest.mark.parametrize("version,arch,fs,source", [
    ("10.15.7", "apple_silicon", "apfs", "116943"), ("26.1", "intel_pre_t2", "apfs", "122867"),
    ("10.13.1", "intel_t2", "apfs", "103265"), ("10.14.6", "intel_pre_t2", "hfs", "R2"),
    ("11.7", "apple_silicon", "hfs", "R2"),
])
def test_unshipped_combinations_are_refused_with_the_source(make_host, version, arch, fs, source):
    from macsim.schema import StateError

    with pytest.raises(StateError, match=source):
        make_host(doc=mac(version=version, arch=arch, boot_fs=fs))


@pytest.mark.parametrize("version,arch,fs", [("11.0", "apple_silicon", "apfs"), ("15.1", "intel_pre_t2", "apfs"),
                                             ("26.1", "intel_t2", "apfs"), ("10.13.6", "intel_pre_t2", "hfs")])
def test_shipped_combinations_are_accepted(make_host, version, arch, fs):
    make_host(doc=mac(version=version, arch=arch, boot_fs=fs))


# ---- R1: a secure token needs an APFS boot volume (from 10.13); made at creation, first password or first login ----
def _first_token_by(host, how, name):
    if how == "setup_assistant":
        with host.store.transaction() as state:
            Mac(state).setup_assistant_user(name, f"{name}-pw", admin=True)
    elif how == "authonly":
        assert host.run("dscl", ".", "-authonly", name, f"{name}-pw")[0] == 0
    else:
        host.run("sysadminctl", "-addUser", name, "-password", "-", stdin=f"{name}-pw\n")


@pytest.mark.parametrize("version,arch,fs,how,expected", [
    ("10.13.6", "intel_pre_t2", "apfs", "setup_assistant", True),  # made when the account is created
    ("10.13.6", "intel_pre_t2", "apfs", "authonly", True),  # ... at its first login or authentication (R10)
    ("11.7", "intel_t2", "apfs", "password", True),  # ... when its first password is set (R14)
    ("10.13.6", "intel_pre_t2", "hfs", "setup_assistant", False),  # the other side: HFS+ has no tokens (R2)
    ("10.13.6", "intel_pre_t2", "hfs", "authonly", False),
])
def test_r1_secure_tokens_exist_on_apfs_from_1013(make_host, version, arch, fs, how, expected):
    users = [] if how != "authonly" else [user("solo", 501, admin=True)]
    host = make_host(doc=mac(version=version, arch=arch, boot_fs=fs, users=users))
    _first_token_by(host, how, "solo")
    solo = host.user("solo")
    assert solo["secure_token"] is expected
    status = strip_nslog(host.run("sysadminctl", "-secureTokenStatus", "solo")[2])
    assert status == f"sysadminctl: Secure token is {'ENABLED' if expected else 'DISABLED'} for user solo\n"
    code, out, err = host.run("diskutil", "apfs", "listCryptoUsers", "/")
    if expected:
        assert code == 0 and f"+-- {solo['guid']}\n" in out and "Type: Local Open Directory User" in out
    else:
        assert code == 1 and err == "/ is not an APFS Volume\n"


# ---- R6: the APFS crypto users list who can unlock the volume -------------------------------------------------------
def _crypto_entries(out):
    """(uuid, type, 'Yes'/'No' or None) per crypto user of diskutil apfs listCryptoUsers."""
    entries = []
    for line in out.splitlines():
        text = line.lstrip("| ")
        if line.startswith("+-- "):
            entries.append([line[4:], None, None])
        elif text.startswith("Type: "):
            entries[-1][1] = text[6:]
        elif text.startswith("Volume Owner: "):
            entries[-1][2] = text[14:]
    return [tuple(e) for e in entries]


@pytest.mark.parametrize("arch,owner_lines", [("apple_silicon", True), ("intel_t2", False)])
def test_r6_crypto_users_list_holders_by_guid_and_the_keys_under_fixed_uuids(make_host, arch, owner_lines):
    plain = dict(volume_owner=False) if arch == "apple_silicon" else {}
    users = [user("owner", 501, admin=True, secure_token=True), user("plain", 502, secure_token=True, **plain),
             user("none", 503)]
    host = make_host(doc=mac(version="14.6", arch=arch, users=users, mdm=BT,
                             filevault={"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF",
                                        "icloud_recovery": True}))
    code, out, _ = host.run("diskutil", "apfs", "listCryptoUsers", "/")
    assert code == 0 and out.startswith("Cryptographic users for ") and "(6 found)" in out.splitlines()[0]

    def yes(value):
        return ("Yes" if value else "No") if owner_lines else None

    assert _crypto_entries(out) == [
        (host.user("owner")["guid"], "Local Open Directory User", yes(True)),
        (host.user("plain")["guid"], "Local Open Directory User", yes(False)),  # a holder, not an owner (AS)
        ("EBC6C064-0000-11AA-AA11-00306543ECAC", "Personal Recovery User", yes(True)),
        ("EC1C2AD9-B618-4ED6-BD8D-50F361C27507", "iCloud Recovery User", yes(True)),
        ("64C0C6EB-0000-11AA-AA11-00306543ECAC", "iCloud Recovery External Key", yes(True)),
        ("2457711A-523C-4604-B75A-F48A571D5036", "MDM Bootstrap Token External Key", yes(True)),
    ]  # the account without a token is no crypto user
    host.edit(filevault__personal_recovery_key=None, filevault__icloud_recovery=False, mdm__bootstrap_on_device=False,
              mdm__bootstrap_escrowed=False)
    assert [e[0] for e in _crypto_entries(host.run("diskutil", "apfs", "listCryptoUsers", "/")[1])] == [
        host.user("owner")["guid"], host.user("plain")["guid"]]


# ---- R16: a pre-hashed account gets the first token only by being the first to log in or authenticate -------------
@pytest.mark.parametrize("holder,how,expected", [
    (False, "authonly", True), (False, "graphical", True), (False, "ssh", True),  # any login or authentication
    (True, "authonly", False), (True, "graphical", False),  # the other side: someone holds a token already
])
def test_r16_prehashed_account_gets_the_first_token_only_by_logging_in(make_host, holder, how, expected):
    users = [user("mdmadmin", 501, admin=True, kind="managed_admin", password_mode="prehashed"),
             user("pkguser", 502, password_mode="prehashed")]
    if holder:
        users.append(user("holder", 503, admin=True, secure_token=True))
    host = make_host(doc=mac(version="14.6", users=users, setup_assistant_account_created=False))
    assert not host.user("mdmadmin")["secure_token"]  # a pre-hashed password gives no token by itself
    if how == "authonly":
        assert host.run("dscl", "/Local/Default", "-authonly", "mdmadmin", "mdmadmin-pw")[0] == 0
    else:
        login(host, "mdmadmin", graphical=how == "graphical")
    assert host.user("mdmadmin")["secure_token"] is expected
    assert host.user("mdmadmin")["volume_owner"] is expected  # the first holder owns the volume (R46)
    assert host.run("dscl", ".", "-authonly", "pkguser", "pkguser-pw")[0] == 0
    assert host.user("pkguser")["secure_token"] is False  # only the first to log in gets it


# ---- R19: with a bootstrap token, a graphical login grants what the account's creation did not ----------------------
@pytest.mark.parametrize("version,escrowed,expected", [
    ("14.6", True, True), ("11.7", True, True),
    ("14.6", False, False),  # the other side: the MDM holds no bootstrap token
    ("10.15.7", True, False),  # on 10.15 only mobile accounts and the managed administrator (R41)
])
def test_r19_login_grants_the_token_a_command_line_account_did_not_get(make_host, version, escrowed, expected):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    mdm = dict(BT, bootstrap_escrowed=escrowed)
    host = make_host(doc=mac(version=version, arch=arch, mdm=mdm,
                             users=[user("holder", 501, admin=True, secure_token=True)]))
    host.run("sysadminctl", "-addUser", "late", "-password", "-", stdin="late-pw\n")
    assert host.user("late")["secure_token"] is False  # R18: none at creation
    notes = login(host, "late")
    assert host.user("late")["secure_token"] is expected
    assert ("bootstrap token granted a secure token to late" in " ".join(notes)) is expected
    assert (host.user("late")["guid"] in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]) is expected


# ---- R20: a token-holding administrator who enables another user for FileVault gives that user a token -------------
@pytest.mark.parametrize("verb,grantor,grants,code,expected", [
    ("add", "admin", True, 0, True), ("enable", "admin", True, 0, True),
    ("add", "admin", False, 17, False), ("enable", "admin", False, 0, False),  # option fdesetup_add_grants_token
    ("add", "plainadmin", True, 17, False),  # the grantor must hold a token (and be a FileVault user, R29b)
])
def test_r20_enabling_a_user_for_filevault_grants_a_token(make_host, verb, grantor, grants, code, expected):
    users = [user("admin", 501, admin=True, secure_token=True), user("plainadmin", 502, admin=True),
             user("std", 503)]
    host = make_host(doc=mac(version="14.6", users=users, filevault={"state": "on" if verb == "add" else "off"},
                             options={"fdesetup_add_grants_token": grants}))
    plist = plistlib.dumps({"Username": grantor, "Password": f"{grantor}-pw",
                            "AdditionalUsers": [{"Username": "std", "Password": "std-pw"}]}).decode()
    assert host.run("fdesetup", verb, "-inputplist", stdin=plist)[0] == code
    std = host.user("std")
    assert std["secure_token"] is expected and std["fv_enabled"] is expected
    assert std["volume_owner"] is expected  # granted by an owner (R47)
    assert ("std," in host.run("fdesetup", "list")[1]) is expected


# ---- R22: on 10.13 and 10.14 a mobile account gets no token by itself at login (R23 from 10.15) ---------------------
@pytest.mark.parametrize("version,local_admin,expected", [
    ("10.13.6", True, False), ("10.14.6", True, False),
    ("10.15.7", True, True),  # the boundary: from 10.15 the first mobile login gets the first token (R23)
    ("10.13.6", False, False), ("10.14.6", False, False),  # even as the only account with UID 500 or above
])
def test_r22_mobile_accounts_get_no_token_by_themselves_before_1015(make_host, version, local_admin, expected):
    users = [user("jdoe", 1103, kind="mobile")]
    if local_admin:
        users.insert(0, user("localadmin", 501, admin=True))
    host = make_host(doc=mac(version=version, arch="intel_t2", users=users, setup_assistant_account_created=False))
    login(host, "jdoe")
    assert host.user("jdoe")["secure_token"] is expected
    assert ("DISABLED", "ENABLED")[expected] in host.run("sysadminctl", "-secureTokenStatus", "jdoe")[2]


# ---- R31: the MDM server must advertise the bootstrap token (capability) and allow it for the Mac ------------------
@pytest.mark.parametrize("version", ["10.15.7", "14.6"])
@pytest.mark.parametrize("capable,allowed,status", [
    (True, True, "profiles: Bootstrap Token supported on server: YES\n"
                 "profiles: Bootstrap Token escrowed to server: NO\n"),
    (False, True, "profiles: Bootstrap Token supported on server: NO\n"),  # no ServerCapabilities entry
    (True, False, "Bootstrap Token functionality is not supported on the server.\n"),  # not allowed for this Mac
])
def test_r31_the_server_must_advertise_and_allow_the_bootstrap_token(make_host, version, capable, allowed, status):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    mdm = {"enrollment": "ade", "bootstrap_capable": capable, "bootstrap_allowed": allowed}
    host = make_host(doc=mac(version=version, arch=arch, mdm=mdm, users=[user("admin", 501, admin=True,
                                                                            secure_token=True)]))
    assert host.run("profiles", "status", "-type", "bootstraptoken") == (0, status, "")
    code, out, _ = host.run("profiles", "install", "-type", "bootstraptoken", "-user", "admin", "-password",
                            "admin-pw")
    ok = capable and allowed
    assert (code == 0) is ok and host.state["mdm"]["bootstrap_escrowed"] is ok
    if not allowed:
        assert out == "Bootstrap Token functionality is not supported on the server.\n"
    login(host, "admin")
    assert host.state["mdm"]["bootstrap_on_device"] is ok  # nor does a token holder's login create one (R33)


# ---- R34: with Setup Assistant account creation skipped, no bootstrap token until a holder logs in graphically ------
@pytest.mark.parametrize("version,expected", [("14.6", True), ("10.15.4", True),
                                              ("10.15.3", False)])  # before 10.15.4 a login never creates it (R33)
def test_r34_skipped_account_creation_delays_the_bootstrap_token(make_host, version, expected):
    arch = "intel_t2" if version.startswith("10") else "apple_silicon"
    host = make_host(doc=mac(version=version, arch=arch, setup_assistant_account_created=False,
                             mdm={"enrollment": "ade", "bootstrap_capable": True},
                             users=[user("admin", 501, admin=True, secure_token=True), user("std", 502)]))

    def escrowed():
        return host.run("profiles", "status", "-type", "bootstraptoken")[1].endswith("escrowed to server: YES\n")

    assert not escrowed() and not host.state["mdm"]["bootstrap_on_device"]
    login(host, "admin", graphical=False)  # ssh or su: not a graphical login
    login(host, "std")  # a graphical login, but not of a token holder
    assert not escrowed() and not host.state["mdm"]["bootstrap_on_device"]
    login(host, "admin")
    assert escrowed() is expected and host.state["mdm"]["bootstrap_on_device"] is expected
    assert ("MDM Bootstrap Token External Key" in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]) is expected


# ---- R39, R40: SetBootstrapToken stores or (empty) removes the token on the server; GetBootstrapToken returns it ----
def test_r39_r40_the_server_keeps_what_the_mac_sends_and_returns_it_at_login(make_host):
    users = [user("admin", 501, admin=True, secure_token=True), user("early", 502), user("late", 503)]
    host = make_host(doc=mac(version="14.6", mdm={"enrollment": "ade", "bootstrap_capable": True}, users=users))
    assert host.run("profiles", "install", "-type", "bootstraptoken", "-user", "admin", "-password",
                    "admin-pw")[0] == 0
    assert host.state["mdm"]["bootstrap_escrowed"]  # SetBootstrapToken with the token: stored
    login(host, "early")
    assert host.user("early")["secure_token"]  # GetBootstrapToken at login returns it (R42)
    assert host.run("profiles", "remove", "-type", "bootstraptoken")[0] == 0
    mdm = host.state["mdm"]
    assert not mdm["bootstrap_escrowed"] and not mdm["bootstrap_on_device"]  # SetBootstrapToken, empty: removed
    assert host.run("profiles", "status", "-type", "bootstraptoken")[1].endswith("escrowed to server: NO\n")
    assert "MDM Bootstrap Token External Key" not in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]
    login(host, "late")
    assert not host.user("late")["secure_token"]  # nothing left on the server to return
    assert host.run("profiles", "remove", "-type", "bootstraptoken")[0] != 0  # and nothing left to remove


# ---- R46: the first account (macsim: the first token holder) owns the volume on Apple silicon ------------------------
@pytest.mark.parametrize("arch,how", [
    ("apple_silicon", "setup_assistant"), ("apple_silicon", "adduser"), ("apple_silicon", "authonly"),
    ("apple_silicon", "grant_both"), ("intel_t2", "adduser"),  # the other side: no ownership on Intel
])
def test_r46_the_first_token_holder_owns_the_volume(make_host, arch, how):
    users = [user("first", 501, admin=True, password_mode="prehashed")] if how == "authonly" else \
        [user("admin", 501, admin=True), user("first", 502)] if how == "grant_both" else []
    host = make_host(doc=mac(version="14.6", arch=arch, users=users, setup_assistant_account_created=False,
                             options={"grant_confers_volume_ownership": False}))
    if how == "grant_both":  # R11: the token-less administrator and the target both get a first token
        grant(host, "first", "admin")
    elif how == "adduser":  # R14: the first password set
        host.run("sysadminctl", "-addUser", "first", "-password", "-", "-admin", stdin="first-pw\n")
    else:
        _first_token_by(host, how, "first")
    first = host.user("first")
    owner = arch == "apple_silicon"
    assert first["secure_token"] and first["volume_owner"] is owner
    if how == "grant_both":
        assert host.user("admin")["volume_owner"] is owner
    assert ("Volume Owner: Yes" in host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]) is owner
    # A later holder is no owner by itself (the grant here confers no ownership: option off).
    host.run("sysadminctl", "-addUser", "later", "-password", "later-pw", "-admin")
    assert not host.user("later")["secure_token"]
    grant(host, "later", "admin" if how == "grant_both" else "first")
    assert host.user("later")["secure_token"] and not host.user("later")["volume_owner"]


# ---- R60: no automatic login with FileVault on -----------------------------------------------------------------------
def test_r60_automatic_login_while_filevault_is_off(make_host):
    host = make_host(doc=mac(users=[user("a", 501, admin=True, secure_token=True)], autologin_user="a"))
    assert strip_nslog(host.run("sysadminctl", "-autologin", "status")[2]) == "sysadminctl: Automatic login user: a\n"


@pytest.mark.parametrize("how", ["state", "fdesetup_enable"])
def test_r60_no_automatic_login_with_filevault_on(make_host, how):
    from macsim.schema import StateError

    users = [user("a", 501, admin=True, secure_token=True)]
    if how == "state":  # a Mac cannot be in this state
        with pytest.raises(StateError, match="R60"):
            make_host(doc=mac(users=users, autologin_user="a", filevault={"state": "on"}))
        return
    host = make_host(doc=mac(users=users, autologin_user="a"))
    assert enable(host, "a", "a-pw")[0] == 0 and host.state["filevault"]["state"] == "on"
    assert host.state["autologin_user"] is None  # turning FileVault on turns automatic login off
    assert "Automatic login user" not in host.run("sysadminctl", "-autologin", "status")[2]
