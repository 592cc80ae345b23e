"""A fleet generator for load work: N Macs drawn from the shipped scenarios' hosts."""

from __future__ import annotations

import copy
import random

from .fleet import shipped_hosts


def profiles() -> list[dict]:
    """Every host of every shipped scenario, with the scenario's defaults applied."""
    return list(shipped_hosts().values())


def generate(count: int, seed: int = 1) -> dict:
    if count < 1:
        raise ValueError("count must be at least 1")
    rnd = random.Random(seed)
    pool = profiles()
    hosts = {}
    for index in range(count):
        host = copy.deepcopy(rnd.choice(pool))
        host.pop("faults", None)
        hosts[f"mac{index + 1:04d}"] = host
    return {"description": f"{count} Macs drawn from the shipped scenarios (seed {seed})", "hosts": hosts}
