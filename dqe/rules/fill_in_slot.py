"""DQ207 fill-in-slot: a slot a person was meant to fill, such as [Your Name], left in an answer."""

from __future__ import annotations

import polars as pl

from dqe import RecordRule, RuleOptions, hookimpl, marker_pattern, turn_name, turn_texts, without_code, worst_exchange

PACK = "fill-in"
_SHOWN = 3  # slots quoted per message


class FillInSlot(RecordRule):
    """Looks in every assistant turn, Markdown code left out, for the slots of the `fill-in` rule
    pack: [Your Name], [Recipient's Name], [Company Name], [Insert Date], <Your Email>, "Dear XXX",
    @username, [您的姓名], 【公司名称】, [插入日期], XXX先生, 某某公司. An answer to a question that
    asks for a template ("template", "form letter", "模板"), or that holds slots itself, has slots
    by design and passes; so do settings in example code (`password="yourpassword"`), brackets that
    index code (`row[date]`), Markdown links ([link](url)) and HTML tags (<title>). Each finding
    names its turn and quotes the slots. A warning by default: a
    letter written for the user to finish may carry its slots on purpose; make it an error
    (`severity = "error"`) for data that should name real things."""

    code = "DQ207"
    name = "fill-in-slot"
    summary = "fill-in slots left in an answer ([Your Name], [Company Name], XXX先生)"
    why = (
        "A model trained on letters signed '[Your Name]' signs its own letters that way. The slot "
        "marks a text generated for someone to finish, not an answer: fill it with the name the "
        "question gave, or drop the line."
    )
    example = (
        '{"instruction": "Write a thank-you note to my team.", "output": "Dear team, thank you for '
        "your hard work this quarter. Best, [Your Name]\"} warns: 'fill-in slot in answer: [Your Name]'."
    )
    severity = "warning"
    Options = RuleOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack(PACK)
        self.slots = marker_pattern(pack, "slots", "patterns", PACK)
        self.asked = marker_pattern(pack, "asked", "patterns", PACK)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        turns = turn_texts(batch).filter(pl.col("role") == "assistant")
        if self.slots is None:
            return worst_exchange(
                batch, turns.select("_r", "turn", passed=True, score=1.0, message=None, evidence=None)
            )
        hits = turns.with_columns(_text=without_code(pl.col("text"))).filter(pl.col("_text").str.contains(self.slots))
        # What the question asked for, or gave: a template, or slots of its own to keep.
        asked = without_code(pl.col("question")).str.contains(self.slots)
        if self.asked is not None:
            asked = asked | pl.col("question").str.contains(self.asked)
        # A pattern may take the characters around its slot (no look-around): trimmed to the slot.
        slots = (
            pl.col("_text")
            .str.extract_all(self.slots)
            .list.eval(
                pl.element()
                .str.replace(r"^[^\[<【（(@#\p{L}]+", "")
                .str.replace(r"^[^A-Za-z0-9_](X{3,}|x{3,}|×{3,})", "$1")
                # a masked name in capitals keeps none of the Chinese around it ("款BRAND" is "BRAND");
                # a run of X's keeps what it stands before ("XXX先生")
                .str.replace(r"^\p{Han}*([A-WYZ][A-Z]{2,})\p{Han}*$", "$1")
                # ... and a value's marker none of its sentence ("是#CX，" is "#CX")
                .str.replace(r"^\p{Han}*[ \t]*(#[A-Z]{2,7})[^A-Za-z0-9]*$", "$1")
                .str.replace(r"([\]>】）)])[^\]>】）)]*$", "$1")
            )
        )
        hits = hits.filter(~asked).with_columns(_s=slots.list.unique(maintain_order=True))
        shown = pl.col("_s").list.head(_SHOWN).list.join(", ")
        judged = hits.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("fill-in slot in {}: {}", turn_name(), shown),
            evidence=pl.format(
                '{} slot(s): "{}"; the question asks for no template and holds no slot', pl.col("_s").list.len(), shown
            ),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(FillInSlot)
