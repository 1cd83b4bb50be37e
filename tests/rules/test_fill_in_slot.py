"""DQ207 fill-in-slot: slots a person was meant to fill, left in answers; templates asked for,
slots the question gave and code pass."""

from __future__ import annotations

import pytest

import dqe
from dqe.testing import assert_findings, conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, ROOT, failures, real

SLOTS = [
    ("Write a thank-you note to my team.", "Dear team, thanks for this quarter! Best, [Your Name]", "[Your Name]"),
    (
        "Write a sales script.",
        "Hi, this is [Salesperson’s Name] from [Company Name].",
        "[Salesperson’s Name], [Company Name]",
    ),
    ("Write a reminder.", "Hello XXX, the event is on <Your Date Here>.", "Hello XXX, <Your Date Here>"),
    ("写一封求职信。", "尊敬的XXX先生：我毕业于XXX大学。", "XXX先生, XXX大学"),
    # a date left to fill, X's of any number (AlignBench's report)
    ("请写一份电影行业的分析报告。", "一、引言……\n\n报告日期：XXXX年XX月XX日", "XXXX年"),
    ("Write a slogan.", "Baking happiness since [year]!", "[year]"),
    # what the slot links to, named after "link" (PandaLM, unseen)
    (
        "Choose Spotify playlists that match the given mood. Provide a link to these playlists.",
        "Feel-good picks: [Link to Spotify playlist]",
        "[Link to Spotify playlist]",
    ),
    ("Write a tweet welcoming a new player.", "Welcome to the team, @playername!", "@playername"),
    ("写一封邮件给经理。", "尊敬的经理：请改期。\n[插入日期]\n[您的姓名]", "[插入日期], [您的姓名]"),
    # a brand masked by the data's anonymiser (AdvertiseGen, unseen)
    ("类型#裙*材质#针织*裙长#连衣裙", "这款BRAND针织两件套连衣裙，简约的纯色半高领针织上衣。", "BRAND"),
    # values a task-dialogue corpus took out and never put back (CrossWOZ, unseen)
    ("从好伦哥到芳草地画廊乘坐出租车的话，出租车的车型和车牌分别是啥？", "出租车的车型是#CX，车牌是#CP。", "#CX, #CP"),
    ("打车的话，车型和车牌是？", "车型：#CX\n车牌：#CP", "#CX, #CP"),
    ("出租车什么样？", "出租车的车型 #CX，车牌 #CP。", "#CX, #CP"),
]
SLOTS_CHECKED = Batched("DQ207", [record(question, answer) for question, answer, _ in SLOTS])


@pytest.mark.parametrize(("question", "answer", "slots"), SLOTS)
def test_slots_left_in_an_answer_warn(question, answer, slots):
    run = SLOTS_CHECKED.run(record(question, answer))
    assert run.messages == [f"fill-in slot in answer: {slots}"]
    assert run.turns == [2]
    assert f'"{slots}"' in run.evidence[0]
    assert run.report.findings[0].severity == "warning"


NOT_SLOTS = [
    ("Write an email template for a refund.", "Dear [Customer Name], your refund is on its way."),
    ("Rewrite: Hi [Employer], I need a day off on [date].", "Dear [Employer], I request a day off on [date]."),
    ("Connect to the database.", '```python\nconnect(user="[Your Name]", password="yourpassword")\n```'),
    ("Index it.", "value = row[date] + table[name]"),
    ("Give a link.", "See [link](https://example.com) and the <title> tag."),
    ("Write a letter to Ana from Bo.", "Dear Ana, see you soon. Best, Bo"),
    ("填空：我叫____。", "我叫小明。"),
    # a brand's own name in capitals, and the word in English prose
    ("介绍这件衣服。", "这款ONLY针织连衣裙，简约大方。"),
    ("What is a brand?", "A BRAND is a name that sets a product apart."),
    # a colour, a hashtag
    ("海报用什么颜色？", "主题颜色用#FFF，文字用#DC143C。"),
    ("今天微博热搜是什么？", "最近大家都在聊#AI话题。"),
    # X's that mask part of an identifier in an example output (unseen ShareGPT-zh): not a name to fill
    ("如何用CLI使CloudFront缓存失效？", '返回 {"Id": "IDXXXXXXXXXXXX"}。这里的IDXXXXXXXXXXXX是缓存失效请求的ID。'),
    # a sample document asked for: its fields are the user's to fill
    ("请制作一个示例报告表格。", "报告标题：合作伙伴绩效报告\n日期：[插入日期]\n合作伙伴：[插入合作伙伴公司名称]"),
    ("Write a sample incident report form.", "Incident report\nDate: [Insert Date]\nReported by: [Your Name]"),
    # how to write a document of one's own (unseen lawyer-llama legal advice)
    (
        "单位要我写委托书，这个委托书怎么写",
        "委托书\n我，（您的姓名），特此委托（单位名称）代为领取。\n（您的签名）\n（日期）",
    ),
    ("我离家出走了，想和男方离婚，怎么写起诉状", "起诉状\n原告：（您的姓名）\n被告：（男方的姓名）\n案由：离婚"),
    ("不想再给她分配了，这个在遗嘱中应该怎么写？", "我，（您的姓名），在此声明这是我的最后遗嘱。"),
    # the shape of a document asked for, not one document
    ("Show the proper structure of a cover letter.", "[Your Name]\n[Date]\n\nDear [Hiring Manager],\n..."),
    ("Structure a formal letter of complaint to a landlord.", "[Your Address]\n[Date]\n\nDear [Landlord's Name],"),
]
NOT_SLOTS_CHECKED = Batched("DQ207", [record(question, answer) for question, answer in NOT_SLOTS])


@pytest.mark.parametrize(("question", "answer"), NOT_SLOTS)
def test_templates_given_slots_and_code_pass(question, answer):
    assert_findings(NOT_SLOTS_CHECKED.run(record(question, answer)), {})


def test_every_assistant_turn_is_looked_at():
    chat = conversation("Draft a note.", "Thanks! [Your Name]", "Shorter?", "Thanks, Bo")
    run = run_rule("DQ207", [chat])
    assert (run.turns, run.messages) == ([2], ["fill-in slot in assistant turn 2: [Your Name]"])


def test_an_instruction_to_insert_is_a_placeholder_not_a_fill_in_slot():
    answer = record("Announce the office move.", "We move on <INSERT DATE>. Floor plan: [INSERT LINK HERE].")
    assert_findings(run_rule("DQ207", [answer]), {})
    assert_findings(run_rule("DQ204", [answer]), {0: "<INSERT DATE>"})


def test_it_can_be_made_an_error():
    run = run_rule("DQ207", [record("Write a note.", "Best, [Your Name]")], {"severity": "error"})
    assert run.report.findings[0].severity == "error"


def test_the_demo_record_is_found_at_its_line():
    report = dqe.check([ROOT / "examples" / "demo.jsonl"], select=["DQ207"], complete=True)
    assert [(f.source.rsplit("/", 1)[1], f.turn) for f in report.findings if f.code == "DQ207"] == [
        ("demo.jsonl:24", 2)
    ]


# Read: letters and sales scripts signed [Your Name] / [您的姓名] / XXX大学, a slogan "since [year]"
# and a tweet naming "@playername" in the Alpaca demos (the v1 demo repeats the en demo's first
# 450); none elsewhere.
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 7,
    "llamafactory_alpaca_zh_demo.json": 8,
    "llamafactory_identity.json": 0,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 4,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 0,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ207")) == EXPECTED[name]
