"""DQ302 language-mismatch: an answer in another language than the user turn it answers, unasked."""

from __future__ import annotations

import pytest

import dqe
from dqe.report.ruledocs import rule_doc
from dqe.testing import assert_findings, conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, real

ONE_EXCHANGE = [
    ("法国的首都是哪里？", "The capital of France is Paris.", "question zh, answer en"),
    ("What is the capital of France?", "法国的首都是巴黎。", "question en, answer zh"),
    (
        "What is the capital of France?",
        "La capitale de la France est Paris, une très belle ville sur la Seine, connue pour ses musées.",
        "question en, answer fr",
    ),
    # too short for its n-grams to tell French from Catalan and Italian; "la" and "est" do
    (
        "What is the capital of France?",
        "La capitale de la France est Paris, sur la Seine.",
        "question en, answer fr",
    ),
    ("フランスの首都はどこですか？", "The capital of France is Paris, on the Seine.", "question ja, answer en"),
    # too short to single English out, but certainly not Chinese
    ("换句话说：看到了一只狗。", "In other words, a dog was seen.", "question zh, answer af/en/nl"),
    ("法国的首都是哪里？", "法国的首都是巴黎，位于塞纳河畔。", None),
    ("What is the capital of France?", "The capital of France is Paris.", None),
    # short answers whose language cannot be told, code, tool calls and names pass
    ("法国的首都是哪里？", "Paris", None),
    # a list of strings is data the question asked for, not a language
    ("根据句子构建两个答案选项，格式为['option1','option2']。", "['Ralph', 'Tom']", None),
    # code pasted with no-break spaces and Chinese colons is still code
    (
        "编写 Python 代码把两个数相加。",
        "def\u00a0add(a,\u00a0b)：\ncarry\u00a0=\u00a00\nwhile\u00a0a\u00a0or\u00a0carry：\nreturn\u00a0a\u00a0+\u00a0b",
        None,
    ),
    ("计算 2 + 3。", "5", None),
    # ASCII art and laughter: a letter or two repeated is no language
    ("Make ASCII art of a cat", ".oooooo\noo .\n.oo\n.oooooo", None),
    ("Tell me a joke about cats.", "Hahahaha hahaha hahahaha", None),
    ("Say hello in Chinese.", "你好。", None),
    ("How are you today?", "我很好，谢谢。", "question en, answer zh"),
    ("用Python写一个加法函数。", "```python\ndef add(a, b):\n    return a + b\n```", None),
    ("用Python写一个加法函数。", "def add(a, b):\n    # add two numbers\n    return a + b", None),
    # a docstring, a block comment and a decorator are code's own, fenced or not
    (
        "用Python写一个函数，计算列表的平均值。",
        'def average(numbers):\n    """Return the arithmetic mean of a list of numbers.\n\n    Raises an error when '
        'the list is empty.\n    """\n    if not numbers:\n        raise ValueError("empty")\n    return sum(numbers) / len(numbers)',
        None,
    ),
    (
        "写一个JavaScript函数，把字符串反转。",
        "/* Reverse a string: split it into characters,\n   reverse them and join them again. */\n"
        "function reverse(s) {\n  return s.split('').reverse().join('');\n}",
        None,
    ),
    (
        "用Ruby写一个问候程序。",
        'puts "Hello there, what is your name?"\nname = gets.chomp\nputs "Nice to meet you, #{name}!"',
        None,
    ),
    (
        "用Flask写一个首页。",
        "@app.route('/')\ndef index():\n    return render_template('index.html')\n\n这个函数返回首页。",
        None,
    ),
    ("Who was Marie Curie? Use the wikipedia tool.", "Marie Curie was wikipedia('Marie Curie').", None),
    # a ReAct-style tool call (LangChain's "Action:" / "Action Input:" lines) is syntax, not English
    ("北京今天天气怎么样？", 'Action: get_weather\nAction Input: {"city": "北京"}\n', None),
    ("帮我算一下BMI，我身高175cm，体重70kg", 'Action: calculate_bmi\nAction Input: {"height_cm": 175}', None),
    # English prose answering a Chinese instruction, even one about an English word
    (
        "生成一个正确使用“opulent”一词的例句。",
        "The wedding was held in an opulent ballroom with gold walls and crystal chandeliers.",
        "question zh, answer en",
    ),
    # half English, half Chinese: mixed, no verdict either way
    ("Please confirm the refund.", "Done: your card was refunded. 身份证号已登记。", None),
    # a Chinese answer that names things in English is a Chinese answer
    ("列出三个欧洲国家。", "1. 法国 (France)\n2. 德国 (Germany)\n3. 意大利 (Italy)", None),
    # dates and the format strings of a few-shot task say no language
    (
        "把日期从一种格式转换成另一种格式。\n[EX Q]: 06/26/1865, input_format=mm/dd/yyyy\n[EX A]: 26/06/1865",
        "11/26/1792\n\n[EX Q]: 11/26/2017, input\\_format=dd/mm/yyyy\n[EX A]: 26/11/2017\n\n"
        "[EX Q]: 02/13/1954, input\\_format=mm/dd/yyyy\n[EX A]: 13/02/1954",
        None,
    ),
    # English arithmetic that langdetect's profiles take for Dutch or Welsh
    (
        "Ann had 3 dozen cookies and ate 2 dozen. How many cookies are left?",
        "Ann had 3 dozen oatmeal cookies - 2 dozen = 1 dozen oatmeal cookies left.",
        None,
    ),
    (
        "Mark has 4 piglets and twice as many ducklings. How many animals does he have?",
        "Mark has 4 piglets * 2 ducklings/piglet = 8 ducklings.\nSo Mark has 4 piglets + 8 ducklings = 12 animals.",
        None,
    ),
    # an administrator's one-liner is code, in no language (AgentBench's OS tasks, unseen: read as Welsh)
    (
        "Create a new user named 'user1' and allow them read access to /myfolder/myfile.",
        "useradd user1 && chmod u+r /myfolder/myfile && chmod u+x /myfolder",
        None,
    ),
    ("How much disk space is used by /usr? Tell me in human-readable format.", "du -sh /usr | awk '{print $1}'", None),
    # the English text a Chinese question gives, edited, is in English; so is the English text it names as
    # the material (Llama2-Chinese's dev_sft, unseen)
    ('将下述句子中的错误单词改正并给出它的正确拼写： "The catt sat on the maat."', '"The cat sat on the mat."', None),
    (
        "给定一段文本，删除其中的所有元音字母。\n文本：“The quick brown fox jumps over the lazy dog.”",
        "Th qck brwn fx jmps vr th lzy dg.",
        None,
    ),
    (
        "为一段英文文字添加合适的标点符号并纠正其中的拼写错误。",
        "Dear Mr. Smith, I hope this email finds you well. I am writing regarding the meeting we had last week.",
        None,
    ),
    # a name transcribed in katakana (or Cyrillic) inside Chinese is Chinese: Japanese sentences write hiragana
    # (KdConv music, unseen); a Japanese question is still Japanese
    (
        "是的呢，日语名字叫ダニエル・パウター，俄语名字叫Паутер, Дэниел，你知道他的年龄吗？",
        "年纪应该是挺大的，我记得是1971年出生的。",
        None,
    ),
    ("他的日文名是什么？", "他的日文名是トム・クルーズ，中文名是汤姆·克鲁斯。", None),
    ("東京タワーの高さはどれくらいですか？", "东京塔高333米。", "question ja, answer zh"),
    # the language asked for the reply, however it is worded (IFEval, unseen) ...
    (
        "Are hamburgers sandwiches? Please respond using only the Kannada language, no other language is allowed.",
        "ಹ್ಯಾಂಬರ್ಗರ್ ಒಂದು ರೀತಿಯ ಸ್ಯಾಂಡ್‌ವಿಚ್ ಆಗಿದೆ, ಏಕೆಂದರೆ ಅದರಲ್ಲಿ ಎರಡು ಬ್ರೆಡ್ ತುಂಡುಗಳ ನಡುವೆ ಮಾಂಸವಿದೆ.",
        None,
    ),
    (
        "Write a weird poem about Yoda in the Persian language.",
        "یودا ناگهان در جهانی دیگر بیدار شد و آسمان را بنفش دید.",
        None,
    ),
    (
        "What is an SRE? Use only Korean in your response.",
        "SRE는 사이트 신뢰성 엔지니어링을 뜻하며, 시스템의 안정성을 관리하는 분야입니다.",
        None,
    ),
    (
        "What are good ideas for a startup? Write a Hindi poem about this.",
        "नए व्यवसाय के विचार हर दिन जन्म लेते हैं, बस हिम्मत चाहिए।",
        None,
    ),
    (
        "Answer this in a different language: what is three times four?",
        "La réponse est douze, car trois fois quatre font douze.",
        None,
    ),
    # ... in a French, Spanish or Japanese request too (M-IFEval, unseen) ...
    (
        "Explica cómo funciona el sistema de votación. Tu respuesta debe estar enteramente en alemán.",
        "Das Wahlsystem der Vereinigten Staaten ist komplex und unterscheidet sich von vielen anderen Systemen.",
        None,
    ),
    (
        "フランス語で、地球の大気について説明してください。",
        "L'atmosphère terrestre est une enveloppe de gaz qui entoure notre planète et la protège.",
        None,
    ),
    (
        "Présentez une collection de descriptions de professions rares mais essentielles. Votre réponse devra être "
        "entièrement rédigée en swahili, sans inclure d'autres langues.",
        "Here is a short list of jobs that few people know about, and why each of them still matters to all of us.",
        "question fr, answer en",
    ),
    # ... and only that one
    (
        "Describe the morning rush in two sentences, using only the Korean language.",
        "早上大家都急急忙忙地赶去上班，地铁里挤满了人。",
        "question en, answer zh",
    ),
    # ... but Chinese text edited into English, and an English proverb explained, are mismatches
    (
        "请将以下短文进行编辑，修正语法和标点。\n有些人天生拥有优秀的领导技能，他们能够激励和引导其它人实现共同目标。",
        "Some people are born with excellent leadership skills, and they can motivate and guide others to achieve common goals.",
        "question zh, answer en",
    ),
    (
        "解释这句英文谚语的意思：“An apple a day keeps the doctor away.”",
        "This proverb means that eating healthy food such as apples every day helps you stay healthy and avoid the doctor.",
        "question zh, answer en",
    ),
    # Japanese written mostly in kanji is Japanese by its own shapes of Han (県, 圏, 歴), and Han with
    # no shape of either language's may be Japanese (ELYZA-tasks, Japanese MT-bench answers, unseen) ...
    ("伊勢神宮は何県？", "三重県です。", None),
    (
        "日本の三大都市圏である首都圏、近畿圏、中京圏が日本の人口分布や経済に与える影響は何ですか？",
        "首都圏：東京への集中による人口過密、交通渋滞、住宅不足の深刻化。",
        None,
    ),
    (
        "次のカテゴリーがあります - 文学、歴史、科学、芸術。以下の質問を分析し、カテゴリーに割り当ててください。",
        "1. 文学\n2. 歴史\n3. 科学\n4. 芸術",
        None,
    ),
    (
        "以下の記事から日付をすべて抽出せよ。\n24日から北日本で大雪となり、26日 木曜日ごろまで続きます。",
        "24日、25日、26日（木曜日）",
        None,
    ),
    # ... while Chinese, simplified or traditional, answering a Japanese question fails
    (
        "次の言葉を順に全て使って、1つの文を書いてください\n\n全力、安全、活用、軽減",
        "在確保安全的情況下，我將全力以赴地活用所有資源，以期實現輕減負荷的目标。",
        "question ja, answer zh",
    ),
    (
        "花粉症の方々にとって、春は憂鬱な季節です。花粉症でも春を楽しむコツを3つ考えてください。",
        "1. 避开花粉高峰时间：花粉飞散量最多的时间段是晴天的中午。所以在春季，尽量避免在这些时段外出。",
        "question ja, answer zh",
    ),
    # ... and so does a Japanese answer that slips into Chinese mid-way (ELYZA-tasks answered by Qwen1.5, unseen),
    # but not Chinese quoted where the user turn names the language
    (
        "以下の製品について、Facebookで流す広告を書いてください。子供のいる親をターゲットにしてください。",
        "【Facebook広告】\n\n标题：保護の翼に飛ぶ！让孩子安全无虑的冒险时刻 🚀\n\n1. 子供が公園で自由に遊ぶ様子を見守ります。",
        "question ja, answer ja with zh",
    ),
    (
        "「你好」は中国語でどういう意味ですか？",
        "「你好」は中国語で「こんにちは」という意味です。例えば「你好，我是学生」は「こんにちは、私は学生です」です。",
        None,
    ),
    # a language required ("translate into", "翻译成", "영어로 번역") that comes back in the user's own fails ...
    (
        "Translate into French: The weather is nice today and we are going to the beach.",
        "Today the weather is lovely, and we are heading to the beach.",
        "request fr, answer en",
    ),
    (
        "把这句话翻译成英文：今天天气很好，我们去海边玩吧。",
        "今天天气很好，我们去海边玩吧。这句话的意思是天气不错。",
        "request en, answer zh",
    ),
    (
        "다음 문장을 영어로 번역해 주세요: 오늘은 날씨가 정말 좋네요.",
        "오늘은 날씨가 정말 좋네요. 이 문장은 날씨가 좋다는 뜻입니다.",
        "request en, answer ko",
    ),
    # ... unless a line or a new quote of it is in that language
    (
        "Translate into French: The weather is nice today and we are going to the beach.",
        "Here is the translation:\nIl fait beau aujourd'hui et nous allons à la plage.",
        None,
    ),
    (
        'Translate the phrase "bon voyage" into Spanish.',
        'In Spanish "bon voyage" can be translated as "buen viaje".',
        None,
    ),
    # a text in capitals is read in small letters: French JSON in capitals is no Vietnamese (M-IFEval, unseen),
    # English in capitals no language-less text
    (
        "Présentez les phases du cycle de l'eau. Structure l'intégralité de ta réponse en JSON, et écris toute ta "
        "réponse en MAJUSCULES uniquement, sans aucune lettre en minuscule.",
        'JSON\nALORS\n{\nALORS\n  "PHASES": [\nALORS\n  {\nALORS\n    "PREMIERE": "VAPOURETTE",\nALORS\n    "DEUXIEME": '
        '"VAPORISATION",\nALORS\n    "TROISIEME": "GRANDEUR",\nALORS\n    "QUATRIEME": "PRECIPITATION",\nALORS\n    '
        '"CINQUIEME": "RÉCUPERATION",\nALORS\n    "SECONDE": "CONDENSATION",\nALORS\n    "SECONDE": "CONDENSATION",',
        None,
    ),
    (
        "请用一句话介绍巴黎。",
        "PARIS IS A BEAUTIFUL CITY, KNOWN FOR ITS MUSEUMS, ITS CAFES AND ITS CATHEDRAL.",
        "question zh, answer en",
    ),
    # a Chinese answer naming a Japanese restaurant (CrossWOZ), a task described with no text to translate (ToolBench)
    (
        "你好，我想去吃饭。请帮我找一家人均消费是100-150元的餐馆。",
        "建议您去味彩炭火烤肉或千只鹤手作り料理 居楽屋(昌平店)。",
        None,
    ),
    (
        "My friend needs assistance in translating a document from Japanese to Korean. Can you help with that?",
        "Yes, I can assist with translating a document from Japanese to Korean. Please send me the document's text.",
        None,
    ),
    # a Korean request for English (LogicKor, unseen)
    (
        "위 답변을 영어 문장 3개로 요약한 후. 해당 문장에 있는 단어 3개를 선택하여 단어의 의미를 설명해라.",
        "1. Justice is a key idea in law, but it is hard to define clearly.\n2. Shared values help people agree on it.",
        None,
    ),
]
ONE_EXCHANGE_CHECKED = Batched("DQ302", [record(question, answer) for question, answer, _ in ONE_EXCHANGE])


