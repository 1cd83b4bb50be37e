"""The category feature: a record's own field first, else the taxonomy classifier (en + zh),
with a confidence, and ``uncertain`` where the evidence is thin."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe import hookimpl
from dqe.engine.classifier import Classifier
from dqe.engine.config import load_config
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError, PluginError
from dqe.features.category import TaxonomyClassifier
from dqe.testing import batch

CASES = [
    ("programming", "Write a Python function that reverses a string."),
    ("programming", "用Python写一个函数，计算列表的平均值。"),
    ("translation", "Translate 'good morning' into French."),
    ("translation", "把下面这段文言文翻译成现代汉语：学而时习之，不亦说乎。"),
    ("text-correction", "Correct the grammar in this sentence: She go to school yesterday."),
    ("text-correction", "找出下面句子中的错别字并改正：我们要好好学习，天天向尚。"),
    ("text-matching", "Do these two sentences have the same meaning? A: I am hungry. B: I want food."),
    ("text-matching", "判断这两句话的意思是否相同：我饿了。我想吃东西。"),
    ("sentiment-analysis", "What is the sentiment of this review: I loved the food."),
    ("sentiment-analysis", "判断下面这条评论的情感倾向：这家餐厅太难吃了。"),
    ("entity-recognition", "识别下面句子中的人名和地名：李白出生于碎叶城。"),
    ("keyword-recognition", "Extract the keywords from the following paragraph: Solar panels turn light into power."),
    ("keyword-recognition", "提取下面这段话的关键词：太阳能电池板把光变成电。"),
    ("structured-extraction", "Extract the date and the amount from this invoice: Paid $40 on 3 May."),
    ("structured-extraction", "从下面的简历中提取姓名、电话和邮箱。"),
    ("structured-output", "List three fruits and their colors in JSON."),
    ("structured-output", "把下面的信息整理成表格：张三，20岁；李四，22岁。"),
    ("idiom-explanation", "What does the idiom 'break the ice' mean?"),
    ("idiom-explanation", "解释成语“画蛇添足”的意思。"),
    (
        "reading-comprehension",
        "Read the passage and answer the question.\nTom went to the shop and bought milk. What did Tom buy?",
    ),
    ("reading-comprehension", "阅读下面的短文，回答问题：小明今天去了公园。小明去了哪里？"),
    ("objective-test", "Which of the following is a mammal? A) shark B) whale C) trout"),
    ("objective-test", "下列哪个选项是正确的？A. 太阳从西边升起 B. 水在零度结冰"),
    ("classification", "Classify the following animals into mammals and birds: dog, eagle, cat."),
    ("classification", "将下列动物分类：猫、鹰、鲨鱼。"),
    ("chain-of-thought", "Think step by step: if all cats are animals and Tom is a cat, is Tom an animal?"),
    ("chain-of-thought", "请一步一步地推理：如果所有的猫都是动物，汤姆是猫，那么汤姆是动物吗？"),
    ("math", "A shop sells 12 apples a day. How many apples does it sell in 7 days?"),
    ("math", "小明有5个苹果，吃了2个，还剩多少个？"),
    ("summarization", "Summarize the following article in two sentences: The city opened a new park on Monday."),
    ("summarization", "用一句话总结下面这段话的主要内容：城市周一开放了一座新公园。"),
    ("rewriting", "Rewrite this sentence in the passive voice: The cat chased the mouse."),
    ("rewriting", "把这句话改写得更正式一些：咱们明天见。"),
    ("reviews", "Write a review of the movie Inception."),
    ("reviews", "为这部电影写一条影评。"),
    ("copywriting", "Write a catchy slogan for a coffee shop."),
    ("copywriting", "为一款新的运动鞋写一段广告文案。"),
    ("creative-writing", "Write a haiku about autumn rain."),
    ("creative-writing", "写一首关于春天的诗。"),
    ("storytelling", "Tell a short story about a dragon who is afraid of fire."),
    ("storytelling", "讲一个关于勇敢小兔子的童话故事。"),
    ("composition", "Write an essay about the importance of sleep."),
    ("composition", "以“我的妈妈”为题写一篇作文。"),
    ("brainstorming", "Brainstorm ideas for a birthday party."),
    ("brainstorming", "想出五个周末活动的点子。"),
    ("open-qa", "Why is the sky blue?"),
    ("open-qa", "为什么天空是蓝色的？"),
    ("closed-qa", "What is the capital of Australia?"),
    ("closed-qa", "中国的首都是哪座城市？"),
    ("role-play", "Pretend you are Hermione Granger and explain why studying matters."),
    ("role-play", "假设你是一名海盗船长，告诉船员我们下一站去哪里。"),
    ("uncertain", "Banana."),
]


def table(records, **config):
    """The run's table (category_pred, category_confidence, ...), in one engine run."""
    loaded = load_config(overrides={"select": ["DQ411"], **config}, discover=False)
    return Engine(loaded, load_plugins()).run(records).table.sort("_idx")


