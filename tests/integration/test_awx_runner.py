"""audit.yml and remediate.yml as AWX runs them, without AWX: ansible-runner on a private data directory, the
credentials injected the way AWX injects them, on three simulated Macs of their own.

What AWX does and this test does the same way:
- a custom credential's ``extra_vars`` injector is rendered (Jinja sandbox) with the credential's inputs and written,
  every string marked ``!unsafe``, to a file of its own under ``env/`` (mode 0400), passed with ``-e @file``;
- the survey's answers are the job's extra variables (``ansible_runner.run(extravars=...)``, ``env/extravars``);
- AWX's Vault credential with a vault ID adds ``--vault-id <id>@prompt`` and answers the prompt through
  ansible-runner's ``passwords`` (never a file, never an environment variable).

Then: both runs succeed, the remediation changed the Macs as their truth shows, and no password, vault password or
recovery key is in anything the runs left: stdout, job events, fact cache, every other artifact, the files under
``env/`` that the test did not write itself, the report. The inputs hold the secrets by design and are the only
files skipped: the credential file (as AWX's does) and ansible-runner's copy of the prompt answers
(``env/passwords``); both must be readable by the job's user only.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetlib import CAN_RUN, ROOT, needs_fleet, own_fleet

pytestmark = needs_fleet

VAULT_ID = "macops-escrow"
VAULT_PASSWORD = "awx-escrow-vault-Secret-7"
ADMIN = {"admin_user": "macadmin", "admin_password": "macadmin-pw"}
# A password with template markers: AWX's !unsafe keeps it a password, and so must the roles.
LABUSER_PASSWORD = "lab-{{ pw }}-1"
USERS_TEXT = f"labuser: '{LABUSER_PASSWORD}'\nmacadmin: macadmin-pw\n"  # the credential field, as typed into AWX
HOSTS = {
    "awx-cli-users": {"from": "cli-users-12", "situation": "CLI-created users; labuser's password is known",
                      "users": [
                          {"name": "macadmin", "full_name": "Mac Admin", "uid": 501, "admin": True,
                           "password": "macadmin-pw", "secure_token": True, "volume_owner": True,
                           "logged_in_graphically": True},
                          {"name": "labuser", "full_name": "Lab User", "uid": 502, "password": LABUSER_PASSWORD},
                          {"name": "kiosk", "full_name": "Kiosk", "uid": 503, "password": "kiosk-pw"}]},
    "awx-ade": {"from": "ade-skipped-before-login", "situation": "ADE, nobody holds a token; managed admin"},
    "awx-fv-off": {"from": "fv-off", "situation": "FileVault off"},
}


class SafeStringDumper(yaml.SafeDumper):
    """YAML with every string tagged !unsafe, as AWX writes the extra variables it injects."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def injected_extra_vars(type_file: str, inputs: dict) -> dict:
    """A custom credential type's extra_vars injector rendered with a credential's inputs, as AWX renders it."""
    injectors = yaml.safe_load((ROOT / "awx" / "credential_types" / type_file).read_text())["injectors"]
    sandbox = ImmutableSandboxedEnvironment()
    return {name: sandbox.from_string(template).render(**inputs) for name, template in injectors["extra_vars"].items()}


def survey_answers(name: str, answers: dict) -> dict:
    """The survey's defaults, then the answers given: what AWX passes as the job's extra variables."""
    spec = json.loads((ROOT / "awx" / "surveys" / f"{name}.json").read_text())["spec"]
    values = {q["variable"]: q["default"] for q in spec if "default" in q}
    unknown = set(answers) - {q["variable"] for q in spec}
    assert not unknown, f"not questions of the {name} survey: {unknown}"
    values.update(answers)
    return values


