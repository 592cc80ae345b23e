"""A fleet generator for load work: N Macs drawn from the shipped scenarios' hosts."""

from __future__ import annotations

import copy
import random

from .fleet import shipped_hosts


def profiles() -> list[dict]:
    """Every host of every shipped scenario, with the scenario's defaults applied."""
    return list(shipped_hosts().values())


def generate(count: int, seed: int = 1, accounts: tuple[int, int] | None = None) -> dict:
    """N Macs drawn (with ``seed``) from the shipped hosts; with ``accounts=(MIN, MAX)`` each Mac has between MIN
    and MAX accounts: the drawn host's, then local standard users added to reach a number drawn in that range."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if accounts is not None and not 1 <= accounts[0] <= accounts[1]:
        raise ValueError("accounts must be MIN-MAX with 1 <= MIN <= MAX")
    rnd = random.Random(seed)
    pool = profiles()
    hosts = {}
    for index in range(count):
        host = copy.deepcopy(rnd.choice(pool))
        host.pop("faults", None)
        if accounts is not None:
            _pad_accounts(host, rnd.randint(*accounts))
        hosts[f"mac{index + 1:04d}"] = host
    described = f", {accounts[0]} to {accounts[1]} accounts each" if accounts else ""
    return {"description": f"{count} Macs drawn from the shipped scenarios (seed {seed}{described})", "hosts": hosts}


def _pad_accounts(host: dict, wanted: int) -> None:
    """Add local standard users until the Mac has ``wanted`` accounts (a host with more keeps its own).

    An added user is what an administrator holding a token creates in System Settings: on a Mac where a local
    account holds a secure token the new user gets one too (and, with it, a place in FileVault); elsewhere none.
    """
    users = host.setdefault("users", [])
    holder = any(u.get("secure_token") and u.get("kind", "local") == "local" for u in users)
    apfs = host.get("boot_fs", "apfs") == "apfs"
    taken = {u["name"] for u in users}
    uid = max([u["uid"] for u in users if u.get("uid", 0) >= 500] + [500])
    number = 0
    while len(users) < wanted:
        number += 1
        name = f"staff{number:02d}"
        if name in taken:
            continue
        uid += 1
        users.append({"name": name, "full_name": f"Staff {number:02d}", "uid": uid, "password": f"pw-{name}",
                      "secure_token": holder and apfs})
