"""Benchmark (`make bench`): playbooks/audit.yml against today's practice (tests/perf/baseline.yml, one command task
per check) on simulated Macs whose tools take a Mac's time to answer (macsim's ``mac`` latency profile), then
audit.yml alone on bigger fleets, then remediate.yml and its no-change rerun.

Usage: python tools/bench.py [--macs 50] [--forks1-macs 1] [--repeats 1] [--forks1-repeats 2] [--scale 200,500]
                             [--json bench.json] (--help: every option)

One invocation, on one generated fleet of the largest size asked for (max of --macs and --scale), every tool delayed
as on a Mac (the generator draws Mac after Mac from one seeded sequence, so the fleet's first --macs Macs are the
fleet generated:--macs would be):
1. baseline and audit.yml, interleaved (A B, --repeats times), at forks 8 on the first --macs Macs with a Python,
   then interleaved A B A B (--forks1-repeats) at forks 1 on the first --forks1-macs of them: forks 1 is serial and
   the baseline takes most of a minute a Mac there, so a subset keeps the whole run within 15 minutes; every
   figure is per Mac, and the speedup is the median baseline seconds per Mac over audit.yml's at forks 1;
2. audit.yml at --scale-forks (16) on the first --macs Macs, then on the fleet's first N Macs for each N of --scale
   (a simulated Mac's tools wait as a Mac's do, so more forks overlap the waits; the time-per-Mac target compares
   the largest of these runs with the first, at the same forks);
3. remediate.yml, then remediate.yml again (no change expected), on the first --remediate-macs Macs (last: it
   changes them);
4. the table, the targets (met or not), a hosts/hour figure (3600 over audit.yml's seconds per Mac on the biggest
   run), bench.json, and as the last line `audit speedup vs baseline: R×`.

Per run: wall time, seconds per Mac, SSH round trips per Mac (every ssh command Ansible runs, counted by a logging
wrapper around ssh), tool calls per Mac (macsim's invocation logs) and the controller's peak memory (the sum of the
resident sets of ansible-playbook and its processes, sampled each half second, and the largest single process from
wait4). Both sides use the shipped docs/ansible.cfg; every run starts with no SSH master connection open.
This is a measurement, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "ansible.cfg"
BASELINE = ROOT / "tests" / "perf" / "baseline.yml"
PLAYBOOKS = ROOT / "playbooks"
SIDES = {"baseline": BASELINE, "audit": PLAYBOOKS / "audit.yml"}
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?")
TARGET_SPEEDUP = 5.0
TARGET_ROUND_TRIPS = 1
TARGET_SCALE = 1.1


# ---- parsing (pure: tests/integration/test_bench.py checks these) ----------------------------------------------
def parse_recap(stdout: str) -> dict:
    """PLAY RECAP lines: {host: {'ok', 'changed', 'unreachable', 'failed', ...}}."""
    out = {}
    for line in stdout.splitlines():
        found = RECAP.match(line.strip())
        if found:
            keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
            out[found.group(1)] = {k: int(v or 0) for k, v in zip(keys, found.groups()[1:])}
    return out


def count_round_trips(ssh_log: str, addresses: dict) -> dict:
    """One line of the ssh wrapper's log is one ssh command: {host: commands}, by the address on the line."""
    trips = {host: 0 for host in addresses.values()}
    for line in ssh_log.splitlines():
        for word in line.split():
            host = addresses.get(word.rsplit("@", 1)[-1])
            if host is not None:
                trips[host] += 1
                break
    return trips


def per_mac(total: float, macs: int) -> float:
    return total / macs if macs else 0.0


def summarise(runs: list) -> dict:
    """The median of each figure over the runs of one side and forks (interleaved repeats)."""
    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    keys = ("seconds", "seconds_per_mac", "round_trips_per_mac", "max_round_trips", "tool_calls_per_mac",
            "peak_rss_mb", "max_process_rss_mb")
    return {"runs": len(runs), "macs": runs[0]["macs"], "forks": runs[0]["forks"], **{k: med(k) for k in keys}}