def labels(records, **config):
    """category_pred of each record, in one engine run."""
    return table(records, **config)["category_pred"].to_list()


@pytest.fixture(scope="module")
def by_evidence(tmp_path_factory):
    """Config whose categories pack switches the trained model off: the hand-weighted evidence decides."""
    pack = tmp_path_factory.mktemp("packs") / "categories.toml"
    pack.write_text('[meta]\nmodel = ""\nuncertain-below = 0.5\n')  # the threshold the hand confidence was fitted to
    return {"rule-packs": [str(pack)]}


@pytest.fixture(scope="module")
def predicted(by_evidence):
    return labels([{"instruction": q, "output": "An answer."} for _, q in CASES], **by_evidence)


@pytest.mark.parametrize(("index", "expected", "question"), [(i, c, q) for i, (c, q) in enumerate(CASES)])
def test_taxonomy_evidence_names_each_ability_in_english_and_chinese(predicted, index, expected, question):
    assert predicted[index] == expected, question


# Templates put the request after the text it is about, list the answers to choose from, or label
# the passage a question is asked about: the question's shape is evidence, not only its first line.
SHAPE_CASES = [
    (
        "sentiment-analysis",
        "Title: Broke after a week\nReview: The handle snapped off the first time I used it.\n"
        "Is this product review positive or negative?",
    ),
    ("objective-test", "What do plants need to make food?\nOptions:\n- sunlight\n- darkness\n- salt\n- sand"),
    (
        "reading-comprehension",
        "Context: The lighthouse was built in 1875 and its keeper, Ada Brown, kept the lamp lit for forty years.\n"
        "Question: Who kept the lamp lit?",
    ),
]


def test_the_shape_of_the_question_names_its_task(by_evidence):
    records = [{"instruction": q, "output": "An answer."} for _, q in SHAPE_CASES]
    assert labels(records, **by_evidence) == [c for c, _ in SHAPE_CASES]


# The model on records with answers of their own: the answer's opening is evidence too.
MODEL_CASES = [
    ("objective-test", "Which of the following is a mammal? A) shark B) whale C) trout", "B) whale"),
    ("translation", "Translate 'good morning' into French.", "Bonjour."),
    (
        "programming",
        "用Python写一个函数，计算列表的平均值。",
        "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```",
    ),
    ("creative-writing", "Generate a sentence using the word 'serene'.", "The lake was serene at dawn."),
    ("composition", "Write a letter to your landlord asking to fix the heating.", "Dear Mr. Smith, I am writing ..."),
    ("open-qa", "Why is the sky blue?", "Sunlight is scattered by the air, and blue light the most ..."),
    ("closed-qa", "What is the capital of Australia?", "Canberra."),
    ("math", "小明有5个苹果，吃了2个，还剩多少个？", "5 - 2 = 3，还剩3个。"),
    ("rewriting", "Rewrite this sentence in the passive voice: The cat chased the mouse.", "The mouse was chased."),
]


def test_the_trained_model_names_the_task_of_records_with_their_answers():
    records = [{"instruction": q, "output": a} for _, q, a in MODEL_CASES]
    assert labels(records) == [c for c, _, _ in MODEL_CASES]


def test_the_model_reads_the_shape_of_the_question_and_of_the_answer():
    classifier = TaxonomyClassifier(dqe.Context(load_config(discover=False), load_plugins()))
    records = [
        {"instruction": "What is the boiling point of water?", "output": "100 °C at sea level."},
        {"instruction": "Write an essay about rivers.", "output": "Rivers shape the land. " * 40},
        {"instruction": "Fix this code:\ndef f(x):\n    return x +", "output": "def f(x):\n    return x + 1"},
    ]
    dense, _, _ = classifier.features(batch(records))
    assert dense["shape:asks"].tolist() == [1, 0, 0] and dense["shape:wh"].tolist() == [1, 0, 0]
    assert dense["shape:code"].tolist() == [0, 0, 1]
    # lengths in bins: a phrase, an essay, a line of code
    assert dense["answer-chars:15"].tolist() == [1, 0, 1] and dense["answer-chars:600"].tolist() == [0, 1, 0]


