# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX files (awx/): credential types, surveys, the awx.awx playbook and the pod spec, held to the shapes AWX
accepts and to the variables the playbooks read. Nothing here talks to AWX; the rules are the ones AWX's API applies
when these are created (credential type inputs and injectors, survey specs), written out below."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[3]
AWX = ROOT / "awx"
TYPES = sorted((AWX / "credential_types").glob("*.yml"))
SURVEYS = {p.stem: p for p in sorted((AWX / "surveys").glob("*.json"))}
NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# A custom credential type: inputs (fields, required) and injectors (file, env, extra_vars), nothing else.
FIELD_KEYS = {"id", "label", "type", "help_text", "secret", "multiline", "format", "choices", "default",
              "ask_at_runtime"}
STRING_ONLY = {"secret", "multiline", "format", "choices"}
# Survey question types, and the Python type a default of each must have.
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": (int, float)}


def load(path: Path):
    return yaml.safe_load(path.read_text())


def read_by_collection() -> str:
    """Every playbook, role task file and role defaults file: where a variable counts as read."""
    files = list((ROOT / "playbooks").glob("*.yml")) + list((ROOT / "roles").glob("*/tasks/*.yml")) \
        + list((ROOT / "roles").glob("*/defaults/main.yml"))
    return "\n".join(p.read_text() for p in files)


def test_the_files_are_there():
    assert [p.name for p in TYPES] == ["mac_admin.yml", "user_passwords.yml"]
    assert sorted(SURVEYS) == ["audit", "remediate", "report", "restart", "reveal_key"]


@pytest.mark.parametrize("path", TYPES, ids=lambda p: p.stem)
def test_credential_type_has_the_shape_awx_accepts(path):
    doc = load(path)
    assert set(doc) == {"name", "description", "kind", "inputs", "injectors"}
    assert doc["kind"] == "cloud"  # custom types are "cloud" or "net"
    assert isinstance(doc["name"], str) and doc["name"] and isinstance(doc["description"], str)
    inputs, injectors = doc["inputs"], doc["injectors"]
    assert set(inputs) <= {"fields", "required"} and set(injectors) <= {"file", "env", "extra_vars"}
    ids = []
    for field in inputs["fields"]:
        assert set(field) <= FIELD_KEYS, field
        assert {"id", "label"} <= set(field) and isinstance(field["label"], str)
        assert NAME.match(field["id"]) and field["id"] != "tower", field["id"]
        kind = field.get("type", "string")
        assert kind in ("string", "boolean")
        if kind != "string":
            assert not STRING_ONLY & set(field), field
        for flag in ("secret", "multiline", "ask_at_runtime"):
            assert isinstance(field.get(flag, False), bool)
        ids.append(field["id"])
    assert len(ids) == len(set(ids))
    assert set(inputs.get("required", [])) <= set(ids)
    for name in injectors.get("env", {}):
        assert NAME.match(name) and not name.startswith("ANSIBLE_")  # AWX refuses ANSIBLE_* from credentials
    for name in injectors.get("file", {}):
        assert re.match(r"^template(\.[a-zA-Z_][a-zA-Z0-9_]*)?$", name)
    # Every template renders with the fields alone (AWX refuses one that names an undefined field).
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for section in ("env", "extra_vars", "file"):
        for key, template in injectors.get(section, {}).items():
            assert isinstance(template, str), (section, key)
            sandbox.from_string(template).render({i: "EXAMPLE" for i in ids})


@pytest.mark.parametrize("path", TYPES, ids=lambda p: p.stem)
def test_credential_type_injects_what_the_playbooks_read_and_every_password_is_secret(path):
    doc = load(path)
    read = read_by_collection()
    extra_vars = doc["injectors"]["extra_vars"]
    for variable, template in extra_vars.items():
        assert variable.startswith("macops_") and re.search(r"\b%s\b" % variable, read), variable
        (field,) = re.findall(r"\{\{\s*(\w+)\s*\}\}", template)
        spec = next(f for f in doc["inputs"]["fields"] if f["id"] == field)
        assert spec.get("secret", False) is ("password" in variable), (variable, spec)
    assert all(f["id"] in doc["inputs"]["required"] for f in doc["inputs"]["fields"] if f.get("secret"))


def test_the_credential_types_cover_every_secret_input():
    injected = {v for p in TYPES for v in load(p)["injectors"]["extra_vars"]}
    assert injected == {"macops_admin_user", "macops_admin_password", "macops_user_passwords"}


