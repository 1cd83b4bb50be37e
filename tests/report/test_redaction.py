"""``Rule.redact``: a rule may rewrite what it finds in ``dqe filter``'s outputs, never silently."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import dqe
from dqe import RecordRule, RuleOptions, hookimpl
from dqe.errors import PluginError
from dqe.io.reader import record_id
from dqe.report.manifest import load_manifest


class MaskOptions(RuleOptions):
    redact: bool = False


class MaskSecretWord(RecordRule):
    """Finds the word 'hunter2' and, when asked, replaces it with <PASSWORD>."""

    code = "TST001"
    name = "secret-word"
    summary = "the answer holds the password"
    Options = MaskOptions
    severity = "warning"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        found = pl.col("answer").str.contains("hunter2", literal=True)
        return batch.select(passed=~found, message=pl.when(found).then(pl.lit("password in the answer")))

    def redact(self, texts: pl.Series) -> pl.DataFrame | None:
        if not self.options.redact:
            return None
        return pl.DataFrame(
            {
                "text": texts.str.replace_all("hunter2", "<PASSWORD>", literal=True),
                "count": texts.str.count_matches("hunter2", literal=True),
            }
        )


class Plugin:
    __name__ = "test-redaction"

    def __init__(self, rule: type[RecordRule]):
        self.rule = rule

    @hookimpl
    def dqe_register_rules(self, register):
        register(self.rule)


RECORDS = [
    {
        "instruction": "What is the password?",
        "input": "",
        "output": "It is hunter2.",
        "notes": {"seen": ["hunter2 twice: hunter2"]},
    },
    {"instruction": "Say hi.", "input": "", "output": "Hi!"},
]


def run(
    tmp_path: Path,
    rule: type[RecordRule] = MaskSecretWord,
    options: dict | None = None,
    passed: str = "ok.jsonl",
):
    config = {
        "select": [rule.code],
        "rules": {rule.code: options if options is not None else {"redact": True}},
    }
    return dqe.filter(RECORDS, tmp_path / passed, tmp_path / "bad.jsonl", config, plugins=[Plugin(rule)])


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_string_of_a_written_record_is_redacted_and_counted(tmp_path):
    result = run(tmp_path)
    first, second = lines(tmp_path / "ok.jsonl")
    assert first["output"] == "It is <PASSWORD>."
    assert first["notes"] == {"seen": ["<PASSWORD> twice: <PASSWORD>"]}
    assert first["_dqe"] == {"redactions": [{"code": "TST001", "name": "secret-word", "count": 3}]}
    assert second == RECORDS[1]
    assert result.outputs.redactions.model_dump() == {
        "records": 1,
        "values": 3,
        "rules": {"TST001": 3},
    }
    assert result.report.dataset["redactions"] == {
        "records": 1,
        "values": 3,
        "rules": {"TST001": 3},
    }
    manifest = load_manifest(result.manifest)
    assert manifest.passed_ids == sorted([record_id(first), record_id(second)])
    assert manifest.dataset["redactions"]["values"] == 3


def test_a_rule_that_does_not_ask_to_redact_changes_nothing(tmp_path):
    result = run(tmp_path, options={})
    assert lines(tmp_path / "ok.jsonl") == RECORDS
    assert result.outputs.redactions.values == 0
    assert "redactions" not in result.report.dataset
    assert load_manifest(result.manifest).passed_ids == sorted(record_id(r) for r in RECORDS)


def test_parquet_outputs_carry_the_redactions(tmp_path):
    run(tmp_path, passed="ok.parquet")
    frame = pl.read_parquet(tmp_path / "ok.parquet")
    assert frame["output"].to_list() == ["It is <PASSWORD>.", "Hi!"]
    assert frame["_dqe"].to_list()[0] == {"redactions": [{"code": "TST001", "name": "secret-word", "count": 3}]}


def test_an_uncounted_rewrite_is_not_applied(tmp_path):
    class Sneaky(MaskSecretWord):
        """Rewrites every text but reports no change."""

        code = "TST002"
        name = "sneaky"

        def redact(self, texts):
            return pl.DataFrame({"text": texts.str.to_uppercase(), "count": pl.repeat(0, texts.len(), eager=True)})

    result = run(tmp_path, Sneaky)
    assert lines(tmp_path / "ok.jsonl") == RECORDS
    assert result.outputs.redactions.values == 0


def test_a_rule_that_raises_while_redacting_writes_nothing(tmp_path):
    class Raises(MaskSecretWord):
        """Raises on its second chunk of text."""

        code = "TST003"
        name = "raises"

        def redact(self, texts):
            if texts.len():
                raise ValueError("regex too large")
            return super().redact(texts)

    with pytest.raises(
        PluginError,
        match=r"rule TST003 \(plugin 'test-redaction'\) raised while redacting: ValueError: regex too large; nothing was written",
    ):
        run(tmp_path, Raises)
    assert not (tmp_path / "ok.jsonl").exists() and not (tmp_path / "bad.jsonl").exists()


def test_a_malformed_redaction_is_an_error(tmp_path):
    class Malformed(MaskSecretWord):
        """Returns the wrong shape."""

        code = "TST004"
        name = "malformed"

        def redact(self, texts):
            return pl.DataFrame({"text": texts})

    with pytest.raises(
        PluginError,
        match="redact\\(\\) must return a frame of 0 rows with 'text' and 'count' columns, or None",
    ):
        run(tmp_path, Malformed)