@pytest.mark.parametrize(("question", "answer", "message"), ONE_EXCHANGE)
def test_one_exchange(question, answer, message):
    run = ONE_EXCHANGE_CHECKED.run(record(question, answer))
    assert_findings(run, {0: message} if message else {})
    if message:
        assert run.turns == [2]
        evidence = run.evidence[0]
        assert evidence.startswith("answer ")
        assert "; question (turn 1) " in evidence or "; the user turn (turn 1) requires " in evidence


@pytest.mark.parametrize(
    "record_",
    [
        record("把这句话翻译成英文：我爱你。", "I love you, and I always will."),
        record(
            "Translate into Italian: where is the library? I would like to borrow a book for my sister.",
            "Dove si trova la biblioteca? Vorrei prendere in prestito un libro per mia sorella.",
        ),
        record(
            "How would you greet a class in Spanish first thing in the morning?",
            "Buenos días a todos, ¿cómo están ustedes hoy?",
        ),
        record("用英语回答：你最喜欢的季节是什么？", "My favourite season is autumn, for its colours."),
        # the user's own language, asked for without its name (arena-hard, unseen)
        record(
            "Imagine you are a user from Vietnam. Using your native language, write three queries that would make "
            "a search engine return pages about computer science news.",
            '1. "Tin tức công nghệ mới nhất hôm nay"\n2. "Các bài viết về khoa học máy tính"\n3. "Cập nhật tin tức '
            'công nghệ thông tin"',
        ),
        # a language the user is learning, named (AlpacaEval zephyr, unseen)
        record(
            "I'm an English speaker trying to learn Japanese kanji using mnemonics. Can you create a mnemonic for "
            "the kanji meaning wish?",
            "(深夜12時に願いを作るとき、心が時計のように鳴り、願いを忘れないように心に持つことができます。)",
        ),
        # "in English" named for what is asked about (AlignBench, unseen)
        record(
            "“行船跑马三分险”是一句中文谚语，意思是指做任何事都有一定的风险。英语中和这句谚语是同义谚语的有什么？",
            '"Every path has its puddle." 或 "Nothing ventured, nothing gained."',
        ),
    ],
)
def test_a_question_asking_for_another_language_may_get_one(record_):
    assert run_rule("DQ302", [record_]).failed == []
    assert run_rule("DQ302", [record_], {"allow-translation": False}).failed == [0]


