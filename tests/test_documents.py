"""documents.py: checked YAML loads, dates as text, positions, and byte-identical round trips."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ruamel.yaml.error import YAMLError

from conftest import CORPUS, STARTER, typed
from ksi_patterns.documents import loading as documents
from ksi_patterns.documents.loading import (
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    check_alias_expansion,
    decode,
    detect_style,
    load_plain,
    load_roundtrip,
    locate,
    to_plain,
    walk,
)
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, KsiError, Position


def corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.yaml")) if CORPUS.is_dir() else []


def starter_files() -> list[Path]:
    return sorted(STARTER.rglob("*.yaml"))


def ident(path: Path) -> str:
    for root in (CORPUS, STARTER):
        if path.is_relative_to(root):
            return f"{root.name}/{path.relative_to(root)}"
    return str(path)


EVERY_FILE = corpus_files() + starter_files()


def test_the_corpus_is_there() -> None:
    assert len(corpus_files()) == 83, "the corpus is incomplete; tests below would prove little"
    assert len(starter_files()) == 8


# -- plain loads ----------------------------------------------------------------------------------


def test_dates_stay_the_strings_written() -> None:
    text = (
        "day: 2025-07-10\n"
        "utc: 2025-07-10T15:30:00Z\n"
        "spaced: 2025-07-10 15:30:00.5 +02:00\n"
        "nested:\n  - when: 2001-12-14t21:59:43.10-05:00\n"
    )
    expected = {
        "day": "2025-07-10",
        "utc": "2025-07-10T15:30:00Z",
        "spaced": "2025-07-10 15:30:00.5 +02:00",
        "nested": [{"when": "2001-12-14t21:59:43.10-05:00"}],
    }
    assert load_plain(text, "d.yaml") == expected
    # the pure parser, which reads what the C parser refuses, keeps them as text too
    assert documents._PLAIN_PURE.load(text) == expected


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO", "y", "n"])
def test_yaml_1_1_booleans_stay_strings(word: str) -> None:
    assert load_plain(f"answer: {word}\n", "b.yaml") == {"answer": word}
    assert to_plain(load_roundtrip(f"answer: {word}\n", "b.yaml").tree) == {"answer": word}


def test_real_booleans_nulls_and_numbers() -> None:
    data = load_plain("a: true\nb: false\nc: null\nd: ~\ne: 3\nf: 0.5\ng: '3'\n", "x.yaml")
    assert data == {"a": True, "b": False, "c": None, "d": None, "e": 3, "f": 0.5, "g": "3"}
    assert type(data["e"]) is int and type(data["g"]) is str


def test_loads_give_plain_python_types() -> None:
    path = STARTER / "orchestrations" / "adaptive_tournament_v2.yaml"
    for _path, value in walk(load_plain(path.read_bytes(), str(path))):
        assert type(value) in (dict, list, str, int, float, bool, type(None)), value


@pytest.mark.parametrize(
    ("text", "line", "column", "key"),
    [
        ("name: a\ntype: orchestration\nname: b\n", 3, 1, "name"),
        ("metadata:\n  tags: []\n  other: 1\n  tags: [x]\n", 4, 3, "tags"),
        ("items:\n  - id: 1\n    id: 2\n", 3, 5, "id"),
        ("flow: {a: 1, b: 2, a: 3}\n", 1, 20, "a"),
    ],
)
def test_duplicate_keys_are_input_errors_with_a_position(
    text: str, line: int, column: int, key: str
) -> None:
    for loader in (load_plain, load_roundtrip):
        with pytest.raises(InputError) as caught:
            loader(text, "dup.yaml")
        assert caught.value.position == Position("dup.yaml", line, column)
        assert caught.value.message == f"invalid YAML: duplicate key {key!r}"
        assert str(caught.value) == f"dup.yaml:{line}:{column}: invalid YAML: duplicate key {key!r}"


def test_the_c_parser_fallback_reads_composition_editor() -> None:
    path = CORPUS / "profiles" / "composition_editor.yaml"
    text = path.read_text(encoding="utf-8")
    # the C parser really refuses this file, so the fallback is what reads it
    with pytest.raises(YAMLError):
        documents._PLAIN.load(text)
    data = load_plain(path.read_bytes(), str(path))
    assert data["name"] == "composition_editor"
    assert data == to_plain(load_roundtrip(text, str(path)).tree)
    assert any("file:delete" in str(value) for _p, value in walk(data))


def test_the_pure_parser_verdict_is_final() -> None:
    with pytest.raises(InputError) as caught:
        load_plain("a: [1, 2\nb: 3\n", "bad.yaml")
    assert caught.value.position is not None
    assert caught.value.position.line == 2


@pytest.mark.parametrize("path", EVERY_FILE, ids=ident)
def test_both_readers_agree(path: Path) -> None:
    data = path.read_bytes()
    assert typed(load_plain(data, str(path))) == typed(
        to_plain(load_roundtrip(data, str(path)).tree)
    )


def test_both_readers_agree_on_types_and_order() -> None:
    text = "b: &t true\na: *t\nc: &i 5\nd: &f 1.5\ne: &n null\nf: *n\ng: [*i, *f]\n"
    expected = {"b": True, "a": True, "c": 5, "d": 1.5, "e": None, "f": None, "g": [5, 1.5]}
    assert typed(load_plain(text, "t.yaml")) == typed(expected)
    assert typed(to_plain(load_roundtrip(text, "t.yaml").tree)) == typed(expected)


# -- input checks ---------------------------------------------------------------------------------


def test_decode_refuses_oversized_input_before_decoding() -> None:
    with pytest.raises(InputError) as caught:
        decode(b"a" * (MAX_FILE_BYTES + 1), "big.yaml")
    assert caught.value.position == Position("big.yaml")
    assert "over the 8,388,608-byte limit" in caught.value.message
    assert decode(b"a" * MAX_FILE_BYTES, "ok.yaml") == "a" * MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("data", "line", "column", "byte"),
    [
        (b"\xff", 1, 1, "0xff"),
        (b"name: x\ndescription: caf\xe9\n", 2, 17, "0xe9"),
        (b"a: 1\nb: 2\n  c: \xc3\x28\n", 3, 6, "0xc3"),  # a broken two-byte sequence
        ("a: é\nb: ".encode() + b"\x80", 2, 4, "0x80"),  # columns count bytes on the line
    ],
)
def test_decode_names_the_bad_byte_and_its_place(
    data: bytes, line: int, column: int, byte: str
) -> None:
    with pytest.raises(InputError) as caught:
        decode(data, "enc.yaml")
    assert caught.value.position == Position("enc.yaml", line, column)
    assert caught.value.message == f"not UTF-8 (byte {byte})"


def test_decode_refuses_nul_and_drops_a_bom() -> None:
    with pytest.raises(InputError) as caught:
        decode(b"a: 1\nb: x\x00y\n", "nul.yaml")
    assert caught.value.position == Position("nul.yaml", 2, 5)
    assert decode("\ufeffname: x\n".encode(), "bom.yaml") == "name: x\n"
    assert load_plain("\ufeffname: x\n".encode(), "bom.yaml") == {"name": "x"}


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", [load_plain, load_roundtrip])
def test_an_alias_bomb_is_refused_fast(loader: object) -> None:
    text = billion_laughs()
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        loader(text, "bomb.yaml")  # type: ignore[operator]
    assert time.perf_counter() - started < 1.0
    assert "aliases expand to more than 1,000,000 nodes" in caught.value.message
    assert caught.value.position is not None and caught.value.position.line == 7


def test_aliases_within_the_limit_are_fine() -> None:
    text = billion_laughs(levels=6)  # 9**6 = 531,441 leaves
    assert len(load_plain(text, "ok.yaml")["a5"]) == 9
    check_alias_expansion("base: &b {x: 1}\nuse: *b\nmerge:\n  <<: *b\n  y: 2\n", "ok.yaml")


def test_the_expansion_limit_counts_across_the_whole_document() -> None:
    # no single alias is large, but together they pass the limit
    per = 1000
    refs = ",".join(["*b"] * per)
    text = f"b: &b [{','.join(['x'] * per)}]\nl: [{refs}]\nm: [{refs}]\n"
    assert 2 * per * per > MAX_EXPANDED_NODES
    with pytest.raises(InputError):
        check_alias_expansion(text, "wide.yaml")


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2\n", "a: b: c\n", "- a\nb: 1\n", "a: 'x\n", "a:\n\t- 1\n", "&x a: *y\n"],
)
def test_malformed_yaml_is_an_input_error_with_a_position(text: str) -> None:
    for loader in (load_plain, load_roundtrip):
        with pytest.raises(InputError) as caught:
            loader(text, "bad.yaml")
        assert caught.value.message.startswith("invalid YAML: ")
        assert caught.value.position is not None
        assert caught.value.position.line is not None
        assert isinstance(caught.value, KsiError) and caught.value.exit_code == 2


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EVERY_FILE, ids=ident)
def test_round_trip_is_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    document = load_roundtrip(data, str(path))
    assert render(document).encode("utf-8") == data


NAMED_FILES = [
    path
    for path in EVERY_FILE
    if isinstance(data := load_plain(path.read_bytes(), str(path)), dict) and "name" in data
]


@pytest.mark.parametrize("path", NAMED_FILES, ids=ident)
def test_a_scalar_edit_leaves_every_other_line_alone(path: Path) -> None:
    """A quick whole-corpus check; test_render.py goes further."""
    data = path.read_bytes()
    document = load_roundtrip(data, str(path))
    tree = document.tree
    tree["name"] = "renamed_by_test"
    lines, edited = data.decode().splitlines(), render(document).splitlines()
    assert len(edited) == len(lines)
    changed = [i for i, (a, b) in enumerate(zip(lines, edited, strict=True)) if a != b]
    assert changed == [tree.lc.key("name")[0]]
    assert load_plain(edited[changed[0]], "line") == {"name": "renamed_by_test"}


def test_the_style_of_a_file_is_detected() -> None:
    assert detect_style("a:\n    b: 1\nc:\n- x\n") == documents.Style(4, 2, 0)
    assert detect_style("a:\n  b: 1\nc:\n  - x\n") == documents.Style(2, 4, 2)
    assert detect_style("a: 1\n") == documents.Style()


def test_locate_finds_keys_and_items() -> None:
    text = "name: x\nmetadata:\n  tags:\n    - one\n    - two\nlist:\n- a: 1\n  b: 2\n"
    tree = load_roundtrip(text, "l.yaml").tree
    assert locate(tree, ("name",), "l.yaml") == Position("l.yaml", 1, 1)
    assert locate(tree, ("metadata", "tags"), "l.yaml") == Position("l.yaml", 3, 3)
    assert locate(tree, ("metadata", "tags", 1), "l.yaml") == Position("l.yaml", 5, 7)
    assert locate(tree, ("list", 0, "b"), "l.yaml") == Position("l.yaml", 8, 3)
    # a missing step stops at the deepest node that exists
    assert locate(tree, ("metadata", "nothing", 3), "l.yaml") == Position("l.yaml", 2, 1)
    assert locate(tree, (), "l.yaml") == Position("l.yaml", 1, 1)


def test_walk_visits_parents_before_children() -> None:
    assert list(walk({"a": [1, {"b": 2}]})) == [
        ((), {"a": [1, {"b": 2}]}),
        (("a",), [1, {"b": 2}]),
        (("a", 0), 1),
        (("a", 1), {"b": 2}),
        (("a", 1, "b"), 2),
    ]
