"""DQ204 placeholder: template slots nobody filled in, such as {{name}} or [INSERT QUOTE]."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe.hookspecs import hookimpl
from dqe.patterns import categories, pack_value, selected
from dqe.rule import RecordRule, RuleOptions, in_batch_order
from dqe.text import role_text, without_code

_PARTS = ("system prompt", "instruction", "answer")  # where a placeholder can hide
_SHOWN = 3  # placeholders quoted per message


class PlaceholderOptions(RuleOptions):
    categories: list[str] = Field(
        default_factory=lambda: ["template"],
        description="categories of the `placeholders` pack to check: template ({{name}}, "
        "<PLACEHOLDER>, [INSERT ...]); fill-in ([Your Name], XXX先生) is off by default",
    )


class Placeholder(RecordRule):
    """Looks in the system prompt, every user turn and every assistant turn, Markdown code left
    out, for the patterns of the `placeholders` rule pack: template slots left unfilled
    ({{name}}, {{ user.name }}, {% if %}, <PLACEHOLDER>, <INSERT NAME>, [INSERT QUOTE HERE],
    {your_name}, 【此处插入…】) and, when switched on, fill-in slots ([Your Name], [Company Name],
    XXX先生). Tool calls and tool results are not looked at: they are data, not text."""

    code = "DQ204"
    name = "placeholder"
    summary = "unfilled template placeholders ({{name}}, <PLACEHOLDER>, [INSERT ...]) in a record"
    why = (
        "A placeholder left in training data is learned verbatim: a model fine-tuned on "
        "LLaMA-Factory's identity.json as shipped introduces itself as '{{name}}, an AI assistant "
        "developed by {{author}}'. Fill the template (or drop the record) before training."
    )
    example = (
        '{"instruction": "Who are you?", "output": "I am {{name}}, an AI assistant developed by '
        "{{author}}.\"} fails: 'unfilled template placeholder in answer: {{name}}, {{author}}'."
    )
    Options = PlaceholderOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        found = categories(context.pack("placeholders"), "placeholders")
        names = selected(found, options.categories, "rules.DQ204.categories")
        self.categories = [
            (pack_value(table, "label", "placeholders", str, default=name), pattern)
            for name, (table, pattern) in found.items()
            if name in names and pattern is not None
        ]

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        if not self.categories:
            return batch.select(
                passed=pl.repeat(True, pl.len()),
                score=pl.repeat(1.0, pl.len()),
                message=pl.repeat(None, pl.len(), dtype=pl.String),
            )
        texts = pl.DataFrame(
            {
                "system prompt": batch["system"].fill_null(""),
                "instruction": role_text(batch, "user"),
                "answer": role_text(batch, "assistant"),
            }
        ).select(without_code(pl.col(part)) for part in _PARTS)
        flags = {
            f"_{p}_{c}": pl.col(part).str.contains(pattern)
            for p, part in enumerate(_PARTS)
            for c, (_label, pattern) in enumerate(self.categories)
        }
        hits = texts.with_row_index("_r").with_columns(**flags).filter(pl.any_horizontal(list(flags)))
        # Messages only for the records that hit, quoting the placeholders found.
        described = [
            pl.when(pl.col(f"_{p}_{c}")).then(
                pl.format(
                    "{} in {}: {}",
                    pl.lit(label),
                    pl.lit(part),
                    pl.col(part)
                    .str.extract_all(pattern)
                    .list.unique(maintain_order=True)
                    .list.head(_SHOWN)
                    .list.join(", "),
                )
            )
            for p, part in enumerate(_PARTS)
            for c, (label, pattern) in enumerate(self.categories)
        ]
        found = hits.select("_r", message=pl.concat_str(described, separator="; ", ignore_nulls=True))
        out = in_batch_order(batch, found)
        failed = out["message"].is_not_null()
        return pl.DataFrame({"passed": ~failed, "score": (~failed).cast(pl.Float64), "message": out["message"]})


@hookimpl
def dqe_register_rules(register):
    register(Placeholder)
