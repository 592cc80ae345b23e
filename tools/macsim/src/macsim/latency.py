"""How long each simulated tool takes to answer, by profile (``sim.latency`` in a Mac's state).

``none`` (the default) answers at once, as macsim always did. ``mac`` gives each Apple tool the time it takes on a
Mac, so that a benchmark (``make bench``) weighs a playbook that runs many tools against one that runs few, and
reads that overlap against reads in series. The delay is slept before the tool takes its Mac's state lock
(``macsim.runtime.run_tool``): concurrent reads on one Mac wait side by side, as they do on a Mac, where the tools
are separate processes asking separate daemons.

The values are estimates in the range Mac administrators see, not measurements from a Mac (none can be made here,
and no published run gives a tool's wall time). What each rests on (see ``evidence/notes/latency.md``):

- ``dscl`` on the local node asks opendirectoryd over XPC for records it keeps in memory: tens of milliseconds.
- ``sysadminctl`` loads the SystemAdministration and OpenDirectory frameworks and asks opendirectoryd for the
  account's authentication authorities before it logs one line; a published ``-secureTokenStatus`` run logs its
  two lines 51 ms apart after start-up (openradar 36163828), so the whole run is a few hundred milliseconds.
  Changes (a grant, a new account, a password reset) wrap keys in the Secure Enclave: about a second.
- ``fdesetup`` reads through the CoreStorage/APFS FileVault stack: status and list a few hundred milliseconds;
  changes (enable, add, changerecovery) re-wrap the volume keys: about a second and a half.
- ``diskutil apfs`` asks the DiskManagement framework and diskmanagementd to enumerate the container and its
  crypto users: about half a second.
- ``profiles`` asks mdmclient and the configuration-profile daemons over XPC: the slowest read, most of a second;
  escrowing the bootstrap token waits for the MDM server: two seconds.
- The small ones (``sw_vers``, ``uname``, ``sysctl``, ``dsmemberutil``, ``dseditgroup``) take milliseconds.
"""

from __future__ import annotations

PROFILES = ("none", "mac")

# tool -> [(argv words that must all be present, seconds)], first match wins; the entry with no words is the tool's.
MAC: dict[str, list[tuple[tuple[str, ...], float]]] = {
    "dscl": [((), 0.05)],
    "sysadminctl": [(("-secureTokenStatus",), 0.3), (("-secureTokenOn",), 1.0), (("-secureTokenOff",), 1.0),
                    (("-addUser",), 1.0), (("-deleteUser",), 1.0), (("-resetPasswordFor",), 1.0), ((), 0.3)],
    "fdesetup": [(("status",), 0.2), (("isactive",), 0.2), (("list",), 0.3), (("enable",), 1.5), (("add",), 1.5),
                 (("changerecovery",), 1.5), (("validaterecovery",), 0.4), (("disable",), 1.5), ((), 0.3)],
    "diskutil": [(("apfs",), 0.5), ((), 0.3)],
    "profiles": [(("install",), 2.0), (("validate",), 2.0), ((), 0.8)],
    "dsmemberutil": [((), 0.03)],
    "dseditgroup": [((), 0.05)],
    "sw_vers": [((), 0.01)],
    "uname": [((), 0.005)],
    "sysctl": [((), 0.005)],
}


def delay(profile: str, tool: str, argv: list) -> float:
    """Seconds ``tool argv`` takes to answer under ``profile`` (0 for ``none`` and for tools the profile omits)."""
    if profile != "mac":
        return 0.0
    for words, seconds in MAC.get(tool, []):
        if all(word in argv for word in words):
            return seconds
    return 0.0
