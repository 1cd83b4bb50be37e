"""DQ202 repetition: loops, pasted paragraphs and repeated lines fail; choruses and code pass."""

from __future__ import annotations

import pytest

from dqe.testing import run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, failures, real


def qa(answer, question="Tell me something."):
    return {"instruction": question, "output": answer}


def test_a_looping_answer_fails_with_the_phrase_it_repeats():
    # prose that loops around LaTeX fails too: only the math is left out
    found = failures([qa("The answer is 4. " * 12), qa("由题意可得 $x=1$，所以答案是 1。" * 12)], "DQ202")
    assert found == {
        0: 'answer loops: 91% of its 5-grams repeat earlier ones (most: "4 The answer is 4")',
        1: 'answer loops: 91% of its 5-grams repeat earlier ones (most: "以答案是1")',
    }


def test_chinese_is_compared_by_characters():
    story = "从前有座山，山里有座庙，庙里有个老和尚在给小和尚讲故事。" * 6
    (message,) = failures([qa(story, "讲个故事")], "DQ202").values()
    assert message.startswith("answer loops: 83% of its 5-grams") and '"个老和尚在"' in message


def test_repeated_lines_fail_even_when_short():
    answer = "Thank you so much!\n" * 4
    assert failures([qa(answer)], "DQ202") == {
        0: 'answer repeats lines: 3 of 4 lines repeat earlier ones ("Thank you so much!" 4 times)'
    }


def test_list_items_that_differ_only_in_their_numbers_repeat():
    answer = "\n".join(f"{i}. What is the forecast for the next few days?" for i in range(1, 9))
    run = run_rule("DQ202", [qa(answer, "List conversation starters about the weather.")])
    assert run.passed == [False]
    assert "lines: 7 of 8 repeat (88%, limit 50%)" in run.evidence[0]
    assert run.evidence[0].endswith('most repeated line "What is the forecast for the next few d…" x8')


def test_an_earlier_assistant_turn_is_checked_too():
    record = {
        "conversations": [
            {"from": "human", "value": "Say yes."},
            {"from": "gpt", "value": " ".join(["yes"] * 30)},
            {"from": "human", "value": "Thanks."},
            {"from": "gpt", "value": "You're welcome."},
        ]
    }
    (message,) = failures([record], "DQ202").values()
    assert message.startswith("assistant turn 2 loops: 96% of its 5-grams")


NATURAL = [
    # a song: the chorus comes back, but most lines are new
    "\n".join(
        ["Verse one line a", "Verse one line b", "Chorus line one here", "Chorus line two here"]
        + ["Verse two line c", "Verse two line d", "Chorus line one here", "Chorus line two here"]
        + ["Bridge line e", "Bridge line f", "Chorus line one here", "Chorus line two here"]
    ),
    # parallel worked steps, as in GSM8K
    "\n".join(
        f"The station {i} charges ${i} a gallon, so a 12-gallon tank costs 12*{i} = {12 * i} dollars."
        for i in range(1, 5)
    ),
    # code repeats itself by design and is left out
    "Here is the code:\n```python\n" + "print('hello world')\n" * 20 + "```\nRun it.",
    # a derivation restates its LaTeX expressions by design, left out as code is (GAOKAO-Bench, unseen);
    # prose around them that loops still fails (test_a_looping_answer_fails_with_the_phrase_it_repeats)
    (
        "解: ( I ) 当 $a=1$ 时, $f(x) \\geqslant 3 x+2$ 可化为 $|x-1| \\geqslant 2$\n"
        "\n"
        "由此可得 $x \\geqslant 3$ 或 $x \\leqslant-1$.\n"
        "\n"
        "故不等式 $f(x) \\geqslant 3 x+2$ 的解集为 $\\{x \\mid x \\geqslant 3$ 或 $x \\leqslant-1\\}$.\n"
        "\n"
        "( II) 由 $f(x) \\leqslant 0$ 得\n"
        "\n"
        "$|x-a|+3 x \\leqslant 0$\n"
        "\n"
        "此不等式化为不等式组\n"
        "\n"
        "$\\left\\{\\begin{array}{l}x \\geqslant a \\\\ x-a+3 x \\leqslant 0\\end{array}\\right.$ 或 $\\left\\{\\begin{array}{l}x \\leqslant a \\\\ a-x+3 x \\leqslant 0\\end{array}\\right.$\n"
        "\n"
        "即 $\\left\\{\\begin{array}{l}x \\geqslant a \\\\ x \\leqslant \\frac{a}{4}\\end{array}\\right.$ 或 $\\left\\{\\begin{array}{l}x \\leqslant a \\\\ x \\leqslant-\\frac{a}{2}\\end{array}\\right.$\n"
        "\n"
        "因为 $a>0$, 所以不等式组的解集为 $\\left\\{x \\mid x \\leqslant-\\frac{a}{2}\\right\\}$\n"
        "\n"
        "由题设可得 $-\\frac{a}{2}=-1$, 故 $a=2$"
    ),
    # cases told apart by their math are different lines, not one line said five times (MATH, unseen)
    "The possible values of $p$ are 1 to 5. Let's find the sides for each:\n\n"
    + "\n\n".join(
        f"If $p = {p},$ then $(3p - 1, 3p, p^2 + 1) = ({3 * p - 1}, {3 * p}, {p * p + 1}).$" for p in range(1, 6)
    )
    + "\n\nAll of these work, so there are $\\boxed{5}$ possibilities.",
]
NATURAL_CHECKED = Batched("DQ202", [qa(answer) for answer in NATURAL])


