"""The invariant of dqe filter: every input record lands in exactly one output, for any input."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dqe
from dqe.engine.plugins import load_plugins
from dqe.errors import InputError
from dqe.io.files import read_items, sniff
from dqe.io.formats.base import Columns, Tags

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
alpaca = st.fixed_dictionaries(
    {"instruction": st.text(max_size=40), "output": st.text(max_size=40)},
    optional={"input": st.text(max_size=10) | st.integers(), "history": json_values, "system": json_values},
)
sharegpt = st.fixed_dictionaries(
    {
        "conversations": st.lists(
            st.fixed_dictionaries(
                {
                    "from": st.sampled_from(["human", "gpt", "bot", "observation"]),
                    "value": st.text(max_size=20) | st.integers(),
                }
            ),
            max_size=4,
        )
    }
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "bot"]), "content": st.text(max_size=20) | json_values}
    ),
    max_size=3,
)
# TRL's pairs of conversations (a prompt of their own or none), LLaMA-Factory v1's under *_messages
preference = st.fixed_dictionaries(
    {"chosen": messages, "rejected": json_values}, optional={"prompt": st.text(max_size=20) | messages | json_values}
) | st.fixed_dictionaries({"chosen_messages": messages, "rejected_messages": messages})
objects = alpaca | sharegpt | preference | st.dictionaries(st.text(max_size=8), json_values, max_size=3) | json_values
garbage = st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b and b.strip())


def examples() -> int:
    """Every default rule runs on each example, a whole dqe.filter (about a second of CPU): 3 in the
    default run (the "fast" profile, tests/conftest.py), the profile's own with --hypothesis-profile
    thorough (CI's slow step: 100). tests/io/test_round_trip.py covers containers, encodings, odd
    values and damage with one rule and the profile's number of examples."""
    profile = settings.default.max_examples
    return 3 if profile == settings.get_profile("fast").max_examples else profile


SETTINGS = settings(
    max_examples=examples(), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def lines(path):
    return [line for line in path.read_bytes().splitlines() if line.strip()]


FORMATS = list(load_plugins().formats.values())


def recognised(obj) -> bool:
    return isinstance(obj, dict) and any(f.detect(obj, Columns(), Tags()) for f in FORMATS)


def filter_or_refuse(source, ok, bad, items):
    """dqe.filter, or the refusals allowed: no record in the input looks like SFT data, the input
    is one object holding one conversation of a shape no format reads (the reader names the key to
    map), one object keying records by id or (a cut array read as one object) wrapping a list, which
    the reader asks to have written out first, or messages linked by a parent key (a flat export of
    message trees)."""
    refusals = (
        "unknown record format",
        "one JSON object, one conversation",
        "write the list out first",
        "under keys of their own",
        "each linked to the one it answers",
    )
    try:
        return dqe.filter(source, ok, bad)
    except InputError as exc:
        assert any(refusal in str(exc) for refusal in refusals), exc
        assert not any(recognised(item) for item in items)
        return None


def assert_conserved(source, expected, tmp_path, items):
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    result = filter_or_refuse(source, ok, bad, items)
    if result is None:
        return
    s = result.report.summary
    assert s.records == expected
    assert s.passed + s.rejected + s.invalid == expected
    assert len(lines(ok)) == s.passed
    assert len(lines(bad)) == s.rejected + s.invalid


@SETTINGS
@given(st.lists(objects.map(lambda o: json.dumps(o).encode()) | garbage, min_size=1, max_size=25))
@example(items=[b"\x00", b"\x00"])  # zero bytes as in UTF-16, but no text there: read as UTF-8 lines
def test_jsonl_of_anything_is_conserved(tmp_path, items):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(items) + b"\n")
    expected = sum(1 for item in items if item.strip())
    assert_conserved(path, expected, tmp_path, [_loads(item) for item in items])


@SETTINGS
@given(
    st.lists(objects, min_size=1, max_size=25), st.integers(min_value=0, max_value=10_000), st.sampled_from([2, None])
)
def test_json_arrays_whole_or_cut_are_conserved(tmp_path, items, cut, indent):
    text = json.dumps(items, indent=indent)  # indent None: on one line, its records numbered
    path = tmp_path / "in.json"
    if cut % 3 == 0:  # a third of the examples: the file is cut short somewhere
        text = text[: 1 + cut % len(text)]
    path.write_text(text, encoding="utf-8")
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    survivors = [i.obj for i in read_items(path, sniff(path))] if sniff(path) else []
    result = filter_or_refuse(path, ok, bad, survivors)
    if result is None:
        return
    s = result.report.summary
    assert len(lines(ok)) == s.passed and len(lines(bad)) == s.rejected + s.invalid
    if cut % 3:
        assert s.records == len(items)
    assert "\n".join(line.decode() for line in lines(bad)).count('"raw"') <= s.invalid


@SETTINGS
@given(st.lists(alpaca, min_size=1, max_size=25))
def test_in_memory_records_are_conserved(tmp_path, items):
    assert_conserved(items, len(items), tmp_path, items)


def _reject(name: str):
    raise ValueError(f"{name} is not JSON")


def _loads(line: bytes):
    """A line as dqe reads it: strict JSON, so "-Infinity" (which json.dumps writes for -inf) is
    a malformed line, not a record."""
    try:
        return json.loads(line, parse_constant=_reject)
    except ValueError:
        return None
