"""The text feature: what duplicate checks compare, and the preview reports show."""

from __future__ import annotations

import polars as pl

from dqe.features.text import TURN_SEPARATOR, conversation, normalized, preview, user_lines
from dqe.records import batch_schema


def turns(*pairs: tuple[str, str]) -> pl.DataFrame:
    rows = [[{"role": role, "content": content} for role, content in pairs]]
    return pl.DataFrame({"turns": rows}, schema={"turns": batch_schema()["turns"]})


def test_every_turn_but_system_is_joined_and_normalized():
    frame = turns(
        ("system", "Be brief."),
        ("user", "  Hello\tWORLD "),
        ("tool_call", '{"name": "Greet"}'),
        ("tool", "{}"),
        ("assistant", "Ｈｉ  there\n"),
    )
    text = normalized(frame.select(conversation(pl.col("turns"))).to_series())
    sep = TURN_SEPARATOR
    assert text.to_list() == [f'hello world{sep}{{"name": "greet"}}{sep}{{}}{sep}hi there']


def test_preview_shows_turns_and_is_cut_at_100_characters():
    frame = turns(("user", "Tell me\na story."), ("assistant", "Once upon a time " * 20))
    shown = frame.select(preview(conversation(pl.col("turns"))))[0, 0]
    assert shown.startswith("Tell me a story. | Once upon a time Once")
    assert len(shown) == 100 and shown.endswith("…")


def test_user_lines_are_the_normalized_lines_of_user_turns_only():
    frame = pl.concat(
        [
            turns(
                ("system", "Tools: search"),
                ("user", "Tools: search(query)\n\n  Find   the NEWS\r\n"),
                ("assistant", "search('news')"),
                ("user", "Ｔｈａｎｋｓ"),
            ),
            turns(("assistant", "no user turn")),
            turns(("user", "Tools: search(query)\nWeather in Oslo?")),
        ]
    )
    lines = user_lines(frame["turns"])
    # (record, turn of its conversation text with the system prompt left out, line)
    assert lines.rows() == [
        (0, 0, "tools: search(query)"),
        (0, 0, "find the news"),
        (0, 2, "thanks"),
        (2, 0, "tools: search(query)"),
        (2, 0, "weather in oslo?"),
    ]
