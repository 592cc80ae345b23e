"""pytest fixtures for the integration suites (the helpers live in fleetlib.py)."""

from fleetlib import mac_fleet  # noqa: F401  (a fixture)
