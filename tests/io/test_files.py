"""Containers and bad input: every malformed item is reported with its line and its raw text."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

import dqe
from dqe.errors import InputError
from dqe.io.files import read_items, sniff


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


def test_a_line_holding_a_bare_list_of_messages_says_how_to_read_it(tmp_path):
    # XTuner's openai_sft.jsonl: each line a conversation as its list of messages, no object around it
    path = tmp_path / "d.jsonl"
    path.write_text(
        '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]\n', encoding="utf-8"
    )
    assert items_of(path)[0].error == (
        "expected a JSON object, got a list of 2 messages: a conversation reads as "
        """{"messages": [...]} (jq -c '{messages: .}')"""
    )


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


def test_records_of_a_json_array_on_one_line_are_numbered_as_json_lines_would_be(tmp_path):
    # a minified array: a line number would be 1 for every record, which finds none of them
    path = tmp_path / "d.json"
    path.write_text('[{"a": 1}, [2], {"c": 3}]\n', encoding="utf-8")
    assert [(i.line, i.obj) for i in items_of(path)] == [(1, {"a": 1}), (2, None), (3, {"c": 3})]
    pretty = tmp_path / "pretty.json"
    pretty.write_text('[\n  {"a": 1},\n\n  {"c": 3}\n]', encoding="utf-8")
    assert [i.line for i in items_of(pretty)] == [2, 4]


def test_the_report_says_how_a_one_line_array_numbers_its_records(tmp_path):
    path = tmp_path / "d.json"
    records = [{"instruction": f"Name a colour ({i}).", "output": "Blue."} for i in range(3)]
    path.write_text(json.dumps([*records, {"instruction": "Say hi.", "output": ""}]), encoding="utf-8")
    report = dqe.check(path, select=["DQ001"])
    assert report.files[0].note == "a JSON array on one line: a record's source line is its number in the array"
    assert [f.source.rsplit(":", 1)[1] for f in report.findings] == ["4"]


def test_empty_file_has_no_container(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("  \n\n")
    assert sniff(path) is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("notes.txt", "a,b\n1,2\n", "unknown format: expected JSON Lines, a JSON array or Parquet"),
        # ToolBench's tooleval results: a CSV is refused with the command that writes it as JSON Lines
        (
            "win.csv",
            ",Method,Win Rate\n0,DFS,0.5\n",
            "CSV is not read .*pl.read_csv\\('win.csv', infer_schema=False\\)",
        ),
        (
            "d.tsv",
            "q\ta\n",
            r"TSV is not read .*read_csv\('d.tsv', infer_schema=False, separator='\\t'\).write_ndjson\('d.jsonl'\)",
        ),
    ],
)
def test_files_that_are_not_json_are_input_errors_saying_what_to_do(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        sniff(path)


def test_unknown_and_missing_files_are_input_errors(tmp_path):
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


def test_a_stray_byte_is_an_invalid_line_not_an_empty_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\n")
    assert sniff(path).container == "jsonl"
    (item,) = items_of(path)
    assert item.error == "invalid UTF-8"


def test_a_json_array_over_several_lines_is_read_as_one_whatever_its_name(tmp_path):
    # EmoLLM ships pretty-printed arrays as *.jsonl: read line by line, every line was invalid
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(RECORDS, indent=4), "utf-8")
    assert sniff(path).container == "json"
    assert [i.obj for i in items_of(path)] == RECORDS


def test_json_lines_of_arrays_stay_json_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('[1, 2]\n{"instruction": "a", "output": "b"}\n', "utf-8")
    assert sniff(path).container == "jsonl"
    assert [i.error is None for i in items_of(path)] == [False, True]


def test_text_that_starts_like_parquet_is_read_as_text(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'PAR1 not really\n{"instruction": "a", "output": "b"}\n')
    assert sniff(path).container == "jsonl"
    assert [i.error is None for i in items_of(path)] == [False, True]


def test_content_after_the_array_becomes_invalid_items(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n  {"a": 1}\n]\n{"instruction": "stray", "output": "x"}\n[1, 2]\n', encoding="utf-8")
    items = items_of(path)
    assert [i.obj for i in items] == [{"a": 1}, None, None]
    assert [(i.line, i.error, i.raw) for i in items[1:]] == [
        (4, "content after the end of the JSON array", '{"instruction": "stray", "output": "x"}'),
        (5, "content after the end of the JSON array", "[1, 2]"),
    ]


def test_garbage_after_the_array_is_kept_whole(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[{"a": 1},]  ]}{ oops', encoding="utf-8")
    items = items_of(path)
    assert items[0].obj == {"a": 1}
    assert [(i.error, i.raw) for i in items[1:]] == [("content after the end of the JSON array", "]}{ oops")]


@pytest.mark.parametrize("container", ["jsonl", "json"])
@pytest.mark.parametrize("depth", [10_000, 300])
def test_deep_nesting_is_an_invalid_item_in_every_container(tmp_path, container, depth):
    deep = "[" * depth + "]" * depth
    record = '{"instruction": "a", "output": "b", "x": ' + deep + "}"
    if container == "jsonl":
        text = f'{deep}\n{record}\n{{"instruction": "c", "output": "d"}}\n'
    else:
        text = f'[\n  {deep},\n  {record},\n  {{"instruction": "c", "output": "d"}}\n]\n'
    path = tmp_path / f"d.{container}"
    path.write_text(text, encoding="utf-8")
    items = items_of(path)
    assert [i.error for i in items] == ["nested more than 200 levels deep"] * 2 + [None]
    assert [i.raw for i in items[:2]] == [deep, record]
    assert items[2].obj == {"instruction": "c", "output": "d"}


def test_a_record_200_levels_deep_is_read(tmp_path):
    value = "[" * 199 + "]" * 199
    path = tmp_path / "d.jsonl"
    path.write_text(f'{{"instruction": "a", "output": "b", "x": {value}}}\n', encoding="utf-8")
    (item,) = items_of(path)
    assert item.error is None


@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_integers_of_any_size_read_exactly(tmp_path, container):
    numbers = [2**64 - 1, 2**64, -(2**63) - 1, 10**40, 1234567890123456789012345678901234567890]
    records = [{"n": n, "s": "12345678901234567890", "f": 1.5e-300} for n in numbers]
    path = tmp_path / f"d.{container}"
    path.write_text(
        "\n".join(json.dumps(r) for r in records) if container == "jsonl" else json.dumps(records), encoding="utf-8"
    )
    assert [i.obj for i in items_of(path)] == records
    assert all(type(i.obj["n"]) is int for i in items_of(path))


@pytest.mark.parametrize("container", ["jsonl", "json"])
@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_numbers_no_float_holds_are_invalid_items_with_their_text(tmp_path, container, number):
    bad = '{"instruction": "a", "output": "b", "x": ' + number + "}"
    good = '{"instruction": "c", "output": "d"}'
    path = tmp_path / f"d.{container}"
    path.write_text(f"{bad}\n{good}\n" if container == "jsonl" else f"[\n  {bad},\n  {good}\n]\n", encoding="utf-8")
    items = items_of(path)
    assert items[0].obj is None and items[0].raw == bad and items[0].error.startswith("malformed JSON")
    assert items[1].obj == {"instruction": "c", "output": "d"}


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_one_object_over_several_lines_holding_a_number_no_float_holds_is_one_invalid_item(tmp_path, number):
    # a training run's metrics (unsloth's t4 reference: "grad_norm": NaN) were 93 invalid lines
    text = json.dumps({"metrics": [{"step": 1, "grad_norm": 0.5}, {"step": 2}]}, indent=2)
    text = text.replace('"step": 2', f'"step": 2, "grad_norm": {number}')
    path = tmp_path / "metrics.json"
    path.write_text(text, encoding="utf-8")
    (item,) = items_of(path)
    assert item.obj is None and item.raw == text and item.error.startswith("malformed JSON: ")
    assert number.lstrip("-") in item.error


RECORDS = [{"instruction": "Grüße", "output": "你好 😀"}, {"instruction": "b", "output": "c"}]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_utf16_and_utf32_read_by_their_byte_order_mark_or_zero_bytes(tmp_path, encoding, container):
    text = (
        "\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n"
        if container == "jsonl"
        else json.dumps(RECORDS, ensure_ascii=False, indent=2)
    )
    path = tmp_path / f"d.{container}"
    path.write_bytes(text.encode(encoding))  # utf-16 and utf-32 write a BOM; -le and -be do not
    assert sniff(path).container == container
    items = items_of(path)
    assert [i.obj for i in items] == RECORDS
    assert [i.line for i in items] == ([1, 2] if container == "jsonl" else [2, 6])


def test_a_bad_utf16_line_keeps_its_bytes(tmp_path):
    good = '{"instruction": "b", "output": "c"}\n'.encode("utf-16-le")
    bad = '{"instruction": "'.encode("utf-16-le") + b"\x00\xd8" + '"}\n'.encode("utf-16-le")  # a lone surrogate
    path = tmp_path / "d.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + bad + good)
    items = items_of(path)
    assert items[0].error == "invalid UTF-16" and items[0].raw == bad[: -len("\n".encode("utf-16-le"))]
    assert items[1].obj == {"instruction": "b", "output": "c"}


@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_invalid_utf8_keeps_its_bytes(tmp_path, container):
    bad = b'{"instruction": "caf\xe9", "output": "\xffx"}'
    good = b'{"instruction": "b", "output": "c"}'
    path = tmp_path / f"d.{container}"
    path.write_bytes(bad + b"\n" + good + b"\n" if container == "jsonl" else b"[\n  " + bad + b",\n  " + good + b"\n]")
    items = items_of(path)
    assert items[0].error == "invalid UTF-8" and items[0].raw == bad  # the bytes, not a lossy text
    assert items[1].obj == {"instruction": "b", "output": "c"}


def test_one_object_over_several_lines_is_one_record(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(
        json.dumps({"instruction": "Name a colour.", "output": "Red.", "id": 12345678901234567890}, indent=2)
    )
    assert sniff(path).container == "object"
    [item] = items_of(path)
    assert (item.line, item.obj["id"]) == (1, 12345678901234567890)  # integers of any size, exactly


def test_a_file_describing_data_sets_is_left_out_of_its_folder_and_named_alone(tmp_path):
    """LLaMA-Factory's dataset_info.json: one object of named objects, not hundreds of
    'malformed JSON' records. In a folder it is left out, saying so; named alone it is a usage
    error naming the file (exit code 2), and --exclude leaves it out without a word."""
    info = {"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}, "identity": {"file_name": "identity.json"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(info, indent=2))
    (tmp_path / "data.jsonl").write_text(json.dumps({"instruction": "Hi.", "output": "Hello."}) + "\n")
    report = dqe.check(tmp_path)
    left_out = next(f for f in report.files if f.path.endswith("dataset_info.json"))
    assert left_out.records == 0 and left_out.note.startswith("left out: one JSON object describing data sets")
    assert report.summary.records == 1 and report.exit_code == 0
    with pytest.raises(
        InputError, match=r"dataset_info.json: one JSON object describing data sets, .* \(keys: alpaca_en"
    ):
        dqe.check(tmp_path / "dataset_info.json")
    report = dqe.check(tmp_path, exclude=["dataset_info.json"])
    assert [Path(f.path).name for f in report.files] == ["data.jsonl"]


@pytest.mark.parametrize(
    ("name", "config", "what"),
    [
        ("config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64}, "a model"),
        ("tokenizer_config.json", {"tokenizer_class": "LlamaTokenizer", "model_max_length": 4096}, "a tokenizer"),
        ("adapter_config.json", {"peft_type": "LORA", "r": 16}, "an adapter"),
        ("trainer_state.json", {"global_step": 10, "log_history": []}, "a training run"),
    ],
)
def test_a_model_folders_configs_are_left_out_of_a_folder_with_data(tmp_path, name, config, what):
    # data kept beside a model or a run: the configs are named, not read as records, not exit 2
    (tmp_path / name).write_text(json.dumps(config, indent=2))
    (tmp_path / "data.jsonl").write_text(json.dumps({"instruction": "Hi.", "output": "Hello."}) + "\n")
    report = dqe.check(tmp_path)
    left_out = next(f for f in report.files if f.path.endswith(name))
    assert left_out.note.startswith(f"left out: one JSON object describing {what}") and left_out.error is None
    assert report.summary.records == 1 and report.exit_code == 0


def test_json_lines_stay_json_lines_and_objects_run_together_lose_nothing(tmp_path):
    lines = tmp_path / "lines.json"
    lines.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n')
    assert sniff(lines).container == "jsonl"
    together = tmp_path / "together.json"  # two pretty-printed objects: not one object, read line by line
    together.write_text(json.dumps({"instruction": "a", "output": "b"}, indent=1) * 2)
    assert sniff(together).container == "object"
    items = items_of(together)
    assert items and all(item.obj is None for item in items)  # each line kept, invalid, with its text
    assert sum(1 for _ in together.read_text().splitlines()) == len(items)
