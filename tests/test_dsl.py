"""The DSL parser: every construct, nesting, comments, continuation, and the lines it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import STARTER
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.orchestrator import dsl


def parse(text: str) -> dsl.Strategy:
    return dsl.parse(textwrap.dedent(text))


def test_blocks_in_order_with_labels() -> None:
    strategy = parse(
        """\
        WHEN starting:
          EMIT "a:b"
        DURING each_round:
          EMIT "c:d"
        AFTER completion:
          EMIT "e:f"
        """
    )
    assert strategy.problems == ()
    blocks = strategy.statements
    assert [(b.kind, b.label) for b in blocks if isinstance(b, dsl.Block)] == [
        ("WHEN", "starting"),
        ("DURING", "each_round"),
        ("AFTER", "completion"),
    ]
    assert [event for event, _at in strategy.events()] == ["a:b", "c:d", "e:f"]


def test_emit_with_a_flow_map_is_yaml() -> None:
    line = 'EMIT "evaluation:adjust_complexity" WITH {reduce: "20%", n: 3, ok: true}\n'
    (emit,) = parse(line).statements
    assert isinstance(emit, dsl.Emit)
    assert emit.event == "evaluation:adjust_complexity"
    assert emit.data == {"reduce": "20%", "n": 3, "ok": True}
    assert (emit.at.number, emit.at.column) == (1, 1)


def test_emit_without_data_and_with_data_by_name() -> None:
    bare, named = parse(
        """\
        EMIT "evaluation:add_discriminators"
        EMIT "composition:track_decision" WITH full_context
        """
    ).statements
    assert isinstance(bare, dsl.Emit) and bare.data == {}
    assert isinstance(named, dsl.Emit) and named.data is None and named.data_ref == "full_context"


def test_track_spawn_await_consider() -> None:
    track, track_map, spawn, spawn_map, wait, consider, consider_always = parse(
        """\
        TRACK decision: "added_discrimination" WITH confidence: 0.85
        TRACK {decision: "d2", confidence: 0.5, context: {x: 1}, outcome: "ok"}
        SPAWN investigator WITH profile: "debugger"
        SPAWN judge WITH {profile: "base_multi_agent", purpose: "judge round 1", count: 3}
        AWAIT investigation_complete
        CONSIDER "composition:fork" IF confidence > 0.9
        CONSIDER "monitoring:report"
        """
    ).statements
    assert track == dsl.Track(track.at, "added_discrimination", 0.85)
    assert isinstance(track_map, dsl.Track)
    assert (track_map.decision, track_map.confidence) == ("d2", 0.5)
    assert (track_map.context, track_map.outcome) == ({"x": 1}, "ok")
    assert isinstance(spawn, dsl.Spawn)
    assert (spawn.role, spawn.profile, spawn.purpose) == ("investigator", "debugger", None)
    assert isinstance(spawn_map, dsl.Spawn)
    assert (spawn_map.profile, spawn_map.purpose, spawn_map.extra) == (
        "base_multi_agent",
        "judge round 1",
        {"count": 3},
    )
    assert wait == dsl.Await(wait.at, "investigation_complete")
    assert consider == dsl.Consider(consider.at, "composition:fork", "confidence > 0.9")
    assert consider_always == dsl.Consider(consider_always.at, "monitoring:report", None)


def test_if_elif_else_chains_and_nesting() -> None:
    strategy = parse(
        """\
        DURING each_stage:
          IF stage_quality < 0.5:
            IF retry_count < max_retries:
              EMIT "pipeline:retry_stage"
            ELSE:
              EMIT "pipeline:bypass_stage"
          ELIF stage_quality >= 0.9:
            EMIT "pipeline:skip_stage"
          ELSE IF stage_quality > 0.7:
            EMIT "pipeline:note"
          ELSE:
            EMIT "pipeline:run_stage"
          IF timeout_rate > 30%:
            EMIT "monitoring:alert"
        """
    )
    assert strategy.problems == ()
    (block,) = strategy.statements
    assert isinstance(block, dsl.Block)
    chain, second = block.body
    assert isinstance(chain, dsl.If) and isinstance(second, dsl.If)
    assert [b.condition for b in chain.branches] == [
        "stage_quality < 0.5",
        "stage_quality >= 0.9",
        "stage_quality > 0.7",
        None,
    ]
    inner = chain.branches[0].body[0]
    assert isinstance(inner, dsl.If)
    assert [b.condition for b in inner.branches] == ["retry_count < max_retries", None]
    assert [b.condition for b in second.branches] == ["timeout_rate > 30%"]


def test_comments_are_dropped_but_hashes_in_strings_stay() -> None:
    strategy = parse(
        """\
        # a whole-line comment
        WHEN start:   # a trailing comment
          # keep the limit at twice the average
          EMIT "a:b" WITH {tag: "#1", note: "x # y"}  # end
        """
    )
    assert strategy.problems == ()
    (block,) = strategy.statements
    assert isinstance(block, dsl.Block) and block.label == "start"
    (emit,) = block.body
    assert isinstance(emit, dsl.Emit)
    assert emit.data == {"tag": "#1", "note": "x # y"}
    assert emit.at.number == 4


def test_open_braces_continue_onto_the_next_lines() -> None:
    strategy = parse(
        """\
        EMIT "a:b" WITH {
          x: 1,   # one
          y: [2,
              3]
        }
        EMIT "c:d"
        """
    )
    assert strategy.problems == ()
    first, second = strategy.statements
    assert isinstance(first, dsl.Emit) and first.data == {"x": 1, "y": [2, 3]}
    assert (first.at.number, first.at.last) == (1, 5)
    assert second.at.number == 6


def test_interpretive_lines_keep_what_is_nested_under_them() -> None:
    strategy = parse(
        """\
        WHEN start:
          ANALYZE participant_capabilities
          MONITOR metrics: timeout_rate, score_variance
          DEFINE solution_space:
            dimensions: problem.variable_count
            EMIT "swarm:defined"
        """
    )
    assert strategy.problems == ()  # interpretive lines are for the orchestrator, not problems
    (block,) = strategy.statements
    assert isinstance(block, dsl.Block)
    verbs = [s.verb for s in block.body if isinstance(s, dsl.Interpretive)]
    assert verbs == ["ANALYZE", "MONITOR", "DEFINE"]
    define = block.body[2]
    assert isinstance(define, dsl.Interpretive) and define.nested == 2
    assert [s.verb for s in strategy.interpretive()] == verbs
    # an event mentioned under an interpretive line still counts (lint checks its handler)
    assert [event for event, _at in strategy.events()] == ["swarm:defined"]


BROKEN = """\
WHEN start:
  EMIT evaluation:prompt
  EMIT "evaluation:prompt" WITH {unclosed: "x"
  best = global_best
IF ready
  EMIT "a:b"
ELSE:
  EMIT "c:d"
ELIF late:
  EMIT "e:f"
TRACK decision: "d" WITH confidence: 2
SPAWN judge
CONSIDER "x:y" WHEN z
EMIT "nonamespace"
AWAIT
DURING:
  EMIT "g:h"
"""


def test_unparseable_lines_are_listed_with_line_and_column() -> None:
    strategy = dsl.parse(BROKEN)
    found = [(p.line, p.column, p.reason) for p in strategy.problems]
    assert [(line, column) for line, column, _reason in found] == [
        (2, 3),
        (3, 3),
        (4, 3),
        (5, 1),
        (9, 1),
        (11, 1),
        (12, 1),
        (13, 1),
        (14, 1),
        (15, 1),
        (16, 1),
    ]
    reasons = dict(((line, reason) for line, _column, reason in found))
    assert "must be quoted" in reasons[2]
    assert "is not closed" in reasons[3]
    assert reasons[4] == "not a DSL statement"
    assert "needs a condition and a colon" in reasons[5]
    assert reasons[9] == "ELIF without an IF before it"
    assert "confidence must be a number from 0 to 1" in reasons[11]
    assert 'needs WITH profile: "name"' in reasons[12]
    assert "expected IF condition" in reasons[13]
    assert "namespace:action" in reasons[14]
    assert "AWAIT needs" in reasons[15]
    assert "needs a name and a colon" in reasons[16]
    # what parsed around them is kept: the IF/ELSE chain with its branch bodies
    chain = next(s for s in strategy.statements if isinstance(s, dsl.If))
    assert [b.condition for b in chain.branches] == ["ready", None]
    assert [e for e, _at in strategy.events()] == ["a:b", "c:d"]  # not under broken lines


def test_unexpected_indentation_under_a_simple_statement() -> None:
    strategy = parse(
        """\
        EMIT "a:b"
          EMIT "c:d"
        """
    )
    assert [(p.line, p.reason) for p in strategy.problems] == [
        (2, "unexpected indentation under EMIT")
    ]


@pytest.mark.parametrize(
    "name", ["adaptive_tournament_v2", "adaptive_pipeline", "consensus_builder", "tournament_basic"]
)
def test_starter_strategies_parse_cleanly(name: str) -> None:
    document = load_plain((STARTER / "orchestrations" / f"{name}.yaml").read_bytes(), name)
    text = dsl.strategy_of(document)
    assert text is not None
    strategy = dsl.parse(text)
    assert strategy.problems == ()
    assert strategy.interpretive()  # ANALYZE/CALCULATE/MONITOR are left to the orchestrator


def test_strategy_origin_maps_strategy_lines_to_file_lines() -> None:
    path = STARTER / "orchestrations" / "adaptive_tournament_v2.yaml"
    text = path.read_text()
    origin = dsl.strategy_origin(text, str(path))
    assert origin is not None
    strategy = dsl.parse(dsl.strategy_of(load_plain(text, "x")) or "")
    lines = text.split("\n")
    for statement in strategy.walk():
        at = statement.at
        file_line = lines[origin[0] + at.number - 2]
        assert file_line[origin[1] + at.column - 1 :].startswith(at.text.split(" ")[0])


def test_strategy_origin_is_none_for_a_plain_or_folded_strategy(tmp_path: Path) -> None:
    plain = "name: x\norchestration_logic:\n  strategy: EMIT test events\n"
    folded = 'name: x\norchestration_logic:\n  strategy: >\n    EMIT "a:b"\n'
    assert dsl.strategy_origin(plain, "x") is None
    assert dsl.strategy_origin(folded, "x") is None
    indicated = 'name: x\norchestration_logic:\n  strategy: |4\n        EMIT "a:b"\n'
    assert dsl.strategy_origin(indicated, "x") == (4, 6)
