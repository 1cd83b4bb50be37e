"""DQ401 exact-duplicate and DQ402 near-duplicate: which records cluster, which one is kept."""

from __future__ import annotations

import json
import random
import re

import polars as pl
from click.testing import CliRunner

import dqe
from dqe import RecordRule, hookimpl
from dqe.cli import main
from dqe.testing import run_rule
from tests.features.test_minhash import naive_shingles
from tests.support import real

DEDUP = ["DQ401", "DQ402"]
NEAR = re.compile(r"^near-duplicate of (.+):(\d+) \(similarity (0\.\d\d|1\.00), cluster ([0-9a-f]{16})\)$")
EVIDENCE = re.compile(
    r"^kept (?P<kept>.+:\d+); exact Jaccard (?P<similarity>[01]\.\d{4}) = (?P<shared>\d+) shared / (?P<total>\d+) "
    r"distinct shingles; boilerplate left out: (?P<mine>\d+) shingles of (?P<my_lines>\d+) lines or sentences here, "
    r"(?P<theirs>\d+) of (?P<their_lines>\d+) in the kept record"
    r"(?:; records of their template alike by chance: (?P<chance>0\.\d{4}), so the pair must reach (?P<bar>[01]\.\d{4}))?$"
)

ANSWER = (
    "Photosynthesis is the process by which green plants and some other organisms use sunlight "
    "to synthesize foods from carbon dioxide and water. It generally involves the green pigment "
    "chlorophyll and generates oxygen as a byproduct, which is released into the atmosphere."
)


def record(output: str, instruction: str = "Explain photosynthesis.", **extra) -> dict:
    return {"instruction": instruction, "input": "", "output": output, **extra}


def edit(text: str, positions: range | list[int], word: str = "changed") -> str:
    words = text.split()
    for i in positions:
        words[i] = f"{word}{i}"
    return " ".join(words)


class Preferred(RecordRule):
    """Scores records by their category (good 1.0, bad 0.2, else 0.6; "rejected" fails with
    1.0): a stand-in for the quality scores real record rules give."""

    code = "TST001"
    name = "preferred"
    summary = "quality from the category field, for tests"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        score = pl.col("category").replace_strict(
            {"good": 1.0, "bad": 0.2, "rejected": 1.0}, default=0.6, return_dtype=pl.Float64
        )
        return batch.select(passed=pl.col("category").fill_null("") != "rejected", score=score)


class QualityPlugin:
    @hookimpl
    def dqe_register_rules(self, register):
        register(Preferred)


def check(records, select=DEDUP, **kw):
    """The first rule of ``select`` run through dqe.testing, the others beside it; every
    finding is kept."""
    kw.pop("complete", None)
    first, *others = select
    return run_rule(first, records, extend_select=others, **kw).report


def by_code(report, code):
    return {f.source: f.message for f in report.findings if f.code == code}


def evidence(report, code="DQ402"):
    """The evidence of each finding of ``code``, its parts by name (the chance likeness of the
    pair's template only where it raised the bar)."""
    parts = (EVIDENCE.match(f.evidence).groupdict().items() for f in report.findings if f.code == code)
    sources = (f.source for f in report.findings if f.code == code)
    return {source: {k: v for k, v in told if v is not None} for source, told in zip(sources, parts, strict=True)}


# Exact duplicates