def test_every_exchange_is_judged_and_the_finding_names_the_first_turn_at_fault():
    switched_early = conversation(
        "The ice crystals sparkled in the frosty moonlight. Rewrite this sentence with more feeling.",
        "冰晶在寒冷的月光下闪闪发光，美得让人屏住呼吸。",
        "你能解释一下热力学第二定律吗？",
        "热力学第二定律指出，一个孤立系统的熵总是随时间增加。",
        "那量子力学呢？",
        "Quantum mechanics describes how matter and energy behave at the scale of atoms.",
    )
    same = conversation(
        "你能解释一下热力学第二定律吗？",
        "热力学第二定律指出，一个孤立系统的熵总是随时间增加。",
        "那量子力学呢？",
        "量子力学描述了原子尺度上物质和能量的行为。",
    )
    run = run_rule("DQ302", [switched_early, same])
    assert_findings(run, {0: "question en, answer zh (also turns 6)"})
    assert run.turns == [2, None]
    assert "question (turn 1) en (" in run.evidence[0] and "no language within 0.3 nats/n-gram" in run.evidence[0]


def test_titles_in_book_title_marks_are_names_not_the_turns_language():
    """English song titles a Chinese speaker lists in 《》 are names (KdConv music dialogues, unseen):
    the turn is Chinese, and so may its answer be."""
    chat = {
        "conversations": [
            {"from": "human", "value": "她还有哪些代表作？"},
            {"from": "gpt", "value": "有《Automatic》、《First Love》、《Flavor Of Life》。"},
            {"from": "human", "value": "有《Holiday》、《21 Guns》、《Boulevard of Broken Dreams》。"},
            {"from": "gpt", "value": "哦，还有我没听过的呢，我回去找一下听听。"},
        ]
    }
    assert_findings(run_rule("DQ302", [chat]), {})


