"""Run the project's checks in order and end with one ``N passed, N failed`` line.

Every check runs even when an earlier one failed, so one run shows everything that
is wrong. pytest suites count each test; every other check (lint, each sanity run,
units, molecule) counts as one. The exit code is non-zero when anything failed.

The whole run has six lanes: the integration suites, in five parts (they spend much of
their time waiting on SSH round trips, simulated Macs and the faults' deliberate waits), run in
child processes alongside the other checks; their output is kept in .checks/<part>.log and
printed when they end.
--jobs 1 runs everything one after the other.
Usage: python tools/run_checks.py [--jobs N] [CHECK ...]   (default: all; "pytest" is
macsim-tests and integration together)
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
TREE = ROOT / "build" / "ansible_collections" / "macops" / "tokens"
CHECKS_DIR = ROOT / ".checks"  # the lanes' logs and results; not under build/, which the build recreates
ALL_CHECKS = ["lint", "build", "ee", "sanity", "units", "evidence", "macsim-tests", "integration", "molecule"]
LANES = ("integration-a", "integration-b", "integration-c", "integration-d", "integration-e")  # child processes
# next to the other checks when --jobs > 1
PYTEST_CHECKS = ("pytest", "macsim-tests", "integration") + LANES
MAC_PYTHONS = ("3.8", "3.9")


def env() -> dict:
    e = dict(os.environ)
    pythons = ROOT / ".venv" / "pythons"
    e["PATH"] = f"{VENV_BIN}:{pythons}:{e.get('PATH', '')}"
    e.setdefault("ANSIBLE_NOCOLOR", "1")
    e["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / "build")
    return e


def run(cmd: list, cwd: Path = ROOT) -> int:
    print(f"\n$ {' '.join(cmd)}   (in {cwd.relative_to(ROOT) if cwd != ROOT else '.'})", flush=True)
    return subprocess.call(cmd, cwd=cwd, env=env())


def junit_counts(path: Path) -> tuple[int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed


def build_tree() -> int:
    """Build the collection artifact and install it where ansible-test expects it."""
    out = ROOT / "build"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    code = run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out)])
    if code:
        return code
    artifact = sorted(out.glob("macops-tokens-*.tar.gz"))[-1]
    code = run(["ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", str(out), str(artifact)])
    if code:
        return code
    # The artifact carries tests/ (unit tests, config); the pytest integration suites, which need
    # macsim, are build_ignore'd and run from the repository instead.
    for name in ("MANIFEST.json", "FILES.json"):  # build metadata, not source
        (TREE / name).unlink(missing_ok=True)
    shutil.copy2(ROOT / "galaxy.yml", TREE / "galaxy.yml")  # lets validate-modules check version_added
    # ansible-test lists files with git when it finds a repository above the tree, and this
    # repository ignores build/: give the tree an index of its own so every file is seen.
    code = subprocess.call(["git", "init", "-q", str(TREE)])
    return code or subprocess.call(["git", "-C", str(TREE), "add", "-A"])


def mac_python(version: str) -> str | None:
    link = ROOT / ".venv" / "pythons" / f"python{version}"
    return str(link) if link.exists() else shutil.which(f"python{version}")


def check_sanity(version: str) -> int:
    if version in MAC_PYTHONS and not mac_python(version):
        print(f"Python {version} is not installed: falling back to a static syntax check for {version}")
        return static_syntax(version)
    # Only compile and import depend on the Python that runs the code; the other sanity tests run on the
    # controller's Python whatever --python says, so the 3.11 run already covers them.
    only = ["--test", "compile", "--test", "import"] if version in MAC_PYTHONS else []
    return run(["ansible-test", "sanity", "--python", version, "--requirements", "--color", "no"] + only, cwd=TREE)


def static_syntax(version: str) -> int:
    import ast

    major, minor = (int(p) for p in version.split("."))
    bad = 0
    for path in glob.glob(str(ROOT / "plugins" / "**" / "*.py"), recursive=True):
        try:
            ast.parse(Path(path).read_text(), path, feature_version=(major, minor))
        except SyntaxError as exc:
            print(f"{path}: not valid Python {version}: {exc}")
            bad += 1
    return 1 if bad else 0


def check_units() -> int | None:
    tests = glob.glob(str(ROOT / "tests" / "unit" / "**" / "test_*.py"), recursive=True)
    if not tests:
        print("no unit tests under tests/unit yet")
        return None
    # pytest-ansible (in the same venv, for the integration tests) treats a directory holding galaxy.yml as a
    # collection to inject and repoints ANSIBLE_COLLECTIONS_PATH, which breaks ansible-test's controller-side
    # unit tests (plugin_utils). galaxy.yml is only in the test tree for sanity's version checks: hide it here.
    galaxy, hidden = TREE / "galaxy.yml", TREE / ".galaxy.yml.units"
    if galaxy.exists():
        galaxy.rename(hidden)
    shutil.rmtree(TREE / "collections", ignore_errors=True)
    try:
        return run(["ansible-test", "units", "--python", "3.11", "--requirements", "--color", "no"], cwd=TREE)
    finally:
        if hidden.exists():
            hidden.rename(galaxy)


def check_ee() -> int:
    """``ansible-builder create`` on execution-environment.yml (no container engine here, so no image is built): the
    build context must hold the Containerfile, builder's scripts, the bindep file and this build's collection
    artifact, named in the galaxy requirements with galaxy.yml's version."""
    import tarfile
    import tempfile

    import yaml

    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    artifact = f"macops-tokens-{version}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="macops-ee-") as tmp:
        context = Path(tmp) / "context"
        code = run(["ansible-builder", "create", "--file", "execution-environment.yml", "--context", str(context),
                    "--output-filename", "Containerfile"])
        if code:
            return code
        build = context / "_build"
        wanted = [context / "Containerfile", build / "requirements.yml", build / "bindep.txt",
                  build / "scripts" / "assemble", build / "scripts" / "introspect.py", build / "collections" / artifact]
        problems = [f"missing from the build context: {p.relative_to(context)}" for p in wanted if not p.is_file()]
        if not problems:
            containerfile = (context / "Containerfile").read_text()
            galaxy = yaml.safe_load((build / "requirements.yml").read_text())
            names = [c.get("name") for c in galaxy.get("collections", [])]
            if f"collections/{artifact}" not in names:
                problems.append(f"the galaxy requirements name {names}, not collections/{artifact} (galaxy.yml's "
                                "version): update execution-environment.yml")
            pins = [line.strip() for line in (ROOT / "requirements" / "dev.txt").read_text().splitlines()
                    if line.startswith(("ansible-core==", "ansible-runner=="))]
            for pin in pins:  # the versions the tests run with (requirements/dev.txt)
                if pin not in containerfile:
                    problems.append(f"the Containerfile does not install {pin} (requirements/dev.txt)")
            with tarfile.open(build / "collections" / artifact) as tar:
                if "bindep.txt" not in tar.getnames():
                    problems.append(f"{artifact} does not carry bindep.txt (builder's introspection reads it)")
        for problem in problems:
            print(f"ee: {problem}")
        if not problems:
            print(f"ee: build context complete ({', '.join(str(p.relative_to(context)) for p in wanted)})")
        return 1 if problems else 0


