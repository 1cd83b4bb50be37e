"""Reading records out of what a model replies: arrays, JSON lines, fences, wrappers, and what
cannot be read, which comes back as a reason and never raises anything else."""

from __future__ import annotations

import pytest

from dqe.augment.replies import parse_reply

RECORD = {"instruction": "Translate 'hi' into French.", "input": "", "output": "Salut."}


@pytest.mark.parametrize(
    "content",
    [
        '[{"instruction": "Translate \'hi\' into French.", "input": "", "output": "Salut."}]',
        'Sure! Here you go:\n```json\n[{"instruction": "Translate \'hi\' into French.", "input": "", "output": "Salut."}]\n```\nEnjoy.',
        '```jsonl\n{"instruction": "Translate \'hi\' into French.", "input": "", "output": "Salut."}\n```',
        '{"records": [{"instruction": "Translate \'hi\' into French.", "input": "", "output": "Salut."}]}',
        '{"instruction": "Translate \'hi\' into French.", "input": "", "output": "Salut."}',
    ],
    ids=["array", "fenced-array-in-prose", "fenced-json-lines", "wrapped", "one-object"],
)
def test_records_are_read_however_the_model_wraps_them(content):
    assert parse_reply(content) == ([RECORD], [])


def test_items_that_are_no_object_are_named_and_the_rest_kept():
    parsed = parse_reply('[{"output": "a"}, "just text", 3]')
    assert parsed.records == [{"output": "a"}]
    assert parsed.unreadable == ["item 2: not a JSON object: 'just text'", "item 3: not a JSON object: 3"]


def test_a_json_line_that_does_not_parse_is_a_reason():
    parsed = parse_reply('{"output": "a"}\n{"output": "b",\n')
    assert parsed.records == [{"output": "a"}]
    assert parsed.unreadable == ["item 2: invalid JSON (Expecting ',' delimiter): '{\"output\": \"b\"'"]


@pytest.mark.parametrize("content", ["I am unable to write JSON.", "[1, 2", ""])
def test_a_reply_without_records_is_a_value_error_naming_it(content):
    with pytest.raises(ValueError, match="no JSON array or JSON lines of records in the reply"):
        parse_reply(content)