def test_alpaca_history_is_judged_too():
    run = run_rule(
        "DQ302",
        [
            record(
                "那量子力学呢？",
                "量子力学描述了原子尺度上物质和能量的行为。",
                history=[
                    ("你能解释一下热力学第二定律吗？", "The second law says that the entropy of a closed system grows.")
                ],
            )
        ],
    )
    assert_findings(run, {0: "question zh, answer en"})
    assert run.turns == [2]


def test_a_tool_call_and_its_result_are_context_not_judged():
    data = {
        "conversations": [
            {"from": "human", "value": "你好，请帮我查一下北京明天的天气。"},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Beijing"}}'},
            {"from": "observation", "value": '{"forecast": "Sunny with a light breeze", "high": 24, "low": 13}'},
            {"from": "gpt", "value": "北京明天晴，有微风，最高气温二十四度，最低十三度。"},
        ]
    }
    english = {
        "conversations": [
            *data["conversations"][:3],
            {
                "from": "gpt",
                "value": "Tomorrow in Beijing will be sunny with a light breeze, with a high of 24 degrees.",
            },
        ]
    }
    run = run_rule("DQ302", [data, english])
    assert_findings(run, {1: "question zh, answer en"})
    assert run.turns == [None, 4]


def test_an_answer_to_a_turn_that_cannot_tell_is_held_to_the_conversation():
    after_ok = conversation(
        "我想学做菜，你能帮我吗？",
        "当然可以！你想学什么菜？",
        "OK",
        "Great, let's start with fried rice. First, cook the rice a day ahead.",
    )
    run = run_rule("DQ302", [after_ok])
    assert_findings(run, {0: "conversation zh, answer en"})
    assert run.turns == [4]
    assert "question (turn 3) too short to tell; conversation zh (1 of 2 user turns)" in run.evidence[0]
    assert run_rule("DQ302", [after_ok], {"conversation": False}).failed == []