class AwxJob:
    """One job: its private data directory, inputs written as AWX writes them, and what the run left."""

    def __init__(self, fleet: "AwxFleet", name: str, answers: dict) -> None:
        import ansible_runner

        self.ident = name
        self.private = Path(tempfile.mkdtemp(prefix=f"awx-job-{name}-", dir=fleet.base))
        os.chmod(self.private, 0o700)
        env_dir = self.private / "env"
        env_dir.mkdir()
        extra = {}
        extra.update(injected_extra_vars("mac_admin.yml", ADMIN))
        extra.update(injected_extra_vars("user_passwords.yml", {"user_passwords": USERS_TEXT}))
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(yaml.dump(extra, Dumper=SafeStringDumper, default_flow_style=False))
        os.chmod(path, stat.S_IRUSR)
        self.credential_file = Path(path)
        started = time.monotonic()
        self.runner = ansible_runner.run(
            private_data_dir=str(self.private), project_dir=str(ROOT), playbook=f"playbooks/{name}.yml",
            inventory=str(fleet.inventory), ident=name, extravars=survey_answers(name, answers),
            cmdline=f"-e @{path} --vault-id {VAULT_ID}@prompt",
            passwords={r"Vault password \(%s\):\s*?$" % VAULT_ID: VAULT_PASSWORD},
            envvars={"ANSIBLE_COLLECTIONS_PATH": str(fleet.collections), "ANSIBLE_PIPELINING": "True",
                     "ANSIBLE_FORKS": "5", "ANSIBLE_NOCOLOR": "1"},
            quiet=True, timeout=900)
        self.seconds = time.monotonic() - started
        self.stdout = self.runner.stdout.read()
        self.artifacts = self.private / "artifacts" / name
        from macsim.testing import keep_artifacts

        keep_artifacts(str(self.private))  # for the session's own secrets scan, where it runs

    def inputs(self) -> list:
        """The files that hold secrets because the test gave them: the credential's extra-vars file, and
        ansible-runner's own copy of the prompt answers it was handed (``env/passwords``)."""
        return [self.credential_file, self.private / "env" / "passwords"]

    def left_behind(self) -> list:
        """Every other file under the private data directory: the artifacts, and env/ but the inputs."""
        files = [p for p in self.private.rglob("*") if p.is_file() and not p.is_symlink()]
        return [p for p in files if p not in self.inputs()]


class AwxFleet:
    def __init__(self, base: Path, manifest: dict, inventory: Path, collections: Path) -> None:
        self.base, self.inventory, self.collections = base, inventory, collections
        self.hosts = {h["name"]: h for h in manifest["hosts"]}
        self.escrow = base / "macops" / "escrow"
        self.escrow.mkdir(parents=True, mode=0o700)  # the persistent volume's directory, made before the job
        self.reports = base / "macops" / "reports"

    def state(self, host: str) -> dict:
        from macsim.store import HostStore

        return HostStore(self.hosts[host]["dir"]).load()

    def escrowed(self) -> dict:
        from ansible.parsing.vault import VaultLib, VaultSecret

        vault = VaultLib([(VAULT_ID, VaultSecret(VAULT_PASSWORD.encode()))])
        out = {}
        for path in sorted(self.escrow.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".lock"):
                assert path.read_bytes() == b"", path.name
                continue
            if path.name == "ledger.jsonl":  # the escrow's trail, plain JSON by design (fingerprints, no key)
                continue
            data = path.read_bytes()
            assert data.startswith(b"$ANSIBLE_VAULT;1.2;AES256;" + VAULT_ID.encode()), path.name
            out[path.name] = yaml.safe_load(vault.decrypt(data))
        return out


@pytest.fixture(scope="module")
def awx_fleet():
    if not CAN_RUN:
        pytest.skip("needs macsim, root and openssh-server")
    with own_fleet("macops-awx-", "AWX runner fleet", HOSTS) as (base, manifest, inventory, collections):
        yield AwxFleet(base, manifest, inventory, collections)


def holders(state: dict) -> list:
    return sorted(u["name"] for u in state["users"] if u.get("secure_token"))


