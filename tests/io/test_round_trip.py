"""Generated records of every format, in every container and encoding, odd values and damage
included, go through ``dqe filter`` whole: no traceback, exit 0, 1 or 2 as the contract says,
every record in exactly one output, and every value written back exactly as it came in."""

from __future__ import annotations

import base64
import codecs
import json
import math
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import dqe
from dqe.cli import main
from dqe.errors import InputError
from dqe.io.files import read_items, sniff
from dqe.io.parquet import encode

ints = st.integers() | st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**40])
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([5e-324, -0.0, 1.7976931348623157e308])
texts = st.text(max_size=12) | st.sampled_from(["\x00\x1f", "\u2028", "\ud800 lone", "\ufeff", "𝄞", "\r\n", "]}"])
values = st.recursive(
    st.none() | st.booleans() | ints | floats | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def expand(value):
    """``value`` with each "<deep:N>" made a list nested N deep (shown short when a test fails)."""
    if isinstance(value, str) and value.startswith("<deep:"):
        return nested(int(value[6:-1]))
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


# MAX_DEPTH is 200 and the record is level 1: a value 199 deep reads, 200 deep does not
extra = values | st.sampled_from(["<deep:199>", "<deep:200>", "<deep:600>"])
content = texts | values
alpaca = st.fixed_dictionaries(
    {"instruction": content, "output": content}, optional={"input": texts, "history": values, "meta": extra}
)
sharegpt = st.fixed_dictionaries(
    {
        "conversations": st.lists(
            st.fixed_dictionaries(
                {"from": st.sampled_from(["human", "gpt", "system", "observation"]), "value": content}
            ),
            max_size=4,
        )
    },
    optional={"meta": extra},
)
openai = st.fixed_dictionaries(
    {
        "messages": st.lists(
            st.fixed_dictionaries(
                {"role": st.sampled_from(["user", "assistant", "system", "tool"]), "content": content}
            ),
            max_size=4,
        )
    },
    optional={"id": extra},
)
records = st.lists(alpaca | sharegpt | openai, min_size=1, max_size=6)
GOOD = {"instruction": "Name a primary colour.", "output": "Red is one."}

# The known bad cases as @example, always run, and the profile's number of generated examples
# (tests/conftest.py: a few by default, many with --hypothesis-profile thorough); 400 a test over
# several seeds found nothing more. A failure is shown as generated: shrinking deep and odd values
# takes minutes.
SETTINGS = settings(
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fresh(tmp_path):
    """A folder of its own for one example (hypothesis runs many in one test's tmp_path)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def same(a, b) -> bool:
    """Equal as JSON values: 1, 1.0 and True differ; floats to the bit; keys in any order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    return a == b


def dump(obj, **kwargs) -> str:
    return json.dumps(obj, ensure_ascii=True, **kwargs)


def write_input(tmp_path, items, container: str, encoding: str) -> tuple:
    """The input file and the text of each item as it lies there (None for Parquet)."""
    path = tmp_path / f"in.{container}"
    if container == "parquet":
        path.write_bytes(encode(items))
        return path, [None] * len(items)
    if container == "jsonl":
        lines = [dump(r) for r in items]
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        return path, lines
    path.write_bytes(dump(items, indent=2).encode(encoding))
    return path, [None] * len(items)


def read_back(path) -> list:
    sniffed = sniff(path)
    return [item.obj for item in read_items(path, sniffed)] if sniffed else []


def check_every_value_written_back(result, items, texts, ok, bad):
    """Each input record, in order, is in the output its status names, exactly as it was."""
    key = result.outputs.annotation
    passed, rejected = iter(read_back(ok)), iter(read_back(bad))
    statuses = result.report.records.sort("record")["status"].to_list()
    assert len(statuses) == len(items)
    for item, text, status in zip(items, texts, statuses, strict=True):
        if status == "passed":
            assert same(next(passed), item)
            continue
        written = next(rejected)
        meta = written.pop(key)
        if written:  # the record itself, annotated
            assert same(written, item)
        else:  # a record that could not be read: its text, as it lay in the file
            raw = meta["raw"]
            assert raw == text if text is not None else same(json.loads(raw), item)
    assert next(passed, None) is None and next(rejected, None) is None


@SETTINGS
@given(
    items=records,
    container=st.sampled_from(["jsonl", "json", "parquet"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32-be"]),
    out=st.sampled_from([".jsonl", ".json", ".parquet"]),
)
@example(items=[GOOD, {**GOOD, "meta": 2**70}], container="jsonl", encoding="utf-8", out=".jsonl")  # floats before
@example(items=[{**GOOD, "m": 1}, {**GOOD, "m": "x"}], container="jsonl", encoding="utf-8", out=".parquet")
@example(items=[GOOD, {**GOOD, "_dqe": 5}, {"_dqe": 5}], container="json", encoding="utf-8", out=".jsonl")
@example(items=[GOOD, {**GOOD, "meta": "<deep:600>"}], container="json", encoding="utf-8", out=".jsonl")
@example(items=[GOOD, GOOD], container="jsonl", encoding="utf-16", out=".jsonl")  # a PowerShell redirect
@example(items=[GOOD, {**GOOD, "output": "\ud800"}], container="json", encoding="utf-8", out=".json")  # not Unicode
def test_every_record_and_value_comes_back(tmp_path, items, container, encoding, out):
    tmp_path = fresh(tmp_path)
    items = expand(items)
    path, texts = write_input(tmp_path, items, container, encoding)
    ok, bad = tmp_path / f"ok{out}", tmp_path / f"bad{out}"
    try:
        result = dqe.filter(path, ok, bad, select=["DQ001"])
    except InputError as exc:  # the one refusal: no record looks like SFT data
        assert "unknown record format" in str(exc)
        return
    s = result.report.summary
    assert s.records == len(items) and s.passed + s.rejected + s.invalid == len(items)
    check_every_value_written_back(result, items, texts, ok, bad)


@SETTINGS
@given(
    items=st.lists(alpaca, min_size=1, max_size=5),
    container=st.sampled_from(["jsonl", "json", "parquet"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    damage=st.sampled_from(["cut", "garbage", "second array"]),
    where=st.floats(0, 1),
)
@example(items=[GOOD], container="json", encoding="utf-8", damage="garbage", where=0.5)  # ignored after ']'
@example(items=[GOOD], container="json", encoding="utf-8", damage="second array", where=0.5)
@example(items=[GOOD, GOOD], container="json", encoding="utf-16", damage="cut", where=0.7)
def test_damaged_files_lose_nothing_and_exit_as_the_contract_says(tmp_path, items, container, encoding, damage, where):
    tmp_path = fresh(tmp_path)
    path, _ = write_input(tmp_path, items, container, encoding)
    data = path.read_bytes()
    if damage == "cut":
        data = data[: max(1, int(len(data) * where))]
    else:
        tail = dump(items) if damage == "second array" else '\n{"stray": 1} \x01 garbage'
        data += tail.encode(encoding if encoding != "utf-8-sig" else "utf-8")
    if encoding == "utf-16" and damage != "cut":
        data = data.replace(codecs.BOM_UTF16, b"", 1) if data.count(codecs.BOM_UTF16) > 1 else data
    path.write_bytes(data)
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    result = CliRunner().invoke(
        main, ["filter", str(path), "--passed", str(ok), "--rejected", str(bad), "--select", "DQ001"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 2:  # a file that cannot be read at all: a Parquet file cut or grown, or no record left
        assert "error:" in result.output and not ok.exists() and not bad.exists()
        return
    assert result.exit_code in (0, 1), result.output
    passed, rejected = read_back(ok), read_back(bad)
    total = int(result.output.split(" records · ")[0].split()[-1].replace(",", ""))
    assert len(passed) + len(rejected) == total
    assert all(any(same(p, item) for item in items) for p in passed)
    # the damage is kept: what did not read as a record is in the rejected output as it lay in the file
    as_text = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16-le"}[encoding]
    for r in rejected:
        meta = r.pop("_dqe")
        if "raw_base64" in meta:
            assert base64.b64decode(meta["raw_base64"]) in data
        elif "raw" in meta and container != "parquet":
            assert meta["raw"].encode(as_text) in data
        else:
            assert any(same(r, i) for i in items)


@pytest.mark.parametrize("container", ["jsonl", "json"])
def test_a_stream_of_generated_records_reads_as_its_file(tmp_path, container):
    """The same bytes through standard input: the same records, the same outputs."""
    items = [GOOD, {**GOOD, "big": 2**70, "tiny": 5e-324}, {"instruction": "", "output": "x"}]
    path, _ = write_input(tmp_path, items, container, "utf-8")
    runner = CliRunner()
    for name, source in (("file", str(path)), ("stdin", "-")):
        args = [
            "filter",
            source,
            "--passed",
            f"{name}.ok.jsonl",
            "--rejected",
            f"{name}.bad.jsonl",
            "--select",
            "DQ001",
        ]
        assert runner.invoke(main, args, input=path.read_bytes()).exit_code == 1
    assert (tmp_path / "file.ok.jsonl").read_bytes() == (tmp_path / "stdin.ok.jsonl").read_bytes()
    assert json.loads((tmp_path / "stdin.ok.jsonl").read_text().splitlines()[1])["big"] == 2**70