def test_a_standing_request_for_another_language_lets_every_later_answer_be_in_it():
    asked = conversation(
        "From now on, please answer only in French. What is the capital of Italy?",
        "La capitale de l'Italie est Rome, une ville magnifique.",
        "And the capital of Spain?",
        "La capitale de l'Espagne est Madrid, au centre du pays.",
    )
    unasked = conversation(
        "What is the capital of Italy?",
        "La capitale de l'Italie est Rome, une ville magnifique.",
        "And the capital of Spain?",
        "La capitale de l'Espagne est Madrid, au centre du pays.",
    )
    run = run_rule("DQ302", [asked, unasked])
    assert_findings(run, {1: "question en, answer fr (also turns 4)"})


def test_a_request_asks_for_the_languages_it_names():
    french_asked = "From now on, please answer in French. What is the capital of Italy?"
    run = run_rule(
        "DQ302",
        [
            record(french_asked, "La capitale de l'Italie est Rome, une ville magnifique et très ancienne."),
            record(french_asked, "Die Hauptstadt von Italien ist Rom, eine sehr alte und schöne Stadt."),
            record(
                "请用中文回答：意大利的首都是哪里？",
                "The capital of Italy is Rome, a very old and beautiful city.",
            ),
        ],
    )
    assert_findings(run, {1: "question en, answer de", 2: "question zh, answer en"})


