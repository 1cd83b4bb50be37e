"""Every built-in rule: its code, its name, the module that defines it and the pack of word
lists it reads, in one static table, as ruff's ``codes.rs``.

``grep DQ201 dqe/rules/codes.py`` names the file to open. Nothing imports this table to run:
the rules register themselves through ``dqe_register_rules`` like a third party's, and
tests/rules/test_codes.py checks the table against what they register. DQ000 invalid-record
is not a rule but the reader's verdict on a record it cannot read (``dqe/io/reader.py``).
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    name: str
    module: str  # the file that defines the rule class
    pack: str | None  # the rule pack (``rules/NAME.toml``) its word lists and patterns live in


CODES: dict[str, Code] = {
    "DQ001": Code("structure", "dqe/rules/structure.py", None),
    "DQ002": Code("turn-structure", "dqe/rules/turn_structure.py", None),
    "DQ101": Code("token-length", "dqe/rules/token_length.py", None),
    "DQ102": Code("length-bounds", "dqe/rules/length_bounds.py", "length"),
    "DQ103": Code("answer-truncated", "dqe/rules/answer_truncated.py", None),
    "DQ104": Code("no-supervised-tokens", "dqe/rules/no_supervised_tokens.py", None),
    "DQ105": Code("template-cannot-render", "dqe/rules/template_render.py", None),
    "DQ106": Code("poorly-represented-text", "dqe/rules/poorly_represented.py", None),
    "DQ107": Code("question-does-not-help", "dqe/rules/question_does_not_help.py", None),
    "DQ108": Code("training-misfit", "dqe/rules/training_misfit.py", None),
    "DQ109": Code("template-drops-trace", "dqe/rules/trace_dropped.py", None),
    "DQ201": Code("chain-of-thought", "dqe/rules/chain_of_thought.py", "cot"),
    "DQ202": Code("repetition", "dqe/rules/repetition.py", None),
    "DQ203": Code("boilerplate", "dqe/rules/boilerplate.py", "boilerplate"),
    "DQ204": Code("placeholder", "dqe/rules/placeholders.py", "placeholders"),
    "DQ205": Code("generator-artefact", "dqe/rules/generator_artefact.py", "artefacts"),
    "DQ206": Code("broken-markup", "dqe/rules/broken_markup.py", "markup"),
    "DQ207": Code("fill-in-slot", "dqe/rules/fill_in_slot.py", "fill-in"),
    "DQ208": Code("copied-prompt", "dqe/rules/copied_prompt.py", "copied-prompt"),
    "DQ209": Code("misspelling", "dqe/rules/misspelling.py", "spelling"),
    "DQ210": Code("machine-style", "dqe/rules/machine_style.py", "machine-style"),
    "DQ301": Code("language-allowed", "dqe/rules/language_allowed.py", "language"),
    "DQ302": Code("language-mismatch", "dqe/rules/language_mismatch.py", "language"),
    "DQ401": Code("exact-duplicate", "dqe/rules/duplicates.py", None),
    "DQ402": Code("near-duplicate", "dqe/rules/duplicates.py", None),
    "DQ403": Code("contamination", "dqe/rules/contamination.py", None),
    "DQ411": Code("category-balance", "dqe/rules/category_balance.py", "categories"),
    "DQ421": Code("domain-ratio", "dqe/rules/domain_ratio.py", "domains/*"),
    "DQ431": Code("max-records", "dqe/rules/max_records.py", None),
}
