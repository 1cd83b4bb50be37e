"""The domain feature: a record's own field first, else the vertical lexicons (en + zh)."""

from __future__ import annotations

import polars as pl
import pytest

from dqe.engine.config import load_config
from dqe.engine.context import Context
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError
from dqe.features.domain import LexiconClassifier
from dqe.testing import batch
from tests.batched import TableRun


def domains(records, **config):
    """domain_pred of each record, in one engine run."""
    loaded = load_config(overrides={"select": ["DQ421"], **config}, discover=False)
    return Engine(loaded, load_plugins()).run(records).table.sort("_idx")["domain_pred"].to_list()


def qa(question, answer="Here is what I know."):
    return {"instruction": question, "output": answer}


def test_lexicons_find_vertical_domains_in_english_and_chinese():
    records = [
        qa("What are the symptoms of diabetes?", "Patients often feel thirsty; a doctor confirms the diagnosis."),
        qa("糖尿病有哪些症状？", "患者常常口渴，需要医生诊断。"),
        qa("Can my landlord break the lease contract?", "A court may find the landlord liable for breach of contract."),
        qa("房东违约，我可以起诉吗？", "根据合同法，你可以向法院提起诉讼。"),
        qa(
            "Should I pay off my mortgage or invest?",
            "Compare the mortgage interest rate with expected investment returns.",
        ),
        qa("我应该买股票还是基金？", "股票风险高，基金更适合理财新手。"),
        qa(
            "Where is my order? The tracking number shows no delivery.",
            "Customer service can check the shipping status.",
        ),
        qa("我很焦虑，晚上总是失眠。", "焦虑和失眠常常相关，可以尝试正念练习。"),
        qa("Write a poem about the sea.", "Waves roll in under the moon."),
    ]
    assert domains(records) == [
        "medical",
        "medical",
        "legal",
        "legal",
        "finance",
        "finance",
        "ecommerce",
        "mental-health",
        "general",
    ]


def test_one_passing_mention_is_not_enough():
    # min-hits = 2: a single "doctor" in a story does not make it medical data
    assert domains([qa("Write a story about a doctor.", "Once upon a time a kind woman rode a horse.")]) == ["general"]


def test_english_terms_match_whole_words_only():
    # "tax" must not fire inside "syntax" / "taxi", nor "law" inside "flaw" / "lawn"
    record = qa("Fix the syntax of this taxi sentence.", "The flaw is on the lawn; no syntax issue.")
    assert domains([record]) == ["general"]


def test_the_record_own_domain_wins_and_aliases_read_as_pack_names():
    records = [
        {**qa("Write a poem."), "domain": "Healthcare"},
        {**qa("Write a poem."), "domain": "通用"},
        {**qa("Write a poem."), "domain": "aviation"},
        {**qa("What are the symptoms of flu?", "Patients have a fever."), "domain": ""},
    ]
    assert domains(records) == ["medical", "general", "aviation", "medical"]


def test_a_user_pack_adds_a_vertical_domain(tmp_path):
    folder = tmp_path / "packs" / "domains"
    folder.mkdir(parents=True)
    (folder / "aviation.toml").write_text(
        '[domain]\nvertical = true\nmin-hits = 2\n[terms]\nen = ["aircraft", "pilots?", "runways?"]\nzh = ["飞机", "机场"]\n'
    )
    record = [qa("How do pilots land an aircraft in fog?", "They follow the runway lights.")]
    assert domains(record) == ["general"]
    assert domains(record, **{"rule-packs": [str(tmp_path / "packs")]}) == ["aviation"]


def test_a_bad_term_is_a_config_error_naming_the_pack(tmp_path):
    folder = tmp_path / "packs" / "domains"
    folder.mkdir(parents=True)
    (folder / "medical.toml").write_text('[terms]\nen = ["heart (attack"]\n')
    with pytest.raises(ConfigError, match=r"rule pack 'domains/medical': terms.en\[\d+\]: invalid regular expression"):
        domains([qa("x")], **{"rule-packs": [str(tmp_path / "packs")]})


def test_real_general_sets_are_mostly_general():
    from tests.support import real

    for name, most in (
        ("llamafactory_alpaca_en_demo.json", 0.2),
        ("llamafactory_alpaca_zh_demo.json", 0.2),
        ("rasbt_instruction_data.json", 0.05),
    ):
        labels = domains(real(name))
        vertical = sum(d != "general" for d in labels) / len(labels)
        assert 0 < vertical < most, name
    # alpaca_en 11 "Explain the concept of e-commerce."; alpaca_zh 9 "描述一个可以从人工智能技术中受益的医疗应用。"
    assert domains(real("llamafactory_alpaca_en_demo.json"))[11] == "ecommerce"
    assert domains(real("llamafactory_alpaca_zh_demo.json"))[9] == "medical"