@pytest.mark.parametrize(
    "record_",
    [
        # the language of the material the answer replies to, asked for without naming it (AlignBench)
        record(
            "你是一位客户服务的AI邮件助手。你的任务是给一位重要客户发送邮件回复。根据客户通过“```”分隔的邮件内容生成回复，回复的内容要符合"
            "邮件规范，用简明而专业的语气写信。写信的语言要和客户邮件内容的语言保持一致。请用我方的身份进行回复。"
            "客户邮件内容：Dear Alice, thanks for your e-mail. We wish you a nice fair.",
            "Dear Bob, thank you for letting us know. We look forward to meeting your colleague at the fair. "
            "Best regards, Alice",
        ),
        record(
            "You are the front desk of a city museum. Keep every reply short and friendly, give opening hours "
            "when asked, and always reply in the same language as the visitor's message. Visitor: Wann öffnet ihr?",
            "Das Museum öffnet morgen früh um neun Uhr und schließt am Abend um sechs Uhr.",
        ),
    ],
)
def test_a_reply_in_the_language_of_the_material_may_be_asked_without_naming_it(record_):
    assert run_rule("DQ302", [record_]).failed == []
    assert run_rule("DQ302", [record_], {"allow-translation": False}).failed == [0]


def test_a_text_to_say_in_another_language_is_a_translation_asked():
    text = (
        "The High Court and the Constitutional Court are asking the Court of Justice to examine the validity "
        "of the directive in the light of two fundamental rights. Say this using Spanish."
    )
    answer = (
        "El Tribunal Superior y el Tribunal Constitucional están solicitando al Tribunal de Justicia que "
        "examine la validez de la directiva a la luz de dos derechos fundamentales."
    )
    assert_findings(run_rule("DQ302", [record(text, answer)]), {})


