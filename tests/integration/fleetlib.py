"""Integration helpers and the fleet fixture: a fleet of simulated Macs over SSH, and the collection as Ansible
loads it.

These tests need root and openssh-server (macsim brings the Macs up in namespaces); they are
not part of the built collection (galaxy.yml build_ignore) and run with `make test`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

try:
    from macsim import fleet as macsim_fleet
    from macsim.store import HostStore
except ImportError:  # pragma: no cover - macsim is installed by `make test`
    macsim_fleet = None

CAN_RUN = macsim_fleet is not None and os.geteuid() == 0 and (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd"))
needs_fleet = pytest.mark.skipif(not CAN_RUN, reason="needs macsim, root and openssh-server")
TRANSIENT_HOSTS = ("fv-encrypting-live", "fv-setup-finishing", "bt-escrow-unconfirmed")


def many_accounts(count: int) -> list:
    users = [{"name": "macadmin", "full_name": "Mac Admin", "uid": 501, "admin": True, "password": "macadmin-pw",
              "secure_token": True, "volume_owner": True}]
    for i in range(count - 1):
        users.append({"name": f"student{i:02d}", "full_name": f"Student {i}", "uid": 600 + i,
                      "password": f"s{i}-pw", "secure_token": i % 3 == 0, "volume_owner": i % 3 == 0})
    return users


class Fleet:
    """The running fleet: inventory, host directories, and the truth of each Mac."""

    def __init__(self, workdir: Path, manifest: dict, inventory: Path, collections: Path) -> None:
        self.workdir, self.manifest, self.inventory, self.collections = workdir, manifest, inventory, collections
        self.hosts = {h["name"]: h for h in manifest["hosts"]}
        # The controller side of key escrow: a vault password file and an escrow directory, as an AWX job has.
        self.vault_password_file = workdir / "vault-pass"
        self.vault_password_file.write_text("integration-vault-secret\n")
        os.chmod(self.vault_password_file, 0o600)
        self.escrow_dir = workdir / "escrow"
        self.escrow_dir.mkdir(mode=0o700)

    def env(self, **extra) -> dict:
        env = {"ANSIBLE_COLLECTIONS_PATH": str(self.collections),
               "ANSIBLE_VAULT_PASSWORD_FILE": str(self.vault_password_file)}
        env.update(extra)
        return env

    def read_escrow(self, path) -> dict:
        """Decrypt an escrow file with the fleet's vault password, as an administrator would."""
        from ansible.parsing.vault import VaultLib, VaultSecret

        secret = VaultSecret(self.vault_password_file.read_text().strip().encode())
        return yaml.safe_load(VaultLib([("default", secret)]).decrypt(Path(path).read_bytes()))

    def store(self, host: str) -> "HostStore":
        return HostStore(self.hosts[host]["dir"])

    def state(self, host: str) -> dict:
        return self.store(host).load()

    def run(self, module: str, args: dict | None = None, hosts: str = "all", check: bool = False,
            become: bool = True, timeout: int = 600, envvars: dict | None = None) -> dict:
        """Run one module on ``hosts`` through ansible-runner; return {host: result}."""
        from macsim.testing import run_adhoc

        env = self.env() if envvars is None else envvars
        return run_adhoc(str(self.inventory), module, args, hosts=hosts, become=become, check=check, timeout=timeout,
                         forks=12, envvars=env)

    def steps(self, module: str, host: str, args: dict, checks=(True, False, False, True)) -> list:
        """One module call per entry of ``checks`` (True: in check mode), as the tasks of one playbook."""
        from macsim.testing import run_steps

        return run_steps(str(self.inventory), host, [(module, args, check) for check in checks], become=True,
                         envvars=self.env())

    def four_steps(self, module: str, host: str, args: dict) -> list:
        """Check mode, run, run again, check mode again; each must succeed. Returns the four results."""
        results = self.steps(module, host, args)
        for result in results:
            assert result["_event"] == "runner_on_ok", result.get("msg")
        return results


