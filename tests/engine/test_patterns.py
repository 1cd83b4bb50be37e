"""Rule packs as the content rules read them: a user's pack extends a shipped one, and a bad
pattern or value is a configuration error naming the pack and the key."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe.engine.patterns import (
    alternation,
    check_regexes,
    count_markers,
    marker_pattern,
    marker_patterns,
    pattern_list,
)
from dqe.errors import ConfigError
from tests.support import failures


def write_pack(tmp_path, name, text):
    folder = tmp_path / "packs"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return str(folder)


def test_a_user_pack_extends_the_shipped_cot_markers(tmp_path):
    record = {"instruction": "Why does ice float on water?", "output": "Ergo, it is lighter than water."}
    assert failures([record], "DQ201")  # "ergo" is no connective of the shipped pack
    packs = write_pack(tmp_path, "cot", '[answer.en]\nconnectives = ["ergo"]\n')
    assert failures([record], "DQ201", rule_packs=[packs]) == {}
    # the shipped markers are still there
    because = {"instruction": "Why does ice float on water?", "output": "Because it is lighter than water."}
    assert failures([because], "DQ201", rule_packs=[packs]) == {}


def test_a_pack_changed_on_disk_is_read_again_and_a_reader_changes_only_its_copy(tmp_path):
    """Packs are parsed once per process (a trained model's pack is large), not once per run."""
    from dqe.engine.rulepacks import Packs

    record = {"instruction": "Why does ice float on water?", "output": "Ergo, it is lighter than water."}
    packs = write_pack(tmp_path, "cot", '[answer.en]\nconnectives = ["ergo"]\n')
    assert failures([record], "DQ201", rule_packs=[packs]) == {}
    write_pack(tmp_path, "cot", '[answer.en]\nconnectives = ["thus-and-so"]\n')
    assert failures([record], "DQ201", rule_packs=[packs])
    first = Packs().get("cot")
    first["answer"]["en"]["connectives"].append("ergo")
    assert "ergo" not in Packs().get("cot")["answer"]["en"]["connectives"]


def test_a_user_pack_adds_a_language(tmp_path):
    record = {"instruction": "Warum schwimmt Eis auf Wasser?", "output": "Dichte."}
    assert failures([record], "DQ201") == {}  # no German markers shipped: no need seen
    packs = write_pack(tmp_path, "cot", '[question.de]\nboundaries = true\nwhy = ["warum", "wieso"]\n')
    assert list(failures([record], "DQ201", rule_packs=[packs])) == [0]


def test_a_user_pack_adds_boilerplate_and_placeholder_patterns(tmp_path):
    packs = write_pack(tmp_path, "boilerplate", '[categories.disclaimer.en]\npatterns = ["beep boop"]\n')
    write_pack(tmp_path, "placeholders", '[categories.template.any]\npatterns = ["%%[A-Z]+%%"]\n')
    records = [{"instruction": "Hi", "output": "Beep boop, hello!"}, {"instruction": "Hi", "output": "Hello %%NAME%%"}]
    assert list(failures(records, "DQ203", rule_packs=[packs])) == [0]
    assert failures(records, "DQ204", rule_packs=[packs]) == {1: "unfilled template placeholder in answer: %%NAME%%"}


def test_an_invalid_pattern_names_the_pack_and_the_key(tmp_path):
    packs = write_pack(tmp_path, "cot", '[answer.en]\nconnectives = ["(unclosed"]\n')
    with pytest.raises(
        ConfigError, match=r"rule pack 'cot', 'answer.en.connectives': invalid regular expression '\(unclosed'"
    ):
        dqe.check([{"instruction": "a", "output": "b"}], select=["DQ201"], rule_packs=[packs])


def test_patterns_are_checked_together_and_the_first_bad_one_is_named():
    good = ["(?i)dear (?:sir|madam)", r"\bplease\b"]
    assert check_regexes(good, "pack 'x'") == good
    assert check_regexes(good, "pack 'x'") == good  # compiled once: the second check is free
    with pytest.raises(ConfigError, match=r"pack 'x': invalid regular expression '\[ab'"):
        check_regexes([*good, "[ab", "(cd"], "pack 'x'")


def test_a_wrong_type_names_the_key(tmp_path):
    packs = write_pack(tmp_path, "length", '[tasks.long-form]\nmin-answer-tokens = "ten"\n')
    with pytest.raises(ConfigError, match="'tasks.long-form.min-answer-tokens' must be a whole number"):
        dqe.check([{"instruction": "a", "output": "b"}], select=["DQ102"], rule_packs=[packs])
    packs = write_pack(tmp_path, "boilerplate", '[categories.refusal]\nwhere = "middle"\n')
    with pytest.raises(ConfigError, match="'categories.refusal': 'where' must be"):
        dqe.check([{"instruction": "a", "output": "b"}], select=["DQ203"], rule_packs=[packs])


def test_the_cli_reports_a_bad_pack_with_exit_code_2(tmp_path, write_jsonl):
    from click.testing import CliRunner

    from dqe.cli import main

    packs = write_pack(tmp_path, "placeholders", '[categories.template.any]\npatterns = ["[z-a]"]\n')
    (tmp_path / "dqe.toml").write_text(f'rule-packs = ["{packs}"]\n')
    result = CliRunner().invoke(main, ["check", str(write_jsonl([{"instruction": "a", "output": "b"}]))])
    assert result.exit_code == 2 and "rule pack 'placeholders'" in result.output


def test_word_boundaries_for_spaced_languages_only():
    pack = {"a": {"en": {"boundaries": True, "k": ["so"]}, "zh": {"k": ["所以"]}}}
    pattern = marker_pattern(pack, "a", "k", "test")
    counts = pl.Series(["so it is, also so-so", "所以如此", "SO"]).str.count_matches(pattern).to_list()
    assert counts == [3, 1, 1]
    assert alternation(["a", "b"], boundaries=False) == "(?:(?:a)|(?:b))"
    assert pattern_list({"x": []}, "x", "test") is None


def test_a_whole_word_entry_with_a_space_at_its_end_is_refused_naming_it():
    pack = {"a": {"en": {"boundaries": True, "k": ["you are (a|an) "]}}}
    with pytest.raises(ConfigError, match=r"'a.en.k': 'you are \(a\|an\) ' starts or ends with a space"):
        marker_pattern(pack, "a", "k", "test")


def test_count_markers_counts_what_the_combined_pattern_counts_where_languages_overlap():
    # "so that" (English) holds "that" (German list): in a text both match, the union counts
    # "so that" once, where the two lists alone would count it twice
    pack = {"a": {"en": {"k": ["so that"]}, "de": {"k": ["that", "dass"]}}}
    parts = marker_patterns(pack, "a", "k", "test")
    texts = pl.Series("answer", ["so that, and that", "that and dass", "So That", "nothing", None, ""])
    counted = count_markers(texts, parts)
    assert counted.to_list() == texts.str.count_matches(marker_pattern(pack, "a", "k", "test")).to_list()
    assert counted.to_list() == [2, 2, 1, 0, None, 0]
    assert counted.dtype == pl.UInt32


def test_count_markers_of_one_language_or_none():
    texts = pl.Series(["so so", "no"])
    one = marker_patterns({"a": {"en": {"k": ["so"]}}}, "a", "k", "test")
    assert count_markers(texts, one).to_list() == [2, 0]
    assert count_markers(texts, []).to_list() == [0, 0]


def test_marker_patterns_match_what_the_combined_pattern_matches_language_by_language():
    pack = {"a": {"en": {"boundaries": True, "k": ["so", "as a result"]}, "zh": {"k": ["所以"]}, "fr": {"k": []}}}
    parts = marker_patterns(pack, "a", "k", "test")
    assert len(parts) == 2  # a language that lists nothing has no pattern
    texts = pl.Series(["So it is.", "also", "所以如此", "As A Result", "nothing here", "soso 所以"])
    one = texts.str.contains(marker_pattern(pack, "a", "k", "test"))
    each = pl.select(pl.any_horizontal(texts.str.contains(p) for p in parts)).to_series()
    assert one.to_list() == each.to_list() == [True, False, True, True, False, True]
