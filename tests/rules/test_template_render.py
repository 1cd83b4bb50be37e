"""DQ105 template-cannot-render: the model's chat template rejects the conversation (dqe check --model)."""

from __future__ import annotations

from dqe.testing import assert_findings, run_rule


def test_a_system_prompt_the_chat_template_rejects_fails_with_the_templates_message(english_model):
    records = [
        {"instruction": "Give three tips.", "output": "Sleep well.", "system": "You are terse."},
        {"instruction": "Give three tips.", "output": "Sleep well."},
    ]
    run = run_rule("DQ105", records, model=str(english_model), template="model")
    assert_findings(run, {0: "the template cannot render the record: chat template: System role not supported"})
    assert run.evidence[0].startswith("roles user, assistant; ")
    assert run.evidence[0].endswith(", template model")


def test_a_dqe_template_renders_every_role(english_model):
    records = [{"instruction": "Give three tips.", "output": "Sleep well.", "system": "You are terse."}]
    assert_findings(run_rule("DQ105", records, model=str(english_model), template="chatml"), [])
