"""make demo: a simulated fleet, the audit, the remediation, a before/after table and the HTML report.

    demo.py [run] [--workdir DIR] [--keep]     the demo (everything lands in ./demo)
    demo.py up --workdir DIR --password-file F [--stop-with end_host]
    demo.py down --workdir DIR                 the molecule scenario's create and destroy
    demo.py prepare --workdir DIR              what molecule links before create

Run as root (macsim brings the Macs up in namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "tools" / "demo" / "fleet.yml"
VENV_BIN = Path(sys.executable).parent

# The simulated Macs' credentials (the fleet's scenarios define them). Written to the demo folder
# vault-encrypted, as a real inventory would hold them; a few passwords are deliberately unknown.
ADMIN = {"macops_admin_user": "macadmin", "macops_admin_password": "macadmin-pw"}
HOST_ADMINS = {
    "mobile-bt": ("localadmin", "local-pw"), "mobile-nobt": ("localadmin", "local-pw"),
    "mobile-1015": ("localadmin", "local-pw"), "mobile-nomdm": ("localadmin", "local-pw"),
    "ade-not-skipped": ("alice", "alice-pw"), "no-credentials": ("macadmin", ""),
}
# kiosk, kwong and jdoe are not known: the report says what to do.
USER_PASSWORDS = {"labuser": "lab-pw", "teacher": "teacher-pw", "student": "student-pw", "macadmin": "macadmin-pw",
                  "rsmith": "rsmith-AD-pw", "pchan": "pchan-AD-pw"}
MANAGED_ADMINS = {"ade-skipped": ["mdmadmin"], "ade-not-skipped": ["mdmadmin"]}


def sh(cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], **kwargs)


def write_inventory(work: Path, manifest_inventory: Path, password: str, extra: dict | None = None,
                    host_admins: dict | None = None) -> None:
    """group_vars and host_vars next to macsim's inventory; secrets vault-encrypted with ``password``."""
    host_admins = HOST_ADMINS if host_admins is None else host_admins
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(password.encode()))])

    def vaulted(path: Path, doc: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(vault.encrypt(yaml.safe_dump(doc, sort_keys=True).encode()))
        os.chmod(path, 0o600)

    inv_dir = manifest_inventory.parent
    group = inv_dir / "group_vars" / "macs"
    group.mkdir(parents=True, exist_ok=True)
    (group / "settings.yml").write_text(yaml.safe_dump({
        "macops_escrow_dir": str(work / "escrow"), "macops_report_dir": str(work / "report"),
        "macops_managed_admins": [], **(extra or {}),
    }, sort_keys=True))
    vaulted(group / "vault.yml", dict(ADMIN, macops_user_passwords=USER_PASSWORDS))
    for host in yaml.safe_load(manifest_inventory.read_text())["all"]["children"]["macs"]["hosts"]:
        host_dir = inv_dir / "host_vars" / host
        host_dir.mkdir(parents=True, exist_ok=True)
        (host_dir / "settings.yml").write_text(yaml.safe_dump({"macops_managed_admins": MANAGED_ADMINS.get(host, [])}))
        if host in host_admins:
            user, password = host_admins[host]
            vaulted(host_dir / "vault.yml", {"macops_admin_user": user, "macops_admin_password": password})
    (work / "escrow").mkdir(mode=0o700, exist_ok=True)


def collections_path(work: Path) -> Path:
    path = work / "collections"
    link = path / "ansible_collections" / "macops" / "tokens"
    if link.is_symlink() and Path(os.readlink(link)) != ROOT:
        link.unlink()  # a work directory another checkout set up (molecule's is a fixed path): test this one
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    return path


def ansible_env(work: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path(work)),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(work / "vault-password"),
        "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": "16",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False",
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
    })
    return env


