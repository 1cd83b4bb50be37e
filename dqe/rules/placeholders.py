"""DQ204 placeholder: template slots nobody filled in, such as {{name}} or [INSERT QUOTE]."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import (
    ConfigError,
    RecordRule,
    RuleOptions,
    hookimpl,
    marker_pattern,
    pack_categories,
    pack_value,
    pattern_list,
    selected_names,
    turn_name,
    turn_texts,
    without_code,
    worst_exchange,
)

_BRACES = r"\{\{[^{}\n]*\}\}"  # a template page's variables
_SHOWN = 3  # placeholders quoted per message
# A slot the turn itself tells its reader to fill ("replacing 'YOUR_FEN' with the actual FEN") is
# the reader's to fill, not a leftover.
_TOLD = r"(?i)replac(?:e|ing)\s+(?:the\s+)?[`'\"“‘]?([^\s`'\"”’]{2,60}?)[`'\"”’]?\s+with\s"
_NOT_KEY = r"[^0-9A-Za-z_\p{Han}]"  # a slot compared by its letters: "<YOUR_KEY>" is "YOUR_KEY"


def _keys(names: pl.Expr) -> pl.Expr:
    return names.list.eval(pl.element().str.replace_all(_NOT_KEY, "").str.to_lowercase())


class PlaceholderOptions(RuleOptions):
    categories: list[str] | None = Field(
        default=None,
        description="categories of the `placeholders` pack to check (default: all of them; the pack ships "
        "template: {{name}}, <PLACEHOLDER>, [INSERT ...])",
    )


class Placeholder(RecordRule):
    """Looks in the system prompt, every user turn and every assistant turn, Markdown code and
    the pack's `expressions` (``${{ github.repository }}``) left out, for the patterns of the `placeholders` rule pack: template slots left unfilled
    ({{name}}, {{ user.name }}, {% if %}, <PLACEHOLDER>, <INSERT NAME>, [INSERT QUOTE HERE],
    {your_name}, 【此处插入…】). A turn that answers a question asking for a template (or holding
    slots itself) has slots by design and passes, and so does a slot the turn tells its reader to
    fill ("replacing 'YOUR_FEN' with the position"). Slots a person fills in a letter ([Your Name],
    XXX先生) are DQ207 fill-in-slot's and left out here. Tool calls and tool results are not
    looked at: they are data, not text. A finding names the first turn holding a placeholder (none
    for the system prompt, which has no turn number) and quotes the placeholders as evidence."""

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
        pack = context.pack("placeholders")
        found = pack_categories(pack, "placeholders")
        wanted = list(found) if options.categories is None else options.categories
        if "fill-in" in wanted and "fill-in" not in found:
            raise ConfigError(
                "'rules.DQ204.categories': fill-in slots ([Your Name], XXX先生) are rule DQ207 fill-in-slot now "
                "(a warning, on by default); leave 'fill-in' out of DQ204's categories"
            )
        names = selected_names(found, wanted, "rules.DQ204.categories")
        self.categories = [
            (pack_value(table, "label", "placeholders", str, default=name), pattern)
            for name, (table, pattern) in found.items()
            if name in names and pattern is not None
        ]
        self.asked = marker_pattern(pack, "asked", "patterns", "placeholders")
        self.fill_in = marker_pattern(context.pack("fill-in"), "slots", "patterns", "fill-in")
        self.expressions = pattern_list(pack, "expressions.patterns", "placeholders")
        self.pages = pattern_list(pack, "pages.patterns", "placeholders")

    def _prose(self, text: pl.Expr) -> pl.Expr:
        """``text`` without Markdown code and the pack's expressions, where slots are looked for; a
        template page (the pack's `pages`: a filter, a tag, a directive) without its braces too."""
        return self._unbraced(self._uncoded(text))

    def _uncoded(self, text: pl.Expr) -> pl.Expr:
        """``text`` without Markdown code and the pack's expressions."""
        text = without_code(text)
        return text.str.replace_all(self.expressions, " ") if self.expressions is not None else text

    def _unbraced(self, text: pl.Expr) -> pl.Expr:
        """``text`` without its braces where it is a template page (the pack's `pages`)."""
        if self.pages is None:
            return text
        return pl.when(text.str.contains(self.pages)).then(text.str.replace_all(_BRACES, " ")).otherwise(text)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        # in two steps: an eager frame evaluates an expression each time it is read, and the page
        # test reads the text three times
        turns = (
            turn_texts(batch, system=True)
            .with_columns(_text=self._uncoded(pl.col("text")))
            .with_columns(_text=self._unbraced(pl.col("_text")))
        )
        # Candidates first; then, on those alone, fill-in slots out and each category again.
        flags = {f"_c{c}": pl.col("_text").str.contains(pattern) for c, (_label, pattern) in enumerate(self.categories)}
        turns = turns.with_columns(**flags).filter(pl.any_horizontal(list(flags))) if flags else turns.clear()
        if self.fill_in is not None:
            turns = turns.with_columns(pl.col("_text").str.replace_all(self.fill_in, " "))
        hits = turns.with_columns(**flags).filter(pl.any_horizontal(list(flags))) if flags else turns
        told = _keys(pl.col("text").str.extract_all(_TOLD).list.eval(pl.element().str.extract(_TOLD, 1)))
        untold = {
            f"_c{c}": pl.col(f"_c{c}")
            & (_keys(pl.col("_text").str.extract_all(pattern)).list.set_difference(told).list.len() > 0)
            for c, (_label, pattern) in enumerate(self.categories)
        }
        hits = hits.with_columns(**untold).filter(pl.any_horizontal(list(untold))) if untold else hits
        if self.asked is not None:
            # Slots are what a question asking for a template wants, and what answers a question holding
            # slots itself; a user turn or system prompt is spared only when it asks for a template.
            asked = pl.col("question").str.contains(self.asked)
            for _label, pattern in self.categories:
                asked = asked | self._prose(pl.col("question")).str.contains(pattern)
            own = pl.col("_text")
            for _label, pattern in self.categories:
                own = own.str.replace_all(pattern, " ")
            hits = hits.filter(
                ~pl.when(pl.col("role") == "assistant").then(asked).otherwise(own.str.contains(self.asked))
            )
        hits = hits.with_columns(
            **{
                f"_s{c}": pl.when(pl.col(f"_c{c}")).then(
                    pl.col("_text")
                    .str.extract_all(pattern)
                    .list.unique(maintain_order=True)
                    .list.head(_SHOWN)
                    .list.join(", ")
                )
                for c, (_label, pattern) in enumerate(self.categories)
            }
        )
        labels = [label for label, _pattern in self.categories]
        judged = hits.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.coalesce(
                [pl.format("{} in {}: {}", pl.lit(label), turn_name(), f"_s{c}") for c, label in enumerate(labels)]
            ),
            evidence=pl.concat_str(
                [pl.format('{}: "{}"', pl.lit(label), f"_s{c}") for c, label in enumerate(labels)],
                separator="; ",
                ignore_nulls=True,
            ),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(Placeholder)
