"""pytest fixtures for the integration suites (the helpers live in fleetlib.py)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from fleetlib import mac_fleet  # noqa: F401  (a fixture)

# The order of the suites that share the fleet, declared here rather than by file names: everything else first (in
# file order), then the write suites again with macsim's alternative wordings (they change the fleet's texts), then
# the scan of every run's output for secrets, which needs all the others to have run.
PHASES = {"alt_wording": 1, "secrets_scan": 2}


def pytest_configure(config):
    config.addinivalue_line("markers", "alt_wording: runs after the other suites on the shared fleet")
    config.addinivalue_line("markers", "secrets_scan: runs last, after every other suite")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: max([PHASES[m.name] for m in item.iter_markers() if m.name in PHASES] or [0]))


@pytest.fixture(scope="session", autouse=True)
def kept_artifacts():
    """Every ansible-runner run of this session keeps its artifacts here; test_no_secrets scans them."""
    from macsim.testing import KEEP_ARTIFACTS

    path = tempfile.mkdtemp(prefix="macops-artifacts-", dir="/tmp")
    os.environ[KEEP_ARTIFACTS] = path
    yield path
    shutil.rmtree(path, ignore_errors=True)