def validate_survey(spec: dict) -> list:
    """The checks AWX's API applies to a posted survey spec; returns what it would refuse."""
    errors = []
    for key, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(key), kind):
            errors.append(f"{key} missing or not a {kind.__name__}")
    if errors:
        return errors
    if not spec["spec"]:
        errors.append("spec has no questions")
    seen = set()
    for index, question in enumerate(spec["spec"]):
        where = f"question {index}"
        if not isinstance(question, dict):
            errors.append(f"{where} is not an object")
            continue
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(question.get(key), kind):
                errors.append(f"{where}: {key} missing or not a {kind.__name__}")
        if errors:
            continue
        if question["variable"] in seen:
            errors.append(f"{where}: variable {question['variable']} repeated")
        seen.add(question["variable"])
        qtype = question["type"]
        if qtype not in SURVEY_TYPES:
            errors.append(f"{where}: unknown type {qtype}")
            continue
        default = question.get("default", "")
        if default != "" and (not isinstance(default, SURVEY_TYPES[qtype]) or isinstance(default, bool)):
            errors.append(f"{where}: default {default!r} is not a {qtype} answer")
        for key in ("min", "max"):
            limit = question.get(key)
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
                errors.append(f"{where}: {key} is not an integer")
        if qtype in ("multiplechoice", "multiselect"):
            choices = question.get("choices")
            if not choices:
                errors.append(f"{where}: {qtype} without choices")
            else:
                choices = choices.splitlines() if isinstance(choices, str) else choices
                defaults = default.splitlines() if isinstance(default, str) else default
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append(f"{where}: more than one default")
                if any(d not in choices for d in defaults):
                    errors.append(f"{where}: default not among the choices")
    return errors


def test_the_survey_validator_refuses_what_awx_refuses():
    good = {"type": "text", "question_name": "q", "variable": "v", "required": False}
    assert validate_survey({"name": "s", "description": "", "spec": [good]}) == []
    assert validate_survey({"name": "s", "spec": [good]}) == ["description missing or not a str"]
    assert validate_survey({"name": "s", "description": "", "spec": []}) == ["spec has no questions"]
    assert validate_survey({"name": "s", "description": "", "spec": [good, good]}) == [
        "question 1: variable v repeated"]
    assert validate_survey({"name": "s", "description": "", "spec": [dict(good, required="no")]}) == [
        "question 0: required missing or not a bool"]
    assert validate_survey({"name": "s", "description": "", "spec": [dict(good, type="integer", default="5")]}) == [
        "question 0: default '5' is not a integer answer"]
    assert validate_survey({"name": "s", "description": "", "spec": [
        dict(good, type="multiplechoice", choices=["a", "b"], default="c")]}) == [
        "question 0: default not among the choices"]


@pytest.mark.parametrize("name", ["audit", "remediate", "report", "reveal_key", "restart"])
def test_survey_is_one_awx_accepts_and_asks_only_for_what_the_playbook_reads(name):
    spec = json.loads(SURVEYS[name].read_text())
    assert validate_survey(spec) == []
    read = read_by_collection()
    for question in spec["spec"]:
        variable = question["variable"]
        assert NAME.match(variable) and re.search(r"\b%s\b" % variable, read), variable
        assert question["type"] != "password" and "password" not in variable  # secrets come from credentials
        assert question.get("question_description"), variable
        if question["type"] in ("integer", "float") and "default" in question:
            assert question.get("min", question["default"]) <= question["default"] <= question.get("max",
                                                                                                   question["default"])
        if question["type"] == "text" and question.get("default") is not None:
            assert question.get("min", 0) <= len(question["default"]) <= question.get("max", 1024)
    variables = {q["variable"] for q in spec["spec"]}
    if name == "report":
        assert variables == {"macops_report_dir"}  # the merge touches no Mac and needs nothing else
        return
    if name == "reveal_key":  # who reveals is AWX's own job user (awx_user_name), never a survey answer
        assert variables == {"macops_reveal_host", "macops_reveal_reason", "macops_escrow_dir"}
        assert all(q["required"] for q in spec["spec"]) and "macops_operator" not in variables
        return
    if name == "restart":  # a FileVault user's password comes from the administrator credential, never a survey
        assert variables == {"macops_hosts", "macops_restart_batch", "macops_escrow_dir", "macops_tool_timeout"}
        return
    assert {"macops_hosts", "macops_report_dir", "macops_managed_admins", "macops_tool_timeout"} <= variables
    if name == "remediate":
        escrow = next(q for q in spec["spec"] if q["variable"] == "macops_escrow_dir")
        assert escrow["required"] is True and escrow["default"].startswith("/var/lib/macops/")
        assert "macops_transient_wait" in variables
    else:
        assert "macops_escrow_dir" not in variables  # the audit writes no key


def tasks_using(play: dict, module: str) -> list:
    return [t for t in play["tasks"] if module in t]


