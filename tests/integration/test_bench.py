"""`make bench` without its timings: the baseline playbook (tests/perf/baseline.yml) does what it says on simulated
Macs, and tools/bench.py counts, assembles and prints what it measured. Speed is measured by `make bench` only."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
needs_fleet = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("sshd") and not os.path.exists(
    "/usr/sbin/sshd"), reason="fleet tests need root and openssh-server")


def _bench():
    spec = importlib.util.spec_from_file_location("macops_bench", ROOT / "tools" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recap_and_ssh_log_parsing():
    bench = _bench()
    tail = "    rescued=0    ignored=0\n"
    recap = bench.parse_recap(
        "PLAY RECAP *****\n"
        "mac0001                    : ok=7    changed=0    unreachable=0    failed=0    skipped=2" + tail +
        "mac0002                    : ok=1    changed=0    unreachable=1    failed=0    skipped=0" + tail +
        "localhost                  : ok=1    changed=0    unreachable=0    failed=0    skipped=1" + tail)
    assert recap["mac0001"] == {"ok": 7, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 2, "rescued": 0,
                                "ignored": 0}
    assert recap["mac0002"]["unreachable"] == 1 and set(recap) == {"mac0001", "mac0002", "localhost"}
    log = ("-C -o ControlMaster=auto -o User=\"macadmin\" 127.77.10.2 /bin/sh -c 'sudo -H -S -n ...'\n"
           "-C -o ControlMaster=auto macadmin@127.77.10.3 /bin/sh -c 'echo ~'\n"
           "-C -o ControlMaster=auto 127.77.10.2 /bin/sh -c 'python3'\n"
           "-O exit 127.77.10.22\n")
    assert bench.count_round_trips(log, {"127.77.10.2": "mac0001", "127.77.10.3": "mac0002"}) == \
        {"mac0001": 2, "mac0002": 1}


def _run(label, macs, forks, seconds, trips, calls):
    return {"label": label, "exit": 0, "macs": macs, "forks": forks, "seconds": seconds,
            "seconds_per_mac": seconds / macs, "round_trips_per_mac": trips, "max_round_trips": trips,
            "tool_calls_per_mac": calls, "peak_rss_mb": 100.0, "max_process_rss_mb": 50.0, "failed_macs": []}


def test_report_medians_speedup_targets_and_last_line():
    bench = _bench()
    comparison = {("baseline", 8): [_run("b1", 10, 8, 60, 30, 30), _run("b2", 10, 8, 80, 30, 30)],
                  ("audit", 8): [_run("a1", 10, 8, 10, 2, 12), _run("a2", 10, 8, 12, 2, 12)],
                  ("baseline", 1): [_run("b", 2, 1, 40, 30, 30)], ("audit", 1): [_run("a", 2, 1, 6, 1, 12)]}
    settings = {"seed": 1, "accounts": "2-40", "latency": "mac", "forks1_macs": 2, "macs_with_python": 10,
                "repeats": 2}
    report = bench.assemble(comparison, {"remediate": _run("r", 10, 8, 30, 4, 80)},
                            [_run("s", 500, 8, 600, 2, 12)], settings)
    assert report["sides"]["baseline@forks8"]["seconds"] == 70 and report["sides"]["audit@forks8"]["runs"] == 2
    assert report["speedup"] == round(20 / 3, 2)
    assert [t["met"] for t in report["targets"]] == [True, False, True]  # 6.67 >= 5; 2 trips; 1.2 / 1.1 = 1.09x
    assert report["targets"][2]["value"] == round(1.2 / 1.1, 2)
    assert report["hosts_per_hour"] == 3000
    lines = bench.table(report)
    assert lines[-1] == "audit speedup vs baseline: 6.67×"
    assert any(line.startswith("target: SSH round trips") and line.endswith("NOT met") for line in lines)
    report["errors"] = [{"phase": "audit-500", "error": "FleetError: mac0052: sshd did not start\ndetail"}]
    assert "not measured: audit-500: FleetError: mac0052: sshd did not start" in bench.table(report)
    json.dumps(report)



def test_the_scale_target_compares_runs_at_the_same_forks():
    """Scale runs at forks 16: the largest is compared with the comparison Macs' own run at forks 16, never with
    audit.yml at forks 8; without a run at its forks there is no scale target rather than a wrong one."""
    bench = _bench()
    comparison = {("baseline", 8): [_run("b", 10, 8, 60, 30, 30)], ("audit", 8): [_run("a", 10, 8, 10, 1, 12)],
                  ("baseline", 1): [_run("b", 2, 1, 40, 30, 30)], ("audit", 1): [_run("a", 2, 1, 6, 1, 12)]}
    settings = {"seed": 1, "accounts": "2-40", "latency": "mac", "forks1_macs": 2, "macs_with_python": 10,
                "repeats": 1}
    scale = [_run("s50", 10, 16, 6, 1, 12), _run("s200", 200, 16, 130, 1, 12), _run("s500", 500, 16, 340, 1, 12)]
    report = bench.assemble(comparison, {}, scale, settings)
    (target,) = [t for t in report["targets"] if t["target"].startswith("time per Mac")]
    assert target["target"] == "time per Mac at 500 <= 1.1x that at 10 (forks 16)"
    assert target["value"] == round(0.68 / 0.6, 2) and target["met"] is False
    assert "audit@500/f16" in "\n".join(bench.table(report))
    lone = bench.assemble(comparison, {}, [_run("s500", 500, 16, 340, 1, 12)], settings)
    assert not [t for t in lone["targets"] if t["target"].startswith("time per Mac")]

# The bench's one fleet, brought up once for this module: bench.main runs on it (its Fleet is this one, taken down
# here rather than by main), so the baseline and audit runs at forks 8 that the first test checks are main's own.
FLEET_ARGS = {"macs": 2, "seed": 4, "accounts": "2-4", "latency": "none"}  # main's tiny fleet, as before


@pytest.fixture(scope="module")
def bench_run():
    bench = _bench()
    base = Path(tempfile.mkdtemp(prefix="macops-bench-test-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        bench.environment(base)  # what a Fleet's runs expect under its base (the escrow directory)
        fleet = bench.Fleet(base, *FLEET_ARGS.values())
        try:
            asked = []

            def shared(_base, *args):
                asked.append(args)
                return fleet

            out, printed = base / "bench.json", io.StringIO()
            with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
                patch.setattr(bench, "Fleet", shared)
                patch.setattr(fleet, "down", lambda: None)
                code = bench.main(["--macs", str(FLEET_ARGS["macs"]), "--seed", str(FLEET_ARGS["seed"]),
                                   "--accounts", FLEET_ARGS["accounts"], "--latency", FLEET_ARGS["latency"],
                                   "--repeats", "1", "--forks1-macs", "1", "--scale", "", "--no-remediate",
                                   "--json", str(out)])
            assert asked == [tuple(FLEET_ARGS.values())]  # main asked for the fleet its options describe
            yield bench, fleet, code, printed.getvalue().splitlines(), json.loads(out.read_text())
        finally:
            fleet.down()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_fleet
def test_baseline_checks_every_account_and_the_bench_counts_it(bench_run):
    """Both sides on the simulated Macs: the baseline's round trips and tool calls are its four checks and one
    sysadminctl per local account (UID 500 and up), as the simulator's own logs and state say."""
    from macsim.mac import Mac

    _bench_module, fleet, _code, _printed, report = bench_run
    runs = {r["label"]: r for r in report["runs"]}
    hosts = fleet.with_python
    assert hosts, "the generated fleet has no Mac with a Python"
    # Which baseline runs each Mac was in: all of them at forks 8, the first alone in the two runs at forks 1.
    baseline_runs = {h: 1 + (2 if h == hosts[0] else 0) for h in hosts}

    def accounts(host):
        return sorted(u["name"] for u in Mac(fleet.stores[host].load()).local_users()
                      if u["uid"] >= 500 and not u["name"].startswith("_"))

    for host in hosts:
        store = fleet.stores[host]
        checked = sorted(r["argv"][2] for r in store.invocations()
                         if r["argv"][:2] == ["sysadminctl", "-secureTokenStatus"])
        assert checked == sorted(accounts(host) * baseline_runs[host]) and len(accounts(host)) >= 2
    for label, subset in (("baseline-f8-1", hosts), ("baseline-f1-1", hosts[:1]), ("baseline-f1-2", hosts[:1])):
        expected = [4 + len(accounts(h)) for h in subset]
        baseline = runs[label]
        assert baseline["exit"] == 0 and baseline["failed_macs"] == [], baseline.get("tail")
        assert baseline["macs"] == len(subset)
        assert baseline["max_round_trips"] == max(expected)
        assert baseline["round_trips_per_mac"] == round(sum(expected) / len(expected), 2)
        assert baseline["tool_calls_per_mac"] == round(sum(expected) / len(expected), 1)
    baseline, audit = runs["baseline-f8-1"], runs["audit-f8-1"]
    assert audit["exit"] == 0 and audit["failed_macs"] == [], audit.get("tail")
    assert 1 <= audit["max_round_trips"] < baseline["max_round_trips"]
    assert audit["peak_rss_mb"] > 0 and audit["max_process_rss_mb"] > 0


@needs_fleet
def test_bench_end_to_end_on_a_tiny_fleet(bench_run):
    _bench_module, _fleet, code, printed, report = bench_run
    assert code == 0, printed
    assert set(report["sides"]) == {"baseline@forks8", "audit@forks8", "baseline@forks1", "audit@forks1"}
    assert report["sides"]["baseline@forks1"]["macs"] == 1
    assert [r["label"] for r in report["runs"]] == ["baseline-f8-1", "audit-f8-1", "baseline-f1-1", "audit-f1-1",
                                                    "baseline-f1-2", "audit-f1-2"]  # interleaved, in that order
    assert report["sides"]["audit@forks1"]["runs"] == 2
    assert re.fullmatch(r"audit speedup vs baseline: \d+\.\d{1,2}×", printed[-1])
    assert printed[-1] == f"audit speedup vs baseline: {report['speedup']:.2f}×"
