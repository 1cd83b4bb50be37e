"""Shared fixtures: a clean folder per test and a writer of JSONL inputs (helpers that are
not fixtures live in tests/support.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.augment.server import ScriptedServer

# Property tests try a few generated examples in the default run, each test's @example cases
# always; the slow CI step tries many (`--hypothesis-profile thorough`). A test that sets its
# own max_examples keeps it in both: only cheap tests do. No deadline: the CI machine is shared.
settings.register_profile("fast", max_examples=10, deadline=None)
settings.register_profile("thorough", max_examples=100, deadline=None)
settings.load_profile("fast")


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings taken as lines) to a JSONL file and return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def chat_server() -> Iterator[ScriptedServer]:
    """A chat-completions server on 127.0.0.1 that answers from a script (tests/augment/server.py)."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _isolated(tmp_path, tmp_path_factory, monkeypatch):
    """Run each test from an empty folder, so that no dqe.toml of the machine leaks in, and
    with installed plugins off (built-ins stay), so that dqe is tested as shipped. Tests of
    plugin loading switch them back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DQE_DISABLE_PLUGINS", "all")
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dqe-cache"))  # not the user's


# Sentences with no Chinese in them: the tokenizer trained on them spells Chinese in bytes.
ENGLISH = [
    "Give three tips for staying healthy.",
    "Eat a balanced diet, exercise regularly and sleep well.",
    "Translate the sentence into French.",
    "The quick brown fox jumps over the lazy dog.",
    "Summarize the following text in one sentence.",
    "What is the capital of France? The capital of France is Paris.",
] * 20

# A chat template that, like many models' templates, has no place for a system prompt.
NO_SYSTEM_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="session")
def english_model(tmp_path_factory):
    """A model folder holding only a tokenizer (what a check with --model reads): a byte-level
    BPE trained on a few English sentences, with a ChatML chat template that rejects a system turn."""
    pytest.importorskip("transformers")
    from dqe.train.scratch import build_tokenizer

    folder = tmp_path_factory.mktemp("english-model")
    tokenizer = build_tokenizer(ENGLISH, vocab_size=400)
    tokenizer.chat_template = NO_SYSTEM_TEMPLATE
    tokenizer.save_pretrained(str(folder))
    return folder
