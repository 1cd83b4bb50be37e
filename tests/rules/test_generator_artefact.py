"""DQ205 generator-artefact: generator residue in prose, answers and questions; identifiers in
code, talk about code and tool names pass."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe.rules.generator_artefact import _where_named
from dqe.testing import assert_findings, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, ROOT, failures, real

ARTEFACTS = [
    (
        "Invent a candy.",
        "It has a rich taste of caramelize_kale and zesty_honey_raindrops.",
        "snake_case pseudo-word in prose in answer: caramelize_kale, zesty_honey_raindrops",
        2,
    ),
    (
        "Give me advice on sleep.",
        "According to *advice_maker*, you should sleep eight hours.",
        "tool or template marker in prose in answer: *advice_maker*",
        2,
    ),
    ("Sort these numbers: 3, 1, 2", "Output: 1, 2, 3", "field name opening the answer in answer: Output", 2),
    ("把这些数字排序：3，1，2", "输出：1，2，3", "field name opening the answer in answer: 输出", 2),
    ("Say hi.", "Hi there!<|im_end|>", "chat template token in answer: <|im_end|>", 2),
    # words a tokenizer did not know, replaced by its unknown token on the way back (AdvertiseGen, unseen)
    (
        "类型#裤*版型#宽松*风格#朋克",
        "简约宽松的版型很好的修饰了<UNK>曲线。",
        "tokenizer's unknown token (a word lost) in answer: <UNK>",
        2,
    ),
    (
        "Describe the barn.",
        "It held a [UNK] of hay.",
        "tokenizer's unknown token (a word lost) in answer: [UNK]",
        2,
    ),
    ("Describe the day.", "It is a ⁇ day.", "tokenizer's unknown token (a word lost) in answer: ⁇", 2),
    # the next turn glued on where the answer should have ended
    (
        "Name actors who started on Broadway.",
        "Audra McDonald and Hugh Jackman, to name a few.### Human: How about lesser known ones?### Assistant: Sure",
        "chat template token in answer: ### Human, ### Assistant",
        2,
    ),
    (
        "为假期写一条营销信息。",
        "【来自AI助手的营销建议】假期特惠，全场八折！",
        "generator's label opening the answer in answer: 【来自AI助手的营销建议】",
        2,
    ),
    # the question's closing command or question, copied to the end of the answer
    (
        "她在沉闷、灰暗的公园里走来走去，将形容词改为更令人兴奋的同义词。",
        "她在神秘、阴郁的公园里漫步，将形容词改为更令人兴奋的同义词。",
        "the question's closing command or question copied into the answer in answer: 将形容词改为更令人兴奋的同义词",
        2,
    ),
    (
        "Each of 40 slices has 20 seeds. What is the total number of seeds in a watermelon?",
        "40 slices * 20 seeds = 800 seeds.\nWhat is the total number of seeds in a watermelon?",
        "the question's closing command or question copied into the answer in answer: "
        "What is the total number of seeds in a watermelon?",
        2,
    ),
    (
        "Write a slogan for a bakery.",
        "[Assistant's response] Fresh bread, every morning.",
        "generator's label opening the answer in answer: [Assistant's response]",
        2,
    ),
    (
        "Rewrite: the cat sat.",
        "The cat was sitting. (Rewritten sentence: The cat was sitting.)",
        "note of the generator in answer: Rewritten sentence",
        2,
    ),
    ("Name a fruit.\n<noinput>", "Apple.", "template marker in instruction: <noinput>", 1),
    ("Name a colour.noinput", "Blue.", "template marker in instruction: noinput", 1),
    (
        "把句子改成过去时。\n我跑步。 (No change needed as it is fine)",
        "我跑过步。",
        "note of the generator in instruction: No change needed",
        1,
    ),
    ("描述这种气体。", "它是一种色less味less的气体。", "half-translated word in answer: 色less, 味less", 2),
    ("请给我以下数字的剩余数字。\n### 输入：\n123_", "4", "template marker in instruction: ### 输入", 1),
    ("Name a planet.\n\n### Response:", "Mars.", "template marker in instruction: ### Response", 1),
]
ARTEFACTS_CHECKED = Batched("DQ205", [record(question, answer) for question, answer, *_ in ARTEFACTS])


@pytest.mark.parametrize(("question", "answer", "message", "turn"), ARTEFACTS)
def test_artefacts_warn_naming_turn_and_span(question, answer, message, turn):
    run = ARTEFACTS_CHECKED.run(record(question, answer))
    assert run.messages == [message]
    assert run.turns == [turn]
    assert run.report.findings[0].severity == "warning"
    assert message.rsplit(": ", 1)[1].split(", ")[0] in run.evidence[0]


def test_prose_findings_say_why_the_turn_is_prose():
    run = run_rule("DQ205", [record("Invent a candy.", "It tastes of caramelize_kale.")])
    assert run.evidence == ['snake_case pseudo-word in prose: "caramelize_kale" (in prose: no sign of code, a '
                            "question not about code, no tools)"]  # fmt: skip


CODE_TALK = [
    ("How do I name a function in Python?", "Use snake_case, for example my_function or calculate_total."),
    ("Explain this code.\ndef add_numbers(a, b): return a + b", "The add_numbers function returns their sum."),
    ("Where is the post?", "It is at https://example.com/blog/my_first_post and in my_notes.txt."),
    ("What is the output of print(1 + 1)?", "Output: 2"),
    ("Tell me about it.", 'Use the `user_name` field, or "table_name" in quotes.'),
    ("Explain.", "x = my_value + 1; the result is stored in new_value."),
    ("Describe the dish.", "A salad of kale and honey."),
    ("Format as JSON.", '```json\n{"first_name": "Ana"}\n```'),
    # keys of a data format the question asks for, unfenced
    ("List five packing essentials, organized in YAML format.", "- passport\n- visa_documents\n- travel_insurance"),
    # words of the trade and file names mark a technical turn
    ("How do I read a table?", "Call read_csv with the file name, then use the head method to preview."),
    ("Explain the setup.", "Set max_retries to 3 and timeout_seconds to 30 in app.yaml."),
    ("What's my login?", "Your username is john_doe, as shown in your profile."),
    ("Name a hashtag for a beach photo.", "#beach_vibes or #summer_days work well."),
    # the operations of a data structure are identifiers: talk about code
    (
        "is queue an ADT or a data structure",
        "A queue defines enqueue, dequeue, is_empty (check if it is empty) and size.",
    ),
    # a prompt written in Markdown sections heads one "## Instructions" (arena-hard, unseen)
    (
        "## Context\n\nJohn: I'm lonely.\n\n## Instructions\n\nYou are role-playing as a therapist. Reply to John.",
        "I'm sorry you feel that way, John. What has been on your mind lately?",
    ),
    ("## Input\n\nA list of cities.\n\n## Task\n\nSort them.", "Berlin, Paris, Rome."),
    # a bracketed heading that names no assistant or answer, or a Markdown link, is no label
    ("Write a song.", "[Verse 1]\nThe sun goes down on the bay."),
    ("What is AI?", "[AI](https://en.wikipedia.org/wiki/AI) is the study of machines that learn."),
    ("Who maintains it?", "[Maintained] The team still ships updates every month."),
    # "ai" that begins a longer word is no label: a letterhead slot (AlignBench, unseen)
    ("以ai玩具公司角度写一封律师函", "[ai玩具公司的标志/头]\n\n尊敬的某互联网公司A集团，"),
    # a rewrite keeps the end of its sentence; material after the first line is the user's to echo
    (
        "Rewrite the sentence to start with 'Although': Despite the rain, they went for a walk.",
        "Although it was raining, they went for a walk.",
    ),
    (
        "Organize the following questions into a logical order.\nWhat are the goals?\nWho will be involved?",
        "1. What are the goals?\n2. Who will be involved?",
    ),
    ("What is the capital of France?", "What is the capital of France?"),
    # a shell one-liner is code, its names identifiers (AgentBench's OS tasks, unseen)
    ("Restrict read and write permissions on a file, but allow execution.", "chmod 711 new_file && ls -l new_file"),
    # the unknown token named by the question, or in code, is the topic
    ("BERT里的[UNK]是什么？", "[UNK]是BERT词表之外的词被替换成的标记。"),
    ("Set the tokenizer's unknown token.", '```python\ntokenizer.unk_token = "<unk>"\n```'),
]
CODE_TALK_CHECKED = Batched("DQ205", [record(question, answer) for question, answer in CODE_TALK])


@pytest.mark.parametrize(("question", "answer"), CODE_TALK)
def test_identifiers_in_code_and_talk_about_code_pass(question, answer):
    assert_findings(CODE_TALK_CHECKED.run(record(question, answer)), {})


def test_names_of_the_records_tools_are_not_residue():
    chat = {
        "conversations": [
            {"from": "human", "value": "How far is Paris from London?"},
            {"from": "gpt", "value": "I asked calculate_distance: it is 344 km."},
        ],
        "tools": '[{"name": "calculate_distance"}]',
    }
    assert_findings(run_rule("DQ205", [chat]), {})


def test_the_users_label_opening_an_answer_is_residue():
    """An answer that opens with the user's label: the generator wrote the user's turn in its
    place (48 answers of hh-rlhf's harmless test set, unseen); a dialogue the question asks for
    may open with it."""
    left = record("How do I fix a flat tire?", "Human: Do you have a spare tire and a jack?")
    asked = record("Write a short dialogue between a human and a robot.", "Human: Hello there.\nRobot: Greetings.")
    assert_findings(run_rule("DQ205", [left, asked]), {0: "field name opening the answer"})


def test_the_answering_sides_label_inside_an_answer_is_residue():
    """The generator's next turn kept inside this one (EmoLLM's counselling dialogues, unseen):
    the doctor's label after a sentence and a blank line or a space; a script asked for, one line
    per speaker, is the answer."""
    left = record(
        "医生，我最近工作压力很大。",
        "请记住，心理健康也是工作效能的重要组成部分。\n\n医生：另外，建议你定期进行心理咨询。",
    )
    emoji = record("我总是很焦虑。", "可以试试正念冥想，帮助你保持冷静。🎈 医生：接下来，我们可以一起制定一个计划。")
    script = record(
        "写一段医生和患者的对话。", "患者：医生，我头疼。\n医生：疼了多久了？\n患者：两天了。\n医生：先量一下体温。"
    )
    assert_findings(
        run_rule("DQ205", [left, emoji, script]),
        {0: "a speaker's label inside the answer", 1: "a speaker's label inside the answer"},
    )


def test_what_a_role_label_left_opening_a_turn_is_residue():
    """A generator that split its output on "ASSISTANT" leaves the label's colon opening the answer
    (70 of vicuna-7b's 80 answers on vicuna-80, unseen); the colon of an emoticon or a shortcode
    opens a turn with no space after it."""
    records = [
        record("What is time management?", ": Time management is the planning of your tasks."),
        record("时间管理是什么？", "：时间管理就是规划你的任务。"),
        record("What is stress?", "<bot>: Stress is the body's answer to pressure."),
        record("Tell me a joke.", ":) Why did the chicken cross the road? To get to the other side."),
        record("Say something happy.", ":smile: What a lovely day!"),
    ]
    run = run_rule("DQ205", records)
    assert_findings(
        run,
        {
            0: "leftover of a role label opening the turn",
            1: "leftover of a role label opening the turn",
            2: "field name opening the answer",
        },
    )
    assert run.evidence[:2] == [
        'leftover of a role label opening the turn: ":"',
        'leftover of a role label opening the turn: "："',
    ]


def test_a_field_of_a_template_the_answer_writes_is_no_role_header():
    """A Jira template asked for (AlpacaFarm's RLHF outputs, unseen) has a "### User: [Name]"
    field: a slot for the reader, not a chat template's header; a header with a turn after it is."""
    template = "### Summary: [Summary of the issue]\n\n### User: [Name of the user who is affected]\n"
    glued = "Sure, here it is.\n### User: And the other one?"
    records = [record("Create a Markdown template for Jira tickets.", template), record("Name a river.", glued)]
    assert_findings(run_rule("DQ205", records), {1: "chat template token"})


def test_the_demo_record_is_found_at_its_line():
    report = dqe.check([ROOT / "examples" / "demo.jsonl"], select=["DQ205"], complete=True)
    assert [(f.source.rsplit("/", 1)[1], f.turn) for f in report.findings if f.code == "DQ205"] == [
        ("demo.jsonl:22", 2)
    ]


# Read: the Alpaca en demo writes empty inputs as "noinput"/"No input." (7) and opens one answer
# with "### Output:"; the zh demo opens 17 answers with "输出：", one with "【来自AI助手的营销建议】", has
# one "### 输入：" header, an English note in two questions, "色less味less" in an answer and one rewrite
# that keeps its command ("将形容词改为更令人兴奋的同义词"); the v1 demo has two "noinput"; GSM8K ends
# one answer with its question.
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 8,
    "llamafactory_alpaca_zh_demo.json": 23,
    "llamafactory_identity.json": 0,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 2,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 1,
    "gpteacher_codegen_instruct.json": 0,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ205")) == EXPECTED[name]


def test_a_name_in_an_unfenced_sql_statement_is_code():
    """The semicolon after table_name is a sign of code; MySQL is a language of code."""
    run = run_rule(
        "DQ205", [record("Write a MySQL statement to delete all rows from a table.", "DELETE FROM table_name;")]
    )
    assert_findings(run, {})


def test_the_generators_instructions_repeated_in_the_answer_are_residue():
    """Orca-style answers that say back their system prompt instead of following it (LLaMA-Factory's
    DPO and KTO demos, unseen): residue whether or not the record kept the system prompt; a user
    who asks for a long answer in those words is answered in them."""
    system = "You are an AI assistant. You will be given a task. You must generate a detailed and long answer."
    kept = {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "Who directed the 1989 film The Manhattan Project?"},
            {
                "role": "assistant",
                "content": "I'll do my best to provide a detailed and long answer! Marshall Brickman.",
            },
        ]
    }
    dropped = record(
        "Write a negative movie review.",
        "Certainly! I'll write it while thinking step-by-step and justifying my steps. The film drags.",
    )
    asked = record(
        "Give me a detailed and long answer: why is the sky blue?",
        "Here is a detailed and long answer. Sunlight scatters off air molecules, blue light the most.",
    )
    label = "the generator's own instructions said back"
    assert_findings(run_rule("DQ205", [kept]), {0: label})
    assert_findings(run_rule("DQ205", [dropped, asked]), {0: label})


