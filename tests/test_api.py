"""The Python API for notebooks and pipelines: paths, lists of dicts and polars frames."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe.errors import ConfigError

GOOD = {"instruction": "Name a primary colour.", "output": "Red."}
BAD = {"instruction": "Name a secondary colour.", "output": "  "}


def test_check_a_list_of_dicts():
    report = dqe.check([GOOD, BAD])
    assert (report.summary.records, report.summary.passed, report.summary.rejected) == (2, 1, 1)
    records = report.records
    assert records.columns == ["record", "source", "id", "status", "codes", "reasons"]
    assert records["status"].to_list() == ["passed", "rejected"]
    assert records["source"].to_list() == ["<records>:1", "<records>:2"]
    assert records["reasons"][1].to_list() == ["DQ001: empty answer"]


def test_check_a_polars_frame_and_get_every_finding():
    frame = pl.DataFrame([GOOD, BAD, {**BAD, "instruction": "Name a warm colour."}])
    report = dqe.check(frame, findings_per_rule=1)
    assert len(report.findings) == 1
    assert report.findings_frame.height == 2


def test_overrides_are_config_keys():
    report = dqe.check([GOOD], select=["DQ101"], rules={"DQ101": {"max-tokens": 3}})
    assert [r.code for r in report.rules] == ["DQ000", "DQ101"]
    assert report.summary.rejected == 1


def test_bad_override_is_a_config_error():
    with pytest.raises(ConfigError, match="rules.DQ101.max-tokens"):
        dqe.check([GOOD], rules={"DQ101": {"max-tokens": -1}})
    with pytest.raises(ConfigError, match="unknown key 'batch-sizes'"):
        dqe.check([GOOD], config={"batch-sizes": 3})


def test_filter_writes_files_and_returns_counts(tmp_path):
    result = dqe.filter([GOOD, BAD], tmp_path / "ok.parquet", tmp_path / "bad.jsonl")
    assert (result.outputs.passed, result.outputs.rejected) == (1, 1)
    assert pl.read_parquet(tmp_path / "ok.parquet").to_dicts() == [GOOD]
    assert result.manifest.name == "ok.parquet.manifest.json"


def test_record_ids_do_not_depend_on_layout(tmp_path):
    one = dqe.check([{"instruction": "a", "output": "b"}]).records["id"][0]
    two = dqe.check([{"output": "b", "instruction": "a"}]).records["id"][0]
    assert one == two
