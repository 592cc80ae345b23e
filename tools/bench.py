"""Benchmark: audit a generated fleet of simulated Macs with chain_of_trust_info over SSH, and (with --playbooks) run
audit.yml, remediate.yml and remediate.yml again on it, counting SSH round trips and tool calls per Mac.

Usage: python tools/bench.py [--macs N] [--forks F] [--seed S] [--parallel-reads P] [--playbooks]
Prints wall time, time per Mac, tool invocations per Mac and the span of the audit's reads on each Mac (from the
simulator's logs; macsim's tools hold their Mac's state lock while they run, so the span shows little overlap) and,
with --playbooks, SSH round trips per Mac (every ssh command ansible runs, counted by a logging wrapper around ssh).
This is a measurement, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--macs", type=int, default=30)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parallel-reads", type=int, default=None,
                        help="the audit module's parallel_reads (default: the module's default)")
    parser.add_argument("--playbooks", action="store_true",
                        help="also run audit.yml, remediate.yml and remediate.yml again (round trips per Mac)")
    args = parser.parse_args()
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    import ansible_runner
    from macsim import fleet
    from macsim.store import HostStore

    base = Path(tempfile.mkdtemp(prefix="macops-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    collections = base / "collections" / "ansible_collections" / "macops"
    collections.mkdir(parents=True)
    (collections / "tokens").symlink_to(ROOT)
    started = time.monotonic()
    manifest = fleet.up(f"generated:{args.macs}:{args.seed}", str(base / "fleet"), inventory=str(base / "inv.yml"))
    up_seconds = time.monotonic() - started
    try:
        with_python = [h["name"] for h in manifest["hosts"] if h["python"] not in ("none", "stub")]
        envvars = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": str(args.forks),
                   "ANSIBLE_COLLECTIONS_PATH": str(base / "collections"), "ANSIBLE_BECOME": "True"}
        (base / "runner").mkdir()
        started = time.monotonic()
        runner = ansible_runner.run(private_data_dir=str(base / "runner"), inventory=str(base / "inv.yml"),
                                    host_pattern=":".join(with_python), module="macops.tokens.chain_of_trust_info",
                                    module_args=("" if args.parallel_reads is None
                                                 else "parallel_reads=%d" % args.parallel_reads),
                                    envvars=envvars, quiet=True)
        audit_seconds = time.monotonic() - started
        ok = sum(1 for e in runner.events if e.get("event") == "runner_on_ok")
        calls = [len([r for r in HostStore(h["dir"]).invocations() if r["tool"] != "python3"])
                 for h in manifest["hosts"] if h["name"] in with_python]
        tool_seconds = [sum(r["duration"] for r in HostStore(h["dir"]).invocations())
                        for h in manifest["hosts"] if h["name"] in with_python]
        spans = [_read_span(HostStore(h["dir"]).invocations()) for h in manifest["hosts"] if h["name"] in with_python]
        playbooks = run_playbooks(base, manifest, with_python, args.forks) if args.playbooks else None
    finally:
        fleet.down(str(base / "fleet"))
        shutil.rmtree(base, ignore_errors=True)
    report = {
        "macs": args.macs, "audited": len(with_python), "succeeded": ok, "forks": args.forks,
        "parallel_reads": args.parallel_reads,
        "fleet_up_seconds": round(up_seconds, 1), "audit_seconds": round(audit_seconds, 1),
        "seconds_per_mac": round(audit_seconds / max(len(with_python), 1), 2),
        "tool_calls_per_mac": sorted(set(calls)),
        "median_tool_seconds_per_mac": round(statistics.median(tool_seconds), 3),
        "median_read_span_seconds_per_mac": round(statistics.median(spans), 3),
    }
    if playbooks is not None:
        report["playbooks"] = playbooks
    print(json.dumps(report, indent=2))
    return 0 if ok == len(with_python) else 1


def _read_span(invocations: list) -> float:
    """Seconds from the first of the audit's tool calls starting on a Mac to the last one ending, as the simulator
    logged them: the sum of the calls when they run one by one, about the slowest chain when they overlap."""
    import datetime

    calls = [(datetime.datetime.fromisoformat(r["time"]).timestamp(), r["duration"]) for r in invocations
             if r["tool"] != "python3"]
    return max(start + duration for start, duration in calls) - min(start for start, dummy in calls) if calls else 0.0


def _credentials(state: dict) -> dict:
    """What an admin would give the playbooks for one Mac: its first token-holding administrator (else its first
    administrator) and every password its state knows."""
    users = [u for u in state.get("users", []) if u.get("password")]
    admins = [u for u in users if u.get("admin")]
    admin = next((u for u in admins if u.get("secure_token")), admins[0] if admins else None)
    out = {"macops_user_passwords": {u["name"]: u["password"] for u in users}}
    if admin:
        out.update(macops_admin_user=admin["name"], macops_admin_password=admin["password"])
    return out


def run_playbooks(base: Path, manifest: dict, with_python: list, forks: int) -> dict:
    """audit.yml, remediate.yml, remediate.yml again: wall time, SSH round trips and tool calls per Mac of each."""
    import subprocess

    import yaml
    from macsim.store import HostStore

    log = base / "ssh-commands.log"
    wrapper = base / "ssh"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n'
                       f'exec {shutil.which("ssh")} "$@"\n')
    wrapper.chmod(0o755)
    inventory = base / "inv.yml"
    for host in manifest["hosts"]:
        host_vars = base / "host_vars" / host["name"]
        host_vars.mkdir(parents=True)
        (host_vars / "main.yml").write_text(yaml.safe_dump(_credentials(HostStore(host["dir"]).load())))
    (base / "inv-dir").mkdir()
    shutil.copy(inventory, base / "inv-dir" / "hosts.yml")
    shutil.move(str(base / "host_vars"), str(base / "inv-dir" / "host_vars"))
    secret = base / "vault-password"
    secret.write_text("bench-only-vault-password\n")
    secret.chmod(0o600)
    addresses = {h["address"]: h["name"] for h in manifest["hosts"]}
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True", ANSIBLE_FORKS=str(forks),
               ANSIBLE_COLLECTIONS_PATH=str(base / "collections"), ANSIBLE_SSH_EXECUTABLE=str(wrapper),
               ANSIBLE_VAULT_PASSWORD_FILE=str(secret),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False")
    extra = {"macops_escrow_dir": str(base / "escrow"), "macops_hosts": ":".join(with_python),
             "macops_transient_wait": 0}
    out = {}
    for label, name in (("audit", "audit.yml"), ("remediate", "remediate.yml"), ("rerun", "remediate.yml")):
        log.write_text("")
        calls_before = {h["name"]: len(HostStore(h["dir"]).invocations()) for h in manifest["hosts"]}
        started = time.monotonic()
        command = [shutil.which("ansible-playbook"), "-i", str(base / "inv-dir"), str(ROOT / "playbooks" / name),
                   "-e", json.dumps(extra)]
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        trips = {name: 0 for name in with_python}
        for line in log.read_text().splitlines():
            for address, host in addresses.items():
                if f" {address} " in f" {line} " and host in trips:
                    trips[host] += 1
                    break
        calls = [len([r for r in HostStore(h["dir"]).invocations()[calls_before[h["name"]]:]
                      if r["tool"] != "python3"]) for h in manifest["hosts"] if h["name"] in with_python]
        out[label] = {"exit": proc.returncode, "seconds": round(seconds, 1),
                      "round_trips_per_mac": round(statistics.mean(trips.values()), 2),
                      "max_round_trips": max(trips.values()),
                      "tool_calls_per_mac": round(statistics.mean(calls), 1)}
        if proc.returncode not in (0, 2):
            out[label]["tail"] = proc.stdout[-2000:]
    return out


if __name__ == "__main__":
    sys.exit(main())
