"""Formatting and masking: only answers (with their closing token) are learned."""

from __future__ import annotations

import copy

import pytest

from dqe.engine.encoding import IGNORE, ChatTemplateEncoder, TemplateEncoder, fit_length
from dqe.engine.plugins import load_plugins
from dqe.io.formats.base import Columns
from dqe.records import Record, Turn

pytestmark = pytest.mark.train

TEMPLATES = load_plugins().templates


def alpaca(instruction: str, output: str, input: str = "", **extra) -> Record:
    original = {"instruction": instruction, "input": input, "output": output, **extra}
    user = f"{instruction}\n{input}" if input else instruction
    turns = []
    for q, a in extra.get("history", []):
        turns += [Turn(role="user", content=q), Turn(role="assistant", content=a)]
    turns += [Turn(role="user", content=user), Turn(role="assistant", content=output)]
    return Record(system=extra.get("system"), turns=turns, format="alpaca", original=original)


def texts(tokenizer, encoded):
    """(whole text, learned text) of an encoded record."""
    learned = [int(i) for i in encoded.labels if i != IGNORE]
    return tokenizer.decode(encoded.ids.tolist()), tokenizer.decode(learned)


def encoder(tokenizer, name: str, **kw):
    return TemplateEncoder(
        tokenizer,
        TEMPLATES[name],
        system=kw.get("system"),
        learn_all_turns=kw.get("learn_all", False),
        columns=Columns(),
    )


def test_alpaca_with_input_uses_the_input_section_and_learns_answer_and_eos(tokenizer):
    record = alpaca("Correct the spelling.", "The cat sat.", input="Teh cat sat.")
    whole, learned = texts(tokenizer, encoder(tokenizer, "alpaca").encode([record])[0])
    assert whole == (
        "<s>Below is an instruction that describes a task, paired with an input that provides "
        "further context. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nCorrect the spelling.\n\n"
        "### Input:\nTeh cat sat.\n\n"
        "### Response:\nThe cat sat.\n\n</s>"
    )
    assert learned == "The cat sat.\n\n</s>"


def test_alpaca_without_input_uses_the_short_preamble(tokenizer):
    record = alpaca("Name a primary colour.", "Red.")
    whole, learned = texts(tokenizer, encoder(tokenizer, "alpaca").encode([record])[0])
    assert whole == (
        "<s>Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n"
        "### Instruction:\nName a primary colour.\n\n"
        "### Response:\nRed.\n\n</s>"
    )
    assert learned == "Red.\n\n</s>"


@pytest.mark.parametrize(
    ("name", "expected", "answer"),
    [
        (
            "chatml",
            "<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n",
            "Hello.<|im_end|>\n",
        ),
        ("phi3", "<s><|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n", "Hello.<|end|>\n"),
    ],
)
def test_chat_markup_templates_learn_the_closing_marker(tokenizer, name, expected, answer):
    whole, learned = texts(tokenizer, encoder(tokenizer, name).encode([alpaca("Hi", "Hello.")])[0])
    assert (whole, learned) == (expected, answer)


def test_system_prompt_from_record_else_from_config(tokenizer):
    own = alpaca("Hi", "Hello.", system="Be terse.")
    none = alpaca("Hi", "Hello.")
    enc = encoder(tokenizer, "chatml", system="Be kind.")
    first, second = (texts(tokenizer, e)[0] for e in enc.encode([own, none]))
    assert first.startswith("<s><|im_start|>system\nBe terse.<|im_end|>\n")
    assert second.startswith("<s><|im_start|>system\nBe kind.<|im_end|>\n")


def test_history_learns_only_the_last_answer_unless_asked(tokenizer):
    record = alpaca("And 3+3?", "6.", history=[["What is 2+2?", "4."]])
    last_only = texts(tokenizer, encoder(tokenizer, "chatml").encode([record])[0])[1]
    every = texts(tokenizer, encoder(tokenizer, "chatml", learn_all=True).encode([record])[0])[1]
    assert last_only == "6.<|im_end|>\n"
    assert every == "4.<|im_end|>\n6.<|im_end|>\n"


def test_model_chat_template_masks_everything_but_answers(tokenizer):
    record = alpaca("And 3+3?", "6.", history=[["What is 2+2?", "4."]])
    enc = ChatTemplateEncoder(tokenizer, system="Be terse.", learn_all_turns=False)
    whole, learned = texts(tokenizer, enc.encode([record])[0])
    assert whole == tokenizer.apply_chat_template(
        [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4."},
            {"role": "user", "content": "And 3+3?"},
            {"role": "assistant", "content": "6."},
        ],
        tokenize=False,
    )
    assert learned == "6.<|im_end|>\n"
    every = ChatTemplateEncoder(tokenizer, system=None, learn_all_turns=True)
    assert texts(tokenizer, every.encode([record])[0])[1] == "4.<|im_end|>\n6.<|im_end|>\n"


# DeepSeek-R1's way: the generation prompt opens a trace, and answers are rendered without theirs.
THINKING_PROMPT_TEMPLATE = (
    "{% for message in messages %}{% set content = message['content'] %}"
    "{% if message['role'] == 'assistant' and '</think>' in content %}"
    "{% set content = content.split('</think>')[-1].lstrip() %}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"
)


