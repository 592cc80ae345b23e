"""docs/macos-rules.md: every rule a finding cites is explained there, and what it says is modelled or tested exists."""

from __future__ import annotations

import re
from pathlib import Path

from macsim import mac, schema

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "macos-rules.md").read_text(encoding="utf-8")
HEADINGS = re.findall(r"^### ((?:[RF]\d+[a-d]?)(?:, [RF]\d+[a-d]?)*) ·", DOC, re.M)


def _documented() -> set:
    codes = set()
    for heading in HEADINGS:
        codes.update(c.strip() for c in heading.split(","))
    return codes


def _expand(cited: str) -> set:
    out = set()
    for part in re.split(r",\s*", cited):
        span = re.match(r"^([RF])(\d+)-[RF]?(\d+)$", part.strip())
        if span:
            out.update(f"{span.group(1)}{n}" for n in range(int(span.group(2)), int(span.group(3)) + 1))
        elif part.strip():
            out.add(part.strip())
    return out


def test_every_rule_a_finding_cites_is_documented():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "plugins").rglob("*.py"))
    cited = set()
    for value in re.findall(r'"((?:[RF]\d+[a-d]?(?:-[RF]?\d+)?)(?:, (?:[RF]\d+[a-d]?(?:-[RF]?\d+)?))*)"', source):
        cited |= _expand(value)
    assert cited, "no rule codes found in plugins/"
    missing = sorted(cited - _documented(), key=lambda c: (c[0], int(re.sub(r"\D", "", c)), c))
    assert missing == [], f"rules cited by the collection but not in docs/macos-rules.md: {missing}"


def test_every_rule_of_the_behaviour_reference_has_a_section():
    expected = {f"R{n}" for n in range(1, 61)} | {"R29a", "R29b", "R29c", "R29d"} | {f"F{n}" for n in range(1, 10)}
    assert expected - _documented() == set()


def test_the_functions_and_tests_it_names_exist():
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tools" / "macsim" / "tests").glob("test_*.py"))
    for name in set(re.findall(r"`(test_[a-z0-9_]+)`", DOC)):
        assert f"def {name}(" in tests, f"docs/macos-rules.md names {name}, which is not a test"
    for name in set(re.findall(r"`Mac\.([a-z_]+)`", DOC)):
        assert hasattr(mac.Mac, name), f"docs/macos-rules.md names Mac.{name}, which does not exist"
    for name in set(re.findall(r"option `([a-z_0-9]+)`", DOC)) | set(re.findall(r"options `([a-z_0-9]+)`", DOC)):
        assert name in schema.OPTIONS, f"docs/macos-rules.md names option {name}, which macsim does not have"


def test_every_option_is_named_in_the_rules_or_the_evidence():
    evidence = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tools" / "macsim" / "evidence").rglob("*.yml"))
    for name in schema.OPTIONS:
        assert name in DOC or name in evidence, f"option {name} is neither in docs/macos-rules.md nor used by a sample"
