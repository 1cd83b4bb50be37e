"""Every reader on the real files in ../shared/data: detected format, record counts, turns."""

from __future__ import annotations

import polars as pl
import pytest

from dqe.engine.plugins import load_plugins
from dqe.io.reader import Reader
from tests.support import REAL_FILES, real


def read_all(path, **kwargs):
    reader = Reader([path], load_plugins().formats, **kwargs)
    batches = list(reader)
    frame = pl.concat([b.frame for b in batches])
    invalid = [r for b in batches for r in b.invalid]
    return reader, frame, invalid


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_file_reads_completely(name):
    fmt, count = REAL_FILES[name]
    reader, frame, invalid = read_all(real(name))
    assert reader.files[0].format == fmt
    assert frame.height == count
    assert invalid == []
    assert frame["_idx"].to_list() == list(range(count))
    assert frame["answer"].str.len_chars().min() > 0


def test_alpaca_record_becomes_a_user_and_an_assistant_turn():
    _, frame, _ = read_all(real("rasbt_instruction_data.json"))
    first = frame.row(0, named=True)
    assert [t["role"] for t in first["turns"]] == ["user", "assistant"]
    assert (
        first["question"]
        == "Evaluate the following phrase by transforming it into the spelling given.\nfreind --> friend"
    )
    assert first["_line"] == 2  # the array's first record starts on line 2


def test_sharegpt_tool_calls_and_observations_are_turns():
    _, frame, _ = read_all(real("llamafactory_glaive_toolcall_en_demo.json"))
    roles = frame["turns"].explode().struct.field("role").value_counts()
    counts = dict(roles.iter_rows())
    assert counts["tool_call"] == 211 and counts["tool"] == 211
    assert frame["tools"].null_count() == 0


def test_openai_content_parts_are_joined_text():
    _, frame, _ = read_all(real("llamafactory_v1_sft_demo.jsonl"))
    first = frame.row(0, named=True)
    assert first["question"] == "hi"
    assert first["answer"].startswith("Hello! I am {{name}}")
    assert first["_line"] == 1


def test_fastchat_multi_turn_keeps_every_turn():
    _, frame, _ = read_all(real("fastchat_dummy_conversation.json"))
    assert frame["turns"].list.len().to_list()[0] == 4
    assert frame.row(0, named=True)["answer"] == "You too!"


def test_whole_folder_reads_every_file():
    reader = Reader([real("rasbt_instruction_data.json").parent], load_plugins().formats)
    total = sum(b.frame.height for b in reader)
    assert total == sum(count for _, count in REAL_FILES.values())
    assert len(reader.files) == len(REAL_FILES)
