"""The evidence corpus: real published tool output, replayed on simulated Macs.

Each sample (``tools/macsim/evidence/*.yml``, format in that directory's README) names a tool run, the text
it printed, on which stream, with which exit code, and where it was published. A sample that carries a
``state`` is replayed: a host is built from that state, the tool runs in-process with the sample's argv, and the
output is compared with the published text after masking what differs between any two runs of the real tool
(timestamps, pids, UUIDs, recovery keys, dates, hashes). A sample marked ``expressible: false`` says ``why`` no
state can express it. ``macsim evidence`` prints ``N/M reproduced, K cannot be expressed``.
"""

from __future__ import annotations

import copy
import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from . import store
from .runtime import _FakeTty, run_tool
from .schema import StateError, Version
from .tools import IMPLS

CORPUS_DIR = Path(__file__).resolve().parents[2] / "evidence"
STREAMS = ("stdout", "stderr", "both", "unknown")
GRADES = ("A", "B", "C", "D")
# exact: the whole text; lines: the sample's lines are lines of the output, in order; substring: the sample is one
# contiguous piece of the output; fragments: each sample line appears in the output, in order (what expect does).
MATCHES = ("exact", "lines", "substring", "fragments")
REQUIRED = ("id", "tool", "argv", "stream", "grade", "source", "output")

# What differs between two runs of the real tool, and between a source's run and ours.
_MASKS = [
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (\w+)\[\d+(?::[0-9a-fA-Fx]+)?\] ", re.M),
     r"<time> \1[<pid>] "),
    (re.compile(r"\b[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){5}\b"), "<key>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\b"), "<date>"),
    (re.compile(r"\bSHA1\.[0-9A-Fa-f]{30,40}\b"), "SHA1.<hash>"),
    (re.compile(r"/BuildRoots/[^/\s]+/"), "/BuildRoots/<root>/"),
]


class CorpusError(ValueError):
    """A corpus file or sample does not follow the format; the message names the file and the sample."""


@dataclass
class Sample:
    id: str
    tool: str
    argv: list
    output: str
    stream: str
    grade: str
    source: str
    path: str
    exit_code: int | None = None
    macos: str | None = None
    arch: str | None = None
    state: dict | None = None
    expressible: bool = True
    why: str | None = None
    match: str = "exact"
    stdin: str = ""
    tty: str | None = None
    euid: int = 0
    masks: list = field(default_factory=list)
    source_altered: list = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def wired(self) -> bool:
        return self.state is not None and self.expressible


@dataclass
class Outcome:
    sample: Sample
    reproduced: bool
    detail: str = ""
    rc: int | None = None
    out: str = ""
    err: str = ""
    merged: str = ""


WIRING = ("state", "expressible", "why", "match", "stdin", "tty", "euid", "masks", "source_altered")
# How a source changed the tool's text when it published it (applied to macsim's output before comparing).
ALTERATIONS = {
    "expand_tabs": lambda text: text.expandtabs(8),
    "strip_nslog": lambda text: _MASKS[0][0].sub("", text),
    "strip_indent": lambda text: "\n".join(line.lstrip(" \t") for line in text.split("\n")),
    "sort_lines": lambda text: "\n".join(sorted(text.rstrip("\n").split("\n"))),  # piped through 'sort'
    # piped through 'sort -n -k2' by the author
    "sort_by_number": lambda text: "\n".join(sorted(text.rstrip("\n").split("\n"), key=_second_number)),
}


def _second_number(line: str) -> float:
    parts = line.split()
    try:
        return float(parts[1])
    except (IndexError, ValueError):
        return float("inf")


