"""The golden test: every real published sample of the evidence corpus, replayed on a simulated Mac.

A sample with a state must be reproduced exactly (apart from timestamps, pids, UUIDs, keys and dates) on its
stream, with its exit code when the source shows one. A sample no state can express says why. The collection's
parser for the verb must read the published text itself and give the same answer for macsim's output.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from macsim import evidence, texts

SAMPLES = evidence.load()
BY_ID = {s.id: s for s in SAMPLES}
ROOT = Path(__file__).resolve().parents[3]


def _collection_parsers():
    path = ROOT / "plugins" / "module_utils" / "_parsers.py"
    spec = importlib.util.spec_from_file_location("macops_parsers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _collection_parsers()


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.wired], ids=lambda s: s.id)
def test_sample_is_reproduced(sample, tmp_path):
    outcome = evidence.run(sample, tmp_path)
    assert outcome.reproduced, outcome.detail


def test_every_sample_has_a_state_or_says_why():
    assert [s.id for s in SAMPLES if s.expressible and s.state is None] == []
    assert all(s.why for s in SAMPLES if not s.expressible)


def test_every_sample_names_its_source_and_grade():
    for sample in SAMPLES:
        assert sample.source.strip() and sample.grade in evidence.GRADES, sample.id
        assert re.match(r"^[a-z0-9][A-Za-z0-9_.+-]*$", sample.id), sample.id
        assert sample.id.startswith(sample.tool.replace("python3", "python3")), sample.id


# The verbs the collection runs, with at least three independent samples each where public ones exist.
COLLECTION_VERBS = {
    ("sw_vers", "(no arguments)"), ("uname", "-m"), ("sysctl", "-n"), ("diskutil", "apfs listcryptousers"),
    ("fdesetup", "status"), ("fdesetup", "list"), ("fdesetup", "haspersonalrecoverykey"),
    ("fdesetup", "hasinstitutionalrecoverykey"), ("fdesetup", "showdeferralinfo"), ("fdesetup", "validaterecovery"),
    ("fdesetup", "enable"), ("fdesetup", "add"), ("fdesetup", "changerecovery"), ("fdesetup", "disable"),
    ("profiles", "status enrollment"), ("profiles", "status bootstraptoken"), ("profiles", "install bootstraptoken"),
    ("profiles", "validate bootstraptoken"), ("dscl", "-authonly"), ("dscl", "-read"),
    ("sysadminctl", "-secureTokenOn"), ("diskutil", "apfs updatepreboot"), ("dseditgroup", "-o"),
}
# Verbs with fewer public samples than three: what was searched is in evidence/notes/<tool>.md.
FEWER_THAN_THREE = {
    ("fdesetup", "haspersonalrecoverykey"): "only the 10.15.6 report prints it; scripts compare to 'true'",
    ("fdesetup", "hasinstitutionalrecoverykey"): "a 10.15.6 report and one script",
    ("fdesetup", "showdeferralinfo"): "one report and one script; no sample with a user name was found",
    ("sysadminctl", "-secureTokenOn"): "no complete successful run is published; only mkuser's '] - Done!' match",
}


def _count(tool: str, verb: str) -> int:
    names = {"-authonly": ("-authonly", "authonly"), "-read": ("-read", "read")}
    wanted = names.get(verb, (verb,))
    return sum(1 for s in SAMPLES if s.tool == tool and evidence.verb(s).lower().lstrip("-") in
               {w.lower().lstrip("-") for w in wanted})


def test_corpus_size_and_coverage_of_the_verbs_the_collection_runs():
    assert len(SAMPLES) >= 150
    thin = {key: _count(*key) for key in COLLECTION_VERBS if _count(*key) < 3}
    assert set(thin) <= set(FEWER_THAN_THREE), thin
    assert all(_count(*key) >= 1 for key in COLLECTION_VERBS), {k: _count(*k) for k in COLLECTION_VERBS}


def test_attested_texts_cite_the_corpus_or_a_named_source():
    ids = set(BY_ID)
    for entry in texts.REGISTRY.values():
        if entry.invented:
            continue
        cited = [word.strip(",") for word in entry.source.split()
                 if re.match(r"^[a-z0-9_]+(-[A-Za-z0-9.+_]+)+,?$", word)
                 and any(word.startswith(t) for t in ("sysadminctl-", "fdesetup-", "profiles-", "diskutil-",
                                                      "dscl-", "dsmemberutil-", "dseditgroup-", "sw_vers-",
                                                      "uname-", "sysctl-", "python3-", "shutdown-"))]
        assert cited or "evidence/notes/" in entry.source or "fdesetup(8)" in entry.source, entry.key
        assert set(cited) <= ids, (entry.key, set(cited) - ids)


def _placeholders_removed(text: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "\0", text)


def _longest_common(a: str, b: str) -> str:
    best = ""
    for i in range(len(a)):
        for j in range(i + len(best) + 1, len(a) + 1):
            if a[i:j] in b:
                best = a[i:j]
            else:
                break
    return best


# Attested conventions every tool's texts share: its name and the prefixes its real errors carry.
GLOBAL_KEEP = ("sysadminctl", "fdesetup", "profiles: ", "diskutil", "dscl", "dsmemberutil", "dseditgroup", "sw_vers",
               "uname", "sysctl", "Error: ")


@pytest.mark.parametrize("entry", texts.invented(), ids=lambda t: t.key)
def test_alternative_wording_shares_nothing_the_collection_could_match(entry):
    """An invented text and its alternative share no run of six characters or more, apart from the attested
    fragments it names (keep) and placeholders: a module that matched either would fail under the other."""
    text, alt = _placeholders_removed(entry.text), _placeholders_removed(entry.alt)
    for fragment in entry.keep + GLOBAL_KEEP:
        text, alt = text.replace(fragment, "\0"), alt.replace(fragment, "\0")
    common = _longest_common(text, alt).strip("\0 ")
    assert len(common) < 6, f"{entry.key}: {common!r} is in both wordings"


# ---- the collection's parsers on the published text ------------------------------------------------------------
def _parser_for(sample):
    argv = sample.argv
    if sample.tool == "sysadminctl" and "-secureTokenStatus" in argv:
        return P.parse_secure_token_status
    if sample.tool == "fdesetup" and argv[:1] == ["status"]:
        return P.parse_fdesetup_status
    if sample.tool == "fdesetup" and argv[:1] == ["list"]:
        return P.parse_fdesetup_list
    if sample.tool == "fdesetup" and argv[:1] in (["isactive"], ["haspersonalrecoverykey"],
                                                  ["hasinstitutionalrecoverykey"], ["supportsauthrestart"],
                                                  ["usingrecoverykey"]):
        return P.parse_fdesetup_bool
    if sample.tool == "fdesetup" and argv[:1] == ["showdeferralinfo"]:
        return P.parse_showdeferralinfo
    if sample.tool == "profiles" and argv[:3] == ["status", "-type", "bootstraptoken"]:
        return P.parse_bootstrap_status
    if sample.tool == "profiles" and argv[:3] == ["status", "-type", "enrollment"]:
        return P.parse_enrollment_status
    if sample.tool == "diskutil" and len(argv) > 1 and argv[1].lower() in ("listcryptousers", "listusers", "listkeys"):
        return P.parse_crypto_users_plist if "-plist" in argv else P.parse_crypto_users
    if sample.tool == "dsmemberutil":
        return P.parse_dsmemberutil
    if sample.tool == "dseditgroup" and "checkmember" in argv:
        return P.parse_dseditgroup_checkmember
    if sample.tool == "sw_vers" and not argv:
        return P.parse_sw_vers
    if sample.tool == "uname" and argv == ["-m"] or sample.tool == "sysctl" and argv[:1] == ["-n"]:
        return P.parse_single_value
    if sample.tool == "dscl" and any(a in ("-read", "read") for a in argv):
        return P.parse_dscl_read
    return None


def _parsed(parser, text):
    try:
        return ("ok", _normalised(parser(text)))
    except P.ParseError as exc:
        return ("error", exc.parser)


def _normalised(value):
    """UUIDs and keys differ between the published run and macsim's; compare the rest."""
    return evidence.normalise(repr(value))


