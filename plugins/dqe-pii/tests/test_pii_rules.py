"""PII001-PII006 on small records, English and Chinese, through the engine (dqe.testing)."""

import re
from pathlib import Path

import pytest

from dqe import testing
from dqe.testing import assert_findings, conversation, record
from dqe_pii import plugin
from dqe_pii.rules import RULES, CardNumber, ChineseId, Email, IpAddress, Phone, Secret, mask

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def run_rule(rule, records, options=None):
    """The plugin is passed in, so that the tests run whether or not it is installed."""
    return testing.run_rule(rule, records, options, plugins=[plugin])


def test_email_addresses():
    run = run_rule(
        Email,
        [
            record(answer="Write to jane.doe@gmail.com for a refund."),
            record(question="请发邮件到 zhang.san@163.com 询问。"),
            record(system="Support: help@acme-corp.io"),
            record(answer="Use user@example.com in the docs."),  # reserved example domain
            record(answer="Send it to youremail@yourdomain.com"),  # a placeholder
            record(answer="git clone git@github.com:me/repo.git"),
            record(answer="Use logo@2x.png on retina screens."),
            record(answer="No address here: a @ b, x@y"),
            record(answer="Write to sales@example.in or info@example.co.uk."),  # an example domain anywhere
            record(answer="ssh -p 22 admin2019@backupbox.localshare"),  # a host, no top-level domain
            record(answer="rsync -avz ~/results user@serverB.com:~/training_results"),  # a login, not an address
            record(answer="Reach the studio at hello@pixel.studio"),  # a long top-level domain in use
            # placeholders in example code: a local part of one letter repeated, a made-up ".xx" (LIMA, unseen)
            record(answer='msg = new MailMessage("xxxx@gmail.com", "yyyy@gmail.com", "Subject");'),
            record(answer="```\nProper Name <proper@email.xx> Commit Name <commit@email.xx>\n```"),
            record(answer='ssh-keygen -t rsa -C "email@xxx.com"'),  # a domain masked with x's (OASST-zh)
        ],
    )
    assert_findings(run, {0: "1 e-mail address: jan*.***@*****.com", 1: "e-mail", 2: "e-mail", 11: "e-mail"})


def test_email_in_earlier_turns_counts_and_the_finding_names_its_turn():
    records = [
        conversation("Hi, I am bob@corp.com.", "Hello Bob.", "What is 2+2?", "4."),
        conversation("Who wrote it?", "Ask the author.", "How do I reach her?", "Write to ann@corp.com."),
    ]
    run = run_rule(Email, records)
    assert_findings(run, {0: "1 e-mail address", 1: "1 e-mail address"})
    assert run.turns == [1, 4]
    in_system = run_rule(Email, [record(system="Support: help@acme-corp.io")])  # the system prompt is no turn
    assert_findings(in_system, {0: "1 e-mail address"})
    assert in_system.turns == [None]


def test_email_ignore_domains_is_configurable():
    records = [record(answer="Mail alice@corp.internal or bob@gmail.com")]
    run = run_rule(Email, records, {"ignore-domains": ["corp.internal", "gmail.com"]})
    assert_findings(run, [])


def test_phone_numbers():
    run = run_rule(
        Phone,
        [
            record(answer="请拨打13812345678联系我"),
            record(answer="手机：139-1234-5678"),
            record(answer="Call +44 20 7946 0958 after six."),
            record(answer="Our office: (415) 555-2671."),
            record(answer="Dial 415-555-0123 in the movie."),  # reserved for fiction
            record(answer="5 + 3 = 8, and 12345678901 is a number."),
            record(answer="The total is 1,234,567 and the year 2023-10-01."),
            record(answer="Order 2023-555-1234 shipped."),
        ],
    )
    assert_findings(
        run,
        {0: "1 phone number: 13*******78", 1: "phone number", 2: "phone number", 3: "phone number"},
    )


