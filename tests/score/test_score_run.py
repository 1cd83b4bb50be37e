"""``dqe score`` end to end: a line per record, none lost; the second run is the cache's."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dqe.cli import main

pytestmark = pytest.mark.train


@pytest.fixture
def data(tmp_path, rasbt):
    records = [{"instruction": r["instruction"], "input": r["input"], "output": r["output"]} for r in rasbt[:6]]
    lines = [json.dumps(r) for r in records]
    lines.insert(2, "{not json")  # a record that cannot be read
    long = {"instruction": "Repeat this: " + "word " * 300, "output": "Done."}
    lines.append(json.dumps(long))  # the answer is cut away at seq-len 256
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def score(data, model, *extra):
    args = ["score", str(data), "--model", str(model), "--template", "alpaca", "-o", "scores.jsonl", *extra]
    return CliRunner().invoke(main, args)


def lines(path="scores.jsonl"):
    with open(path) as f:
        header, *rows = [json.loads(line) for line in f]
    return header, rows


def test_every_record_gets_a_line_and_those_not_scored_say_why(tmp_path, data, tiny_model, torch_extra, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "train.toml").write_text(f'model = "{tiny_model}"\ntemplate = "alpaca"\n[batch]\nseq-len = 256\n')
    result = CliRunner().invoke(main, ["score", str(data), "--train-config", "train.toml", "-o", "scores.jsonl"])
    assert result.exit_code == 0, result.output
    header, rows = lines()
    assert header["encoding"]["seq_len"] == 256 and header["encoding"]["template"] == "alpaca"
    assert [r["source"].rsplit(":", 1)[1] for r in rows] == [str(n) for n in range(1, 9)]
    assert rows[2]["error"].startswith("invalid:") and rows[2]["ifd"] is None
    assert rows[7]["error"] == "seq-len 256 cuts the whole answer away"
    scored = [r for r in rows if r["error"] is None]
    assert len(scored) == 6
    for r in scored:
        assert r["ifd"] == pytest.approx(r["ppl"] / r["ppl_alone"]) and r["tokens"] > 0
    assert "6 of 8 records scored (0 from the cache)" in result.output


def test_a_second_run_runs_no_forward_pass(tmp_path, data, tiny_model, torch_extra, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    assert score(data, tiny_model).exit_code == 0
    first = (tmp_path / "scores.jsonl").read_text()

    import dqe.score.run

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded or run on a second run")

    monkeypatch.setattr(dqe.score.run, "load_base_model", no_model)
    monkeypatch.setattr(dqe.score.run, "summed_losses", no_model)
    result = score(data, tiny_model)
    assert result.exit_code == 0, result.output
    assert "7 of 8 records scored (7 from the cache)" in result.output
    assert (tmp_path / "scores.jsonl").read_text() == first


def test_another_template_is_scored_again(tmp_path, data, tiny_model, torch_extra, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    assert score(data, tiny_model).exit_code == 0
    result = score(data, tiny_model, "--template", "chatml")
    assert result.exit_code == 0, result.output
    assert "(0 from the cache)" in result.output


def test_without_a_model_it_says_what_to_give(data):
    result = CliRunner().invoke(main, ["score", str(data), "-o", "scores.jsonl"])
    assert result.exit_code == 2
    assert "dqe score needs a model: --model PATH" in result.output


def test_it_refuses_to_write_over_its_input(data, tiny_model):
    result = CliRunner().invoke(main, ["score", str(data), "--model", str(tiny_model), "-o", str(data)])
    assert result.exit_code == 2
    assert "is an input" in result.output


def test_a_record_repeated_in_the_data_is_scored_once_and_gets_a_line_each(
    tmp_path, rasbt, tiny_model, torch_extra, monkeypatch
):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    record = {"instruction": rasbt[0]["instruction"], "output": rasbt[0]["output"]}
    data = tmp_path / "twice.jsonl"
    data.write_text((json.dumps(record) + "\n") * 2)
    import dqe.score.run

    scored = []
    real = dqe.score.run.summed_losses
    monkeypatch.setattr(
        dqe.score.run, "summed_losses", lambda model, items, **kw: scored.append(len(items)) or real(model, items, **kw)
    )
    result = score(data, tiny_model)
    assert result.exit_code == 0, result.output
    assert scored == [2]  # one record, with and without its question
    _, rows = lines()
    assert len(rows) == 2 and rows[0]["ifd"] == rows[1]["ifd"]
