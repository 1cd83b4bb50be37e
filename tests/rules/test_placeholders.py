"""DQ204 placeholder: template slots in instructions, answers and system prompts."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REAL_FILES, failures, real


def qa(answer, question="Who are you?", **extra):
    return {"instruction": question, "output": answer, **extra}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            qa("I am {{name}}, developed by {{author}}."),
            "unfilled template placeholder in answer: {{name}}, {{author}}",
        ),
        (
            qa("Hello!", question="Greet {{ user.name }} warmly."),
            "unfilled template placeholder in instruction: {{ user.name }}",
        ),
        (qa("Sure.", system="You are <PLACEHOLDER>."), "unfilled template placeholder in system prompt: <PLACEHOLDER>"),
        (
            qa("As the saying goes, [INSERT QUOTE HERE]."),
            "unfilled template placeholder in answer: [INSERT QUOTE HERE]",
        ),
        (
            qa("{% if formal %}Dear Sir{% endif %}"),
            "unfilled template placeholder in answer: {% if formal %}, {% endif %}",
        ),
        (qa("正如名言所说：【此处插入名言】"), "unfilled template placeholder in answer: 【此处插入名言】"),
    ],
)
def test_placeholders_fail(record, message):
    assert failures([record], "DQ204") == {0: message}


@pytest.mark.parametrize(
    "answer",
    [
        "Use `{{ name }}` in a Jinja template to print a variable.",  # inline code
        "```html\n<p>{{ title }}</p>\n```",  # a code block
        "A placeholder is text that holds a place until the real text arrives.",
        "Sincerely,\n[Your Name]",  # a letter for the user to finish: fill-in is off by default
    ],
)
def test_code_and_words_pass(answer):
    assert failures([qa(answer)], "DQ204") == {}


def test_fill_in_slots_can_be_switched_on():
    records = [qa("Sincerely,\n[Your Name]"), qa("尊敬的XXX先生：")]
    found = failures(records, "DQ204", rules={"DQ204": {"categories": ["template", "fill-in"]}})
    assert found == {0: "fill-in slot in answer: [Your Name]", 1: "fill-in slot in answer: XXX先生"}


def test_identity_json_fails_exactly_where_it_holds_placeholders():
    path = real("llamafactory_identity.json")
    records = json.loads(path.read_text())
    found = failures(path, "DQ204")
    assert set(found) == {i for i, r in enumerate(records) if "{{" in r["instruction"] + r["output"]}
    assert len(found) == 85


# Read: identity.json and the v1 demo (which embeds identity.json) hold {{name}}/{{author}};
# the one Alpaca record is an answer full of "[insert date]" slots. All right. GPTeacher's 3 are
# 'YOUR_API_KEY' in code that calls a weather API: the usual stand-in for a secret the user
# supplies, so false alarms (debatable: the question hands over the same stand-in).
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 1,
    "llamafactory_alpaca_zh_demo.json": 0,
    "llamafactory_identity.json": 85,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 51,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 3,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ204")) == EXPECTED[name]