def load(directory: Path | str | None = None) -> list[Sample]:
    """Every sample of the corpus with its wiring (``wiring/*.yml``: state and replay details by sample id)."""
    base = Path(directory) if directory else CORPUS_DIR
    samples = _load_samples(base)
    by_id = {s.id: s for s in samples}
    for path in sorted((base / "wiring").glob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CorpusError(f"wiring/{path.name}: not valid YAML: {exc}") from exc
        for sample_id, fields in doc.items():
            if sample_id not in by_id:
                raise CorpusError(f"wiring/{path.name}: no sample {sample_id!r} in the corpus")
            unknown = sorted(set(fields or {}) - set(WIRING))
            if unknown:
                raise CorpusError(f"wiring/{path.name}: {sample_id}: unknown field {unknown[0]!r}; "
                                  f"allowed: {', '.join(WIRING)}")
            raw = dict(by_id[sample_id].raw, **(fields or {}))
            raw.setdefault("state", {})
            sample = _sample(raw, f"wiring/{path.name}")
            sample.path = by_id[sample_id].path
            by_id[sample_id] = sample
    return [by_id[s.id] for s in samples]


def _load_samples(base: Path) -> list[Sample]:
    samples: list[Sample] = []
    seen: dict[str, str] = {}
    for path in sorted(base.glob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path.name}: not valid YAML: {exc}") from exc
        for index, raw in enumerate(doc.get("samples") or []):
            sample = _sample(raw, f"{path.name}[{index}]")
            if sample.id in seen:
                raise CorpusError(f"{path.name}: sample id {sample.id!r} is used in {seen[sample.id]} too")
            seen[sample.id] = path.name
            sample.path = path.name
            samples.append(sample)
    return samples


def _sample(raw: dict, where: str) -> Sample:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a sample is a mapping")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise CorpusError(f"{where} ({raw.get('id', '?')}): missing {', '.join(missing)}")
    where = f"{where} ({raw['id']})"
    if raw["tool"] not in IMPLS:
        raise CorpusError(f"{where}: tool {raw['tool']!r} is not one macsim simulates ({', '.join(sorted(IMPLS))})")
    if raw["stream"] not in STREAMS:
        raise CorpusError(f"{where}: stream must be one of {', '.join(STREAMS)}")
    if raw["grade"] not in GRADES:
        raise CorpusError(f"{where}: grade must be one of {', '.join(GRADES)}")
    if not isinstance(raw["argv"], list):
        raise CorpusError(f"{where}: argv must be a list of words")
    if not isinstance(raw["output"], str):
        raise CorpusError(f"{where}: output must be text")
    match = raw.get("match", "exact")
    if match not in MATCHES:
        raise CorpusError(f"{where}: match must be one of {', '.join(MATCHES)}")
    if raw.get("expressible") is False and not raw.get("why"):
        raise CorpusError(f"{where}: a sample that cannot be expressed says why")
    for alteration in raw.get("source_altered") or []:
        if alteration not in ALTERATIONS and alteration != "stderr_first":
            raise CorpusError(f"{where}: source_altered {alteration!r} is not one of {', '.join(ALTERATIONS)}")
    return Sample(id=str(raw["id"]), tool=raw["tool"], argv=[str(a) for a in raw["argv"]], output=raw["output"],
                  stream=raw["stream"], grade=raw["grade"], source=str(raw["source"]), path="",
                  exit_code=raw.get("exit_code"), macos=None if raw.get("macos") is None else str(raw["macos"]),
                  arch=raw.get("arch"), state=raw.get("state"), expressible=raw.get("expressible", True),
                  why=raw.get("why"), match=match, stdin=raw.get("stdin", ""), tty=raw.get("tty"),
                  euid=int(raw.get("euid", 0)), masks=list(raw.get("masks") or []),
                  source_altered=list(raw.get("source_altered") or []), raw=raw)


def normalise(text: str, extra: Iterable[str] = ()) -> str:
    """The text with every run-to-run difference masked, line ends kept, the final newline dropped."""
    for pattern in extra:
        text = re.sub(pattern, "<masked>", text, flags=re.M)
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text.replace("\r\n", "\n").rstrip("\n")


def default_state(sample: Sample) -> dict:
    """The corpus default a sample's state is merged over: its macOS version and architecture where known
    (a version the state sets wins, and the architecture follows it unless the state sets one too)."""
    version = "14.6"
    if sample.macos and re.match(r"^\d+(\.\d+){0,2}$", sample.macos) and Version(sample.macos).at_least(10, 13):
        version = sample.macos
    version = str(((sample.state or {}).get("os") or {}).get("version") or version)
    v = Version(version)
    # An Intel T2 Mac where the source does not say: it has no volume-ownership rules to satisfy.
    arch = "apple_silicon" if sample.arch == "apple_silicon" else ("intel_pre_t2" if v.below(10, 13, 2)
                                                                   else "intel_t2")
    state = {"hostname": "evidence", "os": {"version": version}, "hardware": {"arch": arch},
             "remote_login_full_disk_access": True}
    if sample.raw.get("build"):
        state["os"]["build"] = str(sample.raw["build"])
    return state


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _TranscriptTty(_FakeTty):
    """A terminal whose screen is the merged transcript: prompts and the echo of what is typed land there."""

    def __init__(self, answers: str, screen: io.StringIO) -> None:
        super().__init__(answers)
        self.screen = screen

    def write(self, text: str) -> int:
        self.screen.write(text)
        return super().write(text)

    def echo(self, line: str) -> None:
        self.screen.write(line if line.endswith("\n") else line + "\n")


def run(sample: Sample, workdir: Path) -> Outcome:
    """Replay one wired sample on a fresh host under ``workdir``."""
    state = _merge(default_state(sample), sample.state or {})
    host = workdir / sample.id
    try:
        store.create_host(host, state)
    except StateError as exc:
        return Outcome(sample, False, f"its state is not valid: {exc}")
    out, err, merged = io.StringIO(), io.StringIO(), io.StringIO()
    # A merged sample captured through a pipe or a file gets stderr at once and stdout when its buffer flushes.
    both = sample.stream in ("both", "unknown") and "stderr_first" not in sample.source_altered
    tty = None
    if sample.tty is not None:
        tty = _TranscriptTty(sample.tty, merged) if both else _FakeTty(sample.tty)
    stdout, stderr = (merged, merged) if both else (out, err)
    rc = run_tool(sample.tool, str(host), sample.argv, IMPLS[sample.tool], stdin=io.StringIO(sample.stdin),
                  stdout=stdout, stderr=stderr, tty=tty if tty is not None else False, euid=sample.euid)
    printed = merged.getvalue() if both else (out.getvalue() if sample.stream == "stdout" else err.getvalue())
    if "stderr_first" in sample.source_altered:
        printed = err.getvalue() + out.getvalue()
    outcome = Outcome(sample, False, rc=rc, out=out.getvalue(), err=err.getvalue(), merged=merged.getvalue())
    for alteration in sample.source_altered:
        if alteration in ALTERATIONS:
            printed = ALTERATIONS[alteration](printed)
    got, want = normalise(printed, sample.masks), normalise(sample.output, sample.masks)
    if sample.match == "exact":
        same = got == want
    elif sample.match == "substring":
        same = want in got
    elif sample.match == "fragments":
        at, same = 0, True
        for piece in want.split("\n"):
            found = got.find(piece, at)
            if found < 0:
                same = False
                break
            at = found + len(piece)
    else:
        lines, at = got.split("\n"), 0
        same = True
        for line in want.split("\n"):
            try:
                at = lines.index(line, at) + 1
            except ValueError:
                same = False
                break
    if not same:
        outcome.detail = f"printed {printed!r}, published {sample.output!r}"
        return outcome
    if sample.exit_code is not None and rc != sample.exit_code:
        outcome.detail = f"exit code {rc}, published {sample.exit_code}"
        return outcome
    outcome.reproduced = True
    return outcome


@dataclass
class Score:
    outcomes: list
    unexpressible: list
    unwired: list

    @property
    def total(self) -> int:
        return len(self.outcomes) + len(self.unexpressible) + len(self.unwired)

    @property
    def reproduced(self) -> list:
        return [o for o in self.outcomes if o.reproduced]

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if not o.reproduced]

    def line(self) -> str:
        return (f"{len(self.reproduced)}/{self.total} reproduced, {len(self.unexpressible)} cannot be expressed"
                + (f", {len(self.unwired)} not yet given a state" if self.unwired else "")
                + (f", {len(self.failed)} differ" if self.failed else ""))


