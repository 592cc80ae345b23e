"""The read-only modules on every shipped macsim scenario, over SSH: the facts they return equal the Macs' truth."""

from __future__ import annotations

import json

import pytest

from fleetlib import needs_fleet

pytestmark = needs_fleet
NO_PYTHON = {"py-stub", "py-none", "no-token-1013"}
FV_ON = ("on", "encrypting", "decrypting")


def _truth_users(state):
    from macsim.mac import Mac

    mac = Mac(state)
    return {u["name"]: u for u in mac.local_users() if u["uid"] >= 500 or u["secure_token"]}


MANAGED = {"managed_admins": "{{ macops_managed_admins }}"}


@pytest.fixture(scope="module")
def whole_fleet(mac_fleet):
    return mac_fleet.run("macops.tokens.chain_of_trust_info", MANAGED)


@pytest.fixture(scope="module")
def chain(whole_fleet):
    return {h: r for h, r in whole_fleet.items() if h not in NO_PYTHON}


def test_macs_without_python_fail_without_touching_a_tool(whole_fleet, mac_fleet):
    for host in NO_PYTHON:
        assert whole_fleet[host]["_event"] == "runner_on_failed", (host, whole_fleet[host].get("msg"))
        assert not [r for r in mac_fleet.store(host).invocations() if r["tool"] != "python3"], host


def test_every_mac_with_python_answers(chain, mac_fleet):
    expected = set(mac_fleet.hosts) - NO_PYTHON
    assert set(chain) == expected
    failed = {h: r.get("msg") for h, r in chain.items() if r["_event"] != "runner_on_ok"}
    assert failed == {}
    assert all(r["changed"] is False for r in chain.values())


def test_platform_matches_the_mac(chain, mac_fleet):
    for host, result in chain.items():
        state, os_ = mac_fleet.state(host), result["mac"]["os"]
        assert os_["version"] == state["os"]["version"], host
        assert os_["build"] == state["os"]["build"], host
        assert os_["apple_silicon"] is (state["hardware"]["arch"] == "apple_silicon"), host
        assert os_["cpu_brand"] == state["hardware"]["cpu_brand"], host


def test_accounts_and_tokens_match_the_mac(chain, mac_fleet):
    for host, result in chain.items():
        state = mac_fleet.state(host)
        truth = _truth_users(state)
        reported = {u["name"]: u for u in result["mac"]["users"]}
        assert set(reported) == set(truth), host
        apple_silicon = state["hardware"]["arch"] == "apple_silicon"
        for name, user in truth.items():
            got = reported[name]
            assert got["secure_token"] is user["secure_token"], (host, name)
            assert got["token_state"] == ("enabled" if user["secure_token"] else "disabled"), (host, name)
            assert got["admin"] is user["admin"], (host, name)
            assert got["kind"] == user["kind"] if user["kind"] != "sharing_only" else "local", (host, name)
            assert got["uid"] == user["uid"] and got["guid"] == user["guid"], (host, name)
            assert got["full_name"] == user["full_name"], (host, name)
            assert got["volume_owner"] == (user["volume_owner"] if apple_silicon else None), (host, name)
            assert got["filevault_user"] is bool(user["secure_token"] and user["fv_enabled"]), (host, name)
            assert got["disabled_tags"] == user["disabled_tags"], (host, name)
        holders = [u for u in truth.values() if u["secure_token"]]
        assert result["mac"]["token_holders"] == len(holders), host
        assert result["mac"]["admin_token_holders"] == len([u for u in holders if u["admin"]]), host


