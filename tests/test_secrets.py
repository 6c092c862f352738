"""Key-shaped strings and URL passwords never reach the event log or a session transcript,
wherever they sit: inside an ordinary value such as `--task` or `--metrics`, not only under a
secret-looking key."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RunFn

# Made-up values in the providers' shapes (none of them is a real key).
KEYS = {
    "anthropic": "sk-ant-api03-Zq8xYv1Wc2Ud3Te4Sf5Rg6Qh7Pi8Oj9Nk0Ml",
    "openai": "sk-proj-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk",
    "openai-legacy": "sk-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0KkLlMm",
    "github": "ghp_Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0KkLlMm",
    "github-oauth": "gho_Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0KkLlMm",
    "github-fine-grained": "github_pat_11AAAAAAA0Aa1Bb2Cc3Dd4_Ee5Ff6Gg7Hh8Ii9Jj0",
    "aws-key-id": "AKIAZ7Q2X4W6V8U0T2S4",
    "aws-secret": "Zq8xYv1Wc2Ud3Te4Sf5Rg6Qh7Pi8Oj9Nk0Ml/+ab",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.payload.signature",
    "url-password": "hunter2pass",
}
TEXT = (
    f"use {KEYS['anthropic']} or {KEYS['openai']} (old: {KEYS['openai-legacy']}); push with "
    f"{KEYS['github']}, {KEYS['github-oauth']}, {KEYS['github-fine-grained']}; aws "
    f"{KEYS['aws-key-id']} {KEYS['aws-secret']}; header Authorization: Bearer {KEYS['bearer']}; "
    f"mirror https://alice:{KEYS['url-password']}@git.example.org/x.git"
)
HARMLESS = "desk-lamp max_tokens=100 task-scheduler commit 0123456789abcdef0123456789abcdef01234567"


def test_scrub_text_hides_every_shape_and_keeps_ordinary_words() -> None:
    from ksi_patterns.events.values import scrub_text

    scrubbed = scrub_text(TEXT)
    for name, key in KEYS.items():
        assert key not in scrubbed, name
    assert "https://alice:[redacted]@git.example.org/x.git" in scrubbed
    assert scrub_text(HARMLESS) == HARMLESS


def test_an_aws_secret_beside_its_key_id_in_a_mapping_is_redacted() -> None:
    from ksi_patterns.events.values import redact

    found = redact({"id": KEYS["aws-key-id"], "other": KEYS["aws-secret"], "sha": "x"})
    assert found == {"id": "[redacted]", "other": "[redacted]", "sha": "x"}


@pytest.mark.parametrize("where", ["data", "metrics"])
def test_the_event_log_holds_no_key_typed_into_an_ordinary_value(
    run: RunFn, registry_dir: Path, where: str
) -> None:
    args = ["--data", f'{{"task": "{TEXT}"}}'] if where == "data" else ["--metrics", f"note={TEXT}"]
    done = run("event", "emit", "x:y", *args, "--registry", registry_dir)
    assert done.exit_code == 0, done
    logged = (registry_dir / ".git" / "ksi" / "events.jsonl").read_text()
    assert "[redacted]" in logged or where == "metrics"  # metrics are not logged at all
    for name, key in KEYS.items():
        assert key not in logged, name


def test_a_transcript_holds_no_key_typed_into_the_task(run: RunFn, registry_dir: Path) -> None:
    done = run(
        "orchestrate", "run", "adaptive_tournament_v2", "--backend", "simulate",
        "--task", TEXT, "--metrics", f"note={KEYS['github']}", "--registry", registry_dir,
    )  # fmt: skip
    assert done.exit_code == 0, done
    [transcript] = (registry_dir / ".git" / "ksi" / "sessions").glob("*.jsonl")
    text = transcript.read_text()
    assert "[redacted]" in text
    for name, key in KEYS.items():
        assert key not in text, name