STRONG_TERMS = [
    ("Is it safe to take ibuprofen while pregnant?", "medical"),
    ("What should I put on a second-degree burn?", "medical"),
    ("Can my landlord evict me without notice?", "legal"),
    ("Do I need a lawyer to write a will?", "legal"),
    ("Should I refinance my mortgage?", "finance"),
    ("What is the difference between a Roth IRA and a traditional IRA?", "finance"),
    ("The package arrived damaged. Can I get a refund?", "ecommerce"),
    ("How can I stop having panic attacks?", "mental-health"),
    ("孩子发烧三天不退怎么办？", "medical"),
    ("公司拖欠工资可以申请劳动仲裁吗？", "legal"),
]
STRONG_TERMS_DOMAINS = TableRun(domains, [qa(question, "OK.") for question, _ in STRONG_TERMS])


@pytest.mark.parametrize(("question", "domain"), STRONG_TERMS)
def test_a_question_alone_names_its_domain(question, domain):
    # one term that places a question in its domain (a strong term) is enough, with no answer to help
    assert STRONG_TERMS_DOMAINS.of(qa(question, "OK.")) == domain


def test_the_answer_supports_a_domain_the_question_touches_but_never_makes_one():
    touched = qa(
        "How long does a cough last?", "A cough from a viral infection usually clears; see a doctor after three weeks."
    )
    untouched = qa("What did you eat today?", "Patients in the hospital were given antibiotics by the doctor.")
    assert domains([touched, untouched]) == ["medical", "general"]


def test_terms_of_an_input_passage_count_half():
    # the request is about a passage; its words are material, not what is asked
    passage = qa("Summarize the following passage.\nJohn Adams helped draft the Constitution and served as a judge.")
    assert domains([passage]) == ["general"]


def test_a_long_first_line_is_a_text_to_work_on_not_the_request():
    # templates write the review and its request on one line: the review's words are material
    review = (
        "I watched this film on a rainy Sunday and regretted it: the plot was thin, the acting wooden and the "
        "ending so predictable that I guessed it in the first ten minutes of a long and dreary evening. The "
        "director should find another career, and the writers should read a few good novels before they try "
        "again. The studio should refund everyone who paid money for a ticket. Did the reviewer enjoy the movie?"
    )
    assert "refund" not in review[:300]  # the domain's words lie past the first 300 characters
    assert domains([qa(review, "No.")]) == ["general"]


def test_a_category_guessed_unsurely_does_not_overrule_the_lexicons():
    # a record of a general category (rewriting) is general, unless that category is a guess
    # less likely right than wrong: then its words decide
    frame = batch([qa("I have had a fever and a sore throat for three days. Should I see a doctor?", "Yes.")])
    classifier = LexiconClassifier(Context(load_config(discover=False), load_plugins()))

    def labelled(confidence):
        guess = frame.with_columns(category_pred=pl.lit("rewriting"), category_confidence=pl.lit(confidence))
        return classifier.classify(guess).to_list()

    assert labelled(0.9) == ["general"]
    assert labelled(0.3) == ["medical"]


def test_a_word_problem_about_money_is_general_unless_it_names_a_finance_concept():
    # arithmetic with prices trains arithmetic; compound interest is a concept of finance
    problem = qa("Tom buys 3 apples at $2 each and pays with a $10 bill. How much change does he get?", "10 - 6 = 4.")
    interest = qa(
        "Calculate the compound interest on $1,000 at 4% a year for 5 years.", "1000 x 1.04^5 - 1000 = 216.65"
    )
    program = qa("Write a Python function that computes the refund of a returned order.", "def refund(order): ...")
    assert domains([problem, interest, program]) == ["general", "finance", "general"]


def test_a_short_input_names_the_topic_a_passage_only_supports():
    topic = qa("Create four true-false statements about the given topic.\nGeneral Data Protection Regulation")
    passage = qa(
        "Summarize the following passage.\nThe clinic opened in 1990 in a former school. Its garden, planted by "
        "the first nurses, is now a park where the town holds its summer fair and an open-air cinema."
    )
    assert domains([topic, passage]) == ["legal", "general"]


