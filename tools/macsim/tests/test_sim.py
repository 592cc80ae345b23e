"""Faults, parallel invocations, the alternative-wording switch, schema errors and the fleet over SSH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simlib import mac, user
from macsim import fleet, schema, texts
from macsim.tools import IMPLS

MACSIM = str(Path(sys.executable).parent / "macsim")


# ---- faults -------------------------------------------------------------------------------------------------
def test_fault_hang_is_killed_by_a_timeout(make_host):
    host = make_host(doc=mac(faults=[{"tool": "fdesetup", "kind": "hang", "seconds": 30}]))
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([MACSIM, "exec", host.dir, "fdesetup", "status"], timeout=1.5, capture_output=True)
    assert time.monotonic() - started < 5


def test_fault_latency_crash_garbage_canned_and_times(make_host):
    faults = [
        {"tool": "sw_vers", "kind": "latency", "seconds": 0.3},
        {"tool": "sysadminctl", "kind": "crash", "exit_code": 134, "stderr": "Abort trap: 6", "times": 1},
        {"tool": "diskutil", "kind": "garbage"},
        {"tool": "profiles", "kind": "canned", "match": ["enrollment"], "stdout": "canned\n", "exit_code": 3},
    ]
    host = make_host(doc=mac(users=[user("a", 501)], faults=faults))
    started = time.monotonic()
    assert host.run("sw_vers")[0] == 0 and time.monotonic() - started >= 0.3
    assert host.run("sysadminctl", "-secureTokenStatus", "a") == (134, "", "Abort trap: 6\n")
    assert "DISABLED" in host.run("sysadminctl", "-secureTokenStatus", "a")[2]  # times: 1 -> gone
    out = host.run("diskutil", "apfs", "listCryptoUsers", "/")[1]
    assert "Cryptographic" not in out and out.strip()
    assert host.run("profiles", "status", "-type", "enrollment") == (3, "canned\n", "")
    assert host.run("profiles", "status", "-type", "bootstraptoken")[0] != 3  # match: only enrollment
    kinds = [r.get("fault") for r in host.store.invocations()]
    assert {"latency", "crash", "garbage", "canned"} <= set(kinds)


def test_state_faults_mdm_unreachable_no_fda_and_python_stub(make_host):
    host = make_host(doc=mac(mdm={"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": True,
                                  "reachable": False}, users=[user("a", 501, admin=True, secure_token=True)],
                             remote_login_full_disk_access=False))
    assert host.run("profiles", "validate", "-type", "bootstraptoken")[0] != 0
    assert "Full Disk Access" in host.run("fdesetup", "enable", "-user", "a", tty="a-pw\n")[2]
    code, out, err = host.run("python3", "-c", "pass")
    assert code == 1 and err.startswith("xcode-select: note: No developer tools were found, requesting install.")


def test_tcc_database_is_readable_only_with_full_disk_access(make_host):
    host = make_host(doc=mac(remote_login_full_disk_access=False))
    tcc = Path(host.dir) / "Library" / "Application Support" / "com.apple.TCC" / "TCC.db"
    with pytest.raises(PermissionError):  # even for root, as on a Mac whose sshd lacks Full Disk Access
        tcc.open("rb")
    host.edit(remote_login_full_disk_access=True)
    assert tcc.read_bytes().startswith(b"SQLite format 3")
    host.edit(remote_login_full_disk_access=False)
    with pytest.raises(PermissionError):
        tcc.open("rb")


def test_invalid_state_fails_every_tool_with_the_field(make_host):
    host = make_host(doc=mac(users=[user("a", 501)]))
    raw = json.loads(Path(host.store.state_path).read_text())
    raw["users"][0]["kind"] = "mobil"
    Path(host.store.state_path).write_text(json.dumps(raw))
    code, _, err = host.run("sw_vers")
    assert code == 70 and "users[0].kind: 'mobil' is not one of local, mobile" in err


# ---- parallel invocations ------------------------------------------------------------------------------------
def test_parallel_invocations_keep_the_state_consistent(make_host, tmp_path):
    host = make_host(doc=mac(version="12.6", users=[user("admin", 501, admin=True, secure_token=True)]))
    procs = []
    for i in range(16):
        secret = tmp_path / f"stdin{i}"
        secret.write_text(f"admin-pw\nu{i}-pw\n")
        with open(secret) as stdin:
            procs.append(subprocess.Popen([MACSIM, "exec", host.dir, "sysadminctl", "-addUser", f"u{i}", "-password",
                                           "-", "-adminUser", "admin", "-adminPassword", "-"], stdin=stdin,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    state = host.state
    names = {u["name"] for u in state["users"]}
    assert {f"u{i}" for i in range(16)} <= names
    assert len({u["uid"] for u in state["users"]}) == len(state["users"])
    assert all(u["secure_token"] for u in state["users"])
    assert len(host.store.invocations()) == 16


# ---- invented texts -------------------------------------------------------------------------------------------
def test_every_invented_text_has_a_different_alternative():
    invented = texts.invented()
    assert len(invented) > 20
    for entry in invented:
        values = {name: "x" for name in ("name", "admin", "key", "node", "dev", "target", "home", "uid",
                                         "code", "percent", "oid", "user", "group", "url", "yesno", "value",
                                         "state", "count", "noun", "build_uuid")}
        assert texts.render(entry.key, alt=True, **values) != texts.render(entry.key, alt=False, **values), entry.key
    for entry in texts.REGISTRY.values():
        if not entry.invented:
            assert entry.alt is None or entry.alt == entry.text


def test_alt_wording_reaches_tool_output_and_leaves_attested_text(make_host):
    doc = mac(users=[user("a", 501, admin=True, secure_token=True), user("b", 502)])
    plain, alt = make_host(doc=doc), make_host(doc=doc, alt=True)
    argv = ("sysadminctl", "-secureTokenOn", "b", "-password", "b-pw", "-adminUser", "a", "-adminPassword", "a-pw")
    assert plain.run(*argv)[2].split("] ", 1)[1] != alt.run(*argv)[2].split("] ", 1)[1]
    assert plain.run("fdesetup", "status") == alt.run("fdesetup", "status")  # attested: unchanged


# ---- schema ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc,message", [
    ({"hostname": "m"}, "os: required field is missing"),
    ({"hostname": "m", "os": {"version": "10.12.6"}}, "os.version: '10.12.6' must be a macOS version"),
    ({"hostname": "m", "os": {"version": "14.1"}, "hardware": {"arch": "powerpc"}},
     "hardware.arch: 'powerpc' is not one of intel_pre_t2, intel_t2, apple_silicon"),
    ({"hostname": "m", "os": {"version": "14.1"}, "users": [{"name": "a", "uid": "501"}]},
     "users[0].uid: expected an integer"),
    ({"hostname": "m", "os": {"version": "14.1"}, "bogus": 1}, "bogus: unknown field"),
    ({"hostname": "m", "os": {"version": "14.1"}, "hardware": {"arch": "intel_t2"},
      "users": [{"name": "a", "uid": 501, "secure_token": True, "volume_owner": True}]},
     "users[0].volume_owner: volume ownership exists only on apple_silicon"),
])
def test_schema_errors_name_the_field(doc, message):
    with pytest.raises(schema.StateError) as err:
        schema.validate(doc)
    assert message in str(err.value)


def test_every_shipped_scenario_loads_and_the_generator_draws_from_them():
    assert len(fleet.scenario_names()) >= 8
    versions, arches = set(), set()
    for name in fleet.scenario_names():
        for info in fleet.load_scenario(name)["hosts"].values():
            versions.add(".".join(info["state"]["os"]["version"].split(".")[:2 if
                                  info["state"]["os"]["version"].startswith("10.") else 1]))
            arches.add(info["state"]["hardware"]["arch"])
    assert {"10.13", "10.15", "11", "12", "14", "15", "26"} <= versions
    assert arches == {"intel_pre_t2", "intel_t2", "apple_silicon"}
    generated = fleet.load_scenario("generated:40:3")
    assert len(generated["hosts"]) == 40


def test_cli_scenarios_schema_and_texts_run():
    for args in (["scenarios"], ["schema"], ["texts", "--invented"]):
        result = subprocess.run([MACSIM] + args, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip(), args


# ---- the fleet, over real SSH ------------------------------------------------------------------------------------
needs_fleet = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("sshd") and not os.path.exists(
    "/usr/sbin/sshd"), reason="fleet tests need root and openssh-server")


def _ansible(inventory, module, args="", become=False, timeout=300):
    from macsim.testing import run_adhoc

    return run_adhoc(inventory, module, args, become=become, timeout=timeout)


def _no_python(info):
    return fleet.python_plan(info["state"])[0] in ("none", "stub")


@pytest.fixture
def fleet_dir():
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="macsim-test-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_fleet
def test_fleet_up_refuses_a_work_directory_the_login_user_cannot_reach(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(fleet.FleetError, match="not traversable by other users"):
        fleet.up("python", str(private / "fleet"))


def test_every_shipped_scenario_is_in_the_fleet_of_all():
    everyone = set(fleet.load_scenario("all")["hosts"])
    for scenario in fleet.scenario_names():
        assert set(fleet.load_scenario(scenario)["hosts"]) <= everyone, scenario


@needs_fleet
def test_fleet_up_every_shipped_host_answers_ping_and_its_tools_answer_any_user(fleet_dir):
    """One fleet of every host of every shipped scenario ('all'), in its own namespaces, over SSH."""
    workdir = fleet_dir / "fleet"
    inventory = fleet_dir / "inventory.yml"
    doc = fleet.load_scenario("all")
    manifest = fleet.up("all", str(workdir), inventory=str(inventory))
    try:
        namespaces = {h["mntns"] for h in manifest["hosts"]}
        assert len(namespaces) == len(manifest["hosts"]) and fleet._mnt_ns(os.getpid()) not in namespaces
        for become in (True,):  # a module through sudo; the login user's own shell is the raw call below
            results = _ansible(str(inventory), "ansible.builtin.ping", become=become)
            for host, info in doc["hosts"].items():
                if _no_python(info):
                    # No /usr/bin/python3 before 10.15: the module cannot run. With pipelining the shell may exit
                    # before ansible has written the module to its stdin, which ansible reports as unreachable
                    # (broken pipe) rather than failed; both are a refusal, never a pong.
                    event = results[host]["_event"]
                    assert event in ("runner_on_failed", "runner_on_unreachable"), (host, results[host])
                    assert "ping" not in results[host], (host, results[host])
                else:
                    assert results[host].get("ping") == "pong", (host, results[host])
        # The read-only tools answer any user, as on a Mac: the login user, then root through sudo, in one call.
        raw = _ansible(str(inventory), "ansible.builtin.raw", "/usr/bin/sw_vers --productVersion; /usr/bin/uname -m; "
                       "hostname; sudo -n /usr/bin/sw_vers --productVersion", become=False)
        for host, info in doc["hosts"].items():
            lines = raw[host]["stdout_lines"]
            assert raw[host]["rc"] == 0 and lines[0] == info["state"]["os"]["version"], (host, raw[host])
            assert lines[1] == ("arm64" if info["state"]["hardware"]["arch"] == "apple_silicon" else "x86_64")
            assert lines[2] == host and lines[3] == lines[0], (host, lines)
        first = manifest["hosts"][0]
        log = [json.loads(line) for line in Path(first["dir"], "invocations.jsonl").read_text().splitlines()]
        euids = {r["euid"] for r in log if r["argv"][0] == "sw_vers"}
        assert 0 in euids and len(euids) == 2  # root, and the login user
    finally:
        fleet.down(str(workdir))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and fleet._namespace_pids(namespaces):
        time.sleep(0.1)
    assert fleet._namespace_pids(namespaces) == []
    assert "macsim" not in Path("/proc/mounts").read_text()
    assert not any(fleet._ours(h) for h in manifest["hosts"])


def test_every_tool_has_a_path_or_is_the_interpreter():
    from macsim.tools import PATHS

    assert set(IMPLS) == set(PATHS) | {"python3"}
    assert all(path.startswith(("/usr/bin/", "/usr/sbin/", "/sbin/")) for path in PATHS.values())


def test_scenario_hosts_can_reuse_a_shipped_host(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text("hosts:\n  mine:\n    from: fv-off\n    situation: mine\n    os: {version: '15.3.1'}\n"
                    "  bad:\n    from: no-such-host\n")
    with pytest.raises(fleet.FleetError, match="no shipped host 'no-such-host'"):
        fleet.load_scenario(str(path))
    path.write_text("hosts:\n  mine:\n    from: fv-off\n    situation: mine\n    os: {version: '15.3.1'}\n")
    host = fleet.load_scenario(str(path))["hosts"]["mine"]
    assert host["situation"] == "mine" and host["state"]["os"]["version"] == "15.3.1"
    assert host["state"]["hostname"] == "mine" and host["state"]["remote_login_full_disk_access"] is True
    assert [u["name"] for u in host["state"]["users"]] == ["macadmin"]


# ---- the tool server ------------------------------------------------------------------------------------------
def test_a_tool_client_without_its_server_runs_the_tool_in_process(make_host, tmp_path):
    from macsim.toolserver import client_source

    host = make_host(doc=mac(users=[user("a", 501)]))
    client = tmp_path / "sw_vers"
    client.write_text(client_source(sys.executable, "sw_vers", str(host.dir), str(tmp_path / "no-server.sock")))
    client.chmod(0o755)
    done = subprocess.run([str(client), "--productVersion"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == host.run("sw_vers", "--productVersion")


def test_tools_over_ssh_go_through_the_server_and_die_with_a_killed_caller(fleet_dir):
    workdir = fleet_dir / "fleet"
    manifest = fleet.up("cli-users", str(workdir), inventory=str(fleet_dir / "inventory.yml"))
    try:
        host = manifest["hosts"][0]
        ssh = ["ssh", "-i", manifest["key"], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=error", f"{host['user']}@{host['address']}"]
        assert Path(host["dir"], fleet.TOOL_SOCKET).is_socket()
        out = subprocess.run(ssh + ["sudo /usr/sbin/sysadminctl -secureTokenStatus macadmin"],
                             capture_output=True, text=True, timeout=60)
        assert "Secure token is ENABLED" in out.stderr, out
        logged = [json.loads(line) for line in Path(host["dir"], "invocations.jsonl").read_text().splitlines()]
        call = [r for r in logged if r["argv"][:2] == ["sysadminctl", "-secureTokenStatus"]][-1]
        assert f"sysadminctl[{call['pid']}:" in out.stderr  # the caller's pid, as the real tool prints its own
        subprocess.run([MACSIM, "--workdir", str(workdir), "fault", "add", host["name"], "--tool", "fdesetup",
                        "--kind", "hang", "--seconds", "60"], check=True, capture_output=True)
        namespace = {host["mntns"]}
        baseline = len(fleet._namespace_pids(namespace))
        started = time.monotonic()
        hung = subprocess.run(ssh + ["sudo timeout 1 /usr/bin/fdesetup status; echo rc=$?"], capture_output=True,
                              text=True, timeout=60)
        assert "rc=124" in hung.stdout and time.monotonic() - started < 20
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(fleet._namespace_pids(namespace)) > baseline:
            time.sleep(0.1)
        assert len(fleet._namespace_pids(namespace)) <= baseline  # the server's child went with its caller
    finally:
        fleet.down(str(workdir))


@pytest.mark.parametrize("name,personal,crypto_types", [
    ("fv-icloud-only", "false", ["Local Open Directory User", "iCloud Recovery User", "iCloud Recovery External Key"]),
    ("fv-icloud-and-key", "true", ["Local Open Directory User", "Personal Recovery User", "iCloud Recovery User",
                                   "iCloud Recovery External Key"]),
], ids=["icloud-only", "icloud-and-a-personal-key"])
def test_shipped_icloud_hosts_show_the_attested_pair_and_no_institutional_key(make_host, name, personal,
                                                                               crypto_types):
    """The iCloud Recovery User / External Key pair under the UUIDs real Macs print (osquery#5236, a Catalina blog);
    haspersonalrecoverykey follows the personal key alone (the state option; no run shows it otherwise)."""
    host = make_host("filevault", name)
    code, out, _ = host.run("diskutil", "apfs", "listCryptoUsers", "/")
    assert code == 0
    types = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.lstrip("| ").startswith("Type:")]
    assert types == crypto_types
    assert "+-- EC1C2AD9-B618-4ED6-BD8D-50F361C27507" in out and "+-- 64C0C6EB-0000-11AA-AA11-00306543ECAC" in out
    assert host.run("fdesetup", "haspersonalrecoverykey")[1].strip() == personal
    assert host.run("fdesetup", "hasinstitutionalrecoverykey")[1].strip() == "false"
    assert host.run("fdesetup", "status")[1].startswith("FileVault is On.")


def test_latency_profile_delays_each_tool_outside_the_state_lock(make_host):
    import threading

    from macsim import latency

    host = make_host(doc=mac(users=[user("ann", 501, admin=True, secure_token=True)], sim={"latency": "mac"}))
    started = time.monotonic()
    host.run("dscl", ".", "-list", "/Users", "UniqueID")
    assert time.monotonic() - started >= latency.MAC["dscl"][0][1]
    host.store.clear_log()
    results = []
    threads = [threading.Thread(target=lambda: results.append(host.run("sysadminctl", "-secureTokenStatus", "ann")))
               for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert all("Secure token is ENABLED for user ann" in err for _code, _out, err in results)
    calls = host.store.invocations()
    assert [c["latency"] for c in calls] == [0.3] * 4 and all(c["duration"] >= 0.3 for c in calls)
    assert elapsed < 2 * 0.3, f"four reads took {elapsed:.2f} s: the delays ran one after another (inside the lock)"
    assert latency.delay("mac", "profiles", ["status", "-type", "bootstraptoken"]) == 0.8
    assert latency.delay("mac", "sysadminctl", ["-secureTokenOn", "bob"]) == 1.0
    assert latency.delay("none", "profiles", ["status"]) == 0.0


def test_generated_fleet_has_the_accounts_asked_for_and_a_latency_profile(tmp_path):
    from macsim.mac import Mac

    doc = fleet.load_scenario("generated:30:5:2-40")
    counts = [len(info["state"]["users"]) for info in doc["hosts"].values()]
    assert min(counts) >= 2 and max(counts) <= 40 and len(set(counts)) > 5
    for info in doc["hosts"].values():
        users = info["state"]["users"]
        assert len({u["name"] for u in users}) == len(users) and len({u["uid"] for u in users}) == len(users)
        added = [u for u in users if u["name"].startswith("staff")]
        holders = [u for u in users if u["secure_token"] and u not in added and u["kind"] == "local"]
        assert all(u["secure_token"] == (bool(holders) and Mac(info["state"]).apfs) for u in added)
    assert fleet.load_scenario("generated:30:5")["hosts"]["mac0001"]["state"]["users"] == \
        [u for u in doc["hosts"]["mac0001"]["state"]["users"] if not u["name"].startswith("staff")]
    for bad in ("generated:3:1:40-2", "generated:3:1:x", "generated:3:1:2-40:9"):
        with pytest.raises(fleet.FleetError, match="generated"):
            fleet.load_scenario(bad)
    assert schema.validate({"hostname": "m", "os": {"version": "14.4"}})["sim"]["latency"] == "none"
    with pytest.raises(schema.StateError, match="latency"):
        schema.validate({"hostname": "m", "os": {"version": "14.4"}, "sim": {"latency": "slow"}})


def test_a_fleet_of_more_than_250_macs_spans_consecutive_subnets():
    addresses = [fleet.address("127.77.20", i) for i in range(600)]
    assert len(set(addresses)) == 600 and addresses[0] == "127.77.20.2" and addresses[249] == "127.77.20.251"
    assert addresses[250] == "127.77.21.2" and addresses[-1] == "127.77.22.101"
    assert all(0 < int(a.rsplit(".", 1)[1]) < 255 for a in addresses)
