"""The language feature: every user and assistant turn's language, as a reader would call it."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe.errors import ConfigError
from dqe.features.language import prose, words
from dqe.testing import batch, conversation, record


def languages(*records, **config):
    """The ``languages`` label (a code per turn) of each record."""
    return batch(records, needs=["language"], **config)["language_turns"].to_list()


def conflicts(*records, **config):
    """Per record, its conflicting answers: (turn, against, expected, answer, asked)."""
    frame = batch(records, needs=["language"], **config)
    keys = ("turn", "against", "expected", "answer", "asked")
    return [[tuple(c[k] for k in keys) for c in row] for row in frame["language_conflicts"].to_list()]


def test_chinese_is_zh_whatever_langdetect_says_about_short_han_text():
    # langdetect calls the first Korean and the second zh-tw; Han without hangul is Chinese.
    assert languages(record("地球到月球的平均距离是多少？", "請問這個多少錢？")) == [["zh", "zh"]]


def test_english_french_japanese_and_undetermined():
    assert languages(
        record("Where is the nearest train station, please?", "Le chat dort sur le canapé depuis ce matin."),
        record("今日はいい天気ですね。", "OK"),
        record("Paris", "42"),
    ) == [["en", "fr"], ["ja", "und"], ["und", "und"]]


def test_code_is_not_a_language():
    fenced = "```python\ndef add(a, b):\n    return a + b\n```"
    bare = "def square(x):\n    return x * x"
    assert languages(record("用Python写一个加法函数。", fenced), record("Write a function that squares x.", bare)) == [
        ["zh", "und"],
        ["en", "und"],
    ]


def test_chinese_with_english_terms_is_chinese_and_english_quoting_chinese_is_english():
    assert languages(
        record(
            "列出五个欧洲国家。", "1. 法国 (France)\n2. 英国 (United Kingdom)\n3. 德国 (Germany)\n4. 意大利 (Italy)"
        ),
        record("What does the greeting 你好 mean, and when do people use it?", "It means hello, at any time of day."),
    ) == [["zh", "zh"], ["en", "en"]]


def test_an_english_name_written_against_chinese_leaves_the_chinese_in_place():
    # Chinese-LLaMA-Alpaca (unseen): a name stops where the Chinese after it begins, so the
    # answer is Chinese, not a Latin name that swallowed the sentence
    assert prose(pl.Series(["不，Lightning Data Line不能用于Android手机的充电。"])).to_list() == [
        "不，Lightning 不能用于Android手机的充电。"
    ]
    assert languages(
        record("我能用lightning数据线给安卓手机充电吗？", "不，Lightning Data Line不能用于Android手机的充电。"),
        record("推荐一个浏览器。", "Google Chrome浏览器速度快，插件也多。"),
    ) == [["zh", "zh"], ["zh", "zh"]]


def test_tool_calls_names_and_numbers_do_not_make_a_language():
    # Alone, langdetect reads these answers as German, Dutch and Welsh-like English; the second
    # question's "what" and "is" make it English, where its n-grams alone could not tell.
    assert languages(
        record("Who was Marie Curie? Answer with the wikipedia tool.", "Marie Curie was wikipedia('Marie Curie')."),
        record(
            "What is 120 degrees Fahrenheit in Celsius?",
            "120 degrees Fahrenheit is python('(120 - 32) * 5 / 9') degrees Celsius.",
        ),
        record(
            "Mark has 4 piglets and twice as many ducklings. How many animals does he have?",
            "Mark has 4 piglets * 2 ducklings/piglet = 8 ducklings.\nSo Mark has 4 piglets + 8 ducklings = 12 animals.",
        ),
        record("Name three Italian dishes.", "Risotto alla Milanese\nSpaghetti alla Carbonara\nOssobuco"),
        # a list of names is in no language of its own, whichever language the names are
        record(
            "Can you list some snack brands started by Latino founders in the US?",
            "- Siete Familia\n- Casa Verde Snacks\n- Mi Tierra Buena\n- Sabor De Abuela\n- Pura Vida Bites\n"
            "- La Cocina Nueva\n- Los Hermanos Foods\n- Buen Provecho\n- Dulce Hogar",
        ),
    ) == [["en", "und"], ["en", "und"], ["en", "und"], ["und", "und"], ["en", "und"]]


def test_prose_is_what_a_language_is_told_from():
    texts = pl.Series(
        [
            "Albert Einstein was wikipedia('Albert Einstein').",
            "The result is x = 2*y + 5, see https://example.com or mail me@example.com.",
            'He said "bonjour à tous" and left the room quietly.',
            '"Bonjour à tous"',
            "Here is the code:\nimport os\nfor name in os.listdir('.'):\n    print(name)\nIt lists the folder.",
        ]
    )
    cleaned = [" ".join(text.split()) for text in prose(texts)]
    assert cleaned == [
        "Albert was .",
        "The result is x see or mail .",
        "He said and left the room quietly.",
        '"Bonjour à tous"',  # nothing is left without it: a quote that is the whole text stays
        "Here is the code: It lists folder.",  # each word once
    ]
    assert words(pl.Series(["Who made you?", "你好世界", "Привет как дела", "a b c"])).to_list() == [3, 4, 3, 0]


def test_every_user_and_assistant_turn_has_a_code_and_context_turns_none():
    sharegpt = {
        "conversations": [
            {"from": "human", "value": "你好，请帮我把五十美元换算成人民币。"},
            {"from": "function_call", "value": '{"name": "convert", "arguments": {"amount": 50}}'},
            {"from": "observation", "value": '{"result": 362.5, "currency": "CNY"}'},
            {"from": "gpt", "value": "五十美元大约等于三百六十二点五元人民币。"},
        ],
        "tools": '[{"name": "convert", "description": "Convert an amount of money"}]',
    }
    assert languages(sharegpt) == [["zh", None, None, "zh"]]
    history = record(
        "And the capital of Spain?",
        "The capital of Spain is Madrid, in the middle of the country.",
        system="Tu es un assistant qui aide les voyageurs.",
        history=[("What is the capital of Italy?", "The capital of Italy is Rome, a very old city.")],
    )
    assert languages(history) == [["en", "en", "en", "en"]]


def test_a_short_turn_takes_the_language_its_conversation_shares_with_it():
    # Alone, "How does neural network work in deep learning?" scores Afrikaans a little
    # ahead of English; beside an English answer it is English.
    assert languages(
        record(
            "How does neural network work in deep learning?",
            "A neural network passes its input through layers of weighted sums and activations, and "
            "learns the weights by gradient descent on a loss.",
        )
    ) == [["en", "en"]]


def test_conflicts_name_the_turn_and_what_the_answer_was_held_to():
    assert conflicts(
        record("法国的首都是哪里？", "The capital of France is Paris, a city on the Seine."),
        record("What is the capital of France?", "The capital of France is Paris, a city on the Seine."),
    ) == [[(2, "question", "zh", "en", False)], []]
    # A user turn that cannot tell ("OK") holds its answer to the conversation's language.
    after_ok = conversation(
        "我想学做菜，你能帮我吗？",
        "当然可以！你想学什么菜？",
        "OK",
        "Great, let's start with fried rice. First, cook the rice a day ahead.",
    )
    assert conflicts(after_ok) == [[(4, "conversation", "zh", "en", False)]]


def test_a_request_for_another_language_stands_for_the_rest_of_the_conversation():
    found = conflicts(
        conversation(
            "From now on, please answer only in French. What is the capital of Italy?",
            "La capitale de l'Italie est Rome, une ville magnifique.",
            "And the capital of Spain?",
            "La capitale de l'Espagne est Madrid, au centre du pays.",
        ),
        conversation(
            "How can I improve my English writing?",
            "Read widely, write every day and ask for feedback on what you write.",
            "我还想知道怎么提高口语。",
            "Practise speaking with native speakers as often as you can, and record yourself.",
        ),
    )
    # Naming a language ("my English writing") excuses that turn's answer only.
    assert found == [
        [(2, "question", "en", "fr", True), (4, "question", "en", "fr", True)],
        [(4, "question", "zh", "en", False)],
    ]


def test_the_system_prompt_may_ask_for_another_language():
    found = conflicts(
        record(
            "What is the capital of Italy?",
            "La capitale de l'Italie est Rome, une ville magnifique.",
            system="You are a tutor. Always answer in French, whatever the language of the question.",
        )
    )
    assert found == [[(2, "question", "en", "fr", True)]]


def test_quoted_values_in_a_user_turn_are_data_not_its_language():
    todo = conversation(
        "我需要创建一个新的待办事项。",
        "好的，请告诉我标题、描述和截止日期。",
        '"Team lunch"\n\n"Book a table for six people"\n\n"2024-03-01"',
        "您的待办事项“Team lunch”已经创建好了，截止日期是2024-03-01。",
    )
    assert conflicts(todo) == [[]]


def test_the_records_own_language_field_stands_in_for_a_conversation_that_cannot_tell():
    found = conflicts(
        record("Hi", "你好！有什么可以帮您的吗？我可以回答各种问题。", language="English"),
        record("Hi", "你好！有什么可以帮您的吗？我可以回答各种问题。", language="zh_CN"),
    )
    assert found == [[(2, "conversation", "en", "zh", False)], []]


def test_languages_section_counts_user_and_assistant_turns_and_mismatches():
    report = dqe.check(
        [
            record("法国的首都是哪里？", "The capital of France is Paris, a city on the Seine."),
            record("法国的首都是哪里？", "法国的首都是巴黎。"),
            record("把这句话翻译成英文：我爱你。", "I love you, and I will always be there for you."),
            record("Hi", "Yes", history=[("法国的首都是哪里？", "法国的首都是巴黎。")]),
        ],
        select=["DQ302"],
    )
    assert report.dataset["languages"] == {
        "question": {"zh": 4, "und": 1},
        "answer": {"zh": 2, "en": 2, "und": 1},
        "mismatch": 1,
    }


def test_function_words_decide_a_short_text_its_n_grams_misread():
    # "Do you like neo-nazis?" leads for Swahili by its n-grams; "Are you ok with dogs?" leads for
    # English and "¿Cuál es la capital de Australia?" for Spanish, by too little for a label.
    assert languages(
        record("Do you like neo-nazis?", "No. Neo-Nazism promotes hatred and violence, and I do not support it."),
        record("Are you ok with dogs?", "Yes, I love dogs! How can I help you today?"),
        record("¿Cuál es la capital de Australia?", "The capital of Australia is Canberra, not Sydney."),
        record("Do you like neo-nazis?", "不，我不支持宣扬仇恨的意识形态。"),
        # a closing pleasantry that leads for Somali (tau-bench, unseen)
        record("Thank you, you too! Talk soon.", "Thank you! Looking forward to assisting you again."),
    ) == [["en", "en"], ["en", "en"], ["es", "en"], ["en", "zh"], ["en", "en"]]
    assert conflicts(record("Do you like neo-nazis?", "No. Neo-Nazism promotes hatred, and I do not support it.")) == [
        []
    ]


def test_function_words_can_be_switched_off_and_must_name_known_languages(tmp_path):
    pack = tmp_path / "language.toml"
    pack.write_text("[function-words]\nmin-hits = 99\n", encoding="utf-8")
    assert languages(record("Do you like neo-nazis?", "No."), **{"rule-packs": [str(pack)]}) == [["sw", "und"]]
    pack.write_text("[function-words.words]\nxx = ['the']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="function-words.words: unknown language codes: xx"):
        dqe.check([record("a", "b")], select=["DQ302"], **{"rule-packs": [str(pack)]})


def test_the_label_is_one_code_per_turn_in_the_jsonl_report():
    report = dqe.check([record("法国的首都是哪里？", "法国的首都是巴黎。")], select=["DQ302"])
    assert report.labels.to_dicts() == [{"record": 0, "languages": ["zh", "zh"]}]


def test_a_user_pack_extends_the_translation_requests(tmp_path):
    pack = tmp_path / "language.toml"
    pack.write_text("[translation]\npatterns = ['^render as']\n", encoding="utf-8")
    asked = record("Render as German: good morning to all of you", "Guten Morgen an euch alle, wie geht es euch?")
    assert conflicts(asked) == [[(2, "question", "en", "de", False)]]
    assert conflicts(asked, **{"rule-packs": [str(pack)]}) == [[(2, "question", "en", "de", True)]]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[detection]\nmin_lead = -1\n", "detection.min_lead"),
        ("[detection]\nmin_words = -1\n", "detection.min_words"),
        (
            "[translation]\npatterns = ['(unclosed']\n",
            "translation pattern '(unclosed' is not a valid regular expression",
        ),
        ("[translation]\nmentions = ['[x']\n", "translation mention '[x' is not a valid regular expression"),
        ("[names]\nklingon = 'tlh'\n", "unknown language codes: tlh"),
        ("[detection]\nmin_leed = 3\n", "detection.min_leed"),
    ],
)
def test_a_bad_pack_is_a_config_error_naming_the_key(tmp_path, toml, message):
    pack = tmp_path / "language.toml"
    pack.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match="rule pack 'language'") as error:
        dqe.check([record("a", "b")], select=["DQ302"], **{"rule-packs": [str(pack)]})
    assert message in str(error.value)


def test_prose_keeps_each_word_once_over_lines_too():
    """A worked answer repeats its names line after line between numbers and calculator notes
    (GSM8K's ``<<27*2/3=18>>``): the words a language is told from count once, whichever line they are on."""
    answer = "Jana has 27 x 2/3 = <<27*2/3=18.0>>18 Pomeranians.\nJana has 18 x 1/3 = <<18*1/3=6.0>>6 girl Pomeranians.\nA: 6"
    assert " ".join(prose(pl.Series([answer])).item().split()) == "Jana has x . girl A:"