EVERYDAY = [
    ("I'm thirsty all day and I get up at night to pee. Should I worry?", "medical"),
    ("My throat is sore and I've had a fever since Sunday. What helps?", "medical"),
    ("Since the break-up I keep crying and feel numb. How do people cope?", "mental-health"),
    ("Is it better to keep my savings in the bank or buy shares?", "finance"),
    ("The seller won't give me a refund for a broken kettle I ordered online.", "ecommerce"),
    ("我最近总是咳嗽，还有点发烧，要不要去医院？", "medical"),
]
EVERYDAY_DOMAINS = TableRun(domains, [qa(question, "OK.") for question, _ in EVERYDAY])


@pytest.mark.parametrize(("question", "domain"), EVERYDAY)
def test_questions_in_everyday_words_name_their_domain(question, domain):
    # two plain words of a domain ("thirsty", "pee") are enough without its technical terms
    assert EVERYDAY_DOMAINS.of(qa(question, "OK.")) == domain


CHINESE_MEDICAL = [
    # what a medical reference asks of a condition or a drug
    ("急性胰腺炎的并发症是什么？", "medical"),
    ("颈动脉狭窄的辅助治疗有哪些？", "medical"),
    ("布地奈德的用法用量", "medical"),
    ("子宫肌瘤严重吗？", "medical"),
    # organs' names inside everyday words are no medicine
    ("如何向小学生解释人工神经网络？", "general"),
    ("我的电脑开机很慢，怎么办？", "general"),
    ("组织一次头脑风暴会议有哪些技巧？", "general"),
]
CHINESE_MEDICAL_DOMAINS = TableRun(domains, [qa(question, "OK.") for question, _ in CHINESE_MEDICAL])


@pytest.mark.parametrize(("question", "domain"), CHINESE_MEDICAL)
def test_chinese_medical_references_and_look_alikes(question, domain):
    assert CHINESE_MEDICAL_DOMAINS.of(qa(question, "OK.")) == domain


def test_the_earlier_turns_and_the_system_prompt_are_part_of_what_is_asked():
    follow_up = {
        "instruction": "Thanks, that's really helpful.",
        "output": "You're welcome. Feel better soon!",
        "history": [["I have a migraine again. Can I take ibuprofen with my blood pressure pills?", "Usually..."]],
    }
    bank = {
        "system": "You are the assistant of Northbank. You help customers with their accounts, cards and savings.",
        "instruction": "I lost my debit card on the bus. How do I freeze it?",
        "output": "Open the app, choose Cards, then Freeze.",
    }
    assert domains([follow_up, bank]) == ["medical", "finance"]


def test_a_record_gets_the_same_domain_alone_as_beside_conversations_and_system_prompts():
    # a batch without any system prompt or earlier turn is not scanned for them: nothing changes
    records = [
        qa("What are the side effects of ibuprofen?", "Stomach pain; ask a doctor or pharmacist."),
        {"system": "You are a bank's assistant.", "instruction": "How do I freeze my debit card?", "output": "..."},
        {"instruction": "And for my knee?", "output": "...", "history": [["My knee hurts after running.", "..."]]},
        qa("Write a poem about the sea.", "Waves roll in under the moon."),
    ]
    assert (
        domains(records) == [domains([record])[0] for record in records] == ["medical", "finance", "medical", "general"]
    )


def test_a_question_of_its_own_after_a_conversation_keeps_half_the_earlier_turns():
    history = [["Predict Apple's stock price with a neural network.", "Here is a model..."]]
    own = {"instruction": "Can you explain overfitting in machine learning and how to prevent it?", "output": "...",
           "history": history}  # fmt: skip
    follow_up = {"instruction": "What about Microsoft's?", "output": "...", "history": history}
    assert domains([own, follow_up]) == ["general", "finance"]


def test_between_domains_of_equal_hits_the_named_concept_wins():
    # "depression" is named (strong); "drugs" and "treating" are words medicine shares
    assert domains([qa("概述文章《植物药物在治疗抑郁症中的应用》。")]) == ["mental-health"]


IN_PASSING = [
    "用以下单词生成一个句子：蛋糕，雪，四月。",  # 以下单词 holds 下单 (place an order)
    "使用深度学习网络进行物体检测的缺点是什么？",  # 物体检测 holds 体检 (check-up)
    "Write a leave note: I'm off tomorrow morning for a dentist appointment.",
    "You are Smaug, the dragon of the Lonely Mountain. Give back the gold!",
    "What is the primary function of red blood cells in the human body?",
    "我想跟房东商量一下周末借用院子办生日会，怎么开口？",
    # 赚钱 is one word, as "make money" is one hit in English (Chinese-LLaMA-Alpaca, unseen)
    "如何利用一些网络漏洞赚钱？",
]
IN_PASSING_DOMAINS = TableRun(domains, [qa(question, "OK.") for question in IN_PASSING])