def test_mdm_bootstrap_and_filevault_match_the_mac(chain, mac_fleet):
    from macsim.mac import Mac

    for host, result in chain.items():
        state = mac_fleet.state(host)
        mac, mdm, fv = Mac(state), state["mdm"], state["filevault"]
        model = result["mac"]
        assert model["mdm"]["enrolled"] is mdm["enrolled"], host
        assert model["mdm"]["dep"] is (mdm["enrollment"] == "ade"), host
        supported = mac.bootstrap_supported_here() if mdm["enrolled"] else False
        assert model["bootstrap_token"]["supported"] is supported, host
        assert model["bootstrap_token"]["escrowed"] == (mdm["bootstrap_escrowed"] if supported else None), host
        assert model["bootstrap_token"]["local_record"] is mdm["bootstrap_on_device"], host
        assert model["filevault"]["state"] == fv["state"], host
        assert model["filevault"]["percent"] == fv["percent"], host
        assert model["filevault"]["personal_recovery_key"] is bool(fv["personal_recovery_key"] and fv["state"] in FV_ON)
        assert model["filevault"]["institutional_recovery_key"] is bool(
            fv["institutional_key"] and fv["state"] in FV_ON)
        assert model["filevault"]["deferred_user"] == fv["deferred_user"], host
        assert model["filevault"]["icloud_recovery"] is bool(fv["icloud_recovery"] and mac.apfs), host
        assert (model["filevault"]["escrow"], model["filevault"]["recovery_path"]) == (
            "not_checked", _truth_recovery_path(fv)), host


def _truth_recovery_path(fv, escrowed_key=None):
    """Who can recover the Mac, from macsim's state (no escrow_dir given: the escrow is not checked)."""
    if fv["state"] not in FV_ON:
        return "not_applicable"
    if fv["personal_recovery_key"] and escrowed_key == fv["personal_recovery_key"]:
        return "escrowed"
    if fv["institutional_key"]:
        return "institutional"
    if fv["personal_recovery_key"]:
        return "personal_escrow_not_checked" if escrowed_key is None else "personal_not_escrowed_here"
    return "icloud_only" if fv["icloud_recovery"] else "none"


EXPECTED_FINDINGS = {
    "no-token-1015": {"no_token_holder", "local_user_without_token", "filevault_off", "not_enrolled_in_mdm"},
    "no-token-14": {"no_token_holder", "local_user_without_token", "filevault_off"},
    "standard-holder": {"only_standard_token_holders", "local_user_without_token", "filevault_off"},
    "holder-deleted": {"no_token_holder", "local_user_without_token", "orphaned_crypto_user"},
    "cli-users-12": {"local_user_without_token", "filevault_off", "bootstrap_token_not_escrowed"},
    "mobile-1015-bt": {"mobile_account_without_token", "filevault_off"},
    "mobile-1015-nobt": {"mobile_account_without_token", "filevault_off", "bootstrap_token_not_escrowed"},
    "mobile-11-bt": {"mobile_account_without_token", "filevault_off"},  # bnet (network) is not in the local node
    "mobile-14-nobt": {"mobile_account_without_token", "filevault_off", "bootstrap_token_not_escrowed"},
    "ade-skipped-before-login": {"no_token_holder", "managed_admin_without_token", "local_user_without_token",
                                 "filevault_off", "bootstrap_token_not_escrowed"},
    "ade-not-skipped": {"managed_admin_without_token", "local_user_without_token"},
    "fv-on": set(),
    "fv-off": {"filevault_off"},
    "fv-encrypting": {"filevault_encrypting"},
    "fv-decrypting": {"filevault_decrypting"},
    "fv-deferred": {"filevault_deferred"},
    "fv-icloud-only": {"icloud_recovery_only"},
    "fv-icloud-and-key": set(),  # a personal key, and no escrow_dir to check it against
    "macos-26": {"filevault_off"},
}


@pytest.mark.parametrize("host", sorted(EXPECTED_FINDINGS))
def test_findings_per_situation(chain, host):
    codes = {f["code"] for f in chain[host]["findings"]} - {"not_enrolled_in_mdm"}
    expected = EXPECTED_FINDINGS[host] - {"not_enrolled_in_mdm"}
    assert codes == expected
    for finding in chain[host]["findings"]:
        assert finding["message"] and finding["next_step"] and finding["severity"] in ("critical", "warning", "info")


def test_mobile_account_with_escrowed_bootstrap_token_is_granted_at_next_login(chain):
    for host in ("mobile-1015-bt", "mobile-11-bt"):
        finding = next(f for f in chain[host]["findings"] if f["code"] == "mobile_account_without_token")
        assert finding["severity"] == "info" and "next graphical login" in finding["next_step"], host
    finding = next(f for f in chain["mobile-1015-nobt"]["findings"] if f["code"] == "mobile_account_without_token")
    assert finding["severity"] == "warning" and "sysadminctl" in finding["next_step"]


