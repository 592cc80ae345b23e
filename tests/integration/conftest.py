"""pytest fixtures for the integration suites (the helpers live in fleetlib.py)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from fleetlib import mac_fleet  # noqa: F401  (a fixture)


@pytest.fixture(scope="session", autouse=True)
def kept_artifacts():
    """Every ansible-runner run of this session keeps its artifacts here; test_zz_no_secrets scans them."""
    from macsim.testing import KEEP_ARTIFACTS

    path = tempfile.mkdtemp(prefix="macops-artifacts-", dir="/tmp")
    os.environ[KEEP_ARTIFACTS] = path
    yield path
    shutil.rmtree(path, ignore_errors=True)
