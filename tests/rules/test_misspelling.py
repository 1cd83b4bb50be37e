"""DQ209 misspelling: typos in prose fail and are named; code, names, quotes, terms and variants pass."""

from __future__ import annotations

import pytest

from dqe.testing import conversation, record, run_rule
from tests.batched import Batched
from tests.support import failures, real

PARCEL = (
    "The parcel should arrive tommorow morning, and you will recieve an email with the tracking "
    "number once it has been sent from our warehouse."
)


def test_a_misspelled_answer_fails_with_the_words_named():
    run = run_rule("DQ209", [record("When does the parcel come?", PARCEL)])
    assert run.passed == [False]
    assert run.messages == ["answer has 2 misspelled words of 21 (10%): tommorow, recieve"]
    assert run.evidence[0] == ("language en; 2 of 21 words looked up are in no list (limit 1.5%): tommorow, recieve")


def test_an_earlier_assistant_turn_is_named():
    record_ = conversation(
        "Tell me about the sun.",
        "The sun is a star at the centre of our solar sytem, and the Earth goes round it once a year.",
        "Thanks!",
        "You are welcome, I am glad it was useful to you.",
    )
    (message,) = failures([record_], "DQ209").values()
    assert message == "assistant turn 2 has 1 misspelled word of 13 (8%): sytem"


NOT_MISSPELLED = [
    # names and sentence openings are capitalised; numbers, code, URLs and quotes are not prose
    "Alice met Bob in Reykjavik in 2019, and they walked along the harbour together.",
    "Run `pip install polars` and then call pl.read_csv() on the file, as the docs at https://docs.pola.rs/api say.",
    "Here is the program:\n```python\nfor itm in lst:\n    prnt(itm)\n```\nIt prints every item.",
    'The error message reads "conection refusd" when the server is down.',
    # British spellings, endings and compounds of listed words, modern terms of the pack
    "The colour of the organisation's logo was analysed by the centre's programme team.",
    "The datasets were preprocessed for the chatbots, and wellbeing improved online.",
    # snake_case and camelCase identifiers
    "Set max_retries to three and call getUserName before the loop.",
]
NOT_MISSPELLED_CHECKED = Batched("DQ209", [record("Tell me.", answer) for answer in NOT_MISSPELLED])


@pytest.mark.parametrize("answer", NOT_MISSPELLED)
def test_what_is_not_a_misspelling_passes(answer):
    assert NOT_MISSPELLED_CHECKED.failures(record("Tell me.", answer)) == {}


def test_a_term_the_question_uses_is_the_users():
    question = "What does the word 'floofy' mean? My friend says her cat is floofy."
    answer = "When someone calls a cat floofy, they mean its fur is soft, thick and fluffy."
    assert failures([record(question, answer)], "DQ209") == {}


def test_a_program_outside_fences_is_not_judged():
    program = '#include <iostream>\nint main() {\n    std::cout << "hi" << std::endl;\n    return 0;\n}'
    assert failures([record("Write hello world in C++.", program)], "DQ209") == {}


def test_languages_without_a_list_are_not_judged():
    answer = "北京是中国的首都，也是一座历史悠久的城市，有很多名胜古迹。"
    assert failures([record("介绍一下北京。", answer)], "DQ209") == {}


def test_a_german_answer_is_looked_up_in_the_german_list():
    answer = "Das Wetter ist heute sehr schön, und wir gehen am nachmitag in den Park spazieren."
    (message,) = failures([record("Wie ist das Wetter?", answer)], "DQ209").values()
    assert message.endswith(": nachmitag")


def test_an_answer_mostly_unknown_is_in_another_language():
    answer = "Mahal kita, salamat po sa lahat ng tulong ninyo kahapon sa bahay namin."
    run = run_rule("DQ209", [record("Say thanks.", answer)])
    assert run.passed == [True]


def test_the_pack_adds_terms(tmp_path):
    (tmp_path / "spelling.toml").write_text('[words.en]\nwords = ["floofy"]\n', encoding="utf-8")
    answer = "The kitten was very floofy and slept all afternoon on the sunny windowsill."
    assert failures([record("Describe the kitten.", answer)], "DQ209") != {}
    assert failures([record("Describe the kitten.", answer)], "DQ209", rule_packs=[str(tmp_path)]) == {}


def test_the_limit_is_an_option():
    long_answer = PARCEL + " " + " ".join(["The team will keep you informed about every step."] * 20)
    assert run_rule("DQ209", [record("When?", long_answer)]).passed == [True]
    assert run_rule("DQ209", [record("When?", long_answer)], {"max-share": 0.001}).passed == [False]


def test_the_data_sets_share_of_misspelled_words_is_a_gate_metric():
    import dqe

    report = dqe.check([record("When does the parcel come?", PARCEL)], select=["DQ209"])
    assert report.dataset["spelling"] == {"words": 21, "misspelled": 2, "share": 0.095238, "records_judged": 1}
    gated = dqe.check(
        [record("When does the parcel come?", PARCEL)], select=["DQ209"], gate={"misspelled-share": {"fail": 0.05}}
    )
    assert gated.summary.gate == "fail"


def test_few_false_flags_on_a_clean_real_set():
    path = real("llamafactory_alpaca_en_demo.json")
    assert len(failures(path, "DQ209")) <= 10  # of 999 records, 1% (4 found when written)


def test_a_reasoning_trace_is_not_looked_up():
    # a trace is scratch (variables, half-words of a cut generation) a model wrote: the reply is judged
    traced = f"<think>\nso the parcl leavs tmrw, recieve by fri\n</think>\n\n{PARCEL.replace('tommorow', 'tomorrow').replace('recieve', 'receive')}"
    assert run_rule("DQ209", [record("When does the parcel come?", traced)]).passed == [True]
