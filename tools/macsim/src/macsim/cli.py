"""The ``macsim`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from . import fleet, schema, texts
from .mac import Mac, set_path
from .store import HostStore, create_host
from .tools import IMPLS, run

DEFAULT_WORKDIR = os.environ.get("MACSIM_WORKDIR", ".macsim/fleet")


def _host(args: argparse.Namespace) -> HostStore:
    return HostStore(fleet.host_dir(args.workdir, args.host))


def cmd_scenarios(args: argparse.Namespace) -> int:
    for name in fleet.scenario_names():
        doc = fleet.load_scenario(name)
        print(f"{name}: {doc['description']}")
        if args.verbose:
            for host, info in doc["hosts"].items():
                state = info["state"]
                print(f"  {host}: macOS {state['os']['version']} {state['hardware']['arch']} - {info['situation']}")
    return 0


def cmd_fleet_up(args: argparse.Namespace) -> int:
    manifest = fleet.up(args.scenario, args.workdir, inventory=args.inventory, alt_wording=args.alt_wording,
                        port=args.port, subnet=args.subnet, latency=args.latency)
    for host in manifest["hosts"]:
        print(f"{host['name']}: {host['user']}@{host['address']}:{host['port']} python={host['python']}")
    if args.inventory:
        print(f"inventory written to {args.inventory}")
    return 0


def cmd_fleet_down(args: argparse.Namespace) -> int:
    stopped = fleet.down(args.workdir, purge=args.purge)
    print(f"stopped {len(stopped)} process(es)" if stopped else "no fleet was running")
    return 0


def cmd_fleet_status(args: argparse.Namespace) -> int:
    manifest = fleet.load_manifest(args.workdir)
    for host in manifest["hosts"]:
        alive = "up" if fleet._alive(host["pid"]) else "DOWN"
        try:
            phase = HostStore(host["dir"]).load()["boot"]["phase"]
        except schema.StateError:
            phase = "?"
        print(f"{host['name']}\t{host['address']}\t{alive}\t{phase}\t{host['dir']}")
    return 0


def _live(args: argparse.Namespace, store: HostStore) -> bool:
    """Whether the host is a Mac of a running fleet (its supervisor restarts it live)."""
    from . import boot

    return boot.supervised(store.dir)


def cmd_event(args: argparse.Namespace) -> int:
    store = _host(args)
    if args.event == "reboot" and _live(args, store):
        from . import boot

        boot.request(store.dir, "restart", "macsim reboot")
        store.append_log({"tool": "macsim", "argv": ["macsim", "reboot"], "rules": ["restart requested (live)"],
                          "exit_code": 0})
        print(f"{args.host}: restarting (macsim state {args.host} shows boot.phase)")
        return 0
    with store.transaction() as state:
        mac = Mac(state)
        notes = mac.settle()
        before = mac.crypto_ids()
        if args.event == "reboot":
            notes += mac.reboot()
        elif args.event == "advance":
            notes += mac.advance(parse_duration(args.duration))
            due = state["boot"]["restart_at"]
            if due is not None and mac.now() >= due and not _live(args, store):
                notes += ["scheduled restart"] + mac.reboot()
        elif args.event == "setup-assistant":
            try:
                notes += mac.setup_assistant_user(args.user, args.password, args.admin, args.full_name)
            except ValueError as exc:
                raise fleet.FleetError(str(exc))
        else:
            user = mac.find(args.user, include_network=True)
            if user is None:
                raise fleet.FleetError(f"no user {args.user!r} on {args.host}")
            if args.event == "login":
                notes += mac.login(user, graphical=args.graphical)
            else:
                notes += mac.logout(user)
        mac.sync_crypto_order(before)
    extra = [args.duration] if args.event == "advance" else ([args.user] if args.user else [])
    store.append_log({"tool": "macsim", "argv": ["macsim", args.event] + extra,
                      "rules": notes, "exit_code": 0})
    for note in notes:
        print(note)
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """A password typed at the FileVault login window of a locked Mac (the console, not SSH)."""
    if not args.password_stdin:
        raise fleet.FleetError("macsim unlock reads the password from standard input: give --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    store = _host(args)
    live = _live(args, store)
    with store.transaction() as state:
        mac = Mac(state)
        phase = state["boot"]["phase"]
        if phase in ("locked", "preboot_ssh") and args.user is None:
            users = [u["name"] for u in mac.fv_users() if u["in_preboot"]]
            name = next((u for u in users if mac.password_ok(mac.find(u), password)), users[0] if users else None)
        else:
            name = args.user
        result = mac.unlock(name, password, "console")
        if result == "unlocked" and not live:
            state["boot"]["phase"] = "up"
    store.append_log({"tool": "macsim", "argv": ["macsim", "unlock"] + ([args.user] if args.user else []),
                      "rules": [f"unlock at the FileVault login window: {result}"], "stdin_bytes": len(password),
                      "exit_code": 0 if result == "unlocked" else 1})
    if result == "unlocked" and live:
        from . import boot

        boot.request(store.dir, "unlock", "console")
    messages = {"unlocked": "unlocked at the FileVault login window; macOS is starting",
                "refused": "the password was refused", "locked_out": "too many failed attempts: refused",
                "not_locked": f"not at the FileVault login window (boot phase {phase})"}
    print(f"{args.host}: {messages[result]}", file=sys.stdout if result == "unlocked" else sys.stderr)
    return 0 if result == "unlocked" else 1


def cmd_exec(args: argparse.Namespace) -> int:
    if args.tool not in IMPLS:
        raise fleet.FleetError(f"unknown tool {args.tool!r}; one of {', '.join(sorted(IMPLS))}")
    return run(args.tool, fleet.host_dir(args.workdir, args.host), args.args)


def cmd_state(args: argparse.Namespace) -> int:
    print(json.dumps(_host(args).load(), indent=2, sort_keys=True))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    store = _host(args)
    with store.transaction() as state:
        for assignment in args.assignments:
            path, sep, raw = assignment.partition("=")
            if not sep:
                raise fleet.FleetError(f"{assignment!r}: write FIELD=VALUE, e.g. mdm.reachable=false")
            set_path(state, path, yaml.safe_load(raw))
        schema.validate(json.loads(json.dumps(state)))
    return 0


def cmd_fault(args: argparse.Namespace) -> int:
    store = _host(args)
    with store.transaction() as state:
        if args.fault_cmd == "clear":
            state["faults"] = []
        else:
            fault = {"tool": args.tool, "kind": args.kind, "match": args.match or [], "times": args.times}
            if args.seconds is not None:
                fault["seconds"] = args.seconds
            if args.exit_code is not None:
                fault["exit_code"] = args.exit_code
            if args.stdout is not None:
                fault["stdout"] = args.stdout
            if args.stderr is not None:
                fault["stderr"] = args.stderr
            state["faults"].append(fault)
            schema.validate(json.loads(json.dumps(state)))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    for record in _host(args).invocations():
        print(json.dumps(record, sort_keys=True))
    return 0


def cmd_host_create(args: argparse.Namespace) -> int:
    doc = fleet.load_scenario(args.scenario)
    if args.name not in doc["hosts"]:
        raise fleet.FleetError(f"scenario {args.scenario} has no host {args.name!r}; it has "
                               f"{', '.join(doc['hosts'])}")
    state = doc["hosts"][args.name]["state"]
    state["sim"]["alt_wording"] = args.alt_wording
    create_host(args.directory, state)
    print(args.directory)
    return 0


def cmd_schema(_args: argparse.Namespace) -> int:
    print(schema.describe())
    return 0


def cmd_options(_args: argparse.Namespace) -> int:
    for name, option in schema.OPTIONS.items():
        values = "|".join(str(v).lower() if isinstance(v, bool) else str(v) for v in option.values())
        print(f"{name} (default {option.default!r}; {values})\n  {option.doc}\n  sources: {option.sources}")
    return 0


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '2h', '1d' or '1h30m' -> seconds."""
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise fleet.FleetError(f"{text!r} is not a duration: write 90s, 15m, 2h, 1d or 1h30m")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * scale[u] for n, u in parts)


