"""Benchmark: audit a generated fleet of simulated Macs with chain_of_trust_info over SSH.

Usage: python tools/bench.py [--macs N] [--forks F] [--seed S]
Prints wall time, time per Mac, and tool invocations per Mac (from the simulator's logs).
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
                                    envvars=envvars, quiet=True)
        audit_seconds = time.monotonic() - started
        ok = sum(1 for e in runner.events if e.get("event") == "runner_on_ok")
        calls = [len([r for r in HostStore(h["dir"]).invocations() if r["tool"] != "python3"])
                 for h in manifest["hosts"] if h["name"] in with_python]
        tool_seconds = [sum(r["duration"] for r in HostStore(h["dir"]).invocations())
                        for h in manifest["hosts"] if h["name"] in with_python]
    finally:
        fleet.down(str(base / "fleet"))
        shutil.rmtree(base, ignore_errors=True)
    report = {
        "macs": args.macs, "audited": len(with_python), "succeeded": ok, "forks": args.forks,
        "fleet_up_seconds": round(up_seconds, 1), "audit_seconds": round(audit_seconds, 1),
        "seconds_per_mac": round(audit_seconds / max(len(with_python), 1), 2),
        "tool_calls_per_mac": sorted(set(calls)),
        "median_tool_seconds_per_mac": round(statistics.median(tool_seconds), 3),
    }
    print(json.dumps(report, indent=2))
    return 0 if ok == len(with_python) else 1


if __name__ == "__main__":
    sys.exit(main())
