"""DQ106 poorly-represented-text: the model's tokenizer spells the text in bytes (dqe check --model)."""

from __future__ import annotations

from dqe.testing import assert_findings, run_rule


def test_chinese_under_an_english_tokenizer_fails_and_english_passes(english_model):
    records = [
        {"instruction": "给出三个保持健康的建议。", "output": "均衡饮食，经常锻炼，保证充足的睡眠。"},
        {"instruction": "Give three tips for staying healthy.", "output": "Eat a balanced diet and sleep well."},
    ]
    run = run_rule("DQ106", records, model=str(english_model), template="alpaca")
    assert_findings(run, {0: "of "})
    poor, _, rest = run.messages[0].partition(" of ")
    total = int(rest.split()[0])
    assert int(poor) > 0.25 * total
    assert run.messages[0].endswith("are unknown or byte fallbacks")


def test_a_few_byte_tokens_in_a_short_text_pass(english_model):
    records = [{"instruction": "Say hi with an emoji.", "output": "Hi 👋"}]
    assert_findings(run_rule("DQ106", records, model=str(english_model), template="plain"), [])


def test_max_share_is_an_option(english_model):
    records = [{"instruction": "Translate: 你好", "output": "Hello."}]
    run = run_rule("DQ106", records, {"max-share": 0.01, "min-tokens": 1}, model=str(english_model), template="plain")
    assert_findings(run, [0])


def test_the_four_rules_keep_the_record_rule_contract(english_model):
    from dqe.testing import assert_rule_contract

    def chat(*turns, system=None):
        roles = ["user", "assistant"] * len(turns)
        head = [{"role": "system", "content": system}] if system else []
        return {"messages": head + [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)]}

    records = [
        chat("给出三个保持健康的建议。", "均衡饮食。" * 20),
        chat("Give three tips.", "Sleep well.", system="Be brief."),
        chat("Translate the sentence into French."),
        chat("Summarize.", "Eat a balanced diet, exercise regularly and sleep well. " * 30),
    ]
    for code in ("DQ103", "DQ104", "DQ105", "DQ106"):
        assert_rule_contract(code, records, model=str(english_model), template="model")
