"""DQ204 placeholder: template slots in instructions, answers and system prompts, per turn."""

from __future__ import annotations

import json

import pytest

import dqe
from dqe import ConfigError
from dqe.testing import assert_findings, conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, ROOT, failures, real


def qa(answer, question="Who are you?", **extra):
    return record(question, answer, **extra)


PLACEHOLDERS = [
    (
        qa("I am {{name}}, developed by {{author}}."),
        "unfilled template placeholder in answer: {{name}}, {{author}}",
        2,
    ),
    (
        qa("Hello!", question="Greet {{ user.name }} warmly."),
        "unfilled template placeholder in instruction: {{ user.name }}",
        1,
    ),
    (
        qa("Sure.", system="You are <PLACEHOLDER>."),
        "unfilled template placeholder in system prompt: <PLACEHOLDER>",
        None,
    ),
    (
        qa("As the saying goes, [INSERT QUOTE HERE]."),
        "unfilled template placeholder in answer: [INSERT QUOTE HERE]",
        2,
    ),
    (
        qa("{% if formal %}Dear Sir{% endif %}"),
        "unfilled template placeholder in answer: {% if formal %}, {% endif %}",
        2,
    ),
    # slots in capitals between angle brackets, as older identity sets ship them
    (
        qa("Hello, I am <BOT_NAME>, an assistant made by <COMPANY>."),
        "unfilled template placeholder in answer: <BOT_NAME>, <COMPANY>",
        2,
    ),
    (qa("正如名言所说：【此处插入名言】"), "unfilled template placeholder in answer: 【此处插入名言】", 2),
    (qa("太棒了，谢谢！🎉 [插入 GIF]"), "unfilled template placeholder in answer: [插入 GIF]", 2),
    (
        qa("My name is [Enter your name here]."),
        "unfilled template placeholder in answer: [Enter your name here]",
        2,
    ),
]
PLACEHOLDERS_CHECKED = Batched("DQ204", [item for item, *_ in PLACEHOLDERS])


@pytest.mark.parametrize(("item", "message", "turn"), PLACEHOLDERS)
def test_placeholders_fail_naming_their_turn(item, message, turn):
    run = PLACEHOLDERS_CHECKED.run(item)
    assert run.messages == [message]
    assert run.turns == [turn]
    assert run.evidence[0].startswith('unfilled template placeholder: "')