def check_lint() -> int:
    return run(["ansible-lint", "--profile", "production", "--offline"])  # nothing to fetch: requirements are pinned


def check_ruff() -> int:
    return run(["ruff", "check", "."])


def check_molecule() -> int | None:
    scenarios = glob.glob(str(ROOT / "extensions" / "molecule" / "*" / "molecule.yml"))
    if not scenarios:
        print("no molecule scenarios yet")
        return None
    # The scenario links its inventory from the fleet's work directory, which must exist before create.
    prep = run([sys.executable, str(ROOT / "tools" / "demo" / "demo.py"), "prepare",
                "--workdir", "/tmp/macops-molecule"])
    if prep:
        return prep
    return run(["molecule", "test", "--all"])


def check_evidence() -> tuple[int, str]:
    """Replay the evidence corpus on macsim; returns (exit code, the score line)."""
    print("\n$ macsim evidence -v", flush=True)
    result = subprocess.run([str(VENV_BIN / "macsim"), "evidence", "-v"], cwd=ROOT, env=env(), capture_output=True,
                            text=True)
    print(result.stdout + result.stderr, end="", flush=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("macsim evidence:")]
    return result.returncode, (lines[-1] if lines else "macsim evidence: no score printed")


# The integration suites in five parts, each its own lane when checks run side by side. Most suites are CPU-bound
# (ansible-playbook, and the modules' Python on the simulated Macs): run alone on two cores, one uses about as many
# CPU seconds (everything it starts, the Macs included) as it takes, so the parts are balanced by CPU. Per part, CPU
# seconds of its suites run alone: a 200 (options 175, bench 25), b 190 (the suites that share one session fleet and
# end with the secrets scan of that fleet, and the README's), c 205 (faults 150, interruptions 45, transient 15: these
# also spend time in deliberate waits - hung, lingering and settling tools), d 195 (sliced reports 80, real-Mac
# targets 45, AWX runner 35, preflight 35), e 235 (the demo fleet's playbooks, one module fleet whose tests build on
# each other). A new file joins part b.
INTEGRATION_PARTS = {
    "integration-a": ["test_bench.py", "test_options.py"],
    "integration-c": ["test_faults.py", "test_interruptions.py", "test_transient.py"],
    "integration-d": ["test_awx_runner.py", "test_mac_targets.py", "test_preflight.py", "test_report_runs.py"],
    "integration-e": ["test_playbooks.py"],
}