def test_an_answer_ending_with_the_input_it_was_given_on_the_questions_line_copies_no_command():
    # the sentence is the material merged, not the generator's closing command (RoleBench-zh, unseen)
    question = "给你两个句子，你的任务是通过最小的改动将它们合并成一个句子。输入：这是一个例子。请提供你自己的意见。"
    assert not failures([record(question, "这是一个例子，请提供你自己的意见。")], "DQ205")


def test_the_name_the_assistant_was_cast_as_opening_its_answer_is_residue():
    """A role-play answer set under its character's label, as a script would be ("Jigsaw: ..." for
    "You are Jigsaw."; 478 of RoleBench's 4,750 role-specific answers, unseen): the model learns to
    open every reply with its name. A label no one was cast as, a script of several speakers, or a
    name called by no system prompt is left alone."""

    def cast(system: str, question: str, answer: str) -> dict:
        return {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        }

    records = [
        cast("You are Jigsaw.", "Jigsaw, why do you test people?", "Jigsaw: Because most people squander their lives."),
        cast("You are Paul Vitti.", "Why do you see a therapist?", 'VITTI: "It\'s not easy, let me tell ya."'),
        cast("You are Antonio Salieri.", "What do you think of Mozart?", "Salieri: A vulgar boy with a god's gift."),
        # a label the prompt casts no one as, a script asked for, no cast at all
        cast("You are Angel.", "What did Pylea teach you?", "IM: It taught me to adapt."),
        cast(
            "You are Jigsaw.",
            "Write a scene between you and a detective.",
            "Jigsaw: Hello, detective.\nDetective Tapp: Where are you?",
        ),
    ]
    label = "its cast name as a speaker label"
    run = run_rule("DQ205", records)
    assert_findings(run, {0: label, 1: label, 2: label})
    assert run.messages[0] == f"{label} in answer: Jigsaw"
    # a user who calls the assistant by the name casts it too
    called = record("Jigsaw, why do you test people?", "Jigsaw: Because most people squander their lives.")
    uncalled = record("Why do people test others?", "Jigsaw: Because most people squander their lives.")
    assert_findings(run_rule("DQ205", [called, uncalled]), {0: label})


def test_a_cast_name_is_matched_only_where_it_is_written():
    """The pattern made of each row's name is compiled for every row it is tried on: it is tried
    only where the system prompt or a user turn holds the name as written, or on a name in capitals
    (matched in any case). Here a pattern that matches anything shows which rows were tried."""
    spans = pl.DataFrame(
        {
            "span": ["Jigsaw", "Answer", "VITTI", "Salieri"],
            "_system": ["You are Jigsaw.", "", "You are Paul Vitti.", ""],
            "_said": ["Why?", "What is 2 + 2?", "Why?", "Salieri, what do you think of Mozart?"],
        }
    )
    assert _where_named(spans, pl.lit(True)).to_list() == [True, False, True, True]
