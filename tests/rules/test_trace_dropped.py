"""DQ109 template-drops-trace: the model's chat template leaves an answer's reasoning out (dqe check --model)."""

from __future__ import annotations

import pytest

from dqe.testing import assert_findings, run_rule

# DeepSeek-R1's way with an answer: only the text after "</think>" is rendered.
REPLY_ONLY_TEMPLATE = (
    "{% for message in messages %}{% set content = message['content'] %}"
    "{% if message['role'] == 'assistant' and '</think>' in content %}"
    "{% set content = content.split('</think>')[-1].lstrip() %}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

TRACED = {"instruction": "What is 9 squared?", "output": "<think>\nNine times nine is 81.\n</think>\n\n81"}
KEPT_UNDER_ITS_KEY = {
    "messages": [
        {"role": "user", "content": "What is 9 squared?"},
        {"role": "assistant", "content": "81", "reasoning_content": "Nine times nine is 81."},
    ]
}
PLAIN = {"instruction": "What is 9 squared?", "output": "81"}


@pytest.fixture(scope="module")
def reply_only_model(english_model, tmp_path_factory):
    """The English tokenizer of conftest with a chat template that renders replies without their trace."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("reply-only-model")
    tokenizer = AutoTokenizer.from_pretrained(str(english_model))
    tokenizer.chat_template = REPLY_ONLY_TEMPLATE
    tokenizer.save_pretrained(str(folder))
    return folder


def test_a_template_that_renders_only_the_reply_warns_on_every_traced_answer(reply_only_model):
    run = run_rule("DQ109", [TRACED, PLAIN], model=str(reply_only_model), template="model")
    assert_findings(run, {0: "the chat template drops the reasoning trace of the answer"})
    assert run.turns[0] == 2
    assert run.evidence[0].startswith("the trace's first line is not in the rendered answer; ")


def test_a_trace_kept_under_its_own_key_is_looked_for_too(reply_only_model):
    run = run_rule("DQ109", [KEPT_UNDER_ITS_KEY], model=str(reply_only_model), template="model")
    assert_findings(run, {0: "the chat template drops the reasoning trace of the answer"})


def test_a_template_that_renders_the_content_whole_keeps_the_trace(english_model):
    for records in ([TRACED], [KEPT_UNDER_ITS_KEY]):
        assert_findings(run_rule("DQ109", records, model=str(english_model), template="model"), [])


def test_dqe_templates_render_a_trace_as_it_is_written(reply_only_model):
    assert_findings(run_rule("DQ109", [TRACED], model=str(reply_only_model), template="chatml"), [])
