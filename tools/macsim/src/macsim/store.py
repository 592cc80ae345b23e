"""One simulated Mac on disk: its state file, its lock and its invocation log.

A host directory holds ``state.json`` (validated on every load), ``lock`` (an
``flock`` taken by every tool run for the whole read-modify-write, so parallel
invocations keep the state consistent) and ``invocations.jsonl`` (one line per
tool run: argv, bytes read on stdin and from the terminal, duration, exit code).
Writes are atomic: a temporary file in the same directory, fsync, rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from . import schema

STATE_FILE = "state.json"
TCC_DB = ("Library", "Application Support", "com.apple.TCC", "TCC.db")
# A root-owned, write-only kernel file: opening it for reading fails with a permission error even for
# root, as opening the TCC database fails on a Mac for a process without Full Disk Access.
NO_ACCESS_TARGET = "/proc/sys/vm/compact_memory"
LOCK_FILE = "lock"
LOG_FILE = "invocations.jsonl"


class HostStore:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.dir / LOG_FILE

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def load(self) -> dict:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise schema.StateError(f"{self.state_path}: no such state file; create the host with 'macsim host create'")
        except json.JSONDecodeError as exc:
            raise schema.StateError(f"{self.state_path}: not valid JSON: {exc}") from exc
        try:
            return schema.validate(raw)
        except schema.StateError as exc:
            raise schema.StateError(f"{self.state_path}: {exc}") from exc

    def save(self, state: dict) -> None:
        valid = schema.validate(json.loads(json.dumps(state)))  # never write a state that would not load
        self._atomic_write(self.state_path, json.dumps(state, indent=2, sort_keys=True) + "\n")
        if os.geteuid() != 0:
            return  # a tool run by another user changes no account or TCC right; root's next change syncs them
        self.sync_tcc(state)
        self.sync_homes(valid)

    def sync_homes(self, state: dict) -> None:
        """Make ``Users/`` (mounted at /Users on the Mac) hold one folder per home the state says exists, so
        that /bin/ls /Users on the simulated Mac shows what a real one would (network accounts' homes included)."""
        from .mac import Mac

        users = self.dir / "Users"
        users.mkdir(exist_ok=True)
        os.chmod(users, 0o755)
        wanted = set(Mac(state).home_folders())
        present = {p.name for p in users.iterdir()}
        for name in wanted - present:
            (users / name).mkdir()
        for name in present - wanted:
            with contextlib.suppress(OSError):
                (users / name).rmdir()

    def sync_tcc(self, state: dict) -> None:
        """Make ``Library/.../TCC.db`` (mounted at /Library on the Mac) readable only with Full Disk Access.

        Processes started through Remote Login inherit sshd's TCC rights, so the probe a tool (or a module)
        can make, reading the system TCC database, succeeds exactly when Remote Login has Full Disk Access.
        """
        path = self.dir.joinpath(*TCC_DB)
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
            for parent in (self.dir / "Library", path.parent.parent, path.parent):
                os.chmod(parent, 0o755)
        want_link = not state.get("remote_login_full_disk_access")
        if path.is_symlink() == want_link and (want_link or path.exists()):
            return
        tmp = path.with_name(".TCC.db.new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if want_link:
            os.symlink(NO_ACCESS_TARGET, tmp)
        else:
            tmp.write_bytes(b"SQLite format 3\x00")
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    def _atomic_write(self, path: Path, text: str) -> None:
        if path.exists() and not os.access(path.parent, os.W_OK):
            # A tool run by a user other than root (sw_vers, dscl reads, an admin's sysadminctl) may move the
            # clock on; it holds the lock, so rewriting the world-writable file in place is safe for other tools.
            with open(path, "r+", encoding="utf-8") as handle:
                handle.truncate(0)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            return
        fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o666)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict]:
        """Lock, load, hand out the state, and save it if it was changed."""
        with self.locked():
            state = self.load()
            before = json.dumps(state, sort_keys=True)
            yield state
            if json.dumps(state, sort_keys=True) != before:
                self.save(state)

    def append_log(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def invocations(self) -> list[dict]:
        try:
            text = self.log_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def clear_log(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()


def create_host(directory: str | os.PathLike, doc: dict) -> HostStore:
    """Validate ``doc`` and write it as a new host directory."""
    state = schema.validate(doc)
    import time

    if state["boot"]["boottime"] is None:  # the Mac booted when its host was made
        state["boot"]["boottime"] = round(time.time() + float(state["clock"]["offset"]), 6)
    for entry in state["schedule"]:  # relative times start now
        if entry["at"] is None:
            entry["at"] = time.time() + float(state["clock"]["offset"]) + entry["after"]
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    store = HostStore(path)
    store.save(state)
    for name in (LOCK_FILE, LOG_FILE):  # tools run by any user on the Mac lock the state and log their call
        target = path / name
        target.touch()
        os.chmod(target, 0o666)
    return store
