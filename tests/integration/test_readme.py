"""The README's "From the demo to your own Macs" steps, run exactly as written: build and install the collection
from a checkout, write the minimal inventory, run the first audit with the installed collection (not this tree).

The only thing the test adds is how to reach each simulated Mac (address, port, key, login user): that is what a
reader puts in place of ``mac-01.example.org``. Everything else (the group name, the interpreter, the commands) is
read from the README, so a README that drifts from what works fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from fleetlib import ROOT, needs_fleet, own_fleet

pytestmark = needs_fleet

HOSTS = {
    "readme-mac-01": {"from": "cli-users-12", "situation": "README quickstart: CLI-created users"},
    "readme-mac-02": {"from": "fv-off", "situation": "README quickstart: FileVault off"},
}
CONNECTION = ("ansible_host", "ansible_port", "ansible_user", "ansible_ssh_private_key_file", "ansible_ssh_common_args",
              "ansible_ssh_timeout", "ansible_become_method")
# What a checkout holds that is not the collection's source (and is large, or belongs to other runs).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "collections", "demo", ".macsim", ".checks", "*.tar.gz",
                                    "__pycache__", ".pytest_cache", "tests/output")


def readme_block(marker: str) -> str:
    """The fenced block between ``<!-- marker -->`` and ``<!-- /marker -->`` in the README."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {marker} -->\n```[a-z]*\n(.*?)```\n<!-- /{marker} -->", text, re.S)
    assert found, f"README.md has no fenced block marked {marker}"
    return found.group(1)


def install_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"\*\*1\. Install the collection\*\*.*?```\n(.*?)```", text, re.S)
    assert found, "README.md has no install step"
    return [line.split("#", 1)[0].strip() for line in found.group(1).splitlines() if line.split("#", 1)[0].strip()]


def run(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, cwd=cwd, env=env, text=True, capture_output=True, timeout=600)


def test_readme_install_inventory_and_first_audit_work_as_written():
    with own_fleet("macops-readme-", "README quickstart fleet", HOSTS) as (_base, _manifest, inventory, _links), \
            tempfile.TemporaryDirectory(prefix="macops-readme-user-", dir="/tmp") as home:
        user = Path(home)
        os.chmod(user, 0o755)
        checkout = user / "checkout"
        shutil.copytree(ROOT, checkout, ignore=NOT_SOURCE, symlinks=True)
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                   ANSIBLE_COLLECTIONS_PATH=str(user / "collections"), ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_NOCOLOR="1", HOME=str(user))
        env.pop("ANSIBLE_CONFIG", None)
        for command in install_commands():
            done = run(command, checkout, env)
            assert done.returncode == 0, f"README install step failed: {command}\n{done.stdout}\n{done.stderr}"
        assert (user / "collections" / "ansible_collections" / "macops" / "tokens" / "MANIFEST.json").exists()

        # The reader's inventory: the README's, with each example host replaced by a simulated Mac and how to reach it.
        ours = yaml.safe_load(readme_block("quickstart-inventory"))
        (group,) = ours
        examples = ours[group]["hosts"]
        reach = yaml.safe_load(inventory.read_text())["all"]["children"]["macs"]["hosts"]
        ours[group]["hosts"] = {name: {k: v for k, v in reach[name].items() if k in CONNECTION}
                                for name in HOSTS}
        assert len(examples) == len(HOSTS)
        work = user / "work"
        work.mkdir()
        (work / "inventory.yml").write_text(yaml.safe_dump(ours))

        audit = readme_block("quickstart-audit").strip()
        assert "macops.tokens.audit" in audit and f"macops_hosts={group}" in audit
        done = run(audit, work, env)
        assert done.returncode == 0, f"README's first audit failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        report = json.loads((work / "report" / "fleet-report.json").read_text())
        assert sorted(m["host"] for m in report["macs"]) == sorted(HOSTS)
        assert all(not m["error"] for m in report["macs"]), [m["error"] for m in report["macs"]]
        assert (work / "report" / "fleet-report.html").stat().st_size > 0