def assemble(comparison: dict, remediate: dict, scale: list, settings: dict) -> dict:
    """The report: per side and forks the medians, the speedup, the targets and a hosts/hour figure."""
    sides = {f"{side}@forks{forks}": summarise(runs) for (side, forks), runs in sorted(comparison.items())}
    speedup = None
    base, ours = sides.get("baseline@forks1"), sides.get("audit@forks1")
    if base and ours and ours["seconds_per_mac"]:
        speedup = round(base["seconds_per_mac"] / ours["seconds_per_mac"], 2)
    audit8 = sides.get("audit@forks8")
    largest = max(scale, key=lambda r: r["macs"]) if scale else None
    targets = []
    if speedup is not None:
        targets.append({"target": f"audit speedup vs baseline (forks 1) >= {TARGET_SPEEDUP:g}",
                        "value": speedup, "met": speedup >= TARGET_SPEEDUP})
    if audit8:
        targets.append({"target": f"SSH round trips per healthy Mac (audit.yml) = {TARGET_ROUND_TRIPS}",
                        "value": audit8["max_round_trips"], "met": audit8["max_round_trips"] <= TARGET_ROUND_TRIPS})
    # The scale target compares like with like: the largest run with the smallest at the same forks (the comparison
    # fleet's own run at the scale forks), else with audit.yml at forks 8 when the scale runs use forks 8 too.
    same = [r for r in scale if largest and r["forks"] == largest["forks"] and r["macs"] < largest["macs"]]
    small = min(same, key=lambda r: r["macs"]) if same else (audit8 if audit8 and largest and
                                                             audit8["forks"] == largest["forks"] else None)
    if small and largest:
        ratio = round(largest["seconds_per_mac"] / small["seconds_per_mac"], 2) if small["seconds_per_mac"] else None
        targets.append({"target": f"time per Mac at {largest['macs']} <= {TARGET_SCALE:g}x that at {small['macs']} "
                                  f"(forks {largest['forks']})",
                        "value": ratio, "met": ratio is not None and ratio <= TARGET_SCALE})
    rate_from = largest or audit8
    hosts_per_hour = round(3600 / rate_from["seconds_per_mac"]) if rate_from and rate_from["seconds_per_mac"] else None
    ordered = sorted((r for runs in comparison.values() for r in runs), key=lambda r: r.get("started", 0))
    return {"settings": settings, "sides": sides, "runs": ordered,
            "remediate": remediate, "scale": scale, "speedup": speedup, "targets": targets,
            "hosts_per_hour": hosts_per_hour, "hosts_per_hour_from": rate_from and
            f"audit.yml, {rate_from['macs']} Macs, forks {rate_from['forks']}"}


def table(report: dict) -> list:
    """The lines printed at the end (the last one is the speedup line)."""
    lines = ["%-18s %5s %5s %8s %7s %11s %9s %9s %9s" % ("run", "macs", "forks", "wall s", "s/Mac", "SSH trips/Mac",
                                                          "tools/Mac", "peak MB", "max proc")]

    def row(label: str, r: dict) -> str:
        return "%-18s %5d %5d %8.1f %7.3f %6.2f (≤%2d) %9.1f %9.0f %9.0f" % (
            label, r["macs"], r["forks"], r["seconds"], r["seconds_per_mac"], r["round_trips_per_mac"],
            r["max_round_trips"], r["tool_calls_per_mac"], r["peak_rss_mb"], r["max_process_rss_mb"])

    for label, r in report["sides"].items():
        lines.append(row(label + (" (med)" if r["runs"] > 1 else ""), r))
    for label, r in report["remediate"].items():
        lines.append(row(label, r))
    for r in report["scale"]:
        lines.append(row(f"audit@{r['macs']}" + (f"/f{r['forks']}" if r["forks"] != 8 else ""), r))
    settings = report["settings"]
    lines.append(f"fleet: generated, seed {settings['seed']}, {settings['accounts']} accounts a Mac, latency profile "
                 f"'{settings['latency']}'; forks 1 on {settings['forks1_macs']} of the {settings['macs_with_python']}"
                 f" Macs with a Python (figures per Mac); {settings['repeats']} interleaved run(s) a side")
    for error in report.get("errors", []):
        lines.append(f"not measured: {error['phase']}: {error['error'].splitlines()[0]}")
    for t in report["targets"]:
        lines.append(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'NOT met'}")
    if report["hosts_per_hour"]:
        lines.append(f"hosts/hour: {report['hosts_per_hour']} ({report['hosts_per_hour_from']})")
    lines.append(f"audit speedup vs baseline: {report['speedup']:.2f}×" if report["speedup"] is not None
                 else "audit speedup vs baseline: n/a×")
    return lines


