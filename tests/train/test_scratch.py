"""``python -m dqe.train.scratch``: a stand-in model built from a data file, loadable like a download."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.train


def test_builds_a_model_and_tokenizer_the_trainer_loads(torch_extra, tmp_path, capsys):
    from dqe.train.model import load_tokenizer
    from dqe.train.scratch import main

    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"instruction": f"Add {i} and {i}.", "output": f"{i} + {i} = {2 * i}."}) + "\n"
            for i in range(50)
        )
        + "not json\n",  # an unreadable line is skipped, not fatal
        encoding="utf-8",
    )
    assert main([str(tmp_path / "tiny"), "--texts", str(data), "--vocab", "300"]) == 0
    assert "saved a tiny Llama" in capsys.readouterr().out

    tokenizer = load_tokenizer(str(tmp_path / "tiny"))
    config = json.loads((tmp_path / "tiny" / "config.json").read_text())
    assert config["vocab_size"] == len(tokenizer) and config["num_hidden_layers"] == 2
    assert tokenizer.decode(tokenizer("Add 7 and 7.")["input_ids"], skip_special_tokens=True) == "Add 7 and 7."


def test_a_file_with_no_records_is_a_usage_error(torch_extra, tmp_path):
    from dqe.train.scratch import main

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "tiny"), "--texts", str(empty)])
    assert exit_info.value.code == 2


def test_a_missing_file_is_named(torch_extra, tmp_path, capsys):
    from dqe.train.scratch import main

    with pytest.raises(SystemExit):
        main([str(tmp_path / "tiny"), "--texts", str(tmp_path / "nope.jsonl")])
    assert "nope.jsonl: no such file" in capsys.readouterr().err
