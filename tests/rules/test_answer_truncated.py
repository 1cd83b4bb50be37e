"""DQ103 answer-truncated: the trainer's seq-len cuts the answer (dqe check --model)."""

from __future__ import annotations

from dqe.testing import assert_findings, run_rule

LONG = "Eat a balanced diet, exercise regularly and sleep well. " * 30


def train_toml(tmp_path, model, **batch):
    lines = [f'model = "{model}"', 'template = "alpaca"', "[batch]", *(f"{k} = {v!r}" for k, v in batch.items())]
    path = tmp_path / "train.toml"
    path.write_text("\n".join(lines).replace("'", '"') + "\n")
    return path


def test_an_answer_cut_at_seq_len_fails_with_the_supervised_tokens_that_survive(tmp_path, english_model):
    records = [
        {"instruction": "Give three tips for staying healthy.", "output": LONG},
        {"instruction": "Give three tips for staying healthy.", "output": "Sleep well."},
    ]
    run = run_rule("DQ103", records, train_config=str(train_toml(tmp_path, english_model, **{"seq-len": 256})))
    assert_findings(run, {0: "answer cut at seq-len 256: "})
    kept, _, total = run.messages[0].split(": ")[1].split(" supervised")[0].partition(" of ")
    assert 0 < int(kept) < int(total)
    assert run.scores[0] == int(kept) / int(total)
    assert "template alpaca; seq-len 256, overlong truncate" in run.evidence[0]


def test_a_record_the_trainer_drops_for_its_length_fails(tmp_path, english_model):
    records = [{"instruction": "Give three tips for staying healthy.", "output": LONG}]
    config = train_toml(tmp_path, english_model, **{"seq-len": 256, "overlong": "drop"})
    run = run_rule("DQ103", records, train_config=str(config))
    assert_findings(run, {0: "dropped for its length: "})
    assert "> seq-len 256 (overlong = drop)" in run.messages[0]


def test_a_record_that_fits_passes_and_the_default_seq_len_is_the_trainers(english_model):
    run = run_rule("DQ103", [{"instruction": "Summarize.", "output": LONG}], model=str(english_model))
    assert_findings(run, [])


def test_without_a_model_the_rule_is_skipped_and_says_why():
    run = run_rule("DQ103", [{"instruction": "Summarize.", "output": LONG}])
    (row,) = [r for r in run.report.rules if r.code == "DQ103"]
    assert row.skipped == "no --model"
    assert row.evaluated == 0 and run.passed == [True]