@pytest.mark.parametrize("answer", NATURAL)
def test_natural_repetition_passes(answer):
    assert NATURAL_CHECKED.failures(qa(answer)) == {}


def test_the_frame_of_a_lists_parallel_items_is_not_a_loop():
    """Six phones described in one frame, each with its own figures: 41% of the 5-grams repeat
    an earlier one, but never a span of 16 words, nor one 5-gram eight times."""
    phones = [
        ("Nova 8", 20, "excellent", "OLED", "Snapdragon"),
        ("Pixelle 3", 18, "very good", "AMOLED", "Tensor"),
        ("Orion X", 24, "outstanding", "LTPO", "Dimensity"),
        ("Kite Mini", 16, "good", "LCD", "Helio"),
        ("Vega Fold", 15, "fair", "foldable", "Exynos"),
        ("Lumo 2", 22, "great", "IPS", "Kirin"),
    ]
    answer = "\n\n".join(
        f"{i}. {name}: this phone has a battery life of up to {hours} hours on a single charge, which is {adj} for a "
        f"phone of this size and price range. It has a bright {screen} screen that is easy to read outdoors, and its "
        f"{chip} chip keeps apps running smoothly all day long."
        for i, (name, hours, adj, screen, chip) in enumerate(phones, 1)
    )
    assert failures([qa(answer, "Which phones have a long battery life?")], "DQ202") == {}
    every_repeat = {"DQ202": {"min-run": 1, "min-count": 1000}}  # how the rule counted before
    assert failures([qa(answer, "Which phones have a long battery life?")], "DQ202", rules=every_repeat)


def test_items_pasted_with_only_their_names_changed_loop():
    plants = ["Beets", "Carrots", "Radishes"]
    answer = "\n\n".join(
        f"{p}: sow when the soil is above 10 degrees, scatter the seeds evenly over the surface and cover them with "
        "soil twice as deep as the seed is wide. Water every morning or evening to keep the soil moist, but do not "
        "overwater; feed once the seedlings appear."
        for p in plants
    )
    (message,) = failures([qa(answer, "How do I grow beets, carrots and radishes?")], "DQ202").values()
    assert message.startswith("answer loops:")


def test_a_short_frame_said_many_times_loops():
    answer = "Steps:\n" + "\n".join(f"{i}. Click on the Add File button to add file number {i}." for i in range(1, 15))
    (message,) = failures([qa(answer, "How do I upload files?")], "DQ202").values()
    assert message.startswith("answer loops:")


def test_a_song_or_a_plan_asked_for_may_come_back_to_its_chorus_but_not_loop():
    song = "\n".join(
        f"Verse {i}:\nThe river runs past house number {i} tonight\n\nChorus:\nHold on, hold on tonight, we will "
        "be alright\nSing it loud, sing it proud under city light\nAnd the city keeps on burning bright\n"
        for i in range(1, 5)
    )
    plan = "\n".join(
        f"第{w}周：\n周一：3英里轻松跑\n周二：{w + 3}次800米间歇跑，每次间隔2分钟休息\n周三：3英里轻松跑\n"
        f"周四：5英里稳定配速跑\n周五：休息\n周六：{w + 5}英里稳定配速跑\n周日：{w + 7}英里长跑"
        for w in range(1, 5)
    )
    records = [
        qa(song, "Write a song about the city at night."),
        qa(plan, "请给我写一个4周的10公里训练计划。"),
        # nobody asked for a song or a plan: the same answers loop
        qa(song, "Tell me about the city at night."),
        qa(plan, "请告诉我怎么跑步。"),
        qa("Hold on, hold on tonight, we will be alright\n" * 30, "Write a song about the city at night."),
    ]
    found = failures(records, "DQ202")
    assert sorted(found) == [2, 3, 4] and found[4].startswith("answer loops: 9")


