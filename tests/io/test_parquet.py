"""Parquet outputs hold any JSON records, and dqe reads every record back as it was written."""

from __future__ import annotations

import polars as pl
import pytest

from dqe.io.parquet import encode, read_rows


def round_trip(rows, tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(encode(rows))
    return [item.obj for item in read_rows(path)]


@pytest.mark.parametrize(
    "rows",
    [
        [{"m": 1}, {"m": "x"}],  # polars would write "1"
        [{"m": 1}, {"m": 1.5}],  # polars would write 1.0
        [{"m": [1]}, {"m": "x"}],  # polars refuses
        [{"m": [1, "a"]}],
        [{"m": {"a": 1}}, {"m": {"b": "x"}}],  # polars would add "a": null and "b": null
        [{"m": {}}],  # Parquet has no empty struct
        [{"m": 2**70}, {"m": -(2**63) - 1}],
        [{"m": "\udcff lone surrogate"}],
        [{"a": 1}, {"b": 2}],  # a key missing from a record stays missing
        [{"a": None}, {"b": 2}],  # and a null stays null
        [{"a": None, "b": [None, "x"]}, {"a": None, "b": []}],
        [{"m": True}, {"m": 1}],
        [{"deep": [[[{"x": [1.5, None]}]]]}, {"deep": []}],
    ],
)
def test_any_records_round_trip(rows, tmp_path):
    back = round_trip(rows, tmp_path)
    assert back == rows
    assert [[type(v) for v in r.values()] for r in back] == [[type(v) for v in r.values()] for r in rows]


def test_uniform_fields_stay_typed_columns(tmp_path):
    rows = [
        {"instruction": "a", "output": "b", "history": [["q", "a"]], "score": 1.5, "n": 3},
        {"instruction": "c", "output": "d", "history": [], "score": 2.0, "n": 4},
    ]
    path = tmp_path / "d.parquet"
    path.write_bytes(encode(rows))
    assert pl.read_parquet(path).schema == pl.Schema(
        {
            "instruction": pl.String,
            "output": pl.String,
            "history": pl.List(pl.List(pl.String)),
            "score": pl.Float64,
            "n": pl.Int64,
        }
    )
    assert "dqe" not in pl.read_parquet_metadata(path)


def test_mixed_fields_are_json_text_that_other_readers_can_parse(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(encode([{"a": "x", "m": 1}, {"a": "y", "m": "1"}]))
    frame = pl.read_parquet(path)
    assert frame.schema == pl.Schema({"a": pl.String, "m": pl.String})
    assert frame["m"].to_list() == ["1", '"1"']
    assert pl.read_parquet_metadata(path)["dqe"] == '{"json":["m"],"absent":[]}'


def test_a_parquet_file_from_elsewhere_reads_as_it_is(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"instruction": ["a", "b"], "output": ["x", None]}).write_parquet(path)
    assert [item.obj for item in read_rows(path)] == [
        {"instruction": "a", "output": "x"},
        {"instruction": "b", "output": None},
    ]


def test_values_nested_too_deep_for_a_typed_column_are_json_text(tmp_path):
    deep: list = []
    for _ in range(600):
        deep = [deep]
    rows = [{"instruction": "a", "output": "b", "meta": deep}]
    path = tmp_path / "d.parquet"
    path.write_bytes(encode(rows))
    assert pl.read_parquet_metadata(path)["dqe"] == '{"json":["meta"],"absent":[]}'
    (item,) = read_rows(path)
    assert item.error == "nested more than 200 levels deep" and item.obj is None