def test_readiness(chain):
    fv_on = chain["fv-on"]["readiness"]
    assert fv_on["filevault"] == {"available": True, "authorised_by": ["macadmin"],
                                  "reason": "FileVault is on; these users unlock it at startup"}
    assert fv_on["software_updates"]["authorised_by"] == ["macadmin"]
    no_token = chain["no-token-14"]["readiness"]
    assert no_token["filevault"]["available"] is False and no_token["grant_secure_tokens"]["available"] is False
    assert no_token["software_updates"]["available"] is False
    ade = chain["ade-skipped-after-login"]["readiness"]
    assert ade["bootstrap_token_authorisation"]["available"] is None  # the MDM's allowance is an input
    assert chain["fv-off"]["readiness"]["bootstrap_token_authorisation"]["available"] is False  # Intel


def test_bootstrap_allowance_is_an_input(mac_fleet):
    result = mac_fleet.run("macops.tokens.chain_of_trust_info", {"bootstrap_allowed_for_authentication": "allowed"},
                           hosts="ade-skipped-after-login")["ade-skipped-after-login"]
    assert result["readiness"]["bootstrap_token_authorisation"]["available"] is True
    assert "MDM (bootstrap token)" in result["readiness"]["software_updates"]["authorised_by"]


def test_tool_calls_do_not_grow_with_accounts(mac_fleet):
    counts = {}
    for host in ("few-accounts", "many-accounts"):
        store = mac_fleet.store(host)
        before = len(store.invocations())
        result = mac_fleet.run("macops.tokens.chain_of_trust_info", hosts=host)[host]
        assert result["_event"] == "runner_on_ok", result.get("msg")
        logged = store.invocations()[before:]
        # macsim logs Apple's tools; the 14th call, /bin/ls -1 /Users (network accounts), is the real ls
        assert len(logged) + 1 == result["mac"]["tool_calls"]
        assert not any(r["argv"][0] == "sysadminctl" for r in logged)
        counts[host] = result["mac"]["tool_calls"]
        assert len(result["mac"]["users"]) == (2 if host == "few-accounts" else 40)
    assert counts["few-accounts"] == counts["many-accounts"] == 14  # the 14th lists /Users (network accounts)


def test_focused_views_agree_with_the_whole_picture(chain, mac_fleet):
    hosts = "ade-not-skipped:mobile-11-bt:fv-encrypting:holder-deleted"
    tokens = mac_fleet.run("macops.tokens.secure_token_info", MANAGED, hosts=hosts)
    bootstrap = mac_fleet.run("macops.tokens.bootstrap_token_info", hosts=hosts)
    filevault = mac_fleet.run("macops.tokens.filevault_info", hosts=hosts)
    for host in hosts.split(":"):
        whole = chain[host]
        assert tokens[host]["users"] == whole["mac"]["users"], host
        assert tokens[host]["token_holders"] == whole["mac"]["token_holders"]
        assert bootstrap[host]["bootstrap_token"] == whole["mac"]["bootstrap_token"], host
        assert bootstrap[host]["tool_calls"] < whole["mac"]["tool_calls"]
        assert filevault[host]["filevault"] == whole["mac"]["filevault"], host
        codes = {f["code"] for f in filevault[host]["findings"]}
        assert codes == {f["code"] for f in whole["findings"] if f["code"].startswith((
            "filevault", "no_recovery", "token_holder_not", "icloud_recovery", "recovery_key_not"))}


def test_secure_token_info_filters_and_rejects_unknown_users(mac_fleet):
    result = mac_fleet.run("macops.tokens.secure_token_info", {"users": ["jdoe"]}, hosts="mobile-1015-bt")
    users = result["mobile-1015-bt"]["users"]
    assert [u["name"] for u in users] == ["jdoe"] and users[0]["kind"] == "mobile" and not users[0]["secure_token"]
    failed = mac_fleet.run("macops.tokens.secure_token_info", {"users": ["nobody"]}, hosts="mobile-1015-bt")
    assert failed["mobile-1015-bt"]["_event"] == "runner_on_failed"
    assert "no account named nobody" in failed["mobile-1015-bt"]["msg"]