def cmd_texts(args: argparse.Namespace) -> int:
    for entry in texts.REGISTRY.values():
        if args.invented and not entry.invented:
            continue
        origin = "INVENTED" if entry.invented else f"attested: {entry.source}"
        print(f"{entry.key}\t{origin}\n  {entry.text!r}" + (f"\n  alt: {entry.alt!r}" if entry.invented else ""))
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from . import evidence

    samples = evidence.load(args.corpus)
    if args.only:
        samples = [s for s in samples if s.id in args.only or s.tool in args.only]
    result = evidence.score(samples)
    if args.verbose:
        for tool, verbs in sorted(evidence.per_tool(samples).items()):
            print(f"{tool}: " + ", ".join(f"{v} {n}" for v, n in sorted(verbs.items())))
    for outcome in result.failed:
        print(f"DIFFERS {outcome.sample.id} ({outcome.sample.path}): {outcome.detail}")
    for sample in result.unexpressible:
        print(f"CANNOT  {sample.id}: {sample.why}")
    for sample in result.unwired:
        print(f"NO STATE {sample.id}")
    print(f"macsim evidence: {result.line()}")
    return 1 if result.failed or result.unwired else 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate

    accounts = tuple(int(n) for n in args.accounts.split("-", 1)) if args.accounts else None
    print(yaml.safe_dump(generate(args.count, args.seed, accounts=accounts), sort_keys=False))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="macsim",
                                description="Simulated Macs for testing macOS chain-of-trust automation.")
    p.add_argument("--workdir", default=DEFAULT_WORKDIR, help="fleet work directory (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scenarios", help="list the shipped scenarios")
    s.add_argument("-v", "--verbose", action="store_true", help="also list each scenario's hosts")
    s.set_defaults(func=cmd_scenarios)

    f = sub.add_parser("fleet", help="bring a fleet of simulated Macs up or down")
    fsub = f.add_subparsers(dest="fleet_cmd", required=True)
    fu = fsub.add_parser("up", help="start every Mac of a scenario as its own sshd")
    fu.add_argument("scenario", help="a shipped scenario name, a YAML path, or generated:COUNT[:SEED[:MIN-MAX]] "
                                     "(MIN-MAX: accounts per Mac)")
    fu.add_argument("--inventory", help="write an Ansible inventory here")
    fu.add_argument("--alt-wording", action="store_true", help="replace every invented text with its alternative")
    fu.add_argument("--latency", choices=("none", "mac"),
                    help="each tool's answer time on every Mac (sim.latency; mac: as on a Mac, see macsim.latency)")
    fu.add_argument("--port", type=int, default=22)
    fu.add_argument("--subnet", help="loopback /24 to use, e.g. 127.77.20 (default: the first free one)")
    fu.set_defaults(func=cmd_fleet_up)
    fd = fsub.add_parser("down", help="stop every process of the fleet")
    fd.add_argument("--purge", action="store_true", help="also delete the work directory")
    fd.set_defaults(func=cmd_fleet_down)
    fsub.add_parser("status", help="list the fleet's hosts").set_defaults(func=cmd_fleet_status)

    for event in ("login", "logout"):
        e = sub.add_parser(event, help=f"a user's {event} on a simulated Mac (applies the {event}-time rules)")
        e.add_argument("host")
        e.add_argument("user")
        if event == "login":
            e.add_argument("--graphical", action="store_true", help="a login at the login window")
        e.set_defaults(func=cmd_event, event=event, graphical=False)
    sa = sub.add_parser("setup-assistant", help="Setup Assistant creates a user's account (token, owner, bootstrap)")
    sa.add_argument("host")
    sa.add_argument("user")
    sa.add_argument("--password", required=True)
    sa.add_argument("--full-name")
    sa.add_argument("--admin", action="store_true")
    sa.set_defaults(func=cmd_event, event="setup-assistant")
    r = sub.add_parser("reboot", help="restart a simulated Mac (a fleet's Mac restarts live: its SSH sessions drop, "
                                      "port 22 closes for boot.seconds, then it boots as its FileVault state says)")
    r.add_argument("host")
    r.add_argument("--workdir", default=argparse.SUPPRESS, help="fleet work directory (as before the command)")
    r.set_defaults(func=cmd_event, event="reboot", user=None)
    u = sub.add_parser("unlock", help="type a FileVault user's password at the FileVault login window of a locked "
                                      "Mac (boot.phase locked or preboot_ssh); macOS then boots")
    u.add_argument("host")
    u.add_argument("--password-stdin", action="store_true", help="read the password from standard input (required)")
    u.add_argument("--user", help="the account to unlock as (default: the FileVault user whose password it is)")
    u.add_argument("--workdir", default=argparse.SUPPRESS, help="fleet work directory (as before the command)")
    u.set_defaults(func=cmd_unlock)
    adv = sub.add_parser("advance", help="move a simulated Mac's clock forward (encryption progresses, scheduled "
                                         "changes happen): DURATION such as 90s, 15m, 2h, 1d")
    adv.add_argument("host")
    adv.add_argument("duration")
    adv.set_defaults(func=cmd_event, event="advance", user=None)

    x = sub.add_parser("exec", help="run a simulated tool on a host directly, without SSH")
    x.add_argument("host")
    x.add_argument("tool")
    x.add_argument("args", nargs=argparse.REMAINDER)
    x.set_defaults(func=cmd_exec)

    st = sub.add_parser("state", help="print a host's state (boot: the phase, boots, how this boot was unlocked)")
    st.add_argument("host")
    st.add_argument("--workdir", default=argparse.SUPPRESS, help="fleet work directory (as before the command)")
    st.set_defaults(func=cmd_state)
    se = sub.add_parser("set", help="change a host's state: FIELD=VALUE (YAML value), e.g. mdm.reachable=false")
    se.add_argument("host")
    se.add_argument("assignments", nargs="+")
    se.set_defaults(func=cmd_set)
    lg = sub.add_parser("log", help="print a host's invocation log (JSON lines)")
    lg.add_argument("host")
    lg.set_defaults(func=cmd_log)

    fl = sub.add_parser("fault", help="inject or clear faults")
    flsub = fl.add_subparsers(dest="fault_cmd", required=True)
    fa = flsub.add_parser("add")
    fa.add_argument("host")
    fa.add_argument("--tool", required=True, choices=schema.TOOLS)
    fa.add_argument("--kind", required=True, choices=schema.FAULT_KINDS)
    fa.add_argument("--match", action="append", help="an argv word that must be present (repeatable); write "
                    "--match=-word for words that start with a dash")
    fa.add_argument("--seconds", type=float)
    fa.add_argument("--exit-code", type=int)
    fa.add_argument("--stdout")
    fa.add_argument("--stderr")
    fa.add_argument("--times", type=int, default=-1)
    fa.set_defaults(func=cmd_fault)
    fc = flsub.add_parser("clear")
    fc.add_argument("host")
    fc.set_defaults(func=cmd_fault)

    hc = sub.add_parser("host", help="create a single host directory (no SSH) from a scenario")
    hsub = hc.add_subparsers(dest="host_cmd", required=True)
    hcc = hsub.add_parser("create")
    hcc.add_argument("directory")
    hcc.add_argument("--scenario", required=True)
    hcc.add_argument("--name", required=True, help="the scenario host to copy")
    hcc.add_argument("--alt-wording", action="store_true")
    hcc.set_defaults(func=cmd_host_create)

    sub.add_parser("schema", help="describe the state schema").set_defaults(func=cmd_schema)
    sub.add_parser("options", help="list the state options: where sources disagree or are silent").set_defaults(
        func=cmd_options)
    t = sub.add_parser("texts", help="list every text the tools print, attested or invented")
    t.add_argument("--invented", action="store_true")
    t.set_defaults(func=cmd_texts)
    ev = sub.add_parser("evidence", help="replay the evidence corpus (real published output) and score macsim")
    ev.add_argument("--corpus", help="a corpus directory (default: the one shipped with macsim)")
    ev.add_argument("--only", nargs="+", help="sample ids or tool names")
    ev.add_argument("-v", "--verbose", action="store_true", help="also count the samples per tool and verb")
    ev.set_defaults(func=cmd_evidence)
    g = sub.add_parser("generate", help="print a generated scenario of COUNT Macs")
    g.add_argument("count", type=int)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--accounts", metavar="MIN-MAX", help="accounts per Mac, drawn between MIN and MAX (e.g. 2-40)")
    g.set_defaults(func=cmd_generate)
    return p


def main(argv: list | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (fleet.FleetError, schema.StateError, ValueError) as exc:
        print(f"macsim: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