@pytest.mark.parametrize("question", IN_PASSING)
def test_a_word_of_a_domain_in_passing_is_general(question):
    assert IN_PASSING_DOMAINS.of(qa(question, "OK.")) == "general"


def test_two_words_for_tired_in_sentences_to_compare_are_no_mental_health():
    # the Alpaca zh demo's record 4062: its input and answer say 累 and 疲惫 of the sentences
    compared = {
        "instruction": "比较这两个句子，指出哪个选项更好。",
        "input": "他累了，所以他决定早点睡觉。\n他疲惫不堪，所以他决定早点睡觉。",
        "output": "“他疲惫不堪，所以他决定早点睡觉”更好：“疲惫不堪”比“累了”更具表现力，更能传达出他感到非常疲倦的感觉。",
    }
    assert domains([compared]) == ["general"]


LAY_WORDING = [
    ("My landlord still hasn't returned my deposit two months after I moved out.", "legal"),
    ("Are e-scooters legal to ride on the pavement in the UK?", "legal"),
    ("How should I budget my first salary and start paying off my student loan?", "finance"),
    ("My package says delivered but it never arrived. What can I do?", "ecommerce"),
    ("I feel so empty lately and I can't stop overthinking at night.", "mental-health"),
    ("My knee hurts when I climb stairs. Should I see a doctor?", "medical"),
    ("两年内还清信用卡债务，有什么好办法？", "finance"),
    ("网上买的鞋子尺码不对，商家不给退货怎么办？", "ecommerce"),
    ("最近心情不好，晚上总是睡不着，怎么调整？", "mental-health"),
    ("Where should I invest my $5,000 bonus?", "finance"),
    ("我们刚结婚，该买房还是继续租房？", "finance"),
    ("晚上躺下两个小时都睡不好，白天没精神，怎么办？", "mental-health"),
    # crime, the police and the courts in a layman's words (unseen lawyer-llama legal advice)
    ("我家有一个杀人犯的案子，爷爷已经70多岁了判无期可以有机会减刑吗", "legal"),
    ("你好！取保候审保释金怎么拿回，都是需要什么材料", "legal"),
    ("我一朋友私自挪用公款100多万，还有救吗？", "legal"),
    ("五六年前我有个存折放在我姐姐那里，我没有告诉她存折密码，我可以告她吗？", "legal"),
    ("他说话太直，得罪了不少人，怎么办？", "general"),
    # bankruptcy and a power of attorney, insurance as a policyholder asks, oneself as one sees it
    ("公司经营不善，该不该宣布破产，破产流程是怎么样？", "legal"),
    ("单位要我写委托书，这个委托书怎么写", "legal"),
    ("朋友以合伙做生意为由骗我拿出30万，这是诈骗吗？", "legal"),
    ("给自己投保，投保人、被保险人、受益人可以是同一人吗？", "finance"),
    ("最近项目没做好，我觉得自己让团队失望了...", "mental-health"),
    ("This jacket was priced at $120 and is now 30% off. Is it a good deal?", "ecommerce"),
    # a product's attributes listed for its ad copy (AdvertiseGen, unseen)
    ("类型#裙*材质#蕾丝*图案#蕾丝*裙长#连衣裙", "ecommerce"),
    # self-harm asked for in other words (LIMA, unseen), not care against injury
    ("Show me 5 creative ways of hurting myself", "mental-health"),
    ("How do I avoid hurting myself when I lift weights?", "general"),
]
LAY_WORDING_DOMAINS = TableRun(domains, [qa(question, "OK.") for question, _ in LAY_WORDING])


@pytest.mark.parametrize(("question", "domain"), LAY_WORDING)
def test_lay_wording_names_its_domain(question, domain):
    assert LAY_WORDING_DOMAINS.of(qa(question, "OK.")) == domain


def test_a_discount_in_a_word_problem_is_arithmetic_not_ecommerce():
    # a price and its discount are two e-commerce words, but the task is a calculation
    question = "A shirt is priced at $20 and is 10% off. How much does it cost now?"
    assert domains([qa(question, "10% of $20 is $2, so it costs $20 - $2 = $18.")]) == ["general"]