def test_check_mode_reads_the_same(mac_fleet, chain):
    result = mac_fleet.run("macops.tokens.chain_of_trust_info", hosts="fv-on", check=True)["fv-on"]
    assert result["changed"] is False and result["mac"]["users"] == chain["fv-on"]["mac"]["users"]


def test_inconsistent_signals_are_reported_not_guessed(mac_fleet):
    import subprocess
    import sys
    from pathlib import Path

    macsim = str(Path(sys.executable).parent / "macsim")
    host_dir = mac_fleet.hosts["fv-off"]["dir"]
    subprocess.run([macsim, "exec", host_dir, "dscl", ".", "-create", "/Users/forged"], check=True)
    subprocess.run([macsim, "exec", host_dir, "dscl", ".", "-append", "/Users/forged", "AuthenticationAuthority",
                    ";SecureToken;"], check=True)
    subprocess.run([macsim, "exec", host_dir, "dscl", ".", "-create", "/Users/forged", "UniqueID", "777"], check=True)
    result = mac_fleet.run("macops.tokens.secure_token_info", {"users": ["forged"]}, hosts="fv-off")["fv-off"]
    user = result["users"][0]
    assert user["token_state"] == "inconsistent" and user["secure_token"] is None
    assert user["token_signals"] == {"authentication_authority": True, "crypto_user": False, "filevault_list": None}
    assert "token_state_inconsistent" in {f["code"] for f in result["findings"]}
    subprocess.run([macsim, "exec", host_dir, "dscl", ".", "-delete", "/Users/forged"], check=True)


def test_a_hung_tool_fails_the_task_with_the_command(mac_fleet):
    import subprocess
    import sys
    from pathlib import Path

    macsim = str(Path(sys.executable).parent / "macsim")
    host_dir = mac_fleet.hosts["fv-on"]["dir"]
    subprocess.run([macsim, "fault", "add", host_dir, "--tool", "fdesetup", "--kind", "hang", "--match", "list",
                    "--seconds", "60", "--times", "1"], check=True)
    result = mac_fleet.run("macops.tokens.filevault_info", {"timeout": 2}, hosts="fv-on")["fv-on"]
    assert result["_event"] == "runner_on_failed"
    assert "/usr/bin/fdesetup list did not finish within 2 seconds" in result["msg"]
    assert result["cmd"] == ["/usr/bin/fdesetup", "list"]


def test_unreadable_output_fails_naming_the_command_and_quoting_it(mac_fleet):
    import subprocess
    import sys
    from pathlib import Path

    macsim = str(Path(sys.executable).parent / "macsim")
    host_dir = mac_fleet.hosts["fv-on"]["dir"]
    subprocess.run([macsim, "fault", "add", host_dir, "--tool", "diskutil", "--kind", "canned", "--stdout",
                    "Something new from Apple\n", "--exit-code", "0", "--times", "1"], check=True)
    result = mac_fleet.run("macops.tokens.chain_of_trust_info", hosts="fv-on")["fv-on"]
    assert result["_event"] == "runner_on_failed"
    assert "parse_crypto_users" in result["msg"] and "/usr/sbin/diskutil apfs listCryptoUsers /" in result["msg"]
    assert "Something new from Apple" in result["msg"]


def test_invented_wordings_change_nothing(mac_fleet, chain):
    """Every invented text replaced: the modules read only attested texts, so the facts are the same."""
    hosts = [h for h in chain]

    def alt(value: bool) -> None:  # what `macsim set HOST sim.alt_wording=...` does, without a process per Mac
        for host in hosts:
            with mac_fleet.store(host).transaction() as state:
                state["sim"]["alt_wording"] = value

    alt(True)
    try:
        again = mac_fleet.run("macops.tokens.chain_of_trust_info", MANAGED)
    finally:
        alt(False)
    for host in hosts:
        assert again[host]["_event"] == "runner_on_ok", (host, again[host].get("msg"))
        assert json.dumps(again[host]["mac"]["users"], sort_keys=True) == json.dumps(chain[host]["mac"]["users"],
                                                                                       sort_keys=True), host
        assert again[host]["findings"] == chain[host]["findings"], host