def test_a_conversation_of_several_tasks_is_multi_turn(by_evidence):
    records = [
        {"instruction": "And in French?", "output": "Bonjour.", "history": [["Say hello.", "Hello."]]},
        {
            "instruction": "What is the capital of Peru?",
            "output": "Lima.",
            "history": [["Write a haiku about rain.", "Soft rain on the roof..."]],
        },
    ]
    # the trained model calls the second one closed-qa: its last request alone outweighs the chat
    assert labels(records, **by_evidence) == ["multi-turn", "multi-turn"]


def test_a_conversation_of_one_task_takes_that_task():
    record = {
        "instruction": "Translate 'thank you' into Spanish.",
        "output": "Gracias.",
        "history": [["Translate 'hello' into Spanish.", "Hola."]],
    }
    assert labels([record]) == ["translation"]


def test_a_short_follow_up_that_asks_for_nothing_new_keeps_the_first_task():
    records = [
        {
            "instruction": "Thanks, that's lovely!",
            "output": "You're welcome!",
            "history": [["Write a haiku about autumn rain.", "Cold rain on the eaves..."]],
        },
        {
            "instruction": "好的，谢谢！",
            "output": "不客气！",
            "history": [["把这句话翻译成英文：今天很冷。", "It is cold today."]],
        },
    ]
    assert labels(records) == ["creative-writing", "translation"]


def test_a_persona_set_up_by_the_user_or_the_system_prompt_is_role_play():
    records = [
        {"instruction": "You are a pirate captain. Tell your crew where we sail next.", "output": "Arr! To Tortuga!"},
        {
            "instruction": "Where do we sail next?",
            "output": "Arr! To Tortuga!",
            "system": "You are Captain Flint, a pirate.",
        },
        {"instruction": "As Gandalf the Grey, advise Frodo on resisting the Ring.", "output": "My dear Frodo..."},
    ]
    assert labels(records) == ["role-play"] * 3


def test_an_assistant_system_prompt_or_a_given_input_is_not_a_persona():
    records = [
        {"instruction": "What is 12 squared?", "output": "144.", "system": "You are a helpful assistant."},
        {"instruction": "You are given a sentence. Translate it into French.\nGood night.", "output": "Bonne nuit."},
    ]
    assert labels(records) == ["math", "translation"]


def test_a_riddle_that_starts_imagine_you_are_is_not_creative_writing():
    riddle = "Imagine you are in a dark room with a match, a candle and a lamp. What do you light first?"
    assert labels([{"instruction": riddle, "output": "The match."}])[0] not in ("creative-writing", "role-play")


def test_software_in_a_word_problem_is_math_not_programming():
    problem = (
        "A software company has 12 developers. Each writes 150 lines a day. How many lines do they write in 5 days?"
    )
    zh = "一家软件公司有 4 名程序员，每人每天写 250 行代码，写完 20000 行代码需要多少天？"
    records = [
        {"instruction": problem, "output": "12 x 150 = 1800 a day; 1800 x 5 = 9000 lines."},
        {"instruction": zh, "output": "4 × 250 = 1000 行/天，20000 ÷ 1000 = 20 天。"},
    ]
    assert labels(records) == ["math", "math"]


def test_tools_declared_or_called_are_tool_use():
    glaive = {
        "conversations": [
            {"from": "human", "value": "What's the weather in Paris?"},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Paris"}}'},
            {"from": "observation", "value": '{"temp": 18}'},
            {"from": "gpt", "value": "It is 18 degrees in Paris."},
        ],
        "tools": '[{"name": "get_weather"}]',
    }
    declines = {
        "conversations": [
            {"from": "human", "value": "Book me a flight."},
            {"from": "gpt", "value": "I can't book flights."},
        ],
        "tools": '[{"name": "get_weather"}]',
    }
    toolformer = {
        "instruction": "toolformer: enabled\ntoolformer access: wikipedia\nWhen did World War 2 end?",
        "output": "World War 2 ended on wikipedia('World War 2 end date').",
    }
    assert labels([glaive]) == labels([declines]) == labels([toolformer]) == ["tool-use"]


def test_thin_evidence_is_uncertain_not_a_guess():
    records = [
        {"instruction": "Banana.", "output": "Yes."},
        {"instruction": "The weather was nice yesterday.", "output": "Indeed."},
        {"instruction": "Fill this sudoku grid.", "output": "Done."},
    ]
    assert labels(records) == ["uncertain"] * 3


