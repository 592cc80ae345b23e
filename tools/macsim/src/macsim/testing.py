"""Helpers for tests that drive a macsim fleet with Ansible (they need ansible-runner installed)."""

from __future__ import annotations

import json
import tempfile


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
    return results