PARSED = [s for s in SAMPLES if s.wired and s.match == "exact" and not s.masks and _parser_for(s) is not None]


@pytest.mark.parametrize("sample", PARSED, ids=lambda s: s.id)
def test_the_collections_parser_reads_the_published_text_as_it_reads_macsim(sample, tmp_path):
    parser = _parser_for(sample)
    outcome = evidence.run(sample, tmp_path)
    shown = outcome.merged if sample.stream in ("both", "unknown") else (
        outcome.out if sample.stream == "stdout" else outcome.err)
    if "stderr_first" in sample.source_altered:
        shown = outcome.err + outcome.out
    published = sample.output
    if sample.tool == "dscl":  # the collection reads dscl's stdout only: drop the stderr lines of merged texts
        def stdout_only(text):
            return "\n".join(line for line in text.split("\n") if not line.startswith(("No such key:", "<dscl_cmd>")))
        shown, published = stdout_only(shown), stdout_only(published)
    assert _parsed(parser, published) == _parsed(parser, shown)


@pytest.mark.parametrize("sample_id,expected", [
    ("fdesetup-status-on-masterkeychain-ttg-10.15.6", {"enabled": True, "master_keychain": True}),
    ("fdesetup-status-off-deferred-inspec", {"enabled": False, "deferred_user": "FVUSER"}),
    ("fdesetup-status-encrypting-pending-jamf-ea", {"enabled": True, "encrypting": True, "percent": None}),
    ("fdesetup-status-off-needs-restart-munkireport", {"enabled": False, "restart_pending": True}),
    ("profiles-bt-status-unsupported-one-line-ttg-10.15.6", {"supported": False}),
    ("profiles-bt-status-not-supported-on-server-kendall", {"supported": False, "allowed": False}),
    ("profiles-bt-status-is-supported-escrowed-on-super-62", {"supported": True, "escrowed": False}),
    ("diskutil-listcryptousers-none-tokenrabbit", []),
])
def test_the_collections_parser_gets_the_meaning_right(sample_id, expected):
    sample = BY_ID[sample_id]
    value = _parser_for(sample)(sample.output)
    if isinstance(expected, dict):
        assert {k: value[k] for k in expected} == expected
    else:
        assert value == expected