def test_an_opening_in_one_language_before_a_colon_and_material_in_another_may_be_answered_in_either():
    tags = (
        "masterpiece, best quality, highly detailed, ultra detailed, cold, solo, one girl, detailed eyes, shining "
        "golden eyes, long silver hair, expressionless, long sleeves, puffy sleeves, white wings, shining halo, "
        "silver jewelry, bare feet, standing in a garden of white roses under a pale moon, soft light, depth of field"
    )
    prompt = "以下是用提示词帮助模型生成图像的例子：" + tags
    answer = "根据您输入的提示词，这幅画描绘了一个表情冷漠的女孩，长发飘逸，穿着蓬松的长袖，背后有一对白色的翅膀，头上有光环。"
    assert_findings(run_rule("DQ302", [record(prompt, answer)]), {})


def test_an_emoticon_is_no_language_by_its_script():
    """Two of one letter drawing a face ("ಥ‿ಥ", Kannada letters) or a shrug's katakana say no
    language (AlignBench, unseen); a word of that script still does."""
    records = [
        record("请用颜文字表示出“笑哭”的情绪", "ಥ‿ಥ"),
        record("How do you shrug in text?", "¯\\_(ツ)_/¯"),
        record("What is 'hello' in Kannada? Just the word.", "ನಮಸ್ಕಾರ"),
        record("Please greet my grandmother warmly for me, she is visiting us today.", "ನಮಸ್ಕಾರ ಅಜ್ಜಿ"),
    ]
    assert_findings(run_rule("DQ302", records), {3: "question en, answer kn"})


def test_asking_whether_the_assistant_has_a_language_may_be_answered_in_it():
    records = [
        record("Do you know how to speak German?", "Ja, ich kann Deutsch sprechen und schreiben."),
        # saying what the user cannot read asks for no answer in it
        record("I can't read French well. What does 'bonjour' mean?", "Bonjour veut dire bonjour, une salutation."),
    ]
    assert_findings(run_rule("DQ302", records), {1: "question en, answer fr"})


def test_naming_a_language_excuses_that_turn_only():
    run = run_rule(
        "DQ302",
        [
            conversation(
                "How can I improve my English writing?",
                "Read widely, write every day and ask for feedback on what you write.",
                "我还想知道怎么提高口语。",
                "Practise speaking with native speakers as often as you can, and record yourself.",
            )
        ],
    )
    assert_findings(run, {0: "question zh, answer en"})
    assert run.turns == [4]


def test_the_system_prompt_may_set_the_language():
    tutor = record(
        "What is the capital of Italy?",
        "La capitale de l'Italie est Rome, une ville magnifique.",
        system="You are a French tutor. Always answer in French, whatever the question's language.",
    )
    assert run_rule("DQ302", [tutor]).failed == []


def test_an_answer_that_slips_into_chinese_mid_way_fails_unless_chinese_was_asked_about():
    slipped = (
        "Here are some tips for a wooden table:\n1. Wipe it with a soft, dry cloth every week.\n"
        "2. 定期给桌子打蜡，可以保护木材的表面不受损伤。\n3. Keep it out of direct sunlight."
    )
    records = [
        record("How do I take care of a wooden table?", slipped),
        # Chinese asked about, a name in passing, a conversation the user writes in Chinese
        record("How do you write 'wooden table' in Chinese, with an example sentence?", slipped),
        record("Who was Li Bai?", "Li Bai (李白) was a Tang dynasty poet, famous for his poems about the moon."),
        record("Write a sentence that is not in English, and explain it.", slipped),
    ]
    run = run_rule("DQ302", records)
    assert_findings(run, {0: "question en, answer "})
    assert run.messages[0].endswith("with CJK text")
    assert run.evidence[0].startswith(
        'answer holds 20 CJK characters, the longest run "可以保护木材的表面不受损伤" (13 characters)'
    )
    chinese_chat = conversation(
        "我家的木桌子怎么保养？", "定期给桌子打蜡，可以保护木材的表面不受损伤。", "OK, thanks!", slipped
    )
    standing = conversation(
        "From now on, answer in Chinese please.",
        "好的，我以后都用中文回答您的问题。",
        "How do I care for a table?",
        slipped,
    )
    assert run_rule("DQ302", [chinese_chat, standing]).failed == []