def playbook(work: Path, name: str, inventory: Path, log: Path, extra: dict, check: bool = False) -> int:
    cmd = [VENV_BIN / "ansible-playbook", "-i", inventory, ROOT / "playbooks" / name, "-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    started = time.monotonic()
    tasks = 0
    with open(log, "w") as handle, subprocess.Popen([str(c) for c in cmd], env=ansible_env(work), text=True,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            handle.write(line)
            if line.startswith("TASK ["):
                tasks += 1
            progress = progress_line(line)
            if progress:
                print(f"  {name} {time.monotonic() - started:5.0f} s  {progress}", flush=True)
    print(f"  {name}: {tasks} tasks in {time.monotonic() - started:.0f} s", flush=True)
    return proc.returncode


def progress_line(line: str) -> str | None:
    """The progress a playbook's output line is worth: the play or the playbook's own step it starts, else nothing
    (tasks inside a role print as ``role : task`` and are left to the log)."""
    for marker in ("PLAY [", "TASK ["):
        if line.startswith(marker):
            title = line[len(marker):].rsplit("]", 1)[0]
            if " : " in title:
                return None
            return ("play: " if marker == "PLAY [" else "") + title
    return None


def cell(mac: dict, when: str) -> str:
    if mac["error"]:
        return "not managed"
    holders = mac["token_holders"] if when == "after" else mac.get("token_holders_before", mac["token_holders"])
    fv = mac["filevault"] if when == "after" else mac.get("filevault_before", mac["filevault"])
    return f"{holders} holder{'s' if holders != 1 else ''}, FV {fv}"


def table(before: dict, after: dict) -> str:
    prior = {m["host"]: m for m in before["macs"]}
    rows = [("Mac", "Before", "After", "Findings", "Changed", "Left (next step in the report)")]
    for mac in after["macs"]:
        old = prior.get(mac["host"], mac)
        b = cell(old, "after")
        a = cell(mac, "after")
        nb = len(old["findings"]) if not old["error"] else "-"
        na = len(mac["findings"]) if not mac["error"] else "-"
        left = [o["detail"] for o in mac["left"]] or ([mac["error"][:60] + "..."] if mac["error"] else [])
        rows.append((mac["host"], b, a, f"{nb} -> {na}", str(len(mac["changed"])),
                     (left[0][:70] + (f" (+{len(left) - 1})" if len(left) > 1 else "")) if left else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def up(work: Path, password: str, extra: dict | None = None, fleet_file: Path = FLEET,
       host_admins: dict | None = None) -> dict:
    """A fresh fleet in ``work``: stale state removed, Macs up, inventory and vaulted variables written."""
    from macsim import fleet as macsim_fleet

    if (work / "fleet" / "fleet.json").exists():
        macsim_fleet.down(str(work / "fleet"))
    for stale in ("report", "report-before", "escrow", "fleet", "inventory"):
        shutil.rmtree(work / stale, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    inventory = work / "inventory" / "hosts.yml"
    manifest = macsim_fleet.up(str(fleet_file), str(work / "fleet"), inventory=str(inventory))
    try:
        write_inventory(work, inventory, password, extra, host_admins)
    except BaseException:
        macsim_fleet.down(str(work / "fleet"))
        raise
    return manifest


def down(work: Path) -> None:
    from macsim import fleet as macsim_fleet

    macsim_fleet.down(str(work / "fleet"))
    prepare(work)


def prepare(work: Path) -> None:
    """What molecule needs before create: the inventory directory it links, and the collection on a path."""
    inventory = work / "inventory"
    for sub in ("group_vars", "host_vars"):
        (inventory / sub).mkdir(parents=True, exist_ok=True)
    if not (inventory / "hosts.yml").exists():
        (inventory / "hosts.yml").write_text("---\n# written by demo.py up\nall: {}\n")
    os.chmod(work, 0o755)
    collections_path(work)


def run(args) -> int:
    started = time.monotonic()
    work = Path(args.workdir).resolve()
    password_file = work / "vault-password"
    work.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(24) + "\n")
    os.chmod(password_file, 0o600)
    manifest = up(work, password_file.read_text().strip())
    inventory = work / "inventory" / "hosts.yml"
    situations = {h["name"]: h["situation"] for h in manifest["hosts"]}
    print(f"Brought up {len(manifest['hosts'])} simulated Macs ({time.monotonic() - started:.1f} s): "
          + ", ".join(situations))
    try:
        code = playbook(work, "audit.yml", inventory, work / "audit.log",
                        {"macops_report_dir": str(work / "report-before")})
        print(f"audit.yml: exit {code} (log: {work / 'audit.log'})")
        code = playbook(work, "remediate.yml", inventory, work / "remediate.log", {})
        print(f"remediate.yml: exit {code} (log: {work / 'remediate.log'}; exit 2 means some Macs could not be "
              "managed, as the table shows)")
        before = json.loads((work / "report-before" / "fleet-report.json").read_text())
        after = json.loads((work / "report" / "fleet-report.json").read_text())
        print()
        print(table(before, after))
        counts = after["counts"]
        print(f"\n{counts['macs']} Macs: {counts['changed']} changed, {counts['left']} with something left, "
              f"{counts['unreachable_or_failed']} not managed; recovery keys escrowed in {work / 'escrow'} "
              f"(vault password: {work / 'vault-password'})")
        print(f"HTML report: {work / 'report' / 'fleet-report.html'}  (also .json and .csv; the audit before "
              f"remediation is in {work / 'report-before'})")
    finally:
        if not args.keep:
            down(work)
    print(f"Done in {time.monotonic() - started:.0f} s; the fleet is {'still up' if args.keep else 'down'}.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["run", "up", "down", "prepare"], default="run")
    parser.add_argument("--workdir", default=str(ROOT / "demo"))
    parser.add_argument("--keep", action="store_true", help="leave the fleet up afterwards")
    parser.add_argument("--password-file", help="up: the vault password file (or an executable that prints it)")
    parser.add_argument("--stop-with", choices=["fail", "end_host"], default="fail",
                        help="up: how preflight stops a Mac it cannot manage")
    parser.add_argument("--hosts", help="up: only these Macs of the demo fleet (comma-separated)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("this needs root: macsim starts one sshd per simulated Mac in its own namespaces", file=sys.stderr)
        return 2
    if args.command == "run":
        return run(args)
    work = Path(args.workdir).resolve()
    if args.command == "down":
        down(work)
        return 0
    if args.command == "prepare":
        prepare(work)
        return 0
    if not args.password_file:
        parser.error("up needs --password-file")
    source = Path(args.password_file)
    password = (sh([source], capture_output=True, text=True, check=True).stdout if os.access(source, os.X_OK)
                else source.read_text()).strip()
    fleet_file = FLEET
    if args.hosts:
        doc = yaml.safe_load(FLEET.read_text())
        wanted = [h.strip() for h in args.hosts.split(",") if h.strip()]
        unknown = sorted(set(wanted) - set(doc["hosts"]))
        if unknown:
            parser.error("--hosts: not in the demo fleet: %s (it has %s)"
                         % (", ".join(unknown), ", ".join(doc["hosts"])))
        doc["hosts"] = {h: doc["hosts"][h] for h in wanted}
        work.mkdir(parents=True, exist_ok=True)
        fleet_file = work / "fleet-subset.yml"
        fleet_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    manifest = up(work, password, {"preflight_stop_with": args.stop_with}, fleet_file=fleet_file)
    print(f"{len(manifest['hosts'])} simulated Macs up; inventory: {work / 'inventory'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