def test_configure_playbook_matches_the_files_it_loads():
    (play,) = load(AWX / "configure.yml")
    assert play["hosts"] == "localhost" and play["gather_facts"] is False
    (types_task,) = tasks_using(play, "awx.awx.credential_type")
    loaded = [Path(item.replace("{{ macops_awx_types_dir }}", str(AWX / "credential_types"))) for item in
              types_task["loop"]]
    assert loaded == TYPES
    assert play["vars"]["macops_awx_types_dir"] == "{{ playbook_dir }}/credential_types"
    for key in ("name", "description", "kind", "inputs", "injectors"):
        assert f").{key} }}}}" in types_task["awx.awx.credential_type"][key]
    # One credential of each custom type, its inputs exactly the type's fields; and AWX's own Vault type for escrow.
    credentials = tasks_using(play, "awx.awx.credential")
    by_type = {}
    for task in credentials:
        args = task["awx.awx.credential"]
        assert task.get("no_log") is True, task["name"]  # the inputs are secrets
        match = re.search(r"'/(\w+\.yml)'\)", args["credential_type"])
        by_type[match.group(1) if match else args["credential_type"]] = args
    assert set(by_type) == {p.name for p in TYPES} | {"Vault"}
    for path in TYPES:
        fields = {f["id"] for f in load(path)["inputs"]["fields"]}
        assert set(by_type[path.name]["inputs"]) == fields, path.name
    assert set(by_type["Vault"]["inputs"]) == {"vault_id", "vault_password"}
    # The job templates run the two playbooks with the surveys from awx/surveys/ and the credentials made above.
    templates = {t["awx.awx.job_template"]["playbook"]: t["awx.awx.job_template"]
                 for t in tasks_using(play, "awx.awx.job_template")}
    assert set(templates) == {"playbooks/audit.yml", "playbooks/remediate.yml", "playbooks/report.yml",
                              "playbooks/reveal_key.yml", "playbooks/restart.yml"}
    for playbook, args in templates.items():
        assert (ROOT / playbook).is_file()
        assert args["survey_enabled"] is True and f"/surveys/{Path(playbook).stem}.json'" in args["survey_spec"]
        assert args["instance_groups"] == ["{{ macops_awx_container_group }}"]
    names = {args["name"] for args in by_type.values()}
    assert names <= set(templates["playbooks/remediate.yml"]["credentials"])
    assert not names & set(templates["playbooks/audit.yml"]["credentials"])  # the audit needs only SSH
    assert "credentials" not in templates["playbooks/report.yml"]  # the merge touches no Mac
    # Revealing needs the vault that decrypts the escrow and nothing that reaches a Mac.
    assert templates["playbooks/reveal_key.yml"]["credentials"] == [by_type["Vault"]["name"]]
    # Restarting needs the SSH key, a FileVault user (the administrator credential) and the vault for the key path.
    assert templates["playbooks/restart.yml"]["credentials"][1:] == ["macops.tokens Mac administrator",
                                                                     by_type["Vault"]["name"]]
    (group,) = tasks_using(play, "awx.awx.instance_group")
    assert "/kubernetes/container-group-pod-spec.yml'" in group["awx.awx.instance_group"]["pod_spec_override"]


def test_pod_spec_mounts_the_claim_where_the_surveys_put_escrow_and_reports():
    pod = load(AWX / "kubernetes" / "container-group-pod-spec.yml")
    claim = load(AWX / "kubernetes" / "macops-data-pvc.yml")
    assert pod["kind"] == "Pod" and claim["kind"] == "PersistentVolumeClaim"
    (volume,) = pod["spec"]["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert "ReadWriteMany" in claim["spec"]["accessModes"]  # slices run side by side
    worker = pod["spec"]["containers"][0]
    assert worker["args"] == ["ansible-runner", "worker", "--private-data-dir=/runner"]
    (mount,) = worker["volumeMounts"]
    assert mount["name"] == volume["name"]
    for survey in SURVEYS.values():
        for question in json.loads(survey.read_text())["spec"]:
            if question["variable"] in ("macops_escrow_dir", "macops_report_dir"):
                assert question["default"].startswith(mount["mountPath"] + "/")
    (init,) = pod["spec"]["initContainers"]
    assert init["volumeMounts"][0]["mountPath"] == mount["mountPath"] and "chmod 0700" in init["command"][-1]


def test_the_docs_show_the_pod_spec_and_the_credential_types_as_they_are():
    doc = (ROOT / "docs" / "awx.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.S)]
    assert load(AWX / "kubernetes" / "container-group-pod-spec.yml") in blocks
    for path in TYPES:
        doc_type = load(path)
        assert {"inputs": doc_type["inputs"], "injectors": doc_type["injectors"]} in blocks, path.name
    # The forks and slices table holds figures measured with `make bench`, not placeholders.
    assert "TODO" not in doc and "| 43 | 8 | 1 | 24.7 s" in doc and "| 468 | 16 | 1 | 294 s" in doc