def test_a_source_cited_after_every_sentence_is_no_loop():
    # Bing-style citations (unseen ShareGPT-zh): the same address after each sentence
    link = "(https://medium.com/swlh/elixir-tip-case-vs-with-28b04c4e522a)"
    answer = (
        f"[在 Elixir 中，case 用于模式匹配，而 with 用于绑定值并检查多个条件]{link}[1]{link}。\n"
        f"[如果没有匹配的子句，with 将返回不匹配的值，而 case 会抛出错误]{link}[1]{link}。\n"
        f"[例如，with 可以在遇到错误元组时提前返回]{link}[1]{link}。"
    )
    assert failures([qa(answer, "在elixir中，case do和with do有什么区别？")], "DQ202") == {}


def test_a_frame_the_question_gives_as_an_example_may_come_back_in_every_item():
    question = (
        "I host a quiz at work: which of us is most likely to do something in 10 years? Give me a few, "
        'following this example: "In 10 years time, who is the most likely to have won the lottery"'
    )
    doings = ["run a bakery", "write a novel", "live abroad", "start a company", "climb a mountain", "win an award"]
    doings += ["own a farm", "learn to fly", "coach a team", "have six cats"]
    answer = "\n".join(f'{i}. "In 10 years time, who is the most likely to {d}"' for i, d in enumerate(doings, 1))
    assert failures([qa(answer, question)], "DQ202") == {}
    assert list(failures([qa(answer, "Give me a few quiz questions for work.")], "DQ202")) == [0]


def test_a_line_the_question_sets_as_a_format_may_open_every_item():
    question = (
        "Reply only in these formats.\nWhen you need an API:\n[API_REQUEST]: {curl of the request}\n"
        "When you answer:\n[ANSWER]: {your answer}\nFor a test run, show a few of each."
    )
    requests = ["GET /tasks", "POST /tasks/7/update", "DELETE /tasks/7", "PUT /tasks/7", "GET /users/3", "POST /reset"]
    answer = "\n".join(
        f"[API_REQUEST]:\ncurl -X {r.split()[0]} https://api.example.com{r.split()[1]}" for r in requests
    )
    assert failures([qa(answer, question)], "DQ202") == {}
    assert list(failures([qa(answer, "Show me some API calls.")], "DQ202")) == [0]


def test_a_program_asked_for_and_given_without_fences_repeats_by_design():
    # Code Alpaca answers with bare code: an array of 24 zeros and a grid of cells are what was
    # asked for, as in a fenced block; the same lines in a prose question's answer loop
    zeros = "arr = [" + ", ".join(["0"] * 24) + "]"
    grid = (
        "<html>\n <head>\n  <style>\n   .section {\n    display:flex;\n   }\n  </style>\n </head>\n <body>\n"
        + '  <div class="section">\n'
        + '   <div class="cell"></div>\n' * 12
        + "  </div>\n </body>\n</html>"
    )
    asked = [
        qa(zeros, "Create an array with 24 elements initialized to the value zero."),
        qa(grid, "Write a HTML page that has a section of two columns and six rows."),
        qa(zeros, "Tell me about zero."),
    ]
    assert list(failures(asked, "DQ202")) == [2]


def test_code_that_ends_on_one_line_again_and_again_loops():
    # a generation cut off mid-loop (IFEval's responses, unseen): the fence never closes; a run the
    # program goes on after is what was asked for (the grid above), and so is a run asked for
    imports = "```java\nimport javax.servlet.ServletException;\n" + "import javax.servlet.annotation.WebServlet;\n" * 30
    values = '```json\n{"advantages": [\n' + '  "Superhuman memory",\n' * 12 + '  "Superhu'
    records = [
        qa(imports + "import javax.servlet.anno", "Show how the Java API can be misused in a web application."),
        qa(values, "List the advantages of supernatural powers in JSON."),
        qa("```python\n" + 'print("hello world")\n' * 10 + "```", "Print hello world ten times in Python."),
        qa(imports + "public class Bad {}\n```", "Show how the Java API can be misused in a web application."),
    ]
    found = failures(records, "DQ202")
    assert list(found) == [0, 1]
    assert found[0].startswith("answer ends repeating a line 30 times in a row")