def test_a_generation_prompt_that_opens_a_trace_still_finds_the_answer_and_says_the_trace_is_lost(tokenizer):
    thinking = copy.deepcopy(tokenizer)
    thinking.chat_template = THINKING_PROMPT_TEMPLATE
    record = alpaca("What is 2+2?", "<think>\nTwo and two.\n</think>\n\n4.")
    encoded = ChatTemplateEncoder(thinking, system=None, learn_all_turns=False).encode([record])[0]
    assert texts(thinking, encoded)[1] == "4.<|im_end|>\n"
    assert encoded.lost_traces == (2,)


def test_a_generation_prompt_unlike_the_answers_opening_learns_the_answer_alone(tokenizer):
    """A template written with blank lines it does not trim: the generation prompt ends with one
    more newline than a rendered answer starts with."""
    loose = copy.deepcopy(tokenizer)
    loose.chat_template = THINKING_PROMPT_TEMPLATE.replace("\\n<think>\\n", "\\n\\n")
    record = alpaca("And 3+3?", "6.", history=[["What is 2+2?", "4."]])
    encoded = ChatTemplateEncoder(loose, system=None, learn_all_turns=True).encode([record])[0]
    assert texts(loose, encoded)[1] == "4.<|im_end|>\n6.<|im_end|>\n"


def test_a_template_that_renders_the_trace_loses_nothing(tokenizer):
    record = alpaca("What is 2+2?", "<think>\nTwo and two.\n</think>\n\n4.")
    encoded = ChatTemplateEncoder(tokenizer, system=None, learn_all_turns=False).encode([record])[0]
    assert texts(tokenizer, encoded)[1] == "<think>\nTwo and two.\n</think>\n\n4.<|im_end|>\n"
    assert encoded.lost_traces == ()


@pytest.mark.parametrize("name", ["alpaca", "chatml", "phi3", "plain", "model"])
def test_a_prompt_is_the_training_text_up_to_the_answer(tokenizer, name):
    """What dqe eval generates from: exactly the tokens before the last answer's first label."""
    records = [
        alpaca("Correct the spelling.", "The cat sat.", input="Teh cat sat."),
        alpaca("And this?", "Fine.", history=[["Hi", "Hello!"]], system="Be brief."),
    ]
    if name == "model":
        enc = ChatTemplateEncoder(tokenizer, system=None, learn_all_turns=True)
    else:
        enc = encoder(tokenizer, name, learn_all=True)
    for full, prompt in zip(enc.encode(records), enc.prompts(records), strict=True):
        start = len(prompt)
        assert full.ids[:start].tolist() == prompt.tolist()
        assert full.labels[start] != IGNORE  # the answer starts right after the prompt
    prompt = enc.prompts(records[:1])[0]
    if name == "alpaca":
        assert tokenizer.decode(prompt.tolist()).endswith("### Input:\nTeh cat sat.\n\n### Response:\n")
    if name in ("chatml", "model"):
        assert tokenizer.decode(prompt.tolist()).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    ("name", "end"),
    [("alpaca", None), ("plain", None), ("chatml", "<|im_end|>"), ("phi3", "<|end|>"), ("model", "<|im_end|>")],
)
def test_where_an_answer_ends(tokenizer, name, end):
    if name == "model":
        enc = ChatTemplateEncoder(tokenizer, system=None, learn_all_turns=False)
    else:
        enc = encoder(tokenizer, name)
    assert enc.end_of_turn == end  # None: the end-of-text token alone closes an answer


def test_a_record_without_an_answer_has_no_prompt(tokenizer):
    record = Record(turns=[Turn(role="user", content="Hi")])
    assert encoder(tokenizer, "alpaca").prompts([record]) == ["the record has no assistant turn to answer"]


def test_truncation_keeps_the_start_and_drops_records_whose_answer_is_cut_away(tokenizer):
    record = alpaca("Explain photosynthesis in plants. " * 3, "Plants turn light into sugar.")
    encoded = encoder(tokenizer, "alpaca").encode([record])[0]
    n = len(encoded)
    fitted, truncated, dropped = fit_length(encoded, n - 2, "truncate")
    assert truncated and dropped is None and len(fitted) == n - 2
    assert fitted.labels[0] == IGNORE
    assert fitted.supervised == encoded.supervised - 2
    prompt_only = int((encoded.labels == IGNORE).sum())
    assert fit_length(encoded, prompt_only, "truncate")[1:] == (True, "answer-truncated-away")
    assert fit_length(encoded, n - 1, "drop")[1:] == (True, "too-long")
    assert fit_length(encoded, n, "drop")[1:] == (False, None)


@pytest.mark.parametrize("template", ["chatml", "alpaca"])
def test_trained_length_is_the_length_dqe_check_counted(tokenizer, tmp_path, rasbt, template):
    """The token-length rule and the trainer count the same tokens (one BOS aside), the
    template's default system prompt and its wrapping included."""
    from dqe.api import make_engine

    folder = tmp_path / "tok"
    tokenizer.save_pretrained(str(folder))
    records = [r for r in rasbt[:200] if not r["input"]]  # the reader joins an input with "\n"
    result = make_engine(None, (), (), {"tokenizer": f"hf:{folder}", "template": template}).run(records)
    counted = result.table["tokens_total"].to_list()
    normalized = [alpaca(r["instruction"], r["output"]) for r in records]
    trained = [len(e) for e in encoder(tokenizer, template).encode(normalized)]
    assert trained == [c + 1 for c in counted]
