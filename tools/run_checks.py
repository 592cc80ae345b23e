"""Run the project's checks in order and end with one ``N passed, N failed`` line.

Every check runs even when an earlier one failed, so one run shows everything that
is wrong. pytest suites count each test; every other check (lint, each sanity run,
units, molecule) counts as one. The exit code is non-zero when anything failed.
Usage: python tools/run_checks.py [CHECK ...]   (default: all)
"""

from __future__ import annotations

import glob
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
    return run(["ansible-test", "sanity", "--python", version, "--requirements", "--color", "no"], cwd=TREE)


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


def check_lint() -> int:
    return run(["ansible-lint", "--profile", "production"])


def check_molecule() -> int | None:
    scenarios = glob.glob(str(ROOT / "extensions" / "molecule" / "*" / "molecule.yml"))
    if not scenarios:
        print("no molecule scenarios yet")
        return None
    # The scenario links its inventory from the fleet's work directory, which must exist before create.
    prep = run([sys.executable, str(ROOT / "tools" / "demo" / "demo.py"), "prepare", "--workdir", "/tmp/macops-molecule"])
    if prep:
        return prep
    return run(["molecule", "test", "--all"])


PYTEST_SUITES = {"pytest": ["tools/macsim/tests", "tests/integration"]}


def check_pytest(report: Path) -> int:
    paths = [p for p in PYTEST_SUITES["pytest"] if (ROOT / p).exists()]
    return run(["python", "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "-q"] + paths)


def main(argv: list) -> int:
    wanted = argv or ["lint", "build", "sanity", "units", "pytest", "molecule"]
    results: list[tuple[str, int, int, float]] = []  # name, passed, failed, seconds

    skipped: list[str] = []

    def record(name: str, code: int | None, started: float) -> None:
        """A check counts once, passed or failed; None means it had nothing to run yet."""
        if code is None:
            skipped.append(name)
            return
        results.append((name, 0 if code else 1, 1 if code else 0, time.monotonic() - started))

    built = False
    for check in wanted:
        started = time.monotonic()
        if check == "lint":
            record("ansible-lint (production)", check_lint(), started)
        elif check == "build":
            code = build_tree()
            built = code == 0
            record("collection build", code, started)
        elif check == "sanity":
            if not built:
                code = build_tree()
                built = code == 0
            for version in ("3.11",) + MAC_PYTHONS:
                started = time.monotonic()
                record(f"ansible-test sanity --python {version}", check_sanity(version) if built else 1, started)
        elif check == "units":
            if not built:
                built = build_tree() == 0
            junit = TREE / "tests" / "output" / "junit"
            shutil.rmtree(junit, ignore_errors=True)
            code = check_units() if built else 1
            reports = sorted(junit.glob("*.xml")) if junit.exists() else []
            if code is None or not reports:
                record("ansible-test units", code, started)
            else:
                counts = [junit_counts(r) for r in reports]
                passed, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
                results.append(("ansible-test units", passed, failed or (1 if code else 0),
                                time.monotonic() - started))
        elif check == "pytest":
            report = ROOT / "build" / "pytest-junit.xml"
            report.parent.mkdir(exist_ok=True)
            code = check_pytest(report)
            if report.exists():
                passed, failed = junit_counts(report)
                if code and not failed:
                    failed = 1
                results.append(("pytest suites", passed, failed, time.monotonic() - started))
            else:
                record("pytest suites", code or 1, started)
        elif check == "molecule":
            record("molecule test --all", check_molecule(), started)
        else:
            print(f"unknown check {check!r}")
            return 2
    print("\nsummary:")
    for name, passed, failed, seconds in results:
        print(f"  {'FAIL' if failed else 'ok  '} {name}: {passed} passed, {failed} failed ({seconds:.0f}s)")
    for name in skipped:
        print(f"  skip {name}: nothing to run yet")
    total_passed = sum(r[1] for r in results)
    total_failed = sum(r[2] for r in results)
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