def test_thresholds_are_options():
    answer = "The answer is 4. " * 12
    assert failures([qa(answer)], "DQ202", rules={"DQ202": {"max-ngram-ratio": 0.95, "max-line-ratio": 0.95}}) == {}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    # Read: the most repetitive real answers are GSM8K's parallel steps (32% of 5-grams) and
    # songs with a chorus (19%); none loops.
    assert failures(real(name), "DQ202") == {}


def test_every_assistant_turn_is_judged_the_first_failing_one_named_with_its_evidence():
    record = {
        "conversations": [
            {"from": "human", "value": "Say yes."},
            {"from": "gpt", "value": " ".join(["yes"] * 30)},
            {"from": "human", "value": "And no?"},
            {"from": "gpt", "value": "Sure: " + " ".join(["no"] * 30)},
        ]
    }
    run = run_rule("DQ202", [record])
    assert run.turns == [2]
    assert run.messages[0].endswith("(also turns 4)")
    assert run.evidence == [
        "5-grams: 25 of 26 repeat in a loop (96%, limit 40%); lines: 0 of 1 repeat (under 3 repeats: not judged); "
        'most repeated 5-gram "yes yes yes yes yes" x26'
    ]


def test_the_evidence_gives_both_ratios_and_what_repeats_most():
    run = run_rule("DQ202", [qa("Thank you so much!\n" * 4)])
    assert run.evidence == [
        "5-grams: 0 of 9 repeat in a loop (under 20 5-grams: not judged); lines: 3 of 4 repeat (75%, limit 50%); "
        'most repeated 5-gram "Thank you so much Thank" x3; most repeated line "Thank you so much!" x4'
    ]


def test_each_record_is_judged_the_same_in_a_batch_as_alone():
    from dqe.testing import assert_rule_contract, conversation

    assert_rule_contract(
        "DQ202", [conversation("Say yes.", " ".join(["yes"] * 30), "ok", "fine"), conversation("a", "b")]
    )


def test_a_label_from_the_question_options_given_to_each_item_is_no_loop():
    """PromptCBLUE: every entity gets one of the options the question lists; the label repeats by
    design. The same label looping with no items still fails."""
    labels = [
        "已有症状疾病或者假设未来可能发生的疾病等",
        "未患有症状疾病",
        "无实际意义的不标注或者和病人当前的状态独立不标注",
    ]
    question = "给出对话中临床发现实体的阴阳性判断：\n患者：宝宝咳嗽\n阴阳性选项：" + "，".join(labels) + "\n答："
    entities = ["咽痛", "发热", "病毒感染", "烧", "上感发热", "咳嗽", "吐"]
    answer = "上述对话中临床发现实体以及其阴阳性判别如下：\n" + "\n".join(
        f"{e}：{labels[i % 2 * 2]}" for i, e in enumerate(entities)
    )
    assert failures([qa(answer, question)], "DQ202") == {}
    looped = "：".join([labels[0]] * 8)
    assert failures([qa(looped, question)], "DQ202")


ASKED_FOR = [
    ('help me repeat this sentence five times, " I like apple"', "I like apple.\n" * 5),
    ("帮我把这句话重复10遍“我喜欢吃苹果”", "我喜欢吃苹果。\n" * 10),
    ("请把“加油努力向前冲”这句话写二十遍", "加油努力向前冲！" * 20),
]
ASKED_FOR_CHECKED = Batched("DQ202", [qa(answer, question) for question, answer in ASKED_FOR])


@pytest.mark.parametrize(("question", "answer"), ASKED_FOR)
def test_repetition_the_question_asks_for_is_no_loop(question, answer):
    assert ASKED_FOR_CHECKED.failures(qa(answer, question)) == {}


def test_a_question_that_counts_times_but_asks_no_repeat_is_judged_as_usual():
    question = "我已经说了三遍了，为什么你还不明白？"
    assert failures([qa("对不起。" + "我明白了。" * 12, question)], "DQ202")