@contextlib.contextmanager
def own_fleet(prefix: str, description: str, hosts: dict):
    """A fleet of its own for one suite: ``hosts`` (name -> spec) up over SSH, the collection linked in; yields
    (work directory, manifest, inventory, collections path) and takes it all down afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    scenario = base / "scenario.yml"
    scenario.write_text(yaml.safe_dump({"description": description, "hosts": hosts}))
    collections = base / "collections" / "ansible_collections" / "macops"
    collections.mkdir(parents=True)
    (collections / "tokens").symlink_to(ROOT)
    inventory = base / "inventory.yml"
    manifest = macsim_fleet.up(str(scenario), str(base / "fleet"), inventory=str(inventory))
    try:
        yield base, manifest, inventory, base / "collections"
    finally:
        macsim_fleet.down(str(base / "fleet"))
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def mac_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    base = Path(tempfile.mkdtemp(prefix="macops-it-", dir="/tmp"))
    os.chmod(base, 0o755)
    # Macs whose state changes by itself within seconds are tested on their own (test_transient.py).
    hosts = {name: spec for name, spec in macsim_fleet.shipped_hosts().items() if name not in TRANSIENT_HOSTS}
    template = {"os": {"version": "14.7.1", "build": "23H222"}, "hardware": {"arch": "apple_silicon"},
                "mdm": {"enrollment": "ade", "bootstrap_capable": True, "bootstrap_escrowed": True},
                "filevault": {"state": "on", "personal_recovery_key": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"},
                "situation": "call-count probe"}
    hosts["few-accounts"] = dict(template, users=many_accounts(2))
    hosts["many-accounts"] = dict(template, users=many_accounts(40))
    scenario = base / "scenario.yml"
    scenario.write_text(yaml.safe_dump({"description": "integration fleet", "hosts": hosts}))
    collections = base / "collections" / "ansible_collections" / "macops"
    collections.mkdir(parents=True)
    (collections / "tokens").symlink_to(ROOT)
    inventory = base / "inventory.yml"
    manifest = macsim_fleet.up(str(scenario), str(base / "fleet"), inventory=str(inventory))
    # What no local tool shows comes from the inventory, as in production: the MDM's managed admins.
    host_vars = base / "host_vars"
    host_vars.mkdir()
    for name, spec in hosts.items():
        managed = [u["name"] for u in spec.get("users", []) if u.get("kind") == "managed_admin"]
        (host_vars / f"{name}.yml").write_text(yaml.safe_dump({"macops_managed_admins": managed}))
    try:
        yield Fleet(base, manifest, inventory, base / "collections")
    finally:
        macsim_fleet.down(str(base / "fleet"))
        shutil.rmtree(base, ignore_errors=True)


FV_ON = ("on", "encrypting", "decrypting")


def truth_users(state: dict) -> dict:
    """The accounts the read side must report: UID 500 or above or holding a token, network ones that logged in."""
    from macsim.mac import Mac

    mac = Mac(state)
    users = {u["name"]: u for u in mac.local_users() if u["uid"] >= 500 or u["secure_token"]}
    users.update({u["name"]: u for u in state["users"] if u["kind"] == "network" and u["home_exists"]})
    return users


def assert_matches_truth(host: str, result: dict, state: dict) -> None:
    """A chain_of_trust_info result against the simulated Mac's state: accounts, tokens, MDM and FileVault."""
    from macsim.mac import Mac

    mac = Mac(state)
    truth = truth_users(state)
    model = result["mac"]
    reported = {u["name"]: u for u in model["users"]}
    assert set(reported) == set(truth), host
    apple_silicon = state["hardware"]["arch"] == "apple_silicon"
    fv_listed = {u["guid"] for u in mac.fv_users()}
    for name, user in truth.items():
        got = reported[name]
        assert got["secure_token"] is user["secure_token"], (host, name)
        assert got["token_state"] == ("enabled" if user["secure_token"] else "disabled"), (host, name)
        assert got["admin"] is user["admin"], (host, name)
        assert got["kind"] == (user["kind"] if user["kind"] != "sharing_only" else "local"), (host, name)
        assert got["uid"] == user["uid"] and got["guid"] == user["guid"], (host, name)
        assert got["full_name"] == user["full_name"], (host, name)
        assert got["volume_owner"] == (user["volume_owner"] if apple_silicon else None), (host, name)
        if state["filevault"]["state"] in FV_ON or got["filevault_user"] is not None:
            assert got["filevault_user"] is (user["guid"] in fv_listed), (host, name)
        assert got["disabled_tags"] == user["disabled_tags"], (host, name)
    holders = [u for u in truth.values() if u["secure_token"]]
    assert model["token_holders"] == len(holders), host
    assert model["admin_token_holders"] == len([u for u in holders if u["admin"]]), host
    mdm, fv = state["mdm"], state["filevault"]
    assert model["mdm"]["enrolled"] is mdm["enrolled"], host
    assert model["mdm"]["dep"] is (mdm["enrollment"] == "ade"), host
    supported = mac.bootstrap_supported_here() if mdm["enrolled"] else False
    assert model["bootstrap_token"]["supported"] is supported, host
    assert model["bootstrap_token"]["escrowed"] == (mdm["bootstrap_escrowed"] if supported else None), host
    assert model["bootstrap_token"]["local_record"] is mdm["bootstrap_on_device"], host
    assert model["filevault"]["state"] == fv["state"], host
    assert model["filevault"]["personal_recovery_key"] is bool(fv["personal_recovery_key"] and fv["state"] in FV_ON)
    assert model["filevault"]["deferred_user"] == fv["deferred_user"], host
    orphans = sorted(o["guid"] for o in state["orphan_crypto_users"])
    assert model["orphan_crypto_users"] == orphans, host
