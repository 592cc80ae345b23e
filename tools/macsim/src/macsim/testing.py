"""Helpers for tests that drive a macsim fleet with Ansible (they need ansible-runner installed)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from .boot import phase, wait_phase  # noqa: F401  (truth for tests: a Mac's boot phase)

KEEP_ARTIFACTS = "MACSIM_KEEP_ARTIFACTS"


def keep_artifacts(private: str) -> None:
    """Copy a run's ansible-runner artifacts (events, stdout, status) under ``$MACSIM_KEEP_ARTIFACTS`` before it is
    removed, so a suite can scan everything a run left behind for secrets."""
    keep = os.environ.get(KEEP_ARTIFACTS)
    source = os.path.join(private, "artifacts")  # what the run produced; project/ and env/ are the test's input
    if keep and os.path.isdir(source):
        os.makedirs(keep, mode=0o700, exist_ok=True)
        shutil.copytree(source, tempfile.mkdtemp(prefix="run-", dir=keep), dirs_exist_ok=True, symlinks=True)


def run_adhoc(inventory: str, module: str, args: dict | str | None = None, hosts: str = "all", become: bool = False,
              check: bool = False, envvars: dict | None = None, timeout: int = 600, forks: int = 10) -> dict:
    """Run one ad-hoc module over SSH with ansible-runner; return {host: result}.

    Each result is the module's return value plus ``_event``: ``runner_on_ok``, ``runner_on_failed`` or
    ``runner_on_unreachable``.
    """
    import ansible_runner

    env = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": str(forks),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_BECOME": "True" if become else "False"}
    env.update(envvars or {})
    module_args = json.dumps(args) if isinstance(args, dict) and args else (args or None)
    with tempfile.TemporaryDirectory() as private:
        runner = ansible_runner.run(private_data_dir=private, inventory=inventory, host_pattern=hosts, module=module,
                                    module_args=module_args, envvars=env, cmdline="--check" if check else None,
                                    quiet=True, timeout=timeout)
        results = {}
        for event in runner.events:
            data = event.get("event_data", {})
            if event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
                result = dict(data.get("res", {}))
                result["_event"] = event["event"]
                results[data["host"]] = result
        keep_artifacts(private)
    return results


def run_steps(inventory: str, host: str, steps: list, become: bool = False, envvars: dict | None = None,
              timeout: int = 600, verbosity: int = 0) -> list:
    """Run several module calls on one host as the tasks of one playbook (one Ansible start-up, not one per
    call); return one result per step, in order, each with ``_event`` as :func:`run_adhoc` gives it.

    ``steps`` is a list of ``(module, args, check)``: ``check`` runs that task in check mode. A failing step
    does not stop the later ones (``ignore_errors``), so each result is what that call alone would return.
    The playbook names its arguments, which travel as extra vars; both live in a private temporary directory removed
    afterwards.
    """
    import ansible_runner
    import yaml

    env = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PIPELINING": "True", "ANSIBLE_NOCOLOR": "1"}
    env.update(envvars or {})
    tasks, values = [], []
    for index, (module, args, check) in enumerate(steps):
        # The arguments travel as extra vars and the tasks name them, as a playbook written with vaulted variables
        # would: ansible-core quotes a failed task's lines, and those lines then hold no secret.
        values.append(dict(args or {}))
        templated = {name: "{{ macsim_steps[%d][%r] }}" % (index, name) for name in (args or {})}
        tasks.append({"name": f"macsim step {index}", module: templated, "check_mode": bool(check),
                      "ignore_errors": True})
    play = [{"name": "macsim steps", "hosts": host, "gather_facts": False, "become": become, "tasks": tasks}]
    with tempfile.TemporaryDirectory() as private:
        os.chmod(private, 0o700)
        project = os.path.join(private, "project")
        os.mkdir(project)
        with open(os.path.join(project, "steps.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(play, handle)
        runner = ansible_runner.run(private_data_dir=private, inventory=inventory, playbook="steps.yml",
                                    envvars=env, extravars={"macsim_steps": values}, quiet=True, timeout=timeout,
                                    verbosity=verbosity or None)
        results: list = [None] * len(steps)
        for event in runner.events:
            data = event.get("event_data", {})
            if event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable") \
                    and data.get("host") == host and str(data.get("task", "")).startswith("macsim step "):
                result = dict(data.get("res", {}))
                result["_event"] = event["event"]
                results[int(data["task"].rsplit(" ", 1)[1])] = result
        keep_artifacts(private)
    missing = [index for index, result in enumerate(results) if result is None]
    if missing:
        raise RuntimeError(f"no result for steps {missing} on {host} (rc {runner.rc}, status {runner.status})")
    return results