def score(samples: list[Sample] | None = None) -> Score:
    samples = load() if samples is None else samples
    outcomes, unexpressible, unwired = [], [], []
    with tempfile.TemporaryDirectory(prefix="macsim-evidence-") as tmp:
        for sample in samples:
            if not sample.expressible:
                unexpressible.append(sample)
            elif sample.state is None:
                unwired.append(sample)
            else:
                outcomes.append(run(sample, Path(tmp)))
    return Score(outcomes, unexpressible, unwired)


def per_tool(samples: list[Sample]) -> dict:
    """{tool: {verb: count}} where the verb is the first argv word (or the action option for sysadminctl)."""
    table: dict = {}
    for sample in samples:
        table.setdefault(sample.tool, {}).setdefault(verb(sample), 0)
        table[sample.tool][verb(sample)] += 1
    return table


def verb(sample: Sample) -> str:
    argv = sample.argv
    if sample.tool == "sysadminctl":
        from .tools.sysadminctl import ACTIONS

        actions = [a for a in argv if a in ACTIONS]
        return actions[0] if actions else "(usage)"
    if sample.tool in ("diskutil",) and len(argv) > 1:
        return " ".join(argv[:2]).lower()
    if sample.tool == "dscl":
        words = [a for a in argv if a.startswith("-") and a not in ("-plist", "-q", "-raw", "-url")]
        return words[0].lower() if words else "(usage)"
    if sample.tool == "profiles" and argv:
        kind = argv[argv.index("-type") + 1] if "-type" in argv[:-1] else ""
        return f"{argv[0]} {kind}".strip()
    return argv[0] if argv else "(no arguments)"
