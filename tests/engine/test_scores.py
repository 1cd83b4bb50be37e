"""The score file: what made it, matched to the data by content id, refused when it does not fit."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dqe.cli import main
from dqe.engine.encoding import EncodingSettings
from dqe.engine.scores import model_sha256, read_scores
from dqe.errors import ConfigError
from tests.support import write_scores

RECORDS = [
    {"instruction": "Say hello.", "output": "Hello!"},
    {"instruction": "Name a colour.", "output": "Blue."},
]


@pytest.fixture
def data(write_jsonl):
    return write_jsonl(RECORDS)


def test_a_check_reads_the_scores_of_its_records_whatever_their_order_and_ignores_others(tmp_path, data):
    extra = {"instruction": "Another record.", "output": "Scored elsewhere."}
    write_scores(tmp_path / "scores.jsonl", [RECORDS[1], extra, RECORDS[0]], [1.2, 0.5, 0.8])
    args = ["check", str(data), "--scores", "scores.jsonl", "--select", "DQ001", "--format", "jsonl"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["labels"]["ifd"] for r in records] == [0.8, 1.2]


# a worker process does not know the files' paths: the record is named once the main process has it
@pytest.mark.parametrize("workers", ["1", pytest.param("2", marks=pytest.mark.slow)])
def test_data_the_scores_do_not_hold_is_refused_naming_the_file_and_the_record(tmp_path, data, workers):
    write_scores(tmp_path / "scores.jsonl", RECORDS[:1], [0.8])
    (tmp_path / "dqe.toml").write_text("batch-size = 1\n")
    args = ["check", str(data), "--scores", "scores.jsonl", "--select", "DQ001", "--workers", workers]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert f"scores.jsonl: no score for the record at {data}:2 (id " in result.output
    assert "the scores were made for other data" in result.output


def test_scores_made_with_another_encoding_or_model_are_refused(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    scores = read_scores(write_scores(tmp_path / "s.jsonl", RECORDS, [1.0, 1.0], model=str(model)))
    with pytest.raises(
        ConfigError, match="s.jsonl: scored with template 'alpaca', and this check encodes with 'chatml'"
    ):
        scores.refuse_other_encoding(EncodingSettings(model=str(model), template="chatml"))
    with pytest.raises(ConfigError, match="scored with seq-len 2048, and this check encodes with 1024"):
        scores.refuse_other_encoding(EncodingSettings(model=str(model), seq_len=1024))
    with pytest.raises(ConfigError, match=f"scored with the model {model} \\(sha256 000000000000\\)"):
        scores.refuse_other_encoding(EncodingSettings(model=str(model)))


def test_the_model_is_known_by_its_weights_not_its_path(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "model.safetensors").write_bytes(b"weights")
    assert model_sha256(str(tmp_path / "a")) == model_sha256(str(tmp_path / "b"))
    (tmp_path / "b" / "model.safetensors").write_bytes(b"other weights")
    assert model_sha256(str(tmp_path / "a")) != model_sha256(str(tmp_path / "b"))


def test_a_file_that_is_no_score_file_says_so(tmp_path, data):
    (tmp_path / "scores.jsonl").write_text('{"id": "x"}\n')
    result = CliRunner().invoke(main, ["check", str(data), "--scores", "scores.jsonl"])
    assert result.exit_code == 2
    assert "scores.jsonl:1: not the header of a dqe score file" in result.output


def test_ranking_by_ifd_needs_scores(data):
    result = CliRunner().invoke(
        main, ["filter", str(data), "--passed", "a.jsonl", "--rejected", "b.jsonl", "--by", "ifd"]
    )
    assert result.exit_code == 2
    assert "'rank-by' = ifd ranks records by the scores of dqe score: give them with --scores FILE" in result.output