def test_every_label_has_a_confidence_and_the_record_own_label_is_sure():
    records = [
        {"instruction": "Translate 'good morning' into French.", "output": "Bonjour."},
        {"instruction": "Banana.", "output": "Yes."},
        {"instruction": "Banana.", "output": "Yes.", "category": "math"},
    ]
    out = table(records)
    assert out.schema["category_confidence"] == pl.Float64
    sure, unsure, given = out["category_confidence"].to_list()
    assert 0.8 < sure <= 1.0 and 0.0 <= unsure < 0.5 and given == 1.0


def test_answer_signals_count_a_worked_equation_as_math():
    record = {"instruction": "Natalia sold clips to her friends.", "output": "She sold 48/2 = 24 clips in May."}
    assert labels([record]) == ["math"]


def test_the_record_own_category_wins_and_aliases_read_as_taxonomy_names():
    records = [
        {"instruction": "Write a poem.", "output": "Roses.", "category": "Open_QA"},
        {"instruction": "Write a poem.", "output": "Roses.", "category": "information extraction"},
        {"instruction": "Write a poem.", "output": "Roses.", "category": "my-own-label"},
        {"instruction": "Write a poem.", "output": "Roses.", "category": "  "},
    ]
    assert labels(records) == ["open-qa", "structured-extraction", "my-own-label", "creative-writing"]


def test_a_user_pack_adds_signals_to_a_category(tmp_path):
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "categories.toml").write_text("[categories.math]\nquestion.en = ['\\bsudoku\\b']\n")
    record = [{"instruction": "Fill this sudoku grid.", "output": "Done."}]
    assert labels(record) == ["uncertain"]
    assert labels(record, **{"rule-packs": [str(tmp_path / "packs")]}) == ["math"]


def test_a_user_pack_can_ask_for_more_certainty(tmp_path):
    pack = tmp_path / "categories.toml"
    pack.write_text("[meta]\nuncertain-below = 0.999\n")
    record = [{"instruction": "Reword this sentence to make it clearer.\nThe cat that sat.", "output": "The cat sat."}]
    assert labels(record) == ["rewriting"]
    assert labels(record, **{"rule-packs": [str(pack)]}) == ["uncertain"]


@pytest.mark.parametrize(
    ("pack", "message"),
    [
        ("[categories.math]\nsignals = { tool-calls = 2.0 }\n", r"categories.math.signals.tool-calls: no such signal"),
        (
            "[categories.math]\nweights = { question = 'high' }\n",
            r"categories.math.weights.question: expected a number",
        ),
        ("[meta]\ncalibration = [1.0, 2.0]\n", r"meta.calibration must be three numbers"),
        ("[meta]\nuncertain-below = 2\n", r"meta.uncertain-below must be between 0 and 1"),
    ],
)
def test_a_bad_weight_signal_or_calibration_is_a_config_error_naming_the_key(tmp_path, pack, message):
    path = tmp_path / "categories.toml"
    path.write_text(pack)
    with pytest.raises(ConfigError, match=message):
        labels([{"instruction": "x", "output": "y"}], **{"rule-packs": [str(path)]})


def test_a_bad_pattern_in_a_pack_is_a_config_error_naming_it(tmp_path):
    pack = tmp_path / "categories.toml"
    pack.write_text("[categories.math]\nquestion.en = ['(unclosed']\n")
    with pytest.raises(
        ConfigError,
        match=r"categories\.math\.question\.en\[\d+\]: invalid regular expression '\(unclosed': .*unclosed group",
    ):
        labels([{"instruction": "x", "output": "y"}], **{"rule-packs": [str(pack)]})


def test_a_category_without_priority_is_a_config_error(tmp_path):
    pack = tmp_path / "categories.toml"
    pack.write_text("[categories.poker]\nquestion.en = ['poker']\n")
    with pytest.raises(ConfigError, match="categories.poker: needs a 'priority' .lower wins a tie."):
        labels([{"instruction": "x", "output": "y"}], **{"rule-packs": [str(pack)]})


class EverythingIsMath(Classifier):
    """A third-party classifier, as a plugin would register it."""

    name = "all-math"
    target = "category"
    summary = "labels every record math"

    def labels(self):
        return ["math", "poetry"]

    def classify(self, batch):
        return pl.Series(["math"] * batch.height)


class Broken(EverythingIsMath):
    name = "broken"

    def classify(self, batch):
        return pl.Series(["math"])


class ClassifierPlugin:
    @hookimpl
    def dqe_register_classifiers(self, register):
        register(EverythingIsMath)
        register(Broken)