def test_numbers_of_a_mobile_numbers_shape_in_urls_and_under_other_keys_pass():
    """A tool's output is full of ids and quantities; a key that names a phone still counts."""
    run = run_rule(
        Phone,
        [
            record(answer="Source: https://www.flickr.com/photos/128602528@N08/15282135291/"),
            record(answer='{"close": 7200.17, "volume": 18685106753}'),
            record(answer="2020-01-01: Open: 7188.87, Close: 7200.17, Volume: 18685106753"),
            record(answer='{"name": "Li", "phone": 13812345678}'),
            record(answer="Mobile: 13812345678"),
            record(answer="Our office: (415) 555-2671."),
            record(answer="Call me at 13812345678 tonight."),
            record(answer="Invalid addresses: 123.456.789.0123 and 10.0.0.1.1"),
            record(answer="Call 1.800.253.1234 toll-free."),
        ],
    )
    assert_findings(
        run,
        {3: "1 phone number: 13*******78", 4: "1 phone number: 13*******78", 5: "phone number", 6: "phone number",
         8: "phone number"},
    )  # fmt: skip


def test_phone_numbers_in_math_pass():
    """GSM8K-style arithmetic is full of digit runs; none of it is a phone number."""
    answer = "She sold 48/2 = <<48/2=24>>24 clips in May. 48+24 = <<48+24=72>>72. #### 72"
    decimals = "Calculate(\"sqrt(4.57)\") => '2.13775583264'"  # a number's decimals, shaped like a mobile
    records = [record(answer=answer), record(answer="+1234 -5678 = -4444"), record(answer=decimals)]
    assert_findings(run_rule(Phone, records), [])


def test_card_numbers():
    run = run_rule(
        CardNumber,
        [
            record(answer="My card is 4539 1488 0343 6467, expiry 04/27."),
            record(answer="卡号：6212345678901232"),
            record(answer="Test with 4111 1111 1111 1111."),  # a published test number
            record(answer="Order number 4539 1488 0343 6468."),  # Luhn fails
            record(answer="Tracking 1234567890123452"),  # no card network starts with 1
            record(answer="pi = 3.14159265358979323846"),
            record(answer="Calculate(\"143.4 / 17.13\") => '8.371278458844134'"),  # a number's decimals
        ],
    )
    assert_findings(run, {0: "1 card number: 453* **** **** *467", 1: "card number"})


def test_card_test_numbers_can_count():
    run = run_rule(
        CardNumber,
        [record(answer="Test with 4111 1111 1111 1111.")],
        {"ignore-test-numbers": False},
    )
    assert_findings(run, {0: "card number"})


def test_ip_addresses():
    run = run_rule(
        IpAddress,
        [
            record(answer="The attacker came from 81.2.69.160."),
            record(answer="Ping 2a00:1450:4001:81b::200e"),
            record(answer="Open http://192.168.1.1 or 127.0.0.1:8080."),  # private and loopback
            record(answer="Use 8.8.8.8 as DNS."),  # a well-known resolver
            record(answer="Upgrade to version 1.2.3.4.5."),
            record(answer="See 203.0.113.7 in RFC 5737 examples."),  # documentation range
            record(answer="服务器地址是 81.2.69.160。"),
            record(answer="Every second item: `lst[1::2]`."),
            record(question="问题:1.1.1.2机器最近有什么事件?", answer="无事件。"),  # Cloudflare's family resolver
            # a section of a standard, not a host (the Java spec in LIMA, unseen)
            record(answer="It is the result of applying capture conversion (§5.1.10) to lub(T1, T2) (§15.12.2.7)."),
        ],
    )
    assert_findings(run, {0: "1 IP address", 1: "IP address", 6: "IP address"})
    assert run.report.rules[-1].severity == "warning"


def test_private_ip_addresses_when_asked():
    run = run_rule(IpAddress, [record(answer="Open http://192.168.1.1")], {"include-private": True})
    assert_findings(run, {0: "IP address"})


