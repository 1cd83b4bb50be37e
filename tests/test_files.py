"""Containers and bad input: every malformed item is reported with its line and its raw text."""

from __future__ import annotations

import json

import pytest

from dqe.files import InputError, ObjectWriter, read_items, sniff


def items_of(path):
    return list(read_items(path, sniff(path)))


def test_jsonl_bad_lines_are_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n\n[1, 2]\n{"x": "\xff"}\n"just a string"\n{"ok": true}\n')
    items = items_of(path)
    assert [(i.line, i.error is None) for i in items] == [
        (1, True),
        (2, False),
        (4, False),
        (5, False),
        (6, False),
        (7, True),
    ]
    assert items[1].error.startswith("malformed JSON") and items[1].raw == '{"a": '
    assert items[2].error == "expected a JSON object, got list"
    assert items[3].error == "invalid UTF-8"
    assert items[4].error == "expected a JSON object, got str"


def test_truncated_json_array_keeps_the_records_before_the_cut(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n  {"a": 1},\n  {"b": 2},\n  {"c": "abc', encoding="utf-8")
    items = items_of(path)
    assert [i.obj for i in items[:2]] == [{"a": 1}, {"b": 2}]
    assert items[2].line == 4 and items[2].error.startswith("truncated JSON array")
    assert items[2].raw == '{"c": "abc'


def test_array_cut_after_a_record_is_reported_once(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n  {"a": 1},\n  {"b": 2}\n', encoding="utf-8")
    items = items_of(path)
    assert len(items) == 3 and items[2].error.startswith("truncated JSON array")


def test_malformed_record_inside_an_array_is_skipped_to_the_next(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n  {"a": 1},\n  {"b": 2,, "x": {\n    "y": 1}},\n  {"c": 3},\n  {"d": 4}\n]\n', encoding="utf-8")
    items = items_of(path)
    assert [i.obj for i in items] == [{"a": 1}, None, {"c": 3}, {"d": 4}]
    assert items[1].line == 3 and "malformed JSON" in items[1].error
    assert items[1].raw == '{"b": 2,, "x": {\n    "y": 1}}'


def test_invalid_utf8_inside_an_array(tmp_path):
    path = tmp_path / "d.json"
    path.write_bytes(b'[\n  {"a": "\xff\xfe"},\n  {"b": 2}\n]')
    items = items_of(path)
    assert items[0].error == "invalid UTF-8" and items[1].obj == {"b": 2}


def test_empty_file_has_no_container(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("  \n\n")
    assert sniff(path) is None


def test_unknown_and_missing_files_are_input_errors(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="unknown format"):
        sniff(csv)
    with pytest.raises(InputError, match="no such file"):
        sniff(tmp_path / "missing.jsonl")


def test_a_10mb_record_reads_in_both_containers(tmp_path):
    big = {"instruction": "Repeat.", "output": "x" * 10_000_000}
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n" + json.dumps(big) + "\n")
    array = tmp_path / "big.json"
    array.write_text(
        json.dumps([{"instruction": "a", "output": "b"}, big, {"instruction": "c", "output": "d"}], indent=2)
    )
    for path in (jsonl, array):
        items = items_of(path)
        assert all(i.error is None for i in items)
        assert len(items[1].obj["output"]) == 10_000_000


def test_parquet_rows_read_with_row_numbers(tmp_path):
    import polars as pl

    path = tmp_path / "d.parquet"
    pl.DataFrame({"instruction": ["a", "b"], "output": ["1", "2"]}).write_parquet(path)
    items = items_of(path)
    assert [(i.line, i.obj) for i in items] == [
        (1, {"instruction": "a", "output": "1"}),
        (2, {"instruction": "b", "output": "2"}),
    ]


@pytest.mark.parametrize("name", ["out.jsonl", "out.json", "out.parquet"])
def test_writer_round_trips_every_field(tmp_path, name):
    objs = [
        {"instruction": "é", "output": "😀", "meta": {"n": 1, "tags": ["a"]}},
        {"instruction": "b", "output": "c", "meta": {"n": 2, "tags": []}},
    ]
    writer = ObjectWriter(tmp_path / name)
    for obj in objs:
        writer.write(obj)
    writer.close()
    assert [i.obj for i in items_of(tmp_path / name)] == objs


def test_aborted_writer_leaves_no_file(tmp_path):
    writer = ObjectWriter(tmp_path / "out.jsonl")
    writer.write({"a": 1})
    writer.close(ok=False)
    assert list(tmp_path.iterdir()) == []


def test_a_stray_byte_is_an_invalid_line_not_an_empty_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\n")
    assert sniff(path) == "jsonl"
    (item,) = items_of(path)
    assert item.error == "invalid UTF-8"


def test_text_that_starts_like_parquet_is_read_as_text(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'PAR1 not really\n{"instruction": "a", "output": "b"}\n')
    assert sniff(path) == "jsonl"
    assert [i.error is None for i in items_of(path)] == [False, True]