def test_a_plugin_classifier_is_chosen_in_config_and_the_field_still_wins():
    records = [
        {"instruction": "Write a poem.", "output": "Roses."},
        {"instruction": "Hi", "output": "Hello", "category": "poetry"},
    ]
    report = dqe.check(records, plugins=[ClassifierPlugin()], select=["DQ411"], classifiers={"category": "all-math"})
    categories = report.dataset["categories"]
    assert categories["counts"] == {"math": 1, "poetry": 1}
    assert categories["classifier"] == "all-math"
    assert set(categories["target"]) == {"math", "poetry"}  # its labels are the uniform target


def test_an_unknown_classifier_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match=r"'classifiers.category': no category classifier 'bert'; known: taxonomy"):
        dqe.check([{"instruction": "x", "output": "y"}], select=["DQ411"], classifiers={"category": "bert"})


def test_a_classifier_returning_the_wrong_number_of_labels_is_a_plugin_error():
    records = [{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"}]
    with pytest.raises(
        PluginError, match=r"category classifier 'broken' \(plugin 'ClassifierPlugin-0'\) returned 1 labels for 2"
    ):
        dqe.check(records, plugins=[ClassifierPlugin()], select=["DQ411"], classifiers={"category": "broken"})


def real_labels(name):
    from tests.support import real

    loaded = load_config(overrides={"select": ["DQ411"]}, discover=False)
    table = Engine(loaded, load_plugins()).run(real(name)).table.sort("_idx")
    return table["category_pred"]


def test_alpaca_en_demo_spreads_over_the_taxonomy():
    labels = real_labels("llamafactory_alpaca_en_demo.json")
    shares = labels.value_counts(normalize=True).rows()
    assert max(share for _, share in shares) < 0.3  # no ability dominates (by hand, open-qa is 24-29% of it)
    assert dict(shares)["uncertain"] < 0.25  # fragments and tasks no pattern names
    assert len(shares) >= 22
    # records read by hand: 0 "Describe a process of making crepes.", 2 "Make a persuasive
    # argument...", 6 "Create an effective 140 character twitter post", 8 "Reword this
    # sentence...", 14 "Brainstorm some activities..."
    picked = {i: labels[i] for i in (0, 2, 6, 8, 14)}
    assert picked == {0: "open-qa", 2: "composition", 6: "copywriting", 8: "rewriting", 14: "brainstorming"}


def test_alpaca_zh_demo_is_read_in_chinese():
    labels = real_labels("llamafactory_alpaca_zh_demo.json")
    shares = dict(labels.value_counts(normalize=True).rows())
    assert shares["uncertain"] < 0.45  # many of its instructions lost their task in translation
    assert len(shares) >= 20
    # 1 生成一个适当的口号, 5 创建一个程序，打印以下图案, 8 写出狗和猫的两个不同之处, 11 帮我分类以下动物
    picked = {i: labels[i] for i in (1, 5, 8, 11)}
    assert picked == {1: "copywriting", 5: "programming", 8: "open-qa", 11: "classification"}


def test_rasbt_is_mostly_short_factual_questions_and_rewrites():
    shares = dict(real_labels("rasbt_instruction_data.json").value_counts(normalize=True).rows())
    assert shares["closed-qa"] > 0.35 and shares["rewriting"] > 0.12 and shares["translation"] > 0.04
    assert shares.get("uncertain", 0.0) < 0.15  # none at all is fine


@pytest.mark.slow
def test_gsm8k_is_math():
    shares = dict(real_labels("gsm8k_train_alpaca.json").value_counts(normalize=True).rows())
    assert shares["math"] > 0.97


def test_fastchat_conversations_are_multi_turn():
    shares = dict(real_labels("fastchat_dummy_conversation.json").value_counts(normalize=True).rows())
    assert shares["multi-turn"] > 0.6


class NotAClassifier:
    name = "nope"
    target = "category"


class WrongTarget(EverythingIsMath):
    name = "wrong-target"
    target = "language"


class BadClassifierPlugin:
    def __init__(self, thing):
        self.thing = thing

    @hookimpl
    def dqe_register_classifiers(self, register):
        register(self.thing)


@pytest.mark.parametrize(
    ("thing", "message"),
    [(NotAClassifier, "not a dqe.Classifier subclass"), (WrongTarget, 'needs \'target\' = "category" or "domain"')],
)
def test_registering_something_that_is_not_a_classifier_is_a_plugin_error(thing, message):
    registry = load_plugins(extra=[BadClassifierPlugin(thing)])
    assert any(message in error for error in registry.errors)
    with pytest.raises(PluginError, match="BadClassifierPlugin"):
        registry.raise_errors()