def pytest_paths(check: str) -> list[str]:
    if check == "macsim-tests":
        return ["tools/macsim/tests"]
    files = sorted(p.name for p in (ROOT / "tests" / "integration").glob("test_*.py"))
    if check in INTEGRATION_PARTS:
        return [f"tests/integration/{f}" for f in files if f in INTEGRATION_PARTS[check]]
    if check == "integration-b":
        named = [f for part in INTEGRATION_PARTS.values() for f in part]
        return [f"tests/integration/{f}" for f in files if f not in named]
    if check == "integration":
        return ["tests/integration"]
    return ["tools/macsim/tests", "tests/integration"]  # pytest: both


def check_pytest(check: str, report: Path) -> int:
    paths = [p for p in pytest_paths(check) if (ROOT / p).exists()]
    return run(["python", "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "-q"] + paths)


def start_lane(check: str) -> tuple[subprocess.Popen, Path, Path]:
    """Run one check in a child process (its own lane); returns the process, its log and its results file."""
    CHECKS_DIR.mkdir(exist_ok=True)
    log, results = CHECKS_DIR / f"{check}.log", CHECKS_DIR / f"{check}.results.json"
    results.unlink(missing_ok=True)
    handle = open(log, "w")
    print(f"\n$ {check} runs alongside the other checks; its output: {log.relative_to(ROOT)}", flush=True)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--jobs", "1", "--results", str(results),
                             check], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return proc, log, results


def finish_lane(check: str, lane: tuple[subprocess.Popen, Path, Path], started: float) -> list:
    proc, log, results = lane
    code = proc.wait()
    print(f"\n===== {check} (ran alongside the checks above) =====", flush=True)
    print(log.read_text(errors="replace"), end="", flush=True)
    try:
        rows = [tuple(row) for row in json.loads(results.read_text())["results"]]
    except (OSError, ValueError, KeyError):
        rows = []
    if not rows:  # the lane died before it could say what ran: that is a failure, never a pass
        rows = [(f"{check} (exit code {code}, no results)", 0, 1, time.monotonic() - started)]
    return rows


def main(argv: list) -> int:
    jobs, results_file = int(os.environ.get("MACOPS_CHECK_JOBS", "2")), None
    while argv and argv[0].startswith("--"):
        flag = argv.pop(0)
        if flag == "--jobs" and argv:
            jobs = int(argv.pop(0))
        elif flag == "--results" and argv:
            results_file = Path(argv.pop(0))
        else:
            print(f"unknown or incomplete option {flag!r}; usage: run_checks.py [--jobs N] [CHECK ...]")
            return 2
    wanted = argv or list(ALL_CHECKS)
    unknown = [c for c in wanted if c not in ALL_CHECKS and c not in PYTEST_CHECKS]
    if unknown:
        print(f"unknown check {unknown[0]!r}; the checks are: {', '.join(ALL_CHECKS + ['pytest'])}")
        return 2
    lanes = []
    lane_started = time.monotonic()
    if jobs > 1 and "integration" in wanted and len(wanted) > 1:
        wanted = [c for c in wanted if c != "integration"]
        lanes = [(name, start_lane(name)) for name in LANES]
    score = None
    results: list[tuple[str, int, int, float]] = []  # name, passed, failed, seconds

    skipped: list[str] = []

    def record(name: str, code: int | None, started: float) -> None:
        """A check counts once, passed or failed; None means it had nothing to run yet."""
        if code is None:
            skipped.append(name)
            return
        results.append((name, 0 if code else 1, 1 if code else 0, time.monotonic() - started))

    build_code: list = []  # the one build of this run, made by the first check that needs the tree

    def built() -> bool:
        if not build_code:
            build_code.append(build_tree())
        return build_code[0] == 0

    for check in wanted:
        started = time.monotonic()
        if check == "lint":
            built()  # ansible-lint resolves this collection's modules and roles from the built tree
            record("ansible-lint (production)", check_lint(), started)
            started = time.monotonic()
            record("ruff check (Python style, ruff.toml)", check_ruff(), started)
        elif check == "build":
            built()
            record("collection build", build_code[0], started)
        elif check == "ee":
            record("ansible-builder create (execution-environment.yml)", check_ee() if built() else 1, started)
        elif check == "sanity":
            for version in ("3.11",) + MAC_PYTHONS:
                started = time.monotonic()
                name = f"ansible-test sanity --python {version}"
                name += " (compile, import)" if version in MAC_PYTHONS else ""
                record(name, check_sanity(version) if built() else 1, started)
        elif check == "units":
            junit = TREE / "tests" / "output" / "junit"
            shutil.rmtree(junit, ignore_errors=True)
            code = check_units() if built() else 1
            reports = sorted(junit.glob("*.xml")) if junit.exists() else []
            if code is None or not reports:
                record("ansible-test units", code, started)
            else:
                counts = [junit_counts(r) for r in reports]
                passed, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
                results.append(("ansible-test units", passed, failed or (1 if code else 0),
                                time.monotonic() - started))
        elif check in PYTEST_CHECKS:
            report = CHECKS_DIR / f"{check}-junit.xml"
            report.parent.mkdir(exist_ok=True)
            report.unlink(missing_ok=True)
            code = check_pytest(check, report)
            label = f"pytest ({check}: {', '.join(Path(p).name for p in pytest_paths(check))})"
            if report.exists():
                passed, failed = junit_counts(report)
                if code and not failed:
                    failed = 1
                if passed + failed == 0:
                    failed = 1  # a suite that ran no test is a defect, never a pass
                results.append((label, passed, failed, time.monotonic() - started))
            else:
                record(label, code or 1, started)
        elif check == "evidence":
            code, score = check_evidence()
            record("macsim evidence (real published output replayed)", code, started)
        elif check == "molecule":
            record("molecule test --all", check_molecule(), started)
    for name, lane in lanes:
        results.extend(finish_lane(name, lane, lane_started))
    if results_file is not None:
        results_file.write_text(json.dumps({"results": results, "score": score}))
    print("\nsummary:")
    for name, passed, failed, seconds in results:
        print(f"  {'FAIL' if failed else 'ok  '} {name}: {passed} passed, {failed} failed ({seconds:.0f}s)")
    for name in skipped:
        print(f"  skip {name}: nothing to run yet")
    if score:
        print(score)
    total_passed = sum(r[1] for r in results)
    total_failed = sum(r[2] for r in results)
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
