"""Bring a fleet of simulated Macs up and down.

Each Mac is an ``sshd`` listening on port 22 of its own loopback address, started
in its own mount and UTS namespaces. Inside them, overlays put the simulated tools
at Apple's paths (``/usr/bin``, ``/usr/sbin``), the Mac's Python at
``/usr/bin/python3`` (or nothing, or the installer stub), an admin login user with
passwordless ``sudo`` in ``/etc``, and make ``/root`` traversable so the Pythons
under pyenv can run. The host's own file system is never written outside the
fleet's work directory; every mount disappears with the namespace's last process.

The first process of each Mac's namespaces stays as its supervisor (``macsim.boot``): sshd is its child, and a
restart request (``shutdown -r now``, ``fdesetup authrestart``, ``macsim reboot``) ends every other process of the
Mac and boots it again as its FileVault state says.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import store as store_mod
from .schema import StateError, Version, validate
from .tools import PATHS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
DEFAULT_SSH_USER = "macadmin"
MANAGED_PYTHON = "/usr/local/bin/managed_python3"


class FleetError(RuntimeError):
    pass


# ---- scenarios ---------------------------------------------------------------------------
def scenario_names() -> list[str]:
    """The shipped scenarios (``all``, which joins them, is not listed)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yml"))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def shipped_hosts() -> dict:
    """Every host of every shipped scenario, by name, with its scenario's defaults applied."""
    hosts = {}
    for path in sorted(SCENARIO_DIR.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, spec in doc["hosts"].items():
            host = _merge(doc.get("defaults") or {}, spec or {})
            if "ssh_user" in doc:
                host.setdefault("ssh_user", doc["ssh_user"])
            host["situation"] = f"{path.stem}: {host.get('situation', name)}"
            hosts[name] = host
    return hosts


def load_scenario(name_or_path: str) -> dict:
    """A scenario by shipped name, ``all`` (every shipped host), a YAML path, or ``generated:N[:SEED[:MIN-MAX]]``
    (MIN-MAX: the number of accounts each Mac has, drawn between the two)."""
    if name_or_path == "all":
        return normalise({"description": "every host of every shipped scenario", "hosts": shipped_hosts()}, "all")
    if name_or_path.startswith("generated:"):
        from .generate import generate

        parts = name_or_path.split(":")
        try:
            count = int(parts[1])
            seed = int(parts[2]) if len(parts) > 2 else 1
            accounts = tuple(int(n) for n in parts[3].split("-", 1)) if len(parts) > 3 else None
            if accounts is not None and (len(accounts) != 2 or len(parts) > 4):
                raise ValueError(parts[3])
        except (IndexError, ValueError):
            raise FleetError("generated scenarios are written generated:COUNT[:SEED[:MIN-MAX]], e.g. generated:50:7 "
                             "or generated:50:7:2-40 (each Mac with 2 to 40 accounts)")
        try:
            return normalise(generate(count, seed, accounts=accounts), "generated")
        except ValueError as exc:
            raise FleetError(f"{name_or_path}: {exc}") from exc
    path = Path(name_or_path)
    if not path.exists():
        path = SCENARIO_DIR / f"{name_or_path}.yml"
    if not path.exists():
        raise FleetError(f"no scenario {name_or_path!r}: not a file, and not one of {', '.join(scenario_names())}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FleetError(f"{path}: not valid YAML: {exc}") from exc
    return normalise(doc, str(path))


def normalise(doc: dict, where: str) -> dict:
    """Validate every host of a scenario; returns {'description', 'ssh_user', 'hosts': {name: state}}."""
    if not isinstance(doc, dict) or not isinstance(doc.get("hosts"), dict) or not doc["hosts"]:
        raise FleetError(f"{where}: a scenario is a mapping with a non-empty 'hosts' mapping")
    defaults = doc.get("defaults") or {}
    hosts = {}
    shipped = None
    for name, spec in doc["hosts"].items():
        spec = dict(spec or {})
        if "from" in spec:  # a shipped host, reused under this name, with overrides
            shipped = shipped if shipped is not None else shipped_hosts()
            source = spec.pop("from")
            if source not in shipped:
                raise FleetError(f"{where}: hosts.{name}.from: no shipped host {source!r} (see 'macsim scenarios')")
            spec = _merge(shipped[source], spec)
        spec = _merge(defaults, spec)
        meta = {k: spec.pop(k) for k in ("ssh_user", "situation") if k in spec}
        spec.setdefault("hostname", name)
        try:
            state = validate(spec)
        except StateError as exc:
            raise FleetError(f"{where}: hosts.{name}.{exc}") from exc
        hosts[name] = {"state": state, "ssh_user": meta.get("ssh_user", doc.get("ssh_user", DEFAULT_SSH_USER)),
                       "situation": meta.get("situation", "")}
    return {"description": doc.get("description", ""), "hosts": hosts}


# ---- Pythons -------------------------------------------------------------------------------
def find_python(version: str) -> str | None:
    """A real interpreter for the simulated Mac's Python ``version`` (pyenv first, then PATH)."""
    env = os.environ.get(f"MACSIM_PYTHON{version.replace('.', '')}")
    if env and os.access(env, os.X_OK):
        return env
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    for root in roots:
        for candidate in sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")),
                                reverse=True):
            if os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which(f"python{version}")
    return found


def python_plan(state: dict) -> tuple[str, str | None]:
    """What /usr/bin/python3 is on this Mac: (kind, version)."""
    kind, version = state["python"]["kind"], state["python"]["version"]
    if kind == "auto":
        v = Version(state["os"]["version"])
        if v.below(10, 15):
            return "none", None
        return "clt", version or ("3.8" if v.below(12, 5) else "3.9")
    if kind == "clt":
        return "clt", version or ("3.8" if Version(state["os"]["version"]).below(12, 5) else "3.9")
    if kind == "managed":
        return "managed", version or "3.13"
    return kind, None


def interpreter_for(state: dict) -> str:
    kind, _ = python_plan(state)
    return MANAGED_PYTHON if kind == "managed" else "/usr/bin/python3"


# ---- addresses -------------------------------------------------------------------------------
def _listening_addresses() -> set[str]:
    found = set()
    for table in ("/proc/net/tcp",):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local = line.split()[1]
            hexaddr = local.split(":")[0]
            octets = [str(int(hexaddr[i:i + 2], 16)) for i in (6, 4, 2, 0)]
            found.add(".".join(octets))
    return found


SUBNET_CLAIMS = "/tmp/macsim-subnets.json"
SUBNET_QUARANTINE = 900  # seconds


HOSTS_PER_SUBNET = 250  # .2 to .251 of each 127.77.X.0/24


def pick_subnet(count: int = 1) -> str:
    """A 127.77.X subnet nobody listens on and no fleet used in the last 15 minutes (with the next ones, when a
    fleet of ``count`` Macs needs more than one /24: see ``address``).

    A subnet is not reused at once: SSH clients keep multiplexed master connections (ControlPersist) to an
    address and user for a while, and a new fleet on the same addresses would receive the old fleet's
    connections. Called with the fleet-up lock held, so the claims file has one writer at a time.
    """
    span = max(1, -(-count // HOSTS_PER_SUBNET))
    busy = _listening_addresses()
    taken = {a.rsplit(".", 1)[0] for a in busy}
    try:
        claims = json.loads(Path(SUBNET_CLAIMS).read_text())
    except (OSError, ValueError):
        claims = {}
    now = time.time()
    recent = {subnet for subnet, when in claims.items() if now - when < SUBNET_QUARANTINE}
    for avoid in (taken | recent, taken):
        for third in range(10, 251 - span):
            subnets = [f"127.77.{third + n}" for n in range(span)]
            if not avoid.intersection(subnets):
                claims = {k: v for k, v in claims.items() if now - v < SUBNET_QUARANTINE}
                claims.update({subnet: now for subnet in subnets})
                Path(SUBNET_CLAIMS).write_text(json.dumps(claims))
                return subnets[0]
    raise FleetError(f"no {span} free 127.77.X.0/24 loopback subnet(s)")


def address(subnet: str, index: int) -> str:
    """The loopback address of a fleet's Mac number ``index`` (from 0): 250 to a /24, then the next /24."""
    prefix, third = subnet.rsplit(".", 1)
    return f"{prefix}.{int(third) + index // HOSTS_PER_SUBNET}.{index % HOSTS_PER_SUBNET + 2}"


# ---- one host ------------------------------------------------------------------------------------
TOOL_SOCKET = "tools.sock"  # in the host directory: the Mac's tool server (macsim.toolserver)


def _wrapper(tool: str, host_dir: Path) -> str:
    from .toolserver import client_source

    return client_source(sys.executable, tool, str(host_dir), str(host_dir / TOOL_SOCKET))


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def _free_uid(start: int = 600) -> int:
    uid = start
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def _prepare_host(workdir: Path, name: str, info: dict, address: str, port: int, pubkey: str) -> dict:
    state = info["state"]
    host_dir = workdir / "hosts" / name
    if host_dir.exists():
        shutil.rmtree(host_dir)
    store_mod.create_host(host_dir, state)
    sim = host_dir / "root"
    uppers = {"/usr/bin": sim / "usr-bin", "/usr/sbin": sim / "usr-sbin", "/etc": sim / "etc",
              "/root": sim / "root", "/usr/local/bin": sim / "usr-local-bin"}
    for upper in uppers.values():
        upper.mkdir(parents=True, exist_ok=True)
    os.chmod(uppers["/root"], 0o711)
    from .toolserver import CLIENT_CONF, client_binary

    binary = client_binary(str(workdir / "bin"))  # one compiled client for every tool of every Mac, if cc exists
    if binary:
        _write(uppers["/etc"] / os.path.basename(CLIENT_CONF),
               "%s\n%s\n%s\n" % (host_dir, host_dir / TOOL_SOCKET, sys.executable), 0o644)
    for tool, path in PATHS.items():
        # /sbin is a link to /usr/sbin on merged-/usr systems: the overlay of /usr/sbin then covers /sbin/shutdown.
        target = uppers[os.path.realpath(os.path.dirname(path))] / os.path.basename(path)
        if binary:
            shutil.copyfile(binary, target)
            os.chmod(target, 0o755)
        else:
            _write(target, _wrapper(tool, host_dir), 0o755)
    # /usr/bin/python3: the Command Line Tools' Python, the installer stub, or nothing.
    kind, version = python_plan(state)
    for other in glob.glob("/usr/bin/python3*") + glob.glob("/usr/local/bin/python3*"):
        whiteout = uppers[os.path.dirname(other)] / os.path.basename(other)
        if not whiteout.exists():
            os.mknod(whiteout, 0o600 | 0o020000, os.makedev(0, 0))  # overlayfs whiteout: hide the host's
    py3 = uppers["/usr/bin"] / "python3"
    if py3.exists() or py3.is_symlink():
        py3.unlink()
    if kind == "clt":
        real = find_python(version)
        if not real:
            raise FleetError(f"{name}: needs Python {version} for /usr/bin/python3 and none was found "
                             f"(install it with pyenv, or set MACSIM_PYTHON{version.replace('.', '')})")
        os.symlink(real, py3)
    elif kind == "stub":
        _write(py3, _wrapper("python3", host_dir), 0o755)
    else:
        os.mknod(py3, 0o600 | 0o020000, os.makedev(0, 0))
    if kind == "managed":
        real = find_python(version) or find_python("3.9")
        if not real:
            raise FleetError(f"{name}: no Python found for the managed Python")
        managed = uppers["/usr/local/bin"] / "managed_python3"
        if managed.exists():
            managed.unlink()
        os.symlink(real, managed)
    # The admin login user, reached by key, with sudo for become.
    user = info["ssh_user"]
    mac_user = next((u for u in state["users"] if u["name"] == user), None)
    uid = mac_user["uid"] if mac_user else 499
    try:
        pwd.getpwuid(uid)
        uid = _free_uid()
    except KeyError:
        pass
    home = host_dir / "home" / user
    home.mkdir(parents=True, exist_ok=True)
    etc = uppers["/etc"]
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    shadow = Path("/etc/shadow").read_text() if os.access("/etc/shadow", os.R_OK) else ""
    _write(etc / "passwd", passwd + f"{user}:x:{uid}:{uid}:{user}:{home}:/bin/bash\n", 0o644)
    _write(etc / "group", group + f"{user}:x:{uid}:\n", 0o644)
    _write(etc / "shadow", shadow + f"{user}:*:19000:0:99999:7:::\n", 0o640)
    _write(etc / "hostname", name + "\n", 0o644)
    hosts_file = Path("/etc/hosts").read_text() if os.path.exists("/etc/hosts") else ""
    _write(etc / "hosts", hosts_file + f"{address}\t{name} {name}.local\n", 0o644)
    _write(etc / "sudoers.d" / "macsim", f"{user} ALL=(ALL) NOPASSWD: ALL\n", 0o440)
    for path in (host_dir, home):
        os.chown(path, uid, uid)
    for child in host_dir.iterdir():
        if child.is_file():
            os.chown(child, uid, uid)
    key = host_dir / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   stdout=subprocess.DEVNULL)
    from .boot import PAM_HELPER, helper_source

    _write(host_dir / PAM_HELPER, helper_source(sys.executable, str(host_dir)), 0o755)  # run by root (pam_exec)
    config = host_dir / "sshd_config"
    _write(config, "\n".join([
        f"ListenAddress {address}", f"Port {port}", f"HostKey {key}", f"PidFile {host_dir / 'sshd.pid'}",
        f"AuthorizedKeysFile {workdir / 'ssh' / 'authorized_keys'}", "StrictModes no", "UsePAM no",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no",
        f"AllowUsers {user}", "MaxStartups 200:30:400", "MaxSessions 100", "LogLevel ERROR",
        "Subsystem sftp internal-sftp", "AcceptEnv LANG LC_*", "",
    ]), 0o644)
    mounts = [{"target": target, "upper": str(upper), "work": str(host_dir / "work" / upper.name)}
              for target, upper in uppers.items() if os.path.isdir(target)]
    # /Library: the Mac's own, bound from the host directory (the TCC database there follows Full Disk Access).
    mounts.append({"target": "/Library", "bind": str(host_dir / "Library")})
    # /Users: the home folders the Mac's accounts have (network accounts' too), kept in step with the state.
    mounts.append({"target": "/Users", "bind": str(host_dir / "Users")})
    for m in mounts:
        Path(m.get("work") or m["bind"]).mkdir(parents=True, exist_ok=True)
    plan = {"name": name, "hostname": name, "mounts": mounts, "sshd": shutil.which("sshd") or "/usr/sbin/sshd",
            "config": str(config), "log": str(host_dir / "sshd.log")}
    (host_dir / "init.json").write_text(json.dumps(plan, indent=2))
    return {"name": name, "address": address, "port": port, "user": user, "uid": uid, "dir": str(host_dir),
            "interpreter": interpreter_for(state), "python": kind, "situation": info["situation"]}


def host_init(plan_path: str) -> None:  # pragma: no cover - runs inside the new namespaces
    """Inside the new namespaces: mount the overlays, set the host name, start the tool server, supervise sshd."""
    plan = json.loads(Path(plan_path).read_text())
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    for m in plan["mounts"]:
        if "bind" in m:
            subprocess.run(["mount", "--bind", m["bind"], m["target"]], check=True)
            continue
        subprocess.run(["mount", "-t", "overlay", "macsim", "-o",
                        f"lowerdir={m['target']},upperdir={m['upper']},workdir={m['work']}", m["target"]],
                       check=True)
    socket.sethostname(plan["hostname"])
    from .toolserver import start

    toolserver = start(str(Path(plan_path).parent / TOOL_SOCKET))  # before sshd: every tool call forks it
    from .boot import supervise

    # The supervisor stays the namespaces' first process: it runs sshd as a child and restarts the Mac on request.
    supervise(plan, str(Path(plan_path).parent), toolserver)


def _wait_listening(address: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5) as sock:
                banner = sock.recv(64)
                if banner.startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def _mnt_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


# ---- the fleet -------------------------------------------------------------------------------------
def manifest_path(workdir: Path) -> Path:
    return workdir / "fleet.json"


UP_LOCK = "/tmp/macsim-fleet-up.lock"


def up(scenario: str, workdir: str, inventory: str | None = None, alt_wording: bool = False,
       port: int = 22, subnet: str | None = None, latency: str | None = None) -> dict:
    """Bring a fleet up. Concurrent calls (parallel test workers) take turns, so no two pick the same subnet."""
    import fcntl

    with open(UP_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _up(scenario, workdir, inventory, alt_wording, port, subnet, latency)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _up(scenario: str, workdir: str, inventory: str | None, alt_wording: bool, port: int,
        subnet: str | None, latency: str | None = None) -> dict:
    if os.geteuid() != 0:
        raise FleetError("macsim fleet up needs root: it creates mount namespaces and starts sshd")
    for tool in ("unshare", "mount", "ssh-keygen"):
        if not shutil.which(tool):
            raise FleetError(f"macsim fleet up needs {tool} on PATH")
    if not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")):
        raise FleetError("macsim fleet up needs sshd: install openssh-server")
    doc = load_scenario(scenario)
    wd = Path(workdir).resolve()
    for parent in [p for p in wd.parents if p.exists()][:-1] + ([wd] if wd.exists() else []):
        if not os.stat(parent).st_mode & 0o001:
            raise FleetError(f"work directory {wd}: {parent} is not traversable by other users (mode "
                             f"{oct(os.stat(parent).st_mode & 0o777)}); the Macs' login users must reach their "
                             "keys and state there: choose another --workdir (for example under /tmp)")
    if manifest_path(wd).exists():
        raise FleetError(f"a fleet is already up in {wd}; run 'macsim fleet down --workdir {wd}' first")
    wd.mkdir(parents=True, exist_ok=True)
    os.chmod(wd, 0o755)
    # A mount point for each Mac's /Library. It stays (empty) after fleet down: removing a directory that
    # another fleet's namespaces use as a mount point would detach their mounts.
    os.makedirs("/Library", mode=0o755, exist_ok=True)
    os.makedirs("/Users", mode=0o755, exist_ok=True)
    ssh = wd / "ssh"
    ssh.mkdir(exist_ok=True)
    key = ssh / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "macsim", "-f", str(key)], check=True,
                       stdout=subprocess.DEVNULL)
    pubkey = (ssh / "id_ed25519.pub").read_text()
    _write(ssh / "authorized_keys", pubkey, 0o644)
    subnet = subnet or pick_subnet(len(doc["hosts"]))
    hosts = []
    manifest = {"scenario": scenario, "workdir": str(wd), "subnet": subnet, "hosts": hosts, "key": str(key)}
    try:
        for index, (name, info) in enumerate(doc["hosts"].items()):
            if alt_wording:
                info["state"]["sim"]["alt_wording"] = True
            if latency is not None:
                info["state"]["sim"]["latency"] = latency
            entry = _prepare_host(wd, name, info, address(subnet, index), port, pubkey)
            log = open(Path(entry["dir"]) / "host.log", "wb")
            proc = subprocess.Popen(
                ["unshare", "--mount", "--uts", "--propagation", "private", "--", sys.executable, "-m",
                 "macsim.hostinit", str(Path(entry["dir"]) / "init.json")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            entry["pid"] = proc.pid
            hosts.append(entry)
            manifest_path(wd).write_text(json.dumps(manifest, indent=2))
        # Every Mac starts at once; on a loaded machine (checks running side by side) a big fleet needs more than
        # a few seconds, so the wait is one deadline for the whole fleet, growing with its size.
        limit = 30 + len(hosts)
        deadline = time.monotonic() + limit
        for entry in hosts:
            if not _wait_listening(entry["address"], port, max(1.0, deadline - time.monotonic())):
                text = (Path(entry["dir"]) / "host.log").read_text(errors="replace")[-2000:]
                raise FleetError(f"{entry['name']}: sshd did not start on {entry['address']}:{port} within {limit} s "
                                 f"(the whole fleet's start-up):\n{text}")
            entry["mntns"] = _mnt_ns(entry["pid"])
        manifest_path(wd).write_text(json.dumps(manifest, indent=2))
    except BaseException:
        down(str(wd))
        raise
    if inventory:
        write_inventory(manifest, inventory)
    return manifest


def write_inventory(manifest: dict, path: str) -> None:
    hosts = {}
    for entry in manifest["hosts"]:
        hosts[entry["name"]] = {
            "ansible_host": entry["address"],
            "ansible_port": entry["port"],
            "ansible_user": entry["user"],
            "ansible_ssh_private_key_file": manifest["key"],
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            # Many simulated Macs share this controller's cores: ssh's default 10 s is too short under load.
            "ansible_ssh_timeout": 30,
            "ansible_python_interpreter": entry["interpreter"],
            "ansible_become_method": "ansible.builtin.sudo",
        }
    doc = {"all": {"children": {"macs": {"hosts": hosts}}}}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("---\n# written by macsim fleet up\n" + yaml.safe_dump(doc, sort_keys=True))


def load_manifest(workdir: str) -> dict:
    path = manifest_path(Path(workdir).resolve())
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FleetError(f"no fleet is up in {Path(workdir).resolve()} (no fleet.json)")


def _namespace_pids(namespaces: set) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mnt_ns(int(entry)) in namespaces:
            pids.append(int(entry))
    return pids


def down(workdir: str, purge: bool = False) -> list[str]:
    """Stop every process of the fleet (every process in its hosts' namespaces); return what was stopped."""
    wd = Path(workdir).resolve()
    try:
        manifest = load_manifest(str(wd))
    except FleetError:
        return []
    namespaces = _fleet_namespaces(manifest, wd)
    stopped = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        # Each Mac's supervisor first: it would start a killed sshd again (macsim.boot).
        first = [h["pid"] for h in manifest["hosts"] if _ours(h)]
        pids = first + sorted(set(_namespace_pids(namespaces)) - set(first))
        for pid in pids:
            try:
                os.kill(pid, sig)
                stopped.append(str(pid))
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
                _namespace_pids(namespaces) or any(_ours(h) for h in manifest["hosts"])):
            time.sleep(0.05)
        if not _namespace_pids(namespaces) and not any(_ours(h) for h in manifest["hosts"]):
            break
    manifest_path(wd).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(wd, ignore_errors=True)
    return stopped


def _fleet_namespaces(manifest: dict, workdir: Path) -> set:
    """The recorded mount namespaces that are still this fleet's.

    A namespace's number is given to a new namespace once its last process has gone, so a fleet whose Macs died (or
    were taken down already) would, by its recorded numbers alone, stop another fleet's Macs. A recorded namespace
    counts only while a process in it names this fleet's directory on its command line (the Mac's supervisor, its
    sshd's config). Sessions left in a namespace whose supervisor and sshd are gone are left alone.
    """
    recorded = {h.get("mntns") or _mnt_ns(h["pid"]) for h in manifest["hosts"]} - {None, _mnt_ns(os.getpid())}
    marker = str(workdir).encode()
    live: set = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        ns = _mnt_ns(int(entry))
        if ns in recorded and ns not in live:
            try:
                if marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                    live.add(ns)
            except OSError:
                pass
    return live


def _ours(host: dict) -> bool:
    """Is the host's recorded process still this fleet's? Process IDs are reused (pid_max is often 32768),
    so a recorded PID is only signalled while its command line still names this host's init plan."""
    if not _alive(host["pid"]):
        return False
    try:
        cmdline = Path(f"/proc/{host['pid']}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return str(Path(host["dir"]) / "init.json") in cmdline or str(Path(host["dir"]) / "sshd_config") in cmdline


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def host_dir(workdir: str | None, host: str) -> str:
    """A host given as a directory holding state.json, or a host name of the fleet in ``workdir``."""
    if os.path.isfile(os.path.join(host, store_mod.STATE_FILE)):
        return host
    if workdir:
        candidate = Path(workdir).resolve() / "hosts" / host
        if (candidate / store_mod.STATE_FILE).is_file():
            return str(candidate)
    raise FleetError(f"no simulated Mac {host!r}: give a host directory or a host name with --workdir")
