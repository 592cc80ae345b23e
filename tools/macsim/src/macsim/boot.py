"""A simulated Mac restarting, live: the supervisor of a fleet's Mac, restart requests and the pre-boot sshd.

Each Mac of a fleet runs :func:`supervise` as the first process of its namespaces (``macsim.hostinit``). It
starts the Mac's tool server and its sshd as children and watches the host directory for ``restart.request``
(written by :func:`request`: ``shutdown -r now``, ``fdesetup authrestart``, ``macsim reboot``, ``macsim unlock``
and the pre-boot unlock helper). A restart: wait a moment (the tool that asked prints and exits), end every process
of the Mac's mount namespace except the supervisor and the tool server (every SSH session drops), phase ``down``,
wait ``boot.seconds``, :meth:`Mac.reboot`, then start what the boot reaches:

* ``up``: the Mac's sshd (same configuration and host key as before);
* ``locked``: nothing on port 22 until ``macsim unlock``;
* ``preboot_ssh`` (macOS 26, Apple silicon): a pre-boot sshd with the same host key, the locked banner, public keys
  refused, and PAM (``/etc/pam.d/sshd`` of the Mac, only while at pre-boot) running :func:`pam_main` through
  ``pam_exec``: the password typed at the single keyboard-interactive ``Password:`` prompt unlocks the Mac, the
  success text reaches the client as a keyboard-interactive round without prompts, then authentication fails and
  the connection closes, as on a Mac (``evidence/notes/issue13-research.md`` section 2).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import store as store_mod
from . import texts
from .mac import Mac

REQUEST = "restart.request"
SUPERVISOR_PID = "supervisor.pid"
PREBOOT_CONFIG = "sshd_config.preboot"
PREBOOT_BANNER = "preboot-banner"
PAM_HELPER = "preboot-unlock"
PAM_SSHD = "/etc/pam.d/sshd"
PASSWD = "/etc/passwd"
GRACE = 0.5  # seconds between a restart request and the end of the Mac's processes (the tool prints, exits)
UNLOCK_GRACE = 0.4  # seconds between a pre-boot unlock and the end of the pre-boot sshd (the text reaches the client)


# ---- requests ---------------------------------------------------------------------------------------------------
def _supervisor(host_dir: str | os.PathLike) -> int | None:
    """The pid of the live supervisor of this host directory (a recorded pid whose command line still names the
    host's init plan: pids are reused), or None."""
    try:
        pid = int((Path(host_dir) / SUPERVISOR_PID).read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(Path(host_dir) / "init.json").encode() in cmdline else None


def supervised(host_dir: str | os.PathLike) -> bool:
    """Whether a live supervisor (a fleet's Mac) watches this host directory."""
    return _supervisor(host_dir) is not None


def request(host_dir: str | os.PathLike, kind: str, note: str = "") -> None:
    """Ask the Mac's supervisor for ``kind``: restart (now), schedule (a restart at boot.restart_at) or unlock."""
    path = Path(host_dir) / REQUEST
    tmp = path.with_name(f".{REQUEST}.{os.getpid()}")
    tmp.write_text(json.dumps({"kind": kind, "note": note, "time": time.time()}))
    os.replace(tmp, path)
    pid = _supervisor(host_dir)
    if pid is not None:  # wake it (it also looks every second)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGUSR1)


def _take(host_dir: Path) -> dict | None:
    path = host_dir / REQUEST
    try:
        text = path.read_text()
        path.unlink()
    except OSError:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ---- truth for tests ----------------------------------------------------------------------------------------------
def phase(host_dir: str | os.PathLike) -> str:
    return store_mod.HostStore(host_dir).load()["boot"]["phase"]


def wait_phase(workdir: str | os.PathLike | None, host: str, want: str, timeout: float = 60.0) -> dict:
    """Wait until the Mac (a host name of the fleet in ``workdir``, or a host directory) is in phase ``want``
    (up, down, locked, preboot_ssh); return its ``boot`` state. With ``up`` or ``preboot_ssh`` it also waits until
    its port 22 answers with an SSH banner. Raises TimeoutError with the last phase seen."""
    from . import fleet

    directory = fleet.host_dir(str(workdir) if workdir else None, host)
    address = None
    if want in ("up", "preboot_ssh") and workdir:
        try:
            entry = next(h for h in fleet.load_manifest(str(workdir))["hosts"] if h["name"] == host)
            address = (entry["address"], entry["port"])
        except (fleet.FleetError, StopIteration):
            address = None
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        boot = store_mod.HostStore(directory).load()["boot"]
        seen = boot["phase"]
        if seen == want and (address is None or fleet._wait_listening(address[0], address[1], 0.5)):
            return boot
        if time.monotonic() > deadline:
            raise TimeoutError(f"{host}: boot phase {seen!r}, not {want!r}, after {timeout} s")
        time.sleep(0.1)


# ---- the supervisor ------------------------------------------------------------------------------------------------
def _ns_pids(keep: set) -> list[int]:
    own = os.readlink("/proc/self/ns/mnt")
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in keep:
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/ns/mnt") == own:
                pids.append(int(entry))
    return pids


class Supervisor:  # pragma: no cover - runs inside a simulated Mac's namespaces (tests/test_restart.py drives it)
    def __init__(self, plan: dict, host_dir: Path, toolserver: int) -> None:
        self.plan, self.dir, self.toolserver = plan, host_dir, toolserver
        self.store = store_mod.HostStore(host_dir)
        self.sshd: subprocess.Popen | None = None
        self.pam_original: str | None = None
        self.passwd_original: str | None = None
        self.scheduled = False

    # -- processes
    def _reap(self) -> None:
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def _start_sshd(self, config: str) -> None:
        os.makedirs("/run/sshd", exist_ok=True)
        self.sshd = subprocess.Popen([self.plan["sshd"], "-D", "-e", "-f", config], stdin=subprocess.DEVNULL)

    def _end_everything(self) -> None:
        """End every process of the Mac's mount namespace but the supervisor and the tool server."""
        keep = {os.getpid(), self.toolserver}
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in _ns_pids(keep):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + (1.0 if sig == signal.SIGTERM else 3.0)
            while time.monotonic() < deadline:
                self._reap()
                if not [p for p in _ns_pids(keep) if not _zombie(p)]:
                    break
                time.sleep(0.02)
        self._reap()
        self.sshd = None

    # -- state
    def _set_phase(self, phase: str) -> None:
        with self.store.transaction() as state:
            state["boot"]["phase"] = phase

    def _log(self, argv: list, notes: list) -> None:
        with contextlib.suppress(OSError):
            self.store.append_log({"tool": "macsim", "argv": ["macsim"] + argv, "rules": notes, "exit_code": 0})

    # -- pre-boot
    def _enter_preboot(self, state: dict) -> None:
        banner = self.dir / PREBOOT_BANNER
        banner.write_text(texts.render("preboot.banner") + "\n")
        lines = [line for line in Path(self.plan["config"]).read_text().splitlines()
                 if line.split(" ", 1)[0] in ("ListenAddress", "Port", "HostKey", "MaxStartups", "LogLevel")]
        lines += [f"PidFile {self.dir / 'preboot-sshd.pid'}", "AuthorizedKeysFile none", "PubkeyAuthentication yes",
                  "StrictModes no", "UsePAM yes", "PasswordAuthentication yes", "KbdInteractiveAuthentication yes",
                  "PermitRootLogin no", "MaxAuthTries 30"]
        if state["boot"]["preboot_banner"]:
            lines.append(f"Banner {banner}")
        config = self.dir / PREBOOT_CONFIG
        config.write_text("\n".join(lines) + "\n")
        if self.pam_original is None:
            try:
                self.pam_original = Path(PAM_SSHD).read_text()
            except OSError:
                self.pam_original = ""
        # sshd hands PAM a fake password for a name it cannot find (auth-pam.c fake_password), so the Mac's local
        # accounts are in the namespace's /etc/passwd while at pre-boot (Apple's sshd fakes an entry instead).
        if self.passwd_original is None:
            self.passwd_original = Path(PASSWD).read_text()
        known = {line.split(":", 1)[0] for line in self.passwd_original.splitlines()}
        extra = "".join(f"{u['name']}:*:{u['uid']}:20:{u['full_name']}:/var/empty:/usr/bin/false\n"
                        for u in Mac(state).local_users() if u["name"] not in known and u["uid"] != 0)
        Path(PASSWD).write_text(self.passwd_original + extra)
        helper = self.dir / PAM_HELPER
        Path(PAM_SSHD).write_text(
            "# macsim: the pre-boot sshd of a locked Mac (macsim.boot); the booted sshd has UsePAM no\n"
            f"auth requisite pam_exec.so quiet {helper} gate\n"
            f"auth [success=1 default=ignore] pam_exec.so quiet expose_authtok stdout {helper} unlock\n"
            "auth requisite pam_deny.so\n"
            "auth required pam_permit.so\n"
            "account required pam_permit.so\n"
            "session required pam_permit.so\n"
            "password required pam_deny.so\n")
        self._start_sshd(str(config))

    def _leave_preboot(self) -> None:
        if self.pam_original is not None:
            Path(PAM_SSHD).write_text(self.pam_original)
        if self.passwd_original is not None:
            Path(PASSWD).write_text(self.passwd_original)

    # -- the transitions
    def restart(self, why: str) -> None:
        time.sleep(GRACE)
        self._end_everything()
        self._leave_preboot()
        self._set_phase("down")
        time.sleep(self._seconds())
        with self.store.transaction() as state:
            mac = Mac(state)
            notes = mac.settle() + mac.reboot()
            outcome = state["boot"]["phase"]
            state["boot"]["phase"] = "down"  # until what the boot reaches answers
        self._log(["restart", why], notes + [f"boot {state['boot']['count']}: {outcome}"])
        self._boot(outcome, state)

    def _boot(self, outcome: str, state: dict) -> None:
        if outcome == "up":
            self._start_sshd(self.plan["config"])
        elif outcome == "preboot_ssh":
            self._enter_preboot(state)
        # locked: nothing listens until an unlock at the console (macsim unlock)
        if outcome in ("up", "preboot_ssh"):
            self._wait_listening()
        self._set_phase(outcome)

    def _wait_listening(self) -> None:
        from .fleet import _wait_listening

        words = dict(line.split(" ", 1) for line in Path(self.plan["config"]).read_text().splitlines() if " " in line)
        _wait_listening(words.get("ListenAddress", "127.0.0.1"), int(words.get("Port", "22")), 10.0)

    def unlock(self) -> None:
        """An unlock at the FileVault login window (the pre-boot helper or macsim unlock): macOS boots."""
        state = self.store.load()
        if state["boot"]["phase"] not in ("locked", "preboot_ssh"):
            return
        if state["boot"]["phase"] == "preboot_ssh":
            time.sleep(UNLOCK_GRACE)
        self._end_everything()
        self._leave_preboot()
        self._set_phase("down")
        time.sleep(self._seconds())
        self._log(["unlocked", state["boot"]["unlocked_by"]], [])
        self._boot("up", state)

    def _seconds(self) -> float:
        try:
            return max(0.0, float(self.store.load()["boot"]["seconds"]))
        except Exception:  # a broken state must not stop the Mac from coming back
            return 2.0

    def _due(self) -> bool:
        try:
            state = self.store.load()
        except Exception:
            return False
        at = state["boot"]["restart_at"]
        if at is None:
            self.scheduled = False
            return False
        return Mac(state).now() >= at

    def run(self) -> None:
        (self.dir / SUPERVISOR_PID).write_text(f"{os.getpid()}\n")
        with self.store.transaction() as state:
            state["boot"]["phase"] = "up"  # fleet up boots every Mac into macOS
            self.scheduled = state["boot"]["restart_at"] is not None
        self._start_sshd(self.plan["config"])
        # Sleep until a request (SIGUSR1 from request()), a child's exit (SIGCHLD) or a second has passed: no polling
        # loop per Mac. The handlers do nothing; the wake-up pipe does the waking (handlers reset at exec).
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGUSR1, signal.SIGCHLD):
            signal.signal(sig, lambda *_: None)
        while True:
            with contextlib.suppress(InterruptedError):
                ready, _, _ = select.select([wake_r], [], [], 1.0)
                if ready:
                    os.read(wake_r, 4096)
            self._reap()
            req = _take(self.dir)
            if req:
                kind = req.get("kind")
                if kind == "restart":
                    self.restart(str(req.get("note") or "requested"))
                elif kind == "unlock":
                    self.unlock()
                elif kind == "schedule":
                    self.scheduled = True
            if self.scheduled and self._due():
                self.restart("scheduled")
            if self.sshd is not None and self.sshd.poll() is not None and self.sshd.returncode not in (
                    -signal.SIGTERM, -signal.SIGKILL):  # launchd starts a crashed sshd again; a stopped one stays
                self._log(["sshd-exited", str(self.sshd.returncode)], [])
                self._start_sshd(self.sshd.args[-1])


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def supervise(plan: dict, host_dir: str, toolserver: int) -> None:  # pragma: no cover - inside the namespaces
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # fleet down ends every process of the namespace
    Supervisor(plan, Path(host_dir), toolserver).run()


# ---- the pre-boot unlock helper (pam_exec) --------------------------------------------------------------------------
def helper_source(python: str, host_dir: str) -> str:
    package = str(Path(__file__).resolve().parent.parent)
    return (f"#!{python} -I\n# generated by macsim fleet up: the pre-boot sshd's unlock (macsim.boot.pam_main)\n"
            f"import sys\nsys.path.insert(0, {package!r})\nfrom macsim.boot import pam_main\n"
            f"sys.exit(pam_main({host_dir!r}, sys.argv[1:]))\n")


def _read_authtok() -> str | None:
    data = sys.stdin.buffer.read(4096)
    if not data:
        return None
    return data.split(b"\0", 1)[0].rstrip(b"\r\n").decode("utf-8", "surrogateescape")


def pam_main(host_dir: str, argv: list) -> int:
    """pam_exec's command at pre-boot. ``gate``: hold a connection whose Mac was just unlocked (so the client sees
    the success text, a failure and the close, never a second prompt). ``unlock``: check PAM_USER's password (on
    stdin) with :meth:`Mac.unlock`; always exits non-zero, since Apple's server answers authentication failure."""
    store = store_mod.HostStore(host_dir)
    if argv[:1] == ["gate"]:
        try:
            boot = store.load()["boot"]
        except Exception:
            return 0
        if boot["phase"] == "preboot_ssh" and boot["unlocked_by"] == "preboot_ssh":
            time.sleep(30)  # the supervisor ends this connection
            return 1
        return 0
    name = os.environ.get("PAM_USER")
    password = _read_authtok()
    with store.transaction() as state:
        result = Mac(state).unlock(name, password, "preboot_ssh")
    with contextlib.suppress(OSError):
        store.append_log({"tool": "preboot-sshd", "argv": ["preboot-sshd", name or ""], "result": result,
                          "exit_code": 1, "stdin_bytes": len((password or "").encode()),
                          "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    if result == "unlocked":
        sys.stdout.write(texts.render("preboot.unlocked") + "\n")
        sys.stdout.flush()
        request(host_dir, "unlock", "preboot_ssh")
    elif result == "locked_out":
        sys.stdout.write(texts.render("preboot.locked_out") + "\n")
        sys.stdout.flush()
    return 1