# ---- measuring ---------------------------------------------------------------------------------------------------
def _tree_rss_kb(root: int) -> int:
    """The resident set of ``root`` and all its descendants, in KiB, from /proc."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(parents.get(pid, []))
    return total


def run_measured(command: list, env: dict) -> tuple[int, str, float, float, float]:
    """Run ``command``: (exit code, stdout, seconds, peak tree RSS MiB, largest process RSS MiB)."""
    started = time.monotonic()
    out = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    out.seek(0)
    return proc.returncode, out.read(), seconds, peak[0] / 1024, usage.ru_maxrss / 1024


class Fleet:
    """A generated fleet that is up, with what the playbooks need: inventory, credentials, ssh wrapper."""

    def __init__(self, base: Path, macs: int, seed: int, accounts: str, latency: str) -> None:
        import yaml
        from macsim import fleet
        from macsim.store import HostStore

        self.base = base
        self.dir = base / f"fleet-{macs}"
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)
        started = time.monotonic()
        self.manifest = fleet.up(f"generated:{macs}:{seed}:{accounts}", str(self.dir / "sim"),
                                 inventory=str(self.dir / "inv" / "hosts.yml"), latency=latency)
        self.up_seconds = time.monotonic() - started
        self.stores = {h["name"]: HostStore(h["dir"]) for h in self.manifest["hosts"]}
        self.size = len(self.manifest["hosts"])
        self.with_python = [h["name"] for h in self.manifest["hosts"] if h["python"] not in ("none", "stub")]
        self.addresses = {h["address"]: h["name"] for h in self.manifest["hosts"]}
        for name, store in self.stores.items():
            host_vars = self.dir / "inv" / "host_vars" / name
            host_vars.mkdir(parents=True)
            (host_vars / "main.yml").write_text(yaml.safe_dump(_credentials(store.load())))

    def inventory_for(self, hosts: list) -> Path:
        """An inventory of exactly ``hosts`` (their host_vars linked in): Ansible's work per task grows with the
        inventory's size, so a run on 50 Macs of a 500-Mac fleet must not carry the other 450."""
        from macsim import fleet

        path = self.dir / f"inv-{len(hosts)}-{abs(hash(tuple(hosts))) % 10 ** 8}"
        if not path.exists():
            wanted = set(hosts)
            fleet.write_inventory(dict(self.manifest, hosts=[h for h in self.manifest["hosts"] if h["name"] in wanted]),
                                  str(path / "hosts.yml"))
            (path / "host_vars").mkdir()
            for name in hosts:
                (path / "host_vars" / name).symlink_to(self.dir / "inv" / "host_vars" / name)
        return path

    def first(self, count: int) -> list:
        """The Macs with a Python among the fleet's first ``count``."""
        names = {h["name"] for h in self.manifest["hosts"][:count]}
        return [h for h in self.with_python if h in names]

    def down(self) -> None:
        from macsim import fleet

        fleet.down(str(self.dir / "sim"))

    def run(self, playbook: Path, hosts: list, forks: int, env: dict, label: str) -> dict:
        """One ansible-playbook run on ``hosts``, measured."""
        log = self.dir / f"ssh-{label}.log"
        control = Path(tempfile.mkdtemp(prefix="cp-", dir=self.base))  # no master connection from an earlier run
        run_env = dict(env, MACOPS_BENCH_SSH_LOG=str(log), ANSIBLE_SSH_CONTROL_PATH_DIR=str(control))
        calls_before = {h: len(self.stores[h].invocations()) for h in hosts}
        extra = {"macops_hosts": ":".join(hosts), "macops_escrow_dir": str(self.base / "escrow"),
                 "macops_transient_wait": 0}
        command = [shutil.which("ansible-playbook") or "ansible-playbook", "-i", str(self.inventory_for(hosts)),
                   "--forks", str(forks), str(playbook), "-e", json.dumps(extra)]
        started = time.time()
        code, stdout, seconds, peak, largest = run_measured(command, run_env)
        _close_masters(control)
        trips = count_round_trips(log.read_text() if log.exists() else "", self.addresses)
        trips = {h: trips.get(h, 0) for h in hosts}
        calls = [len([r for r in self.stores[h].invocations()[calls_before[h]:] if r["tool"] != "python3"])
                 for h in hosts]
        recap = parse_recap(stdout)
        result = {"label": label, "playbook": str(playbook.relative_to(ROOT)), "started": round(started, 2),
                  "exit": code, "macs": len(hosts),
                  "forks": forks, "seconds": round(seconds, 2),
                  "seconds_per_mac": round(per_mac(seconds, len(hosts)), 3),
                  "round_trips_per_mac": round(statistics.mean(trips.values()), 2) if trips else 0,
                  "max_round_trips": max(trips.values(), default=0),
                  "tool_calls_per_mac": round(statistics.mean(calls), 1) if calls else 0,
                  "peak_rss_mb": round(peak, 1), "max_process_rss_mb": round(largest, 1),
                  "failed_macs": sorted(h for h, r in recap.items()
                                        if h in trips and (r["failed"] or r["unreachable"]))}
        if code not in (0, 2) or len(recap) == 0:
            result["tail"] = stdout[-3000:]
        return result