def test_audit_and_remediate_as_awx_jobs_change_the_macs_and_leave_no_secret(awx_fleet):
    before = {h: awx_fleet.state(h) for h in awx_fleet.hosts}
    assert [holders(before[h]) for h in ("awx-cli-users", "awx-ade", "awx-fv-off")] == [["macadmin"], [], ["macadmin"]]
    assert all(before[h]["filevault"]["state"] == "off" for h in awx_fleet.hosts)
    answers = {"macops_report_dir": str(awx_fleet.reports / "audit"), "macops_managed_admins": "mdmadmin"}
    audit = AwxJob(awx_fleet, "audit", answers)
    assert (audit.runner.rc, audit.runner.status) == (0, "successful"), audit.stdout[-3000:]
    assert {h: awx_fleet.state(h) for h in awx_fleet.hosts} == before  # read-only
    report = json.loads((awx_fleet.reports / "audit" / "fleet-report.json").read_text())
    macs = {m["host"]: m for m in report["macs"]}
    assert "managed_admin_without_token" in [f["code"] for f in macs["awx-ade"]["findings"]]  # the survey's answer

    remediate = AwxJob(awx_fleet, "remediate", dict(answers, macops_escrow_dir=str(awx_fleet.escrow),
                                                    macops_report_dir=str(awx_fleet.reports / "remediate"),
                                                    macops_transient_wait=0))
    assert (remediate.runner.rc, remediate.runner.status) == (0, "successful"), remediate.stdout[-3000:]
    after = {h: awx_fleet.state(h) for h in awx_fleet.hosts}
    # labuser's token needed its password from the user-password credential (YAML text with template markers).
    assert holders(after["awx-cli-users"]) == ["labuser", "macadmin"]
    assert holders(after["awx-ade"]) == ["macadmin"] and after["awx-ade"]["mdm"]["bootstrap_escrowed"] is True
    assert holders(after["awx-fv-off"]) == ["macadmin"]
    assert all(after[h]["filevault"]["state"] == "on" for h in awx_fleet.hosts)
    # Each key escrowed with the Vault credential's password, and it is the key the Mac has.
    escrowed = awx_fleet.escrowed()
    assert {name: doc["recovery_key"] for name, doc in escrowed.items()} == {
        f"{h}.recovery-key.vault": after[h]["filevault"]["personal_recovery_key"] for h in awx_fleet.hosts}
    report = json.loads((awx_fleet.reports / "remediate" / "fleet-report.json").read_text())
    done = {m["host"]: m for m in report["macs"]}
    assert "granted a secure token to labuser" in [o["detail"] for o in done["awx-cli-users"]["changed"]]
    assert all(not done[h]["error"] and done[h]["changed"] for h in awx_fleet.hosts)

    # The secrets: every password of every Mac's truth, the vault password, every recovery key there was.
    secrets = {VAULT_PASSWORD, ADMIN["admin_password"], LABUSER_PASSWORD}
    secrets |= {u["password"] for s in list(before.values()) + list(after.values()) for u in s["users"]
                if u.get("password")}
    secrets |= {s["filevault"]["personal_recovery_key"] for s in list(before.values()) + list(after.values())
                if s["filevault"].get("personal_recovery_key")}
    secrets |= {doc["recovery_key"] for doc in escrowed.values()}
    assert len(secrets) >= 8 and all(len(s) >= 6 for s in secrets)  # 4 passwords, the vault one, 3 keys
    scanned = 0
    for job in (audit, remediate):
        names = {p.relative_to(job.private).as_posix() for p in job.left_behind()}
        events = [n for n in names if n.startswith(f"artifacts/{job.ident}/job_events/")]
        assert len(events) > 20 and f"artifacts/{job.ident}/stdout" in names, sorted(names)[:20]
        assert {n for n in names if n.startswith("env/")} <= {"env/extravars", "env/envvars", "env/cmdline",
                                                              "env/settings"}, names
        for path in job.inputs():  # readable by the job's user only
            assert path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
        # The command line names the credential file, never its contents.
        command = json.loads((job.artifacts / "command").read_text())
        assert f"@{job.credential_file}" in command["command"]
        found = [(job.ident, "stdout (runner)", s[:4]) for s in secrets if s in job.stdout]
        found += [(job.ident, "events (runner)", s[:4]) for s in secrets
                  if s in json.dumps(list(job.runner.events))]
        for path in job.left_behind():
            text = path.read_bytes().decode("utf-8", "replace")
            scanned += 1
            found += [(str(path.relative_to(job.private)), s[:4]) for s in secrets if s in text]
        assert found == [], found
    for path in list(awx_fleet.reports.rglob("*")) + [awx_fleet.escrow / "ledger.jsonl"]:
        if path.is_file():
            scanned += 1
            text = path.read_text(errors="replace")
            assert [s[:4] for s in secrets if s in text] == [], path
    assert scanned > 50