def test_copies_differing_only_in_case_and_whitespace_fail_naming_the_first():
    report = check(
        [
            record(ANSWER),
            record("Something else entirely."),
            record("  " + ANSWER.upper().replace(" ", "   ")),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:3": "exact duplicate of <records>:1"}
    assert by_code(report, "DQ402") == {}
    assert report.dataset["duplicates"] | {"largest": None} == {
        "records": 3,
        "rate": 0.333333,
        "exact": 1,
        "near": 0,
        "clusters": 1,
        "largest": None,
        "boilerplate": {"lines": 0, "sentences": 0, "records": 0, "min_records": 3, "shingles": 0},
    }


def test_full_width_forms_are_the_same_text():
    report = check(
        [
            record("ＧＰＴ－４ ｈａｓ ａ １２８ｋ ｃｏｎｔｅｘｔ．"),
            record("GPT-4 has a 128k context."),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:2": "exact duplicate of <records>:1"}


def test_words_moved_from_question_to_answer_make_another_text():
    report = check(
        [record("Blue.", instruction="Name a color"), record("color Blue.", instruction="Name a")],
        select=["DQ401"],
    )
    assert report.summary.rejected == 0


def test_the_system_prompt_is_not_compared():
    report = check(
        [
            record(ANSWER, system="You are helpful."),
            record(ANSWER, system="You are a biology tutor."),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:2": "exact duplicate of <records>:1"}


def test_every_turn_of_the_history_is_compared():
    history = [["Hi", "Hello! How can I help?"]]
    other = [["Hi", "Good morning."]]
    report = check([record(ANSWER, history=history), record(ANSWER, history=other)], select=["DQ401"])
    assert report.summary.rejected == 0


def test_the_best_record_is_kept_and_ties_keep_the_first_seen():
    records = [
        record(ANSWER, category="bad"),
        record(ANSWER, category="good"),
        record(ANSWER, category="good"),
    ]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    assert by_code(report, "DQ401") == {
        "<records>:1": "exact duplicate of <records>:2",
        "<records>:3": "exact duplicate of <records>:2",
    }


def test_a_record_another_rule_rejected_is_not_the_one_kept():
    records = [record(ANSWER, category="rejected"), record(ANSWER, category="bad")]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    assert by_code(report, "DQ401") == {"<records>:1": "exact duplicate of <records>:2"}


# Near duplicates


def test_one_word_changed_is_a_near_duplicate_of_the_original():
    report = check([record(ANSWER), record(edit(ANSWER, [10]))])
    (message,) = by_code(report, "DQ402").values()
    source, line, similarity, cluster = NEAR.match(message).groups()
    assert (source, line) == ("<records>", "1") and float(similarity) >= 0.8
    assert cluster == report.records["id"][0]
    # One word changes 2 of 42 word pairs: 40 shared of the 44 the two have between them.
    assert evidence(report) == {
        "<records>:2": {
            "kept": "<records>:1",
            "similarity": "0.9091",
            "shared": "40",
            "total": "44",
            "mine": "0",
            "my_lines": "0",
            "theirs": "0",
            "their_lines": "0",
        }
    }
    assert report.dataset["duplicates"]["near"] == 1


def test_different_answers_to_the_same_instruction_template_do_not_cluster():
    texts = [
        (
            "Translate the following sentence into French.\nThe weather is nice today.",
            "Il fait beau aujourd'hui.",
        ),
        (
            "Translate the following sentence into French.\nMy brother plays football every Sunday.",
            "Mon frère joue au football tous les dimanches.",
        ),
        (
            "Translate the following sentence into French.\nWhere is the train station?",
            "Où est la gare ?",
        ),
    ]
    report = check([{"instruction": q.split("\n")[0], "input": q.split("\n")[1], "output": a} for q, a in texts])
    assert report.summary.rejected == 0 and report.dataset["duplicates"]["clusters"] == 0


def test_a_removed_record_is_within_the_threshold_of_the_kept_one_not_a_chain():
    words = " ".join(a + b for a in "abcdefghij" for b in "klmnopqrst")  # 100 distinct words
    first = edit(words, range(3, 100, 8), "first")  # A
    middle = edit(first, range(7, 100, 8), "middle")  # B: A with 12 words changed
    last = edit(middle, range(3, 100, 8), "last")  # C: B with A's 13 words changed again
    jaccard = {}
    for name, (x, y) in {"AB": (first, middle), "BC": (middle, last), "AC": (first, last)}.items():
        a, b = set(naive_shingles(x, 2, 2)), set(naive_shingles(y, 2, 2))
        jaccard[name] = len(a & b) / len(a | b)
    assert jaccard["AB"] > 0.55 and jaccard["BC"] > 0.55 and jaccard["AC"] < 0.4
    report = check([record(first), record(middle), record(last)])
    assert list(by_code(report, "DQ402")) == ["<records>:2"]  # C stays: it is not close to A


def test_the_best_of_a_cluster_is_kept():
    records = [
        record(ANSWER, category="bad"),
        record(edit(ANSWER, [3]), category="good"),
        record(edit(ANSWER, [20])),
    ]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    near = by_code(report, "DQ402")
    assert set(near) == {"<records>:1", "<records>:3"}
    assert all(NEAR.match(m).group(2) == "2" for m in near.values())


def test_copies_of_a_near_duplicate_fail_as_exact_duplicates_once_each():
    changed = edit(ANSWER, [7])
    report = check([record(ANSWER), record(changed), record(changed), record("Unrelated answer here.")])
    assert by_code(report, "DQ401") == {"<records>:3": "exact duplicate of <records>:2"}
    assert list(by_code(report, "DQ402")) == ["<records>:2"]
    section = report.dataset["duplicates"]
    assert (section["exact"], section["near"], section["clusters"], section["rate"]) == (
        1,
        1,
        1,
        0.5,
    )
    (largest,) = section["largest"]
    assert largest["size"] == 3 and largest["id"] == report.records["id"][0]
    assert [e["source"] for e in largest["examples"]] == [
        "<records>:1",
        "<records>:2",
        "<records>:3",
    ]
    assert largest["examples"][0]["text"].startswith("Explain photosynthesis. | Photosynthesis is the process")


def test_chinese_text_is_compared_by_characters():
    original = "细胞理论是生物科学的一个理论，它认为所有生命体都是由微小的基本单元——细胞所构成。这是生物学的一个基础理论，认为细胞是所有生物的基本结构和功能单位。"
    edited = original.replace("微小", "细小").replace("基础", "重要")
    report = check(
        [
            record(original, instruction="解释细胞理论。"),
            record(edited, instruction="解释细胞理论。"),
        ]
    )
    assert list(by_code(report, "DQ402")) == ["<records>:2"]
    long_shingles = check([record(original), record(edited)], rules={"DQ402": {"char-shingle-size": 16}})
    assert long_shingles.summary.rejected == 0  # a changed character spoils 16 shingles


def test_a_record_without_words_is_only_compared_exactly():
    report = check(
        [
            record("!!!", instruction="?"),
            record("...", instruction="?"),
            record("!!!", instruction="?"),
        ]
    )
    assert list(by_code(report, "DQ401")) == ["<records>:3"] and by_code(report, "DQ402") == {}


# Boilerplate: lines many records share in their questions

PREAMBLE = "\n".join(
    [
        "You are an assistant that can call tools. Think about which tool helps, then call it.",
        "weather(city, days): the current weather and a forecast for up to seven days in a city, with temperatures "
        "in Celsius, the chance of rain, the wind speed and direction, and warnings issued by the local service.",
        "search(query, site): a web search that returns the ten best results for the query, each with its title, "
        "address and a short snippet; narrow it to one site when the user names a source they trust.",
        "calculator(expression): evaluates an arithmetic expression exactly, with fractions, powers, roots and "
        "percentages; use it for any computation instead of working the numbers out in the answer.",
        "calendar(action, date, title): creates, moves or deletes an event in the user's calendar and lists the "
        "events of a day; always confirm the date and the time zone with the user before changing anything.",
        "translate(text, target): translates text into the target language, keeping names, numbers and "
        "formatting as they are; say which language the text was in when it was not the one expected.",
        "email(to, subject, body): drafts an e-mail for the user to review; it is never sent without the "
        "user saying so, and the draft keeps the user's own greeting and signature when they gave one.",
        "maps(origin, destination, mode): a route between two places on foot, by bike, by car or by public "
        "transport, with the time it takes, the distance and the steps; prefer the mode the user asked for.",
        "news(topic, since): the latest articles on a topic from reputable outlets, newest first, each with its "
        "outlet, date and a two-sentence summary; never present an opinion piece as a report of facts.",
    ]
)
QUESTIONS = [
    ("What will the weather be like in Oslo this weekend?", "I will check: weather('Oslo', 3)."),
    ("Find recent reviews of the new Kindle.", "Searching: search('new Kindle review', '')."),
    ("How much is seventeen percent of eight hundred?", "calculator('seventeen percent of eight hundred')"),
    ("Move my dentist appointment to Friday morning.", "calendar('move', 'Friday', 'dentist')"),
    ("Say 'where is the station' in Portuguese.", "translate('where is the station', 'Portuguese')"),
    ("Write to Anna that I will be late.", "email('Anna', 'Running late', 'I will be a little late.')"),
    ("Is it going to snow in Denver tomorrow?", "Let me look: weather('Denver', 1)."),
    ("Who won the last Tour de France?", "search('Tour de France winner', '')"),
    ("What is the square root of two thousand?", "calculator('sqrt(two thousand)')"),
    ("What do I have on Monday?", "calendar('list', 'Monday', '')"),
    ("Translate 'thank you very much' into Japanese.", "translate('thank you very much', 'Japanese')"),
    ("Ask the landlord when the heating gets fixed.", "email('landlord', 'Heating', 'When will it be fixed?')"),
    ("Do I need an umbrella in London today?", "weather('London', 1) will tell."),
    ("Look up the opening hours of the Louvre.", "search('Louvre opening hours', 'louvre.fr')"),
    ("Divide nine hundred by the cube of four.", "calculator('nine hundred / four^3')"),
    ("Cancel the team lunch on Thursday.", "calendar('delete', 'Thursday', 'team lunch')"),
    ("How do you say 'good night' in Greek?", "translate('good night', 'Greek')"),
    ("Thank my manager for the day off.", "email('manager', 'Thanks', 'Thank you for the day off.')"),
    ("Will it be windy on the coast near Lisbon?", "weather('Lisbon', 1)"),
    ("Which laptops have the longest battery life?", "search('laptop longest battery life', '')"),
    ("What is eleven factorial?", "calculator('eleven!')"),
    ("Add a reminder to call my sister on Sunday.", "calendar('create', 'Sunday', 'call my sister')"),
    ("Put 'the meeting is postponed' into German.", "translate('the meeting is postponed', 'German')"),
    ("Tell the club I cannot come to training.", "email('club', 'Training', 'I cannot come this week.')"),
]


def preambled(question: str, answer: str) -> dict:
    return record(answer, instruction=f"{PREAMBLE}\n{question}")


def test_different_questions_behind_a_shared_preamble_are_not_near_duplicates():
    assert len(PREAMBLE) > 1500 and len(QUESTIONS) >= 20  # the preamble is most of each record
    report = check([preambled(q, a) for q, a in QUESTIONS])
    assert by_code(report, "DQ402") == {}
    boilerplate = report.dataset["duplicates"]["boilerplate"]
    assert (boilerplate["lines"], boilerplate["records"], boilerplate["min_records"]) == (9, 24, 3)


def test_three_records_are_enough_to_tell_a_preamble_from_what_they_ask():
    report = check([preambled(q, a) for q, a in QUESTIONS[:3]])
    assert by_code(report, "DQ402") == {}
    assert report.dataset["duplicates"]["boilerplate"]["records"] == 3


def test_two_records_sharing_a_preamble_but_not_their_answers_are_two_records():
    # Two records are too few to tell their preamble from a copy's unedited text, but their
    # answers have nothing in common: a copy repeats its answer.
    report = check([preambled(q, a) for q, a in QUESTIONS[:2]])
    assert by_code(report, "DQ402") == {}
    alike = check([preambled(q, a) for q, a in QUESTIONS[:2]], rules={"DQ402": {"answer-threshold": 0.0}})
    assert list(by_code(alike, "DQ402")) == ["<records>:2"]


DISCLAIMER = "注意：同种药品可由于不同的包装规格有不同的用法或用量。本文只供参考。如果不确定，请参看药品随带的说明书或向医生询问。"
DOSAGES = [
    ("全鹿丸", "一次6～9g，一日2次；分次温水送服。或遵医嘱。"),
    ("香连化滞丸", "口服。一次2丸，一日2次。"),
    ("愈酚喷托异丙嗪颗粒", "口服。成人一次2包，一日3次。"),
    ("八珍益母片", "饭前温开水送服，一次3片，早晚各一次，孕妇忌服。"),
]


def dosage(drug: str, told: str) -> dict:
    return record(DISCLAIMER + told, instruction=f"{drug}的用法用量")


def test_different_questions_answered_behind_one_stock_disclaimer_are_two_records():
    # MedicalGPT's drug questions: each answer opens with the same disclaimer, then gives the
    # drug's own dosage. The disclaimer is most of each record, but the questions ask about
    # different drugs and the answers differ past it.
    assert by_code(check([dosage(d, t) for d, t in DOSAGES]), "DQ402") == {}


def test_an_opening_only_two_answers_share_is_not_a_stock_passage():
    # two records cannot tell a stock disclaimer from the start two answers happen to share
    assert list(by_code(check([dosage(d, t) for d, t in DOSAGES[:2]]), "DQ402")) == ["<records>:2"]


def test_the_same_question_behind_a_stock_disclaimer_is_still_a_near_duplicate():
    # a copy asks the same: what follows the disclaimer does not matter
    copies = [dosage(d, t) for d, t in DOSAGES] + [dosage("全鹿丸", "一次9g，一日3次，温开水送服。")]
    assert list(by_code(check(copies), "DQ402")) == ["<records>:5"]


def test_programs_opening_alike_are_not_a_stock_passage():
    # every answer to one task opens with the same code: reworded tasks answered with one
    # program are near-duplicates, whatever their programs print at the end
    program = (
        "#include <iostream>\nusing namespace std;\n\nint factorial(int n) {\n    if (n <= 1) {\n        return 1;\n"
        "    }\n    return n * factorial(n - 1);\n}\n\nint main() {\n    int n = {n};\n    cout << {says} << factorial(n);\n}"
    )
    answers = [
        program.replace("{n}", "5").replace("{says}", '"Factorial: "'),
        program.replace("{n}", "6").replace("{says}", '"The factorial of " << n << " is "'),
        program.replace("{n}", "7").replace("{says}", '"Result: "'),
    ]
    asks = [
        "Write a C++ program that calculates the factorial of a given number using recursion.",
        "Design a C++ function that calculates the factorial of a given integer.",
        "Implement a recursive C++ function for the factorial of a non-negative number.",
    ]
    found = by_code(check([record(a, instruction=q) for q, a in zip(asks, answers, strict=True)]), "DQ402")
    assert sorted(found) == ["<records>:2", "<records>:3"]


def test_two_completions_of_one_prompt_are_two_records():
    # KTO and preference data: the same long prompt, answered twice in different words
    prompt = (
        "Here is the text of a product review: 'The blender is loud, the lid cracked after a week and the "
        "support line never called back, although the motor itself is strong and it crushes ice well.' "
        "Summarize what the reviewer liked and disliked about the blender in one sentence for our report."
    )
    report = check(
        [
            record(
                "They liked its strong motor and ice crushing but not the noise, the lid or support.",
                instruction=prompt,
            ),
            record("Great blender overall, five stars, would recommend to anyone!", instruction=prompt),
        ]
    )
    assert by_code(report, "DQ402") == {}


def test_two_replies_to_one_conversation_are_two_records_and_an_edited_copy_is_not():
    # OpenAssistant-style trees flattened: the same conversation, then another last reply
    def chat(last_reply):
        turns = [
            "What should I pack for a week of hiking in the Alps in late September?",
            "Pack layers: a warm fleece, a waterproof shell, thermal underwear, a hat and gloves, good boots, "
            "blister plasters, a head torch, a map of the huts and enough cash, since many huts take no cards.",
            "Thanks, that is really helpful!",
            last_reply,
        ]
        return {"conversations": [{"from": ("human", "gpt")[i % 2], "value": t} for i, t in enumerate(turns)]}

    glad = "You're welcome! Have a wonderful trip and enjoy the views from the huts."
    replies = [chat(glad), chat("Happy to help. Check the weather forecast each morning before you set out.")]
    assert by_code(check(replies), "DQ402") == {}
    edited = chat(glad.replace("wonderful", "great"))
    assert list(by_code(check([chat(glad), edited]), "DQ402")) == ["<records>:2"]
    # one more exchange at the end ends on another answer, but it is the same conversation
    longer = chat(glad)
    longer["conversations"] += [{"from": "human", "value": "Bye!"}, {"from": "gpt", "value": "Goodbye!"}]
    assert list(by_code(check([chat(glad), longer]), "DQ402")) == ["<records>:2"]


def test_without_leaving_the_preamble_out_they_would_all_be_near_duplicates():
    alike = {"boilerplate-min-records": 1000, "answer-threshold": 0.0}
    report = check([preambled(q, a) for q, a in QUESTIONS], rules={"DQ402": alike})
    assert len(by_code(report, "DQ402")) == len(QUESTIONS) - 1


def test_the_same_question_lightly_edited_behind_the_preamble_is_a_near_duplicate():
    question, answer = QUESTIONS[2]
    copy = preambled(question.replace("eight hundred", "nine hundred"), answer)
    report = check([*(preambled(q, a) for q, a in QUESTIONS), copy])
    (message,) = by_code(report, "DQ402").values()
    assert message.startswith("near-duplicate of <records>:3 (similarity 0.")


def test_the_similarity_shown_is_the_exact_jaccard_of_the_shingles_left_after_the_boilerplate():
    question, answer = QUESTIONS[5]
    copy = preambled("Write to Anna that I am going to be late.", answer)
    records = [*(preambled(q, a) for q, a in QUESTIONS), copy]
    report = check(records)

    # Worked out by hand: the word pairs of each record (none across a line break of the question;
    # its last line runs on into the answer), less those of the preamble's lines.
    def pairs(r):
        *lines, last = r["instruction"].split("\n")
        return set().union(*(naive_shingles(t.lower(), 2, 2) for t in [*lines, f"{last}\x1e{r['output']}"]))

    boilerplate = set().union(*(naive_shingles(line.lower(), 2, 2) for line in PREAMBLE.split("\n")))
    kept, removed = (pairs(r) for r in (records[5], copy))
    shared = (kept - boilerplate) & (removed - boilerplate)
    union = (kept - boilerplate) | (removed - boilerplate)
    exact = len(shared) / len(union)
    assert exact > 0.5 and len(union) < 40 < len(boilerplate)  # the preamble would swamp the question

    assert by_code(report, "DQ402") == {
        f"<records>:{len(records)}": f"near-duplicate of <records>:6 (similarity {exact:.2f}, "
        f"cluster {report.records['id'][5]})"
    }
    assert evidence(report) == {
        f"<records>:{len(records)}": {
            "kept": "<records>:6",
            "similarity": f"{exact:.4f}",
            "shared": str(len(shared)),
            "total": str(len(union)),
            "mine": str(len(removed & boilerplate)),
            "my_lines": "9",
            "theirs": str(len(kept & boilerplate)),
            "their_lines": "9",
        }
    }


def test_a_template_frame_on_the_line_it_fills_is_boilerplate_too():
    # T0- and pCLUE-style prompts: the frame and the options share a line with what each record asks
    headlines = [
        "为什么今年的猪肉价格涨了这么多",
        "国足在世预赛中两球击败对手",
        "新款电动车续航突破一千公里",
        "央行宣布下调存款准备金率",
        "暑期档电影票房创下历史新高",
        "多地中小学推行课后延时服务",
        "春运首日铁路发送旅客超千万",
        "新一代国产大飞机完成首飞",
        "古城墙修缮工程正式启动",
        "冬奥会志愿者招募工作开始",
        "家庭农场带动村民增收致富",
        "手机厂商发布折叠屏新机",
    ]
    labels = ["农业", "体育", "汽车", "财经", "娱乐", "教育", "旅游", "科技", "文化", "体育", "农业", "科技"]

    def framed(headline, label):
        return record(
            label, instruction=f"这是关于哪方面的新闻：故事,文化,娱乐,体育,财经,汽车,教育,科技,农业?{headline}？答案："
        )

    report = check([framed(h, lab) for h, lab in zip(headlines, labels, strict=True)])
    assert by_code(report, "DQ402") == {}
    assert report.dataset["duplicates"]["boilerplate"]["sentences"] >= 2
    # the same headline a word apart is still a copy
    copy = framed(headlines[0].replace("这么多", "那么多"), labels[0])
    report = check([*(framed(h, lab) for h, lab in zip(headlines, labels, strict=True)), copy])
    assert list(by_code(report, "DQ402")) == [f"<records>:{len(headlines) + 1}"]


def test_a_label_list_run_into_what_each_record_asks_is_boilerplate_too():
    """pCLUE's app prompts (unseen): the frame ends in a list of labels with no punctuation before
    each app's description, so no sentence ends where the frame does; the longest opening the
    records share is the frame."""
    labels = (
        "银行，社区，电商，支付，经营，卡牌，借贷，驾校，理财，职考，新闻，旅游，交通，魔幻，医疗，影像，动作，工具，体育，小说，"
        "运动，相机，工具，快递，教育，股票，菜谱，行车，仙侠，亲子，购物，射击，漫画，小学，同城，成人，求职，电子，艺术，赚钱，"
        "约会，经营，兼职，视频，音乐，英语，棋牌，摄影，养生，办公，政务，视频，论坛，彩票，直播，其他，休闲，策略，通讯，买车"
    )
    apps = [
        "一款非常有趣的模拟游戏，你要扮演一只火龙周游世界",
        "开年塔防大作，众多可爱英勇的巧克力英雄激萌来袭",
        "数独是一种源自十八世纪末的数学智力拼图游戏",
        "最容易上瘾的物理驾驶游戏，挑战独特的爬坡环境",
        "专业的记账工具，帮你轻松管理每一笔收入和支出",
        "海量正版音乐随心听，每日为你推荐喜欢的歌曲",
        "随时随地预订酒店机票，出行无忧省心又省钱",
        "学习英语单词的好帮手，每天坚持背诵二十个",
        "附近美食外卖一键下单，三十分钟准时送达",
        "在线问诊名医专家，足不出户看病更方便",
        "记录每天的运动步数和消耗的卡路里",
        "精选全球好物，正品保障七天无理由退货",
    ]
    answers = ["休闲", "策略", "休闲", "休闲", "记账", "音乐", "旅游", "教育", "外卖", "医疗", "运动", "电商"]

    def framed(app, label):
        return record(label, instruction=f"这个是关于哪方面的App应用程序的描述？{labels}，民宿{app}\n答案：")

    report = check([framed(a, lab) for a, lab in zip(apps, answers, strict=True)])
    assert by_code(report, "DQ402") == {}
    # the same description a word apart is still a copy
    copy = framed(apps[0].replace("非常", "十分"), answers[0])
    report = check([*(framed(a, lab) for a, lab in zip(apps, answers, strict=True)), copy])
    assert list(by_code(report, "DQ402")) == [f"<records>:{len(apps) + 1}"]


def test_chinese_questions_behind_a_shared_chinese_preamble():
    preamble = "\n".join(
        [
            "你是一个可以调用工具的助手。请先想清楚哪个工具有用，再调用它，并把结果用简洁的中文告诉用户。",
            "天气（城市，天数）：返回一个城市当前的天气和未来最多七天的预报，包括摄氏温度、降雨概率、风速风向以及当地气象部门发布的预警信息。",
            "搜索（关键词，网站）：进行网页搜索，返回与关键词最相关的十条结果，每条包含标题、网址和一小段摘要；用户指定可信来源时只在该网站内搜索。",
            "计算器（表达式）：精确计算算术表达式，支持分数、乘方、开方和百分比；任何计算都应使用它，而不是在回答里自己心算。",
        ]
    )
    questions = [
        ("北京明天会下雨吗？", "我来查一下北京明天的天气。"),
        ("帮我找一下最新的手机评测。", "正在搜索最新的手机评测。"),
        ("八百的百分之十七是多少？", "我用计算器算一下这个百分比。"),
        ("上海这个周末冷不冷？", "查询上海周末的天气预报。"),
        ("谁赢得了上一届世界杯？", "搜索上一届世界杯的冠军。"),
        ("两千的平方根是多少？", "调用计算器求两千的平方根。"),
        ("广州今天需要带伞吗？", "看看广州今天的降雨概率。"),
        ("卢浮宫几点开门？", "搜索卢浮宫的开放时间。"),
        ("十一的阶乘是多少？", "用计算器算十一的阶乘。"),
        ("哈尔滨下周会下雪吗？", "查询哈尔滨下周的天气。"),
        ("哪款笔记本电脑续航最长？", "搜索续航最长的笔记本电脑。"),
        ("九百除以四的立方是多少？", "用计算器算九百除以六十四。"),
        ("成都后天的气温是多少？", "查一下成都后天的气温。"),
        ("最近有什么好看的电影？", "搜索最近的热门电影。"),
        ("三的十次方等于多少？", "调用计算器计算三的十次方。"),
        ("杭州今晚风大吗？", "查询杭州今晚的风力。"),
        ("故宫需要提前预约吗？", "搜索故宫的预约规定。"),
        ("一百二十的三分之二是多少？", "用计算器算一百二十的三分之二。"),
        ("深圳这周会有台风吗？", "查看深圳本周的天气预警。"),
        ("哪里可以买到二手自行车？", "搜索二手自行车的购买渠道。"),
    ]
    records = [record(a, instruction=f"{preamble}\n{q}") for q, a in questions]
    edited = record("我来查一下北京明天天气。", instruction=f"{preamble}\n北京明天会不会下雨？")
    report = check([*records, edited])
    assert list(by_code(report, "DQ402")) == [f"<records>:{len(records) + 1}"]
    assert by_code(report, "DQ402")[f"<records>:{len(records) + 1}"].startswith("near-duplicate of <records>:1 ")


def test_a_long_copy_with_its_numbers_changed_is_a_near_duplicate():
    answer = (
        "A kilometer is 1000 meters, so multiply the distance in kilometers by 1000: 5 kilometers is "
        "5 x 1000 = 5000 meters. The same works for any distance, and the other way round you divide "
        "the meters by 1000 to get kilometers back."
    )
    copy = answer.replace("5 kilometers", "12 kilometers").replace("5 x 1000 = 5000", "12 x 1000 = 12000")
    report = check(
        [record(answer, instruction="Convert 5 km to meters."), record(copy, instruction="Convert 12 km to meters.")]
    )
    assert by_code(report, "DQ401") == {}
    assert by_code(report, "DQ402")["<records>:2"].startswith("near-duplicate of <records>:1 (similarity 1.00,")


def test_short_records_that_differ_only_in_their_numbers_are_different_questions():
    report = check(
        [
            record("45 kilometers is 45000 meters.", instruction="Convert 45 kilometers to meters."),
            record("8 kilometers is 8000 meters.", instruction="Convert 8 kilometers to meters."),
            record("The cube of 4 is 64.", instruction="What is the cube of 4?"),
            record("The cube of 7 is 343.", instruction="What is the cube of 7?"),
        ]
    )
    assert report.summary.rejected == 0


TOOLFORMER = (
    "toolformer: enabled\ntoolformer access: python\nA Python shell. Use this to execute python commands. "
    "Input should be a valid python command or script. If you expect output it should be printed out. "
    "Useful for all code, as well as math calculations.\npython(codetoexecute)\n"
)


def test_a_short_question_behind_another_records_tool_description_is_still_short():
    # the same question behind two different tool descriptions, each shared by other records: what
    # the two records say is a few words, which must reach short-threshold
    wolfram = (
        TOOLFORMER.replace("access: python", "access: wolfram")
        .replace(
            "A Python shell. Use this to execute python commands. Input should be a valid python command or script. "
            "If you expect output it should be printed out. Useful for all code, as well as math calculations.",
            "A wolfram alpha search engine. Useful for when you need to answer questions about Math, Science, "
            "Technology, Culture, Society and Everyday Life. Input should be a search query.",
        )
        .replace("python(codetoexecute)", "wolfram(query)")
    )
    question = "How many days are there in a leap year?"
    records = [
        record("There are python('365+1') days in a leap year.", instruction=f"{TOOLFORMER}{question}"),
        record("There are wolfram('number of days in a leap year') days.", instruction=f"{wolfram}{question}"),
        *(record(f"python('{n} ** 2')", instruction=f"{TOOLFORMER}What is the square of {n}?") for n in (3, 9)),
        *(record(f"wolfram('capital of {c}')", instruction=f"{wolfram}What is the capital of {c}?") for c in "AB"),
    ]
    assert check(records).summary.rejected == 0


def test_different_questions_on_one_passage_with_one_word_answers_are_two_records():
    # T0-style prompt sets ask several questions of one passage; an answer shorter than a shingle
    # is a shingle of its own, so the answers tell the records apart
    passage = ANSWER
    records = [
        record("Chlorophyll", instruction=f"{passage}\nWhat pigment absorbs the light?"),
        record("Glucose", instruction=f"{passage}\nWhat sugar does the plant make?"),
    ]
    assert check(records).summary.rejected == 0
    # the same question and answer in another template is the same example
    reworded = record(
        "Chlorophyll", instruction=f"Answer the question about the text.\n{passage}\nWhat pigment absorbs the light?"
    )
    assert set(by_code(check([records[0], reworded]), "DQ402")) == {"<records>:2"}


def test_a_template_filled_with_other_numbers_behind_a_shared_preamble_is_another_example():
    # The preamble makes each record long enough for its numbers to be masked, but once it is left
    # out (it is boilerplate) the numbers are most of what is left: a different calculation.
    sums = [(15, 32, 48), (44, 23, 78), (123, 456, 789), (7, 70, 700), (2, 3, 5)]
    records = [
        record(
            f"The sum of {a}, {b} and {c} is python('{a} + {b} + {c}').",
            instruction=f"{TOOLFORMER}Sum {a}, {b} and {c}.",
        )
        for a, b, c in sums
    ]
    report = check(records)
    assert report.summary.rejected == 0


def test_a_copy_with_one_number_edited_behind_a_shared_preamble_is_still_a_copy():
    question = "Add 15, 32 and 48 together and tell me the sum of the three numbers please."
    answer = "The sum of 15, 32 and 48 is python('15 + 32 + 48'), which you can check by hand as well."
    others = [
        record(f"python('{n} ** 2')", instruction=f"{TOOLFORMER}What is the square of {n} again?") for n in (3, 9, 11)
    ]
    edited = record(answer.replace("48", "49"), instruction=f"{TOOLFORMER}{question.replace('48', '49')}")
    report = check([record(answer, instruction=f"{TOOLFORMER}{question}"), *others, edited])
    assert set(by_code(report, "DQ402")) == {"<records>:5"}


def test_short_requests_a_few_words_apart_are_different_requests():
    # a stock reply makes short records look alike: a few words are the whole request
    def drawing(request):
        return {
            "conversations": [
                {"from": "human", "value": request},
                {"from": "function_call", "value": f'Text2Image("{request.lower()}")'},
                {"from": "observation", "value": "Image generated successfully."},
                {"from": "gpt", "value": "Well, here is the generated image."},
            ]
        }

    report = check(
        [
            drawing("Can you draw me a woman wearing a traditional headdress?"),
            drawing("Can you draw a woman wearing a green headband?"),
            drawing("Can you draw me a woman with blue hair and horns?"),
        ]
    )
    assert report.summary.rejected == 0
    # the same short request with one word changed is still a copy
    same = "Can you draw me a woman wearing a green headband and a long red dress with golden buttons?"
    report = check([drawing(same), drawing(same.replace("Can", "Could"))])
    assert report.summary.rejected == 1


def test_exact_copies_do_not_make_a_line_boilerplate():
    copies = [record(ANSWER)] * 30  # one text: its lines are counted once
    report = check([*copies, record(edit(ANSWER, [10]))])
    assert len(by_code(report, "DQ401")) == 29
    assert list(by_code(report, "DQ402")) == ["<records>:31"]
    assert report.dataset["duplicates"]["boilerplate"]["lines"] == 0


def test_bands_must_leave_two_rows_each(write_jsonl, tmp_path):
    (tmp_path / "dqe.toml").write_text("[rules.near-duplicate]\nbands = 200\n")
    result = CliRunner().invoke(
        main, ["check", str(write_jsonl([record(ANSWER)])), "--config", str(tmp_path / "dqe.toml")]
    )
    assert result.exit_code == 2
    assert "rules.near-duplicate" in result.output and "bands = 200 leaves fewer than 2 rows per band" in result.output


# Real data


def test_fastchat_dummy_conversations_are_mostly_near_duplicates():
    path = real("fastchat_dummy_conversation.json")
    report = check(path)
    section = report.dataset["duplicates"]
    assert section["rate"] > 0.5 and section["near"] > 250
    assert section["largest"][0]["size"] >= 20
    assert len(section["largest"]) == 5 and all(len(c["examples"]) == 3 for c in section["largest"])
    # Each removed record names the record kept and the similarity that decided: the shingles
    # shared out of all the distinct shingles of the two, at or above the threshold.
    shown = evidence(report)
    assert len(shown) == section["near"]
    for finding in report.findings:
        if finding.code == "DQ402":
            told = shown[finding.source]
            similarity = int(told["shared"]) / int(told["total"])
            assert NEAR.match(finding.message).group(3) == f"{similarity:.2f}" and similarity >= 0.5
            assert told["similarity"] == f"{similarity:.4f}"


def test_chinese_demo_set_finds_planted_near_duplicates_by_character():
    objects = json.loads(real("llamafactory_alpaca_zh_demo.json").read_text(encoding="utf-8"))
    rng = random.Random(4)
    planted = []
    for i in rng.sample(range(len(objects)), 5):
        chars = list(objects[i]["output"])
        for j in rng.sample(range(len(chars)), max(1, len(chars) // 25)):
            chars[j] = "变"
        planted.append({**objects[i], "output": "".join(chars)})
    report = check([*objects, *planted])
    near = by_code(report, "DQ402")
    assert {f"<records>:{len(objects) + k + 1}" for k in range(5)} <= set(near)
    assert report.dataset["duplicates"]["exact"] == 8  # the demo set repeats eight records


# The gate


def test_check_exits_1_when_the_duplicate_rate_passes_the_fail_threshold(write_jsonl, tmp_path):
    # 80 different records (words of their own) and 20 copies: a rate of 0.2 whose 95% interval
    # (0.133-0.289) lies wholly above the fail level 0.1
    words = [f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(0, 80 * 37, 37)]
    records = [
        record(f"An answer about {w}: why {w} matters to {w}-ologists.", instruction=f"Tell me about {w}.")
        for w in words
    ]
    path = write_jsonl(records + records[:20])
    runner = CliRunner()
    # the duplicate rules alone: 100 records of one task would fail the category balance's gate too
    failing = runner.invoke(main, ["check", str(path), "--select", "DQ40", "--format", "json"])
    assert failing.exit_code == 1, failing.output
    gate = {m["name"]: m for m in json.loads(failing.output)["gate"]["metrics"]}
    assert gate["duplicate-rate"]["value"] == 0.2 and gate["duplicate-rate"]["state"] == "fail"
    assert gate["duplicate-rate"]["n"] == 100 and gate["duplicate-rate"]["ci_low"] > 0.1
    (tmp_path / "dqe.toml").write_text("[gate]\nduplicate-rate = { fail = 0.25 }\n")
    warning = runner.invoke(
        main,
        [
            "check",
            str(path),
            "--select",
            "DQ40",
            "--format",
            "json",
            "--config",
            str(tmp_path / "dqe.toml"),
        ],
    )
    assert warning.exit_code == 0, warning.output
    gate = {m["name"]: m for m in json.loads(warning.output)["gate"]["metrics"]}
    assert gate["duplicate-rate"]["state"] == "warn"


def test_filter_puts_the_copies_in_rejected_with_their_reasons(write_jsonl, tmp_path):
    path = write_jsonl([record(ANSWER), record(edit(ANSWER, [4])), record(ANSWER)])
    result = dqe.filter(path, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", select=DEDUP)
    assert result.outputs.passed == 1 and result.outputs.rejected == 2
    rejected = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    reasons = sorted(r for obj in rejected for r in json.dumps(obj["_dqe"]).split('"') if r.startswith("DQ40"))
    assert reasons[0].startswith("DQ401") and reasons[1].startswith("DQ402")


def test_records_are_compared_without_their_reasoning_traces():
    def solved(question, answer, trace):
        return {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer, "reasoning_content": trace},
            ]
        }

    template = (
        "This is a logic problem, a classic one; we can set up equations. Let chickens be x and rabbits y, so x+y={}; "
    )
    template += "chickens have two legs and rabbits four, so 2x+4y={}. Solving the two equations gives the counts."
    records = [
        # the same question and reply, reasoned two ways: one example twice
        solved("How many legs do 3 spiders have?", "24 legs.", "A spider has 8 legs, so 3 * 8 = 24."),
        solved("How many legs do 3 spiders have?", "24 legs.", "Spiders: eight legs each. Three of them: 24."),
        # different problems whose templated reasoning (MOSS's inner thoughts) is nearly the same
        solved(
            "112 heads and 336 feet of chickens and rabbits: how many of each?", "56 and 56.", template.format(112, 336)
        ),
        solved("12 heads and 48 feet of chickens and rabbits: how many of each?", "0 and 12.", template.format(12, 48)),
    ]
    report = dqe.check(records, select=["DQ401", "DQ402"])
    assert [(f.code, f.record) for f in report.findings] == [("DQ401", 1)]


def test_different_texts_classified_with_the_options_shuffled_are_not_near_duplicates():
    """PromptCBLUE: each record lists the same options in its own order (and its own few of them),
    so no line recurs to be boilerplate; the options are the task's frame all the same. The same
    query a character apart, its options in another order again, is still a copy."""
    options = [
        "治疗方案",
        "就医建议",
        "病因分析",
        "医疗费用",
        "注意事项",
        "疾病描述",
        "后果表述",
        "指标解读",
        "功效作用",
        "病情诊断",
    ]
    queries = [
        "每天大便次数多是怎么回事？",
        "有时候手抖是怎么回事呢？",
        "想呕吐反胃又吐不出来是什么",
        "反复低烧是什么原因",
    ]

    def asked(query, seed):
        shuffled = random.Random(seed).sample(options, len(options))
        return record(
            "病情诊断", instruction=f"{query}\n这个医疗搜索词是什么意图分类？\n选项：{'，'.join(shuffled)}\n答："
        )

    report = check([asked(q, i) for i, q in enumerate(queries)])
    assert by_code(report, "DQ402") == {}
    copy = asked(queries[0].replace("多", "很多"), 99)
    report = check([*(asked(q, i) for i, q in enumerate(queries)), copy])
    assert list(by_code(report, "DQ402")) == [f"<records>:{len(queries) + 1}"]


def swaps(seed: int, edited: str = "") -> dict:
    """A puzzle of BIG-Bench-Hard's shuffled-objects template: the same frame sentences, the
    same seven names, seven of ten balls, each puzzle its own swaps, and its answer a letter."""
    rng = random.Random(seed)
    names = ["Alice", "Bob", "Claire", "Dave", "Eve", "Fred", "Gertrude"]
    balls = rng.sample(["red", "blue", "green", "pink", "white", "black", "brown", "purple", "orange", "yellow"], 7)
    held = ", ".join(f"{n} has a {b} ball" for n, b in zip(names, balls, strict=True))
    moves = [" and ".join(rng.sample(names, 2)) for _ in range(7)]
    told = f"First, {moves[0]} swap balls. " + " ".join(f"Then, {m} swap balls." for m in moves[1:6])
    told += f" Finally, {moves[6]} swap balls.{edited} At the end of the game, {rng.choice(names)} has the"
    options = "\n".join(f"({letter}) {b} ball" for letter, b in zip("ABCDEFG", balls, strict=True))
    return record(
        f"({rng.choice('ABCDEFG')})",
        instruction="Alice, Bob, Claire, Dave, Eve, Fred, and Gertrude are playing a game. At the start of the game, "
        f"they are each holding a ball: {held}.\nAs the game progresses, pairs of players trade balls. {told}\n"
        f"Options:\n{options}",
    )


def test_puzzles_of_one_template_are_not_near_duplicates_and_a_copy_of_one_still_is():
    """Other swaps of the same seven names fill the same frame: any two of these puzzles share
    about half of what is left by chance, so they must be the threshold more alike than that
    (short-threshold at most). A puzzle copied with a word added is."""
    puzzles = [swaps(seed) for seed in range(16)]
    for seed in range(16):  # same answers, so only the question can tell them apart
        puzzles[seed]["output"] = "(A)"
    assert by_code(check(puzzles), "DQ402") == {}
    copy = swaps(3, edited=" They laugh.")
    copy["output"] = "(A)"
    report = check([*puzzles, copy])
    assert list(by_code(report, "DQ402")) == [f"<records>:{len(puzzles) + 1}"]
    # the evidence says how alike the template's records are by chance, and the bar it set
    (told,) = evidence(report).values()
    chance, bar = float(told["chance"]), float(told["bar"])
    assert told["kept"] == "<records>:4" and chance > 0.25 and float(told["similarity"]) >= bar > 0.5
    assert abs(bar - min(chance + 0.5 * (1 - chance), 0.7)) < 1e-3  # the threshold above chance, at most 0.7


def test_tasks_written_on_one_frame_are_two_records_and_a_reworded_one_is_not():
    # MBPP's tuple tasks: the ask turns on one word, which the answer's own code repeats
    def task(ask: str, name: str, op: str) -> dict:
        return record(
            f"def {name}(test_tup1, test_tup2):\n  res = tuple(ele1 {op} ele2 for ele1, ele2 in zip(test_tup1, "
            "test_tup2))\n  return (res)",
            f"Write a function to perform the {ask} across the given tuples. Your code should pass these tests:\n\n"
            f"assert {name}((10, 4, 6, 9), (5, 2, 3, 3)) == (15, 6, 5, 10)",
        )

    xor = task("mathematical bitwise xor operation", "bitwise_xor", "^")
    report = check([xor, task("exponentiation of the elements", "find_exponentio", "**")])
    assert by_code(report, "DQ402") == {}
    # asked again in other words, the same program: the words it changed are not what the answer follows
    reworded = task("bitwise xor operation of the elements", "bitwise_xor", "^")
    assert list(by_code(check([xor, reworded]), "DQ402")) == ["<records>:2"]