def _close_masters(control: Path) -> None:
    for sock in control.iterdir():
        subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "bench"], capture_output=True)
    shutil.rmtree(control, ignore_errors=True)


def _credentials(state: dict) -> dict:
    """What an admin gives the playbooks for one Mac: its first token-holding administrator (else its first
    administrator) and every password its state knows."""
    users = [u for u in state.get("users", []) if u.get("password")]
    admins = [u for u in users if u.get("admin")]
    admin = next((u for u in admins if u.get("secure_token")), admins[0] if admins else None)
    out = {"macops_user_passwords": {u["name"]: u["password"] for u in users}}
    if admin:
        out.update(macops_admin_user=admin["name"], macops_admin_password=admin["password"])
    return out


def environment(base: Path) -> dict:
    """ansible-playbook's environment: the shipped ansible.cfg, this checkout as macops.tokens, the ssh wrapper."""
    collections = base / "collections" / "ansible_collections" / "macops"
    collections.mkdir(parents=True)
    (collections / "tokens").symlink_to(ROOT)
    wrapper = base / "ssh"
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> "$MACOPS_BENCH_SSH_LOG"\nexec %s "$@"\n'
                       % shutil.which("ssh"))
    wrapper.chmod(0o755)
    secret = base / "vault-password"
    secret.write_text("bench-only-vault-password\n")
    secret.chmod(0o600)
    (base / "escrow").mkdir()
    return dict(os.environ, ANSIBLE_CONFIG=str(CONFIG), ANSIBLE_COLLECTIONS_PATH=str(base / "collections"),
                ANSIBLE_SSH_EXECUTABLE=str(wrapper), ANSIBLE_HOST_KEY_CHECKING="False",
                ANSIBLE_VAULT_PASSWORD_FILE=str(secret), ANSIBLE_NOCOLOR="1")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--macs", type=int, default=50, help="Macs in the comparison fleet (default 50)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", default="2-40", help="accounts per Mac, MIN-MAX (default 2-40)")
    parser.add_argument("--latency", default="mac", choices=("mac", "none"), help="macsim's latency profile")
    parser.add_argument("--forks", type=int, default=8, help="the parallel runs' forks (default 8)")
    parser.add_argument("--forks1-macs", type=int, default=1, help="Macs in the forks-1 runs (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs a side at --forks (default 1)")
    parser.add_argument("--forks1-repeats", type=int, default=2, help="interleaved runs a side at forks 1 (default 2)")
    parser.add_argument("--scale", default="200,500", help="fleet sizes audit.yml alone runs on ('' for none)")
    parser.add_argument("--scale-forks", type=int, default=16,
                        help="forks of the --scale runs, which also run once on the --macs Macs for the time-per-Mac "
                             "comparison (default 16: a simulated Mac's tools wait, so more forks overlap the waits)")
    parser.add_argument("--no-remediate", action="store_true", help="skip remediate.yml and its rerun")
    parser.add_argument("--remediate-macs", type=int, default=4,
                        help="Macs of the comparison fleet remediate.yml runs on (default 4, for the time budget)")
    parser.add_argument("--json", default="bench.json", help="where the report goes (default ./bench.json)")
    args = parser.parse_args(argv)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="macops-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    env = environment(base)
    comparison: dict = {}
    remediate: dict = {}
    scale: list = []
    fleets_up: dict = {}
    errors: list = []
    sizes = [int(x) for x in args.scale.split(",") if x.strip()]
    hosts: list = []
    try:
        # One fleet for every run: the generator draws Mac after Mac from one seeded sequence, so its first --macs
        # Macs are exactly the fleet generated:--macs would be, and the scale runs take its first 200, 500, ...
        # Macs. One fleet up instead of three keeps the whole bench within its time budget.
        fleet = Fleet(base, max([args.macs] + sizes), args.seed, args.accounts, args.latency)
        fleets_up[fleet.size] = round(fleet.up_seconds, 1)
        try:
            hosts = fleet.first(args.macs)
            plan = [(args.forks, hosts, args.repeats), (1, hosts[:args.forks1_macs], args.forks1_repeats)]
            for forks, subset, repeats in plan:
                for turn in range(repeats):
                    for side, playbook in SIDES.items():
                        result = fleet.run(playbook, subset, forks, env, f"{side}-f{forks}-{turn + 1}")
                        comparison.setdefault((side, forks), []).append(result)
                        _progress(result)
            if sizes and args.scale_forks != args.forks:  # the scale series' first point: these Macs, its forks
                label = f"audit-{args.macs}-f{args.scale_forks}"
                result = fleet.run(SIDES["audit"], hosts, args.scale_forks, env, label)
                result["fleet_macs"] = args.macs
                scale.append(result)
                _progress(result)
            for size in sizes:  # before remediate.yml, which changes the first Macs
                if size > fleet.size:
                    errors.append({"phase": f"audit-{size}", "error": f"the fleet has {fleet.size} Macs"})
                    continue
                result = fleet.run(SIDES["audit"], fleet.first(size), args.scale_forks, env, f"audit-{size}")
                result["fleet_macs"] = size
                scale.append(result)
                _progress(result)
            if not args.no_remediate:
                for label in ("remediate", "remediate rerun"):
                    result = fleet.run(PLAYBOOKS / "remediate.yml", hosts[:args.remediate_macs], args.forks, env,
                                       label.replace(" ", "-"))
                    remediate[label] = result
                    _progress(result)
        finally:
            fleet.down()
    except Exception as exc:  # noqa: BLE001 - a fleet that will not come up is reported, with what was measured
        errors.append({"phase": "fleet", "error": f"{type(exc).__name__}: {str(exc)[:500]}"})
        print(f"bench: {exc}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    settings = {"macs": args.macs, "macs_with_python": len(hosts), "seed": args.seed, "accounts": args.accounts,
                "latency": args.latency, "forks": args.forks, "scale_forks": args.scale_forks,
                "forks1_macs": len(hosts[:args.forks1_macs]),
                "repeats": args.repeats, "forks1_repeats": args.forks1_repeats,
                "remediate_macs": 0 if args.no_remediate else len(hosts[:args.remediate_macs]),
                "config": str(CONFIG.relative_to(ROOT)),
                "fleet_up_seconds": fleets_up, "total_seconds": round(time.monotonic() - started, 1)}
    report = assemble(comparison, remediate, scale, settings)
    report["errors"] = errors
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"bench: report written to {args.json}")
    for line in table(report):
        print(line)
    failed = [r for r in report["runs"] + scale + list(remediate.values()) if r["exit"] not in (0, 2) or r.get("tail")]
    return 1 if failed or errors else 0


def _progress(result: dict) -> None:
    print(f"bench: {result['label']}: {result['macs']} Macs, forks {result['forks']}, {result['seconds']} s, "
          f"{result['round_trips_per_mac']} SSH round trips and {result['tool_calls_per_mac']} tool calls a Mac"
          + (f", exit {result['exit']}" if result["exit"] else ""), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