def test_secrets():
    run = run_rule(
        Secret,
        [
            record(answer="export OPENAI_API_KEY=sk-proj-9fK2mQ7xL4vR8tW1zY6bN3cHdE5"),
            record(answer="token = 'ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'"),
            record(answer="aws_access_key_id = AKIAZ7QK3M4X5N6P7R8S"),
            record(answer="SLACK=xoxb-2048-4096-Z9y8X7w6V5u4"),
            record(answer="-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----"),
            record(answer="secret: 9fK2mQ7xL4vR8tW1zY6bN3cHdE5aB0pQ1rS"),  # high entropy, no prefix
            record(answer="Set OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxx"),  # placeholder
            record(answer="AWS docs use AKIAIOSFODNN7EXAMPLE."),
            record(answer="commit 3f786850e387550fdab836ed7e6dc881de23001b"),
            record(answer="id 123e4567-e89b-12d3-a456-426614174000"),
            record(answer="a_very_long_snake_case_function_name_for_tests()"),
        ],
    )
    assert_findings(run, {0: "1 secret: sk-", 1: "secret", 2: "secret", 3: "secret", 4: "secret", 5: "secret"})


def test_high_entropy_tokens_can_be_switched_off():
    run = run_rule(
        Secret,
        [record(answer="secret: 9fK2mQ7xL4vR8tW1zY6bN3cHdE5aB0pQ1rS")],
        {"high-entropy": False},
    )
    assert_findings(run, [])


def test_chinese_resident_ids():
    run = run_rule(
        ChineseId,
        [
            record(answer="我的身份证号是11010519491231002X，请核对。"),
            record(question="ID: 11010519491231002x"),
            record(answer="身份证号110105194912310021"),  # wrong check character
            record(answer="编号 123456789012345678"),
            record(answer="订单号 2110105194912310027"),  # 19 digits: part of a longer number
        ],
    )
    assert_findings(run, {0: "1 resident ID number: 110************02X", 1: "resident ID number"})


def test_a_resident_id_is_not_also_a_card():
    """18-digit IDs of Gansu (62...) look like UnionPay numbers; the ID rule owns them."""
    assert_findings(run_rule(CardNumber, [record(answer="身份证 620102199003074413")]), [])


def test_several_matches_are_counted_and_masked():
    run = run_rule(Email, [record(answer="cc a.b@corp.com, c.d@corp.com and a.b@corp.com")])
    assert run.messages[0] == "3 e-mail addresses: a.b@****.com, c.d@****.com"


def test_redact_option_is_named_in_messages():
    run = run_rule(Email, [record(answer="Mail jane.doe@gmail.com")], {"redact": True})
    assert run.messages[0].endswith("; redacted in filter output")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_documented_examples_are_true(rule):
    """`dqe rule CODE` prints the example; it must be what the rule does."""
    text, message = re.search(r"'(.+)' (?:fails|is reported): '(.+)'\.$", rule.example).groups()
    assert run_rule(rule, [record(answer=text)]).messages == [message]


def test_mask_hides_the_middle():
    assert mask("13812345678") == "13*******78"
    assert mask("4539 1488 0343 6467") == "453* **** **** *467"
    assert mask("abc") == "***"
    assert len(mask("x" * 200)) < 40


@pytest.mark.parametrize(
    "name",
    [
        "llamafactory_alpaca_zh_demo.json",
        "gsm8k_train_alpaca.json",
        "rasbt_instruction_data.json",
        "llamafactory_glaive_toolcall_en_demo.json",
        "fastchat_dummy_conversation.json",
        "llamafactory_v1_sft_demo.jsonl",
    ],
)
def test_no_false_alarms_on_real_data(name):
    """Real SFT sets: math, Chinese, tool calls with JSON and base64, multi-turn chat. None of
    them holds a phone, card, public IP, key or resident ID (some hold e-mail addresses)."""
    for rule in (Phone, CardNumber, IpAddress, Secret, ChineseId):
        run = run_rule(rule, _load(DATA / name))
        assert run.failed == [], (rule.code, [run.messages[i] for i in run.failed[:3]])


def test_e_mail_addresses_in_real_data_are_found():
    run = run_rule(Email, _load(DATA / "llamafactory_alpaca_en_demo.json"))
    assert [run.messages[i] for i in run.failed] == [
        "4 e-mail addresses: ali**@*****.com, joh*@*****.com",
        "1 e-mail address: Joh*.***-**…-******.com",
    ]


def _load(path: Path) -> list[dict]:
    import json

    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    text = path.read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else json.loads(text)