NOT_PLACEHOLDERS = [
    ("How do I print a variable in Jinja?", "Use `{{ name }}` in a template to print it."),  # inline code
    ("Show an HTML title.", "```html\n<p>{{ title }}</p>\n```"),  # a code block
    ("What is a placeholder?", "A placeholder is text that holds a place until the real text arrives."),
    ("Write a cover letter.", "Sincerely,\n[Your Name]"),  # a fill-in slot: DQ207's, not a template
    # slots the question asked for: a template, or a question that holds slots itself
    ("Generate a template for a customer service interaction.", "Date: [insert date]\nIssue: [insert description]"),
    ("Complete this template: Dear {{name}}, welcome!", "Dear {{name}}, welcome aboard!"),
    # ... or how to write a document of one's own (unseen lawyer-llama legal advice)
    (
        "支付宝理赔申请书怎么写？能给我一个范文吗？",
        "3.申请理赔金额：\n（填写申请理赔的金额）\n4.联系方式：\n（填写联系人姓名、电话）",
    ),
    # a play's stage direction, and a GitHub Actions expression in a workflow pasted without a fence
    ("Tell it as a Shakespearean tragedy.", "Act I, Scene I\n[Enter FATHER, MOTHER, and HYRUM]\nFATHER: Alas!"),
    ("Explain this workflow:\non: push\n  - run: echo ${{ github.repository }}", "It prints the repository."),
    # a notation described, and a page of code that is a template by design
    ("Tag the word within curly braces '{{ ... }}'.\nThe cat sat {{ . }}", "PUNCT"),
    ("Generate an HTML page listing the users.", "<ul>{% for u in users %}<li>{{ u.name }}</li>{% endfor %}</ul>"),
    # a credential a code sample must leave to its reader
    ("Fetch the weather for a city.", "url = f'https://api.example.org/weather?q={city}&appid=<YOUR_API_KEY>'"),
    (
        "Write a Discord bot.",
        'Replace "YOUR_API_ID" and "YOUR_APP_SECRET" with your own Discord API ID and secret.',
    ),
    # capitals between angle brackets that name no slot: an HTML tag, a model's special token
    ("How do I start an HTML page?", "Open it with <HTML> and close it with </HTML>."),
    ("What does the tokenizer add?", "It appends <EOS> at the end of every sequence."),
    # a LaTeX command's argument named for what the reader puts there
    ("How do I add a bibliography in LaTeX?", "Add \\bibliography{your_bib_file} before \\end{document}."),
    # a slot the answer itself tells its reader to fill
    (
        "How do I show a chess position in LaTeX?",
        "Load the skak package and write \\fenboard{YOUR_FEN_STRING}, replacing 'YOUR_FEN_STRING' with the "
        "position in FEN, then \\showboard.",
    ),
    # a template page by its syntax (a filter, a directive), pasted without a fence: variables, not slots
    (
        "Store this code, do nothing with it.\n| Note | Amount |\n| --- | --- |\n"
        "| {{ tx.note }} | {{ tx.amount | currency }} |",
        "OK, I will keep it.",
    ),
    ('Keep this view.\n<li *ngFor="let t of txs">{{ t.note }}</li>', "Kept."),
    # a term glossed in brackets: "insertion", not an instruction to insert
    ("哪些基因与耐力有关？", "ACE 基因的 I（插入）等位基因与耐力有关，D（缺失）等位基因与力量有关。"),
    # an exam's instruction on what to fill in (GAOKAO-Bench, unseen)
    (
        "一个几何体的正视图为一个三角形, 则这个几何体可能是下列几何体中的 (填入所有可能的几何体前的编号) (1)三棱锥(2)四棱锥",
        "(1)(2)",
    ),
    # a format to follow: its slots are the answer's to fill (IFEval, unseen)
    (
        "Write a planning doc for a software engineer task. Follow the exact format below:\n\nPart 1. Task Summary\n"
        "[put details here]\n***\nPart 2. Motivation\n[put details here]",
        "Part 1. Task Summary\nMove log-in to OAuth 2.0.\n***\nPart 2. Motivation\nPasswords leak.",
    ),
]
NOT_PLACEHOLDERS_CHECKED = Batched("DQ204", [record(question, answer) for question, answer in NOT_PLACEHOLDERS])


@pytest.mark.parametrize(("question", "answer"), NOT_PLACEHOLDERS)
def test_code_words_and_asked_for_slots_pass(question, answer):
    assert_findings(NOT_PLACEHOLDERS_CHECKED.run(record(question, answer)), {})


def test_every_turn_is_looked_at_and_the_first_one_named():
    chat = conversation("Who are you?", "I am {{name}}.", "Who made you?", "{{author}} did.")
    run = run_rule("DQ204", [chat])
    assert run.turns == [2]
    assert run.messages == ["unfilled template placeholder in assistant turn 2: {{name}} (also turns 4)"]


def test_fill_in_slots_are_rule_dqe207_now():
    with pytest.raises(ConfigError, match="fill-in slots .* are rule DQ207 fill-in-slot now"):
        run_rule("DQ204", [qa("Sincerely,\n[Your Name]")], {"categories": ["template", "fill-in"]})


def test_identity_json_fails_exactly_where_it_holds_placeholders():
    path = real("llamafactory_identity.json")
    records = json.loads(path.read_text())
    found = failures(path, "DQ204")
    assert set(found) == {i for i, r in enumerate(records) if "{{" in r["instruction"] + r["output"]}
    assert len(found) == 85


def test_the_demo_record_is_found_at_its_line():
    report = dqe.check([ROOT / "examples" / "demo.jsonl"], select=["DQ204"], complete=True)
    assert [(f.source.rsplit("/", 1)[1], f.turn) for f in report.findings if f.code == "DQ204"] == [
        ("demo.jsonl:17", 2)
    ]


# Read: identity.json and the v1 demo (which embeds identity.json) hold {{name}}/{{author}}. The
# Alpaca demo's "[insert date]" record answers "Generate an appropriate template": asked for, passes.
# GPTeacher's code holds 'YOUR_API_KEY' three times (a weather API's key): the stand-in for a
# secret the user supplies, which a code sample must leave to its reader, so no finding.
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 0,
    "llamafactory_alpaca_zh_demo.json": 0,
    "llamafactory_identity.json": 85,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 50,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 0,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ204")) == EXPECTED[name]
