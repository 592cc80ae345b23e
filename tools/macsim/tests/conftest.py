"""pytest fixtures for macsim's own tests (the helpers live in simlib.py)."""

from simlib import make_host  # noqa: F401  (a fixture)
