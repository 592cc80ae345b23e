"""Helpers and the host fixture for the simulator's own tests: a host directory made from a scenario host or a state
document."""

from __future__ import annotations

import os
import re
import sys

import pytest

from macsim import fleet, store
from macsim.tools import call

# The venv's tools (ansible, macsim) are found on PATH, as ansible-runner expects.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

NSLOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\w+)\[\d+:\d+\] ", re.M)


def strip_nslog(text: str) -> str:
    """Drop the timestamp and pid:tid of NSLog lines (the samples were taken at other times)."""
    return NSLOG.sub(r"\1: ", text)


class Host:
    def __init__(self, directory):
        self.dir = str(directory)
        self.store = store.HostStore(directory)

    def run(self, tool, *argv, stdin="", tty=None, euid=0):
        return call(tool, self.dir, list(argv), stdin=stdin, tty=tty, euid=euid)

    @property
    def state(self):
        return self.store.load()

    def user(self, name):
        return next(u for u in self.state["users"] if u["name"] == name)

    def edit(self, **changes):
        with self.store.transaction() as state:
            for path, value in changes.items():
                target = state
                parts = path.split("__")
                for part in parts[:-1]:
                    target = target[part]
                target[parts[-1]] = value


@pytest.fixture
def make_host(tmp_path):
    counter = iter(range(10_000))

    def factory(scenario: str | None = None, name: str | None = None, doc: dict | None = None, alt=False):
        if doc is None:
            state = fleet.load_scenario(scenario)["hosts"][name]["state"]
        else:
            doc = dict(doc)
            doc.setdefault("hostname", "testmac")
            state = doc
        state = dict(state)
        state.setdefault("sim", {})
        state["sim"] = dict(state["sim"], alt_wording=alt)
        directory = tmp_path / f"host{next(counter)}"
        store.create_host(directory, state)
        return Host(directory)

    return factory


def mac(version="14.4", arch="apple_silicon", users=(), **extra):
    """A minimal state document. On Apple silicon a token holder is a volume owner unless the user says otherwise
    (the first token holder of a Mac owns its volume, R46)."""
    users = [dict(u) for u in users]
    if arch == "apple_silicon":
        for u in users:
            if u.get("secure_token") and "volume_owner" not in u:
                u["volume_owner"] = True
    doc = {"os": {"version": version}, "hardware": {"arch": arch}, "users": users,
           "remote_login_full_disk_access": True}
    doc.update(extra)
    return doc


def user(name, uid, **fields):
    out = {"name": name, "uid": uid, "password": f"{name}-pw"}
    out.update(fields)
    return out