def test_rule_doc():
    doc = rule_doc("DQ302")
    assert doc.startswith("DQ302 language-mismatch  (record rule, severity error, on by default")
    assert "allow-translation (bool, default True)" in doc and "conversation (bool, default True)" in doc
    assert "法国的首都是哪里？" in doc and "fails: 'question zh," in doc


# Failures on the real files, read one by one: the Chinese demo set's 18 are Chinese
# instructions answered in English prose, seven of them about English words or sentences (a
# coinage, an example sentence, parts of speech), which are switches all the same.
EXPECTED = {"llamafactory_alpaca_zh_demo.json": 18}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    report = dqe.check(real(name), select=["DQ302"])
    (rule,) = [r for r in report.rules if r.code == "DQ302"]
    assert rule.failed == EXPECTED.get(name, 0)
    assert report.dataset["languages"]["mismatch"] == rule.failed


def test_the_chinese_demo_set_is_chinese():
    languages = dqe.check(real("llamafactory_alpaca_zh_demo.json"), select=["DQ302"]).dataset["languages"]
    assert languages["question"] == {"zh": 1000}
    assert languages["answer"]["zh"] >= 960 and languages["answer"]["en"] <= 25
    assert languages["mismatch"] == 18


def test_a_reasoning_trace_is_not_the_answer():
    # distilled reasoning data: a trace in <think> before the answer; the answer is what follows it
    question = "一个数的3倍加5等于20，这个数是多少？"
    trace = (
        "<think>\nOkay, the user asks which number, multiplied by three and increased by five, gives twenty. "
        "So three times the number is fifteen, and the number is five. Let me check it once more before I answer.\n"
        "</think>\n\n"
    )
    answers = [
        "这个数是5，因为3乘以5再加5等于20。",
        "The number is five, because three times five plus five makes twenty.",
    ]
    run = run_rule("DQ302", [record(question, trace + answer) for answer in answers])
    assert_findings(run, {1: "question zh, answer en"})


def test_a_worked_answer_of_numbers_and_calculator_notes_is_in_its_question_s_language():
    """GSM8K solutions: a few English words between formulas and <<...>> notes, repeated on every
    line, read as Somali or French when each line's words counted again (unseen)."""
    solutions = [
        (
            "Jana has 27 puppies. Two thirds of Jana's puppies are Pomeranians. One third of the Pomeranians are "
            "girls. How many girl Pomeranians does Jana have?",
            "Jana has 27 x 2/3 = <<27*2/3=18.0>>18 Pomeranians.\nJana has 18 x 1/3 = <<18*1/3=6.0>>6 girl Pomeranians.\nA: 6",
        ),
        (
            "Audrey has to take two math tests to pass 6th grade. She must correctly answer 70% of the total "
            "questions to move on to the 7th grade. The first test has 70 questions and she gets 60% of them "
            "correct. The second test has 40 questions. How many questions does she need to get right on the "
            "second test to move onto the 7th grade?",
            "First test: 70 (70%) - 60 (60%) = <<70-60=10>>10 questions\nSecond test: 40 (100%) - 10 (100%) = "
            "<<40-10=30>>30 questions\nTotal questions right: 10 + 30 = <<10+30=40>>40 questions\nA: 40",
        ),
    ]
    assert run_rule("DQ302", [record(q, a) for q, a in solutions]).passed == [True, True]


def test_code_answers_to_a_chinese_question_hold_no_other_language():
    # Chinese-LLaMA-Alpaca's CODE answers (unseen): a block fenced with four backticks around one
    # with three closes at four (CommonMark), and shell commands on lines of their own are code
    nested = (
        "````python\n```python\nnames = ['Alice', 'Bob']\nheights = [55, 60]\nprint(sorted(names))\n```\n\n"
        "输出：\n\n```\n['Alice', 'Bob']\n```\n````"
    )
    asked = [
        record("请写一段Python代码，将所有同学的姓名按身高排序。", nested),
        record(
            "请你给出在linux下将两个文件合并，然后按行去重的bash命令", "cat file1 file2 | sort | uniq > output_file"
        ),
        record("如何使用git命令提交对README.md文件的修改？", 'git add README.md\ngit commit -m "update hyperparams"'),
        # prose after the commands is still judged
        record("如何查看当前目录下的文件？", "ls -la\nThis command lists every file in the folder, hidden ones too."),
    ]
    assert_findings(run_rule("DQ302", asked), {3: "question zh, answer en"})
