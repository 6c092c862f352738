"""The JSON Schemas (schemas/*.schema.json) and documents/schema.py, against the real corpus."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ksi_patterns.documents.resources import schemas_dir
from ksi_patterns.documents.schema import (
    SCHEMA_FILES,
    DocumentKind,
    SchemaViolation,
    _most_relevant,
    kind_of,
    load_schema,
    schema_id,
    schema_violations,
    shown_path,
    validator_for,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "ksi-5a58af6"
FORBIDDEN_KEYWORDS = {"unevaluatedProperties", "unevaluatedItems", "prefixItems", "$dynamicRef"}

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


# --- helpers ---------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Dates and datetimes (unquoted timestamps) as ISO 8601 strings, as the schemas expect."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def load_yaml(path: Path) -> Any:
    """Load with the fast safe loader; fall back to the pure-Python one where libyaml refuses.

    libyaml (YAML 1.1) rejects plain scalars with ':' inside flow sequences, e.g.
    `[file:delete, config:reload]`, which YAML 1.2 and ruamel's pure parser accept: two corpus
    profiles (composition_editor, schema_manager) are written that way.
    """
    text = path.read_text(encoding="utf-8")
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError:
        data = YAML(typ="safe", pure=True).load(text)
    return plain(data)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.rglob("*.yaml"))


def expected_kind(path: Path, data: Any) -> DocumentKind:
    """What a corpus file is, from where it lives and what it holds (not from kind_of)."""
    relative = path.relative_to(CORPUS)
    if relative.parts[0] == "profiles":
        return DocumentKind.PROFILE
    assert relative.parts[0] == "orchestrations", relative
    if isinstance(data, list):
        assert path.name.endswith("_decisions.yaml"), relative
        return DocumentKind.DECISION_LOG
    return DocumentKind.PATTERN


def walk_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_keys(item)


def walk_property_schemas(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every (location, subschema) found under a `properties` keyword."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, subschema in value.items():
                    yield f"{where}.{name}", subschema
                    yield from walk_property_schemas(subschema, f"{where}.{name}")
            else:
                yield from walk_property_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk_property_schemas(item, f"{where}[{index}]")


def messages(data: object, kind: DocumentKind) -> list[str]:
    return [violation.message for violation in schema_violations(data, kind)]


def pattern(**fields: Any) -> dict[str, Any]:
    return {"name": "demo", "type": "orchestration", "version": "1.0.0", **fields}


def profile(**fields: Any) -> dict[str, Any]:
    return {"name": "demo_agent", "type": "profile", "version": "1.0.0", **fields}


# --- the corpus ------------------------------------------------------------------------------


@needs_corpus
def test_corpus_is_complete() -> None:
    files = corpus_files()
    kinds = [expected_kind(path, load_yaml(path)) for path in files]
    assert len(files) == 83
    assert kinds.count(DocumentKind.PATTERN) == 35
    assert kinds.count(DocumentKind.DECISION_LOG) == 6
    assert kinds.count(DocumentKind.PROFILE) == 42


@needs_corpus
@pytest.mark.parametrize(
    "path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)) if CORPUS.is_dir() else str(p)
)
def test_corpus_file_validates_as_what_it_is(path: Path) -> None:
    data = load_yaml(path)
    kind = expected_kind(path, data)
    assert kind_of(data, path.name) is kind
    assert schema_violations(data, kind) == []


@needs_corpus
def test_stress_test_decisions_is_a_pattern_despite_its_name() -> None:
    path = CORPUS / "orchestrations" / "stress_test_decisions.yaml"
    data = load_yaml(path)
    assert isinstance(data, dict)
    assert kind_of(data, path.name) is DocumentKind.PATTERN
    assert schema_violations(data, DocumentKind.PATTERN) == []
    assert schema_violations(data, DocumentKind.DECISION_LOG) != []


@needs_corpus
def test_corpus_pattern_fails_as_a_profile_with_a_clear_message() -> None:
    data = load_yaml(CORPUS / "orchestrations" / "debate.yaml")
    assert messages(data, DocumentKind.PROFILE) == ["type: must be 'profile', not 'orchestration'"]


# --- the schema files ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_schema_is_valid_2020_12(kind: DocumentKind) -> None:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://ksi-patterns.dev/schemas/{SCHEMA_FILES[kind]}"
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_schema_stays_in_the_editor_subset(kind: DocumentKind) -> None:
    used = set(walk_keys(load_schema(kind)))
    assert not used & FORBIDDEN_KEYWORDS


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_schema_allows_unknown_keys_everywhere(kind: DocumentKind) -> None:
    def check(node: Any) -> None:
        if isinstance(node, dict):
            assert node.get("additionalProperties", True) is not False
            for value in node.values():
                check(value)
        elif isinstance(node, list):
            for item in node:
                check(item)

    check(load_schema(kind))


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_known_field_is_described_for_editors(kind: DocumentKind) -> None:
    schema = load_schema(kind)
    undescribed = [
        where
        for where, subschema in walk_property_schemas(schema)
        if "description" not in subschema and "$ref" not in subschema
    ]
    assert undescribed == []


def test_schema_ids_are_unique_and_files_are_json() -> None:
    ids = [schema_id(kind) for kind in DocumentKind]
    assert len(set(ids)) == len(ids)
    shipped = sorted(path.name for path in schemas_dir().glob("*.schema.json"))
    assert shipped == sorted(SCHEMA_FILES.values())
    for name in shipped:
        json.loads((schemas_dir() / name).read_text(encoding="utf-8"))


def test_schema_id_matches_the_file() -> None:
    for kind in DocumentKind:
        assert schema_id(kind) == load_schema(kind)["$id"]
        assert schema_id(kind).endswith("/" + SCHEMA_FILES[kind])


def test_load_schema_returns_a_fresh_copy() -> None:
    first = load_schema(DocumentKind.PATTERN)
    first["title"] = "changed"
    assert load_schema(DocumentKind.PATTERN)["title"] != "changed"


def test_validator_is_built_once_per_schema() -> None:
    assert validator_for(DocumentKind.PATTERN) is validator_for(DocumentKind.PATTERN)
    assert validator_for(DocumentKind.PATTERN) is not validator_for(DocumentKind.PROFILE)
    assert isinstance(validator_for(DocumentKind.DECISION_LOG), Draft202012Validator)
    assert validator_for(DocumentKind.PATTERN).format_checker is not None


def test_importing_the_module_does_not_import_jsonschema() -> None:
    code = "import sys, ksi_patterns.documents.schema; sys.exit('jsonschema' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- kind_of ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        ([], None, DocumentKind.DECISION_LOG),
        ([{"decision": "x"}], "demo_decisions.yaml", DocumentKind.DECISION_LOG),
        ({"name": "a", "type": "orchestration"}, None, DocumentKind.PATTERN),
        ({"name": "a", "type": "orchestration"}, "a_decisions.yaml", DocumentKind.PATTERN),
        ({"name": "a", "type": "profile"}, "profiles/x/a.yaml", DocumentKind.PROFILE),
        ({"name": "r", "format_version": 1}, "ksi-registry.yaml", DocumentKind.REGISTRY_CONFIG),
        ({"name": "r"}, "/some/where/ksi-registry.yaml", DocumentKind.REGISTRY_CONFIG),
        (None, "ksi-registry.yaml", DocumentKind.REGISTRY_CONFIG),
        ({"name": "r", "format_version": 1}, None, None),
        ({"name": "a", "type": "evaluation"}, "a.yaml", None),
        ({"name": "a", "type": "Orchestration"}, None, None),
        ({"name": "a", "type": ["orchestration"]}, None, None),
        ({"name": "a"}, "orchestrations/a.yaml", None),
        ("just text", None, None),
        (42, None, None),
        (None, None, None),
    ],
)
def test_kind_of(data: object, filename: str | None, expected: DocumentKind | None) -> None:
    assert kind_of(data, filename) is expected


def test_document_kind_values() -> None:
    assert DocumentKind.PATTERN == "orchestration"
    assert DocumentKind.PROFILE == "profile"
    assert DocumentKind.DECISION_LOG == "decision-log"
    assert DocumentKind.REGISTRY_CONFIG == "registry-config"
    assert set(SCHEMA_FILES) == set(DocumentKind)


# --- negative cases: wrong types on known fields ---------------------------------------------

P, F, D, R = (
    DocumentKind.PATTERN,
    DocumentKind.PROFILE,
    DocumentKind.DECISION_LOG,
    DocumentKind.REGISTRY_CONFIG,
)


@pytest.mark.parametrize(
    ("kind", "data", "path", "message"),
    [
        (P, pattern(metadata={"tags": 5}), ("metadata", "tags"), "metadata.tags: 5 is not of type"),
        (P, pattern(metadata={"tags": ["a", 3]}), ("metadata", "tags", 1), "metadata.tags[1]: 3"),
        (P, pattern(version=[1]), ("version",), "version: [1] is not of type 'string'"),
        (P, pattern(version=1.0), ("version",), "(quote it to keep it a string)"),
        (P, pattern(version="1.0"), ("version",), "version: '1.0' must be a semantic version"),
        (P, pattern(version="v1.0.0"), ("version",), "version: 'v1.0.0' must be a semantic"),
        (
            P,
            pattern(performance={"runs": "many"}),
            ("performance", "runs"),
            "performance.runs: 'many' is not of type 'integer'",
        ),
        (P, pattern(performance={"runs": -1}), ("performance", "runs"), "less than the minimum"),
        (
            P,
            pattern(performance={"success_rate": 1.2}),
            ("performance", "success_rate"),
            "performance.success_rate: 1.2 is greater than the maximum of 1",
        ),
        (P, pattern(name="Bad Name"), ("name",), "name: 'Bad Name' must be a name"),
        (P, pattern(name="../etc"), ("name",), "name: '../etc' must be a name"),
        (P, pattern(name="demo\n"), ("name",), "must be a name"),
        (P, pattern(name="x" * 101), ("name",), "must be a name"),
        (P, pattern(extends=3), ("extends",), "extends: 3 is not of type 'string' or 'null'"),
        (P, pattern(extends="Parent X"), ("extends",), "extends: 'Parent X' must be a name"),
        (P, pattern(type="profile"), ("type",), "type: must be 'orchestration', not 'profile'"),
        (P, pattern(description=["a"]), ("description",), "description: ['a'] is not of type"),
        (P, pattern(lineage={"parent": "base"}), ("lineage", "parent"), "name@version"),
        (
            P,
            pattern(lineage={"fork_date": "last week"}),
            ("lineage", "fork_date"),
            "lineage.fork_date: 'last week' must be an ISO 8601 date",
        ),
        (P, pattern(lineage={"parent_commit": "HEAD"}), ("lineage", "parent_commit"), "commit"),
        (
            P,
            pattern(lineage={"improvements": "faster"}),
            ("lineage", "improvements"),
            "lineage.improvements: 'faster' is not of type 'array'",
        ),
        (
            P,
            pattern(lineage={"merges": [{"commit": "abcdef1"}]}),
            ("lineage", "merges", 0),
            "lineage.merges[0].from: required field is missing",
        ),
        (
            P,
            pattern(metadata={"lineage": {"fork_date": 20250710}}),
            ("metadata", "lineage", "fork_date"),
            "metadata.lineage.fork_date: 20250710 is not of type 'string'",
        ),
        (
            P,
            pattern(learnings=[{"insight": "x", "confidence": 1.5}]),
            ("learnings", 0, "confidence"),
            "learnings[0].confidence: 1.5 is greater than the maximum of 1",
        ),
        (
            P,
            pattern(learnings=[{"confidence": 0.5}]),
            ("learnings", 0),
            "learnings[0].insight: required field is missing",
        ),
        (P, pattern(learnings={"insight": "x"}), ("learnings",), "is not of type 'array'"),
        (
            P,
            pattern(orchestration_logic={"strategy": ["WHEN x"]}),
            ("orchestration_logic", "strategy"),
            "orchestration_logic.strategy: ['WHEN x'] is not of type 'string'",
        ),
        (P, pattern(orchestration_logic="do it"), ("orchestration_logic",), "not of type 'object'"),
        (
            P,
            pattern(metadata={"capabilities_required": "spawn"}),
            ("metadata", "capabilities_required"),
            "metadata.capabilities_required: 'spawn' is not of type 'array'",
        ),
        (P, pattern(metadata=[]), ("metadata",), "metadata: [] is not of type 'object'"),
        (
            P,
            pattern(agents={"worker": {"profile": 7}}),
            ("agents", "worker", "profile"),
            "agents.worker.profile: 7 is not of type 'string'",
        ),
        (P, pattern(agents=["worker"]), ("agents",), "agents: ['worker'] is not of type 'object'"),
        (P, pattern(mixins="base"), ("mixins",), "mixins: 'base' is not of type 'array'"),
        (P, pattern(components=[{}]), ("components", 0), "components[0].name: required field"),
        (
            P,
            pattern(transformers=[{"source": "a", "target": "b", "async": "yes"}]),
            ("transformers", 0, "async"),
            "transformers[0].async: 'yes' is not of type 'boolean'",
        ),
        (P, pattern(variables=[1]), ("variables",), "variables: [1] is not of type 'object'"),
        (
            P,
            pattern(routing={"rules": {"from": "a"}}),
            ("routing", "rules"),
            "routing.rules: {'from': 'a'} is not of type 'array'",
        ),
        (P, ["not", "a", "mapping"], (), "(top level): ['not', 'a', 'mapping'] is not of type"),
        (P, {"type": "orchestration"}, (), "name: required field is missing"),
        (F, profile(type="orchestration"), ("type",), "type: must be 'profile'"),
        (F, profile(version="two"), ("version",), "version: 'two' must be a version"),
        (F, profile(components={"name": "x"}), ("components",), "is not of type 'array'"),
        (F, profile(components=[{"inline": {}}]), ("components", 0), "components[0].name: req"),
        (
            F,
            profile(components=[{"name": "x", "inline": "text"}]),
            ("components", 0, "inline"),
            "components[0].inline: 'text' is not of type 'object' or 'null'",
        ),
        (
            F,
            profile(components=[{"name": "x", "vars": ["a"]}]),
            ("components", 0, "vars"),
            "components[0].vars: ['a'] is not of type 'object'",
        ),
        (
            F,
            profile(components=[{"name": "x", "conditions": {"all_of": "a > 1"}}]),
            ("components", 0, "conditions", "all_of"),
            "components[0].conditions.all_of: 'a > 1' is not of type 'array'",
        ),
        (
            F,
            profile(variables={"v": {"type": 3}}),
            ("variables", "v", "type"),
            "variables.v.type: 3 is not of type 'string'",
        ),
        (F, profile(metadata={"tags": "x"}), ("metadata", "tags"), "metadata.tags: 'x' is not"),
        (F, profile(extends=["a"]), ("extends",), "extends: ['a'] is not of type"),
        (D, {"decision": "x"}, (), "(top level): {'decision': 'x'} is not of type 'array'"),
        (D, [{"outcome": "ok"}], (0,), "[0].decision: required field is missing"),
        (D, [{"decision": ""}], (0, "decision"), "[0].decision: must not be empty"),
        (D, [{"decision": 5}], (0, "decision"), "[0].decision: 5 is not of type 'string'"),
        (D, [{"decision": "x", "confidence": 1.2}], (0, "confidence"), "greater than the max"),
        (D, [{"decision": "x", "confidence": "high"}], (0, "confidence"), "from 0 to 1"),
        (D, [{"decision": "x", "confidence": "1.5"}], (0, "confidence"), "from 0 to 1"),
        (D, [{"decision": "x", "context": "busy"}], (0, "context"), "[0].context: 'busy' is not"),
        (D, [{"decision": "x", "outcome": 3}], (0, "outcome"), "'string' or 'null'"),
        (D, [{"decision": "x", "id": "abc"}], (0, "id"), "[0].id: 'abc' must be a ULID"),
        (D, [{"decision": "x", "timestamp": "now"}], (0, "timestamp"), "ISO 8601"),
        (D, [{"decision": "x", "pattern": "A B"}], (0, "pattern"), "must be a name"),
        (D, ["x"], (0,), "[0]: 'x' is not of type 'object'"),
        (R, {"format_version": "1"}, ("format_version",), "format_version: '1' is not of type"),
        (R, {"format_version": 0}, ("format_version",), "less than the minimum of 1"),
        (R, {"name": 3}, ("name",), "name: 3 is not of type 'string'"),
        (R, {"defaults": "none"}, ("defaults",), "defaults: 'none' is not of type 'object'"),
        (
            R,
            {"defaults": {"orchestrator_profile": "Base Orchestrator"}},
            ("defaults", "orchestrator_profile"),
            "must be a name",
        ),
        (R, {"defaults": {"model": 4}}, ("defaults", "model"), "defaults.model: 4 is not of type"),
        (R, [], (), "(top level): [] is not of type 'object'"),
    ],
)
def test_wrong_value_is_reported_at_its_path(
    kind: DocumentKind, data: object, path: tuple[str | int, ...], message: str
) -> None:
    violations = schema_violations(data, kind)
    assert len(violations) == 1, violations
    assert violations[0].path == path
    assert message in violations[0].message


def test_message_does_not_dump_large_values() -> None:
    (violation,) = schema_violations(pattern(description={"k": "x" * 10_000}), P)
    assert violation.path == ("description",)
    assert len(violation.message) < 200


def test_all_missing_required_fields_are_reported() -> None:
    assert schema_violations({}, P) == [
        SchemaViolation((), "name: required field is missing"),
        SchemaViolation((), "type: required field is missing"),
    ]


def test_violations_are_sorted_by_path() -> None:
    data = pattern(
        version=1,
        learnings=[{"insight": "a", "confidence": 2}] * 3 + [{"confidence": "x"}] * 9,
        metadata={"tags": 1},
        author=2,
    )
    violations = schema_violations(data, P)
    paths = [violation.path for violation in violations]
    assert paths[0] == ("author",)
    learning_indexes = [path[1] for path in paths if path[0] == "learnings"]
    assert learning_indexes == sorted(learning_indexes)
    assert learning_indexes[-1] == 11  # numeric order, not "11" < "2"
    assert violations == schema_violations(data, P)


def test_odd_yaml_keys_do_not_break_sorting() -> None:
    # YAML allows non-string keys (`true:`, `3:`); they must not make the sort compare int to bool.
    data = pattern(agents={True: {"profile": 2}, "w": {"profile": 1}, 3: {"profile": 3}})
    violations = schema_violations(data, P)
    assert [violation.path[1] for violation in violations] == [3, "w", True]


def test_shown_path() -> None:
    assert shown_path(()) == "(top level)"
    assert shown_path(("learnings", 2, "confidence")) == "learnings[2].confidence"
    assert shown_path((0, "decision")) == "[0].decision"


def test_any_of_failure_names_the_most_relevant_branch() -> None:
    validator = Draft202012Validator(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {"runs": {"type": "integer"}}},
            ]
        }
    )
    (error,) = validator.iter_errors({"runs": "many"})
    best = _most_relevant(error)
    assert tuple(best.absolute_path) == ("runs",)
    assert best.validator == "type"


# --- positive cases: what must pass ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (P, {"name": "a", "type": "orchestration"}),
        (P, pattern(extends=None, x_custom={"anything": [1, 2]}, agents={})),
        (P, pattern(metadata={"tags": [], "free_key": 1, "lineage": {"parent": "a@1.0.0"}})),
        (P, pattern(lineage={"parent": "a@1.0.0", "note": "free"}, unknown=None)),
        (P, pattern(lineage={"merges": [{"from": "fork_a", "why": "free"}]})),
        (P, pattern(lineage={"parent": "a.b-c_d@main", "fork_date": "2025-07-10"})),
        (P, pattern(lineage={"parent_commit": "0123456789abcdef0123456789abcdef01234567"})),
        (P, pattern(learnings=[{"insight": "x", "impact": "free", "confidence": 0}])),
        (P, pattern(performance={"runs": 0, "success_rate": None, "custom_metric": "3x"})),
        (P, pattern(performance={"improvements_over_parent": 0.18, "avg_score": 7.5})),
        (P, pattern(performance={"improvements_over_parent": "+15%", "avg_score": None})),
        (P, pattern(version="2.1.0-rc.1+build.5")),
        (P, pattern(agents={"w": {"count": "dynamic", "template": True, "custom": 1}})),
        (P, pattern(agents={"w": {"count": 3, "template": "stage_{n}"}})),
        (P, pattern(variables={"n": 3, "flag": True, "spec": {"type": "integer", "default": 2}})),
        (F, {"name": "a", "type": "profile"}),
        (F, profile(version="2.0", required_context={"agent_id": "string"}, extra=[1])),
        (F, profile(components=[{"name": "c", "source": None, "inline": None, "x": 1}])),
        (F, profile(components=[{"name": "c", "conditions": {"any_of": ["a"], "free": 1}}])),
        (D, []),
        (D, [{"decision": "x"}]),
        (D, [{"decision": "x", "confidence": "0.85", "outcome": None, "free": {"k": 1}}]),
        (D, [{"decision": "x", "confidence": 1, "id": "01J2ZK3V8Q6W5X4Y3Z2A1B0C9D"}]),
        (D, [{"decision": "x", "timestamp": "2025-07-10T18:11:00.903785Z", "context": {}}]),
        (R, {}),
        (R, {"name": "team", "format_version": 1, "defaults": {"author": "me", "x": 1}, "y": 2}),
        (R, {"defaults": {"orchestrator_profile": "base_orchestrator", "model": "sonnet"}}),
    ],
)
def test_valid_documents_pass(kind: DocumentKind, data: object) -> None:
    assert schema_violations(data, kind) == []
