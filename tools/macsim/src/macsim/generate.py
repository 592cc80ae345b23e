"""A fleet generator for load work: N Macs drawn from the shipped scenarios' hosts."""

from __future__ import annotations

import copy
import random

import yaml

from .fleet import SCENARIO_DIR


def profiles() -> list[dict]:
    """Every host of every shipped scenario, with the scenario's defaults applied."""
    from .fleet import _merge

    out = []
    for path in sorted(SCENARIO_DIR.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, spec in doc["hosts"].items():
            host = _merge(doc.get("defaults") or {}, spec or {})
            host.pop("hostname", None)
            host["situation"] = f"{path.stem}/{name}: {host.get('situation', '')}".rstrip(": ")
            out.append(host)
    return out


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