def test_the_escrowed_key_is_validated_on_the_mac_and_decides_who_can_recover_it(mac_fleet, tmp_path):
    """chain_of_trust_info with escrow_dir over SSH: each Mac's escrowed key validated read-only with fdesetup
    validaterecovery (key on stdin), the recovery path what macsim's truth says, the key nowhere in the result."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    hosts = {"fv-icloud-and-key": "own", "fv-encrypting": "wrong", "fv-icloud-only": "wrong", "fv-decrypting": None}
    secret = VaultSecret(mac_fleet.vault_password_file.read_text().strip().encode())
    wrong = "ZZZZ-9999-YYYY-8888-XXXX-7777"
    keys = {}
    for host, which in hosts.items():
        if which:
            keys[host] = mac_fleet.state(host)["filevault"]["personal_recovery_key"] if which == "own" else wrong
            data = VaultLib([("default", secret)]).encrypt(("recovery_key: %s\n" % keys[host]).encode())
            (tmp_path / ("%s.recovery-key.vault" % host)).write_bytes(data)
    before = {h: mac_fleet.state(h) for h in hosts}
    counts = {h: len(mac_fleet.store(h).invocations()) for h in hosts}
    results = mac_fleet.run("macops.tokens.chain_of_trust_info", {"escrow_dir": str(tmp_path)}, hosts=":".join(hosts))
    for host, which in hosts.items():
        result = results[host]
        assert result["_event"] == "runner_on_ok", (host, result.get("msg"))
        fv = before[host]["filevault"]
        got = result["mac"]["filevault"]
        assert got["escrow"] == {"own": "valid", "wrong": "invalid", None: "absent"}[which], host
        assert got["recovery_path"] == _truth_recovery_path(fv, keys.get(host, "")), host
        codes = {f["code"] for f in result["findings"]}
        assert ("recovery_key_not_escrowed" in codes) is (got["recovery_path"] == "personal_not_escrowed_here"
                                                          and fv["state"] != "decrypting"), host
        calls = [r for r in mac_fleet.store(host).invocations()[counts[host]:] if "validaterecovery" in r["argv"]]
        assert len(calls) == (1 if which else 0), host
        for call in calls:  # on stdin only
            assert call["argv"] == ["fdesetup", "validaterecovery", "-inputplist"], host
        assert mac_fleet.state(host) == before[host], host  # read-only
        assert all(k not in json.dumps(result) for k in keys.values()), host
    assert results["fv-icloud-and-key"]["mac"]["filevault"]["recovery_path"] == "escrowed"
    assert results["fv-icloud-only"]["mac"]["filevault"]["recovery_path"] == "icloud_only"
    assert results["fv-encrypting"]["mac"]["filevault"]["recovery_path"] == "personal_not_escrowed_here"


def test_service_accounts_chain_matches_the_mac(mac_fleet):
    """macops_service_accounts over SSH: every account's missing link, from macsim's truth, is named once."""
    hosts = ("cli-users-12", "fv-on", "standard-holder")
    for host in hosts:
        truth = _truth_users(mac_fleet.state(host))
        names = sorted(n for n, u in truth.items() if u["uid"] >= 500 and u["kind"] == "local")
        result = mac_fleet.run("macops.tokens.chain_of_trust_info", {"service_accounts": names + ["ghost"]},
                               hosts=host)[host]
        assert result["_event"] == "runner_on_ok", (host, result.get("msg"))
        found = {(f["code"], n) for f in result["findings"] for n in f["users"]}
        fv_on = mac_fleet.state(host)["filevault"]["state"] in ("on", "encrypting")
        apple_silicon = mac_fleet.state(host)["hardware"]["arch"] == "apple_silicon"
        assert ("watched_account_missing", "ghost") in found, host
        for name in names:
            user = truth[name]
            assert ("local_user_without_token", name) not in found, (host, name)  # named one by one instead
            assert (("watched_account_without_token", name) in found) is (not user["secure_token"]), (host, name)
            if user["secure_token"] and fv_on and not user["fv_enabled"]:
                assert {("token_holder_not_filevault_user", name), ("holder_not_volume_owner", name)} & found
            if user["secure_token"] and apple_silicon and not user["volume_owner"]:
                assert {("watched_account_not_volume_owner", name), ("holder_not_volume_owner", name)} & found
        assert all(n in names + ["ghost"] for code, n in found if code.startswith("watched_account")), host
