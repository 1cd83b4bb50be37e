"""DQ102 length-bounds: the minimum depends on what the question asks; short valid answers pass."""

from __future__ import annotations

import pytest

import dqe
from dqe import ConfigError
from dqe.testing import conversation, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, SCENE_WHYS, failures, fu_hongxue_scene, real


def qa(question, answer):
    return {"instruction": question, "output": answer}


SHORT_VALID = [
    qa("Classify the sentiment of this review: I love it.", "Positive"),
    qa("Translate 'good afternoon' into Portuguese.", "Boa tarde"),
    qa("Is the earth round? Answer yes or no.", "Yes"),
    qa("Extract the year from: 'Founded in 1998 in Menlo Park.'", "1998"),
    qa("把这句话翻译成英文：谢谢。", "Thanks."),
    qa("判断这句话的情感：我很开心。", "积极"),
    qa("hi", "Hello!"),
    qa("Write a short story about a dragon.", "Once upon a time, a small dragon learned to fly over the sea."),
    # a pick asked for ("介绍一个"), a field named ("详细地址"), a compliment ("真够详细的") (CrossWOZ, unseen)
    qa("吃了饭我想找个可以游玩1.5小时的景点，给我介绍一个吧！", "蜂巢剧场挺不错的！"),
    qa("也行，听你的，请把详细地址告诉我吧。", "具体地址是黄南苑公交站。"),
    qa("真够详细的，哈哈。什刹海电话多少？", "那里电话是010-84018677。"),
    qa("再帮我介绍个能游玩1小时-2小时的景点，门票最好是免费的。", "去宋庄画家村画廊吧！"),
    qa("好的，够惨的了，同样谢谢你的详细解答！", "不用客气！"),
    # a wish to talk, not a topic; a person's own motive; "called what", no why (CDConv chit-chat, unseen)
    qa("这次遇见你也是缘分。我能和你谈谈吗？", "你想谈啥"),
    qa("那你为什么不在网上买呢？", "我没钱啊!"),
    qa("你知道一个热情的人通常被称为什么吗？", "不知道!"),
]
SHORT_VALID_CHECKED = Batched("DQ102", SHORT_VALID)


@pytest.mark.parametrize("record", SHORT_VALID)
def test_short_valid_answers_pass(record):
    assert SHORT_VALID_CHECKED.failures(record) == {}


def test_long_form_tasks_need_longer_answers():
    found = failures(
        [qa("Write a short story about a dragon.", "Once upon a time."), qa("请写一篇关于春天的文章。", "春天来了。")],
        "DQ102",
    )
    assert found[0] == "answer has 5 tokens, fewer than 10 (long-form task)"
    assert found[1] == "answer has 6 tokens, fewer than 15 (long-form task)"  # a Chinese word takes more tokens


def test_a_short_answer_task_wins_over_a_long_form_one():
    # "describe ... in one word" is a short-answer task, though "describe" is long-form
    assert failures([qa("Describe the weather today in one word.", "Sunny")], "DQ102") == {}
    # ... and so is "describe it in three adjectives" (RoleBench, unseen)
    assert (
        failures(
            [
                qa(
                    "Choose an item from your home and describe it in three adjectives.\nA teapot",
                    "Elegant, Polished, Traditional.",
                )
            ],
            "DQ102",
        )
        == {}
    )


def test_raised_minimums_spare_short_answer_tasks_and_chit_chat():
    records = [
        qa("Classify the sentiment: I love it.", "Positive"),  # short-answer task: 1 token allowed
        qa("Give me a fruit.", "Apple"),  # an ordinary question: held to the raised minimum
        qa("thanks", "You're welcome!"),  # chit-chat: a one-token question
        qa("Explain recursion.", "Recursion is a function calling itself on a smaller input."),  # held to 5
    ]
    found = failures(records, "DQ102", rules={"DQ102": {"min-answer-tokens": 3, "min-question-tokens": 5}})
    assert found == {1: "answer has 1 token, fewer than 3", 3: "question has 4 tokens, fewer than 5 (long-form task)"}


def test_maximums_for_question_and_answer_separately():
    words = " ".join(["word"] * 300)
    records = [qa(words, "Fine."), qa("Tell me about it.", words)]
    found = failures(records, "DQ102", rules={"DQ102": {"max-question-tokens": 100, "max-answer-tokens": 200}})
    assert found == {0: "question has 300 tokens, more than 100", 1: "answer has 300 tokens, more than 200"}


def test_a_how_to_is_answered_by_a_whole_guide():
    """ "How to cook corn?" asks for a guide: a wikiHow article of 2,000-3,500 tokens is what was
    asked (LIMA, unseen), up to the context DQ101 holds; an ordinary question keeps the option's
    maximum, and a guide still cannot be a few words."""
    guide = " ".join(["Boil the corn for five minutes, then drain it and add butter."] * 250)  # ~3,300 tokens
    records = [
        qa("How to cook corn?", guide),
        qa("How do I get a known traveler number?", guide),
        qa("如何照顾小猫？", guide),
        # a plight told, then what to do asked (PsyQA, unseen)
        qa("感觉愤怒，不敢表达自己的需要，怎么办？", guide),
        qa("Tell me about corn.", guide),
    ]
    found = failures(records, "DQ102")
    assert list(found) == [4] and found[4].endswith("more than 2048")
    assert failures([qa("How to cook corn?", " ".join(["Boil it."] * 1200))], "DQ102") != {}  # past 4096


def test_empty_answers_are_left_to_dq001():
    assert failures([qa("Write a poem.", ""), qa("写一首诗。", "\u200b")], "DQ102") == {}


def test_options_are_checked():
    with pytest.raises(ConfigError, match="min-answer-tokens .* is larger than max-answer-tokens"):
        dqe.check([qa("a", "b")], select=["DQ102"], rules={"DQ102": {"min-answer-tokens": 50, "max-answer-tokens": 10}})


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    # Read: every answer fits its task; the Chinese demo's bare topics ("友谊", "温室效应") are
    # topic prompts, but one instruction is two words cut out of a list ("隐喻 / 不是"), and the
    # English demo's article on the Resplendent Quetzal stops mid-sentence.
    found = failures(real(name), "DQ102")
    if name == "llamafactory_alpaca_zh_demo.json":
        assert list(found.values()) == ["question is a fragment: 2 word(s), no request"]
    elif name == "llamafactory_alpaca_en_demo.json":
        assert list(found.values()) == ['answer stops mid-sentence ("reminder of the importance of"): it was cut off']
    else:
        assert found == {}


def sharegpt(*turns):
    return {"conversations": [{"from": role, "value": value} for role, value in turns]}


def test_every_exchange_is_judged_and_the_turn_at_fault_named():
    chat = sharegpt(
        ("human", "Write a poem about the sea."),
        ("gpt", "Waves."),
        ("human", "Thanks! What is the capital of France?"),
        ("gpt", "Paris."),
    )
    run = run_rule("DQ102", [chat])
    assert run.messages == ["answer has 3 tokens, fewer than 10 (long-form task)"]
    assert run.turns == [2]
    assert run.evidence == [
        'long-form task ("Write a poem"); answer 3 tokens, bounds 10-4096; question 7 tokens, bounds 1-any'
    ]


def test_a_long_question_in_an_early_turn_names_the_question():
    long = " ".join(["word"] * 60)
    chat = sharegpt(("human", long), ("gpt", "Noted."), ("human", "Now summarize it."), ("gpt", "Words."))
    run = run_rule("DQ102", [chat], {"max-question-tokens": 50})
    assert run.turns == [1] and run.messages == ["question has 60 tokens, more than 50"]


def test_a_short_reply_after_a_tool_call_passes_the_tool_did_the_work():
    with_tool = sharegpt(
        ("human", "Describe the weather in Paris right now."),
        ("function_call", '{"name": "weather", "arguments": {"city": "Paris"}}'),
        ("observation", '{"sky": "sunny", "celsius": 20}'),
        ("gpt", "Sunny, 20 degrees."),
    )
    without = sharegpt(("human", "Describe the weather in Paris right now."), ("gpt", "Sunny, 20 degrees."))
    assert failures([with_tool, without], "DQ102") == {1: "answer has 7 tokens, fewer than 10 (long-form task)"}


def test_an_inline_call_to_a_declared_tool_does_the_work_and_an_undeclared_one_does_not():
    declared = qa(
        "toolformer: enabled\nwikipedia(query)\nWrite a summary of the given event.\nFrench Revolution",
        "Summary: wikipedia('French Revolution')",
    )
    undeclared = qa("Write a poem about cats.", "poem('cats')")
    assert failures([declared, undeclared], "DQ102") == {1: "answer has 5 tokens, fewer than 10 (long-form task)"}


MATERIAL_AND_PURPOSE = [
    # the request is the first line: the input's words ("essay", "explain", "why") do not set the task
    qa("Classify the text as fiction or non-fiction.\nThis essay explains why the sea is salty.", "Non-fiction"),
    # "describe" says what the adjectives are for; the request is for three words
    qa("Generate three adjectives to describe a desert.", "Arid, vast, barren."),
    # a request that lists the labels to pick from fixes the answer's form, "analyze" or not
    qa("Analyze the tone of the email. These tones include Formal, Worried and Joyful.\nDear Sir, ...", "Formal"),
    qa("Summarize the movie. Try to explain it in just one sentence.\nThe Shining", "A hotel drives a writer mad."),
    qa("解释这个成语的意思，只需回答一个词。\n画蛇添足", "多余"),
]
MATERIAL_AND_PURPOSE_CHECKED = Batched("DQ102", MATERIAL_AND_PURPOSE)


@pytest.mark.parametrize("record", MATERIAL_AND_PURPOSE)
def test_material_and_purpose_clauses_do_not_make_a_long_form_task(record):
    assert MATERIAL_AND_PURPOSE_CHECKED.failures(record) == {}


PROSE_REQUESTS = [
    "Write a 500-word essay about climate change.",
    "Tell me a story about a dragon.",
    "Give me a detailed explanation of photosynthesis.",
    "Thanks. Can you expand on that?",
    "讲个故事吧",
    "请详细介绍一下长城。",
    "能再详细一点吗？",
    "请给出详细的解释。",
    "给我介绍一下故宫吧。",
]
PROSE_REQUESTS_CHECKED = Batched("DQ102", [qa(question, "OK.") for question in PROSE_REQUESTS])


@pytest.mark.parametrize("question", PROSE_REQUESTS)
def test_requests_for_prose_in_other_words_are_long_form(question):
    (message,) = PROSE_REQUESTS_CHECKED.failures(qa(question, "OK.")).values()
    assert "(long-form task" in message


@pytest.mark.parametrize(
    "question", ["Write a six-word story about love.", "Write a one-line poem about rain.", "Give me a one-liner."]
)
def test_a_small_size_the_request_fixes_allows_a_short_answer(question):
    assert failures([qa(question, "Rain taps; I listen.")], "DQ102") == {}


def test_a_why_answered_in_a_word_or_two_fails_and_a_reason_passes():
    found = failures(
        [
            qa("Why is the sky blue?", "Rayleigh scattering."),
            qa("Why is the sky blue?", "Because air scatters blue light more than red."),
            qa("为什么冬天冷？", "日照少。"),
            qa("为什么冬天冷？", "因为冬天太阳斜射，日照时间短。"),
            qa("你为什么认为冬天冷？", "日照少。"),  # an opinion's grounds, not a motive
        ],
        "DQ102",
    )
    assert found == {
        0: "answer has 4 tokens, fewer than 5 (explanation task)",
        2: "answer has 5 tokens, fewer than 10 (explanation task)",  # the Chinese table's own bound
        4: "answer has 5 tokens, fewer than 10 (explanation task)",
    }


def test_a_why_put_to_a_character_in_a_scene_asks_a_motive():
    # role-play: the other character's "why" is a line of the scene, answered in voice (CharacterEval, unseen)
    scene = fu_hongxue_scene(*SCENE_WHYS)
    assert failures([scene, conversation("为什么冬天冷？", "日照少。")], "DQ102") == {
        1: "answer has 5 tokens, fewer than 10 (explanation task)"
    }


def test_which_kind_asked_with_wei_he_is_no_why():
    # "诊断为何种疾病" is "diagnosed as which disease": a name answers it (unseen Huatuo)
    assert failures([qa("一位患者眼距增宽，其VI、VII运动神经萎缩，诊断为何种疾病？", "Noonan综合征")], "DQ102") == {}
    assert failures([qa("天空为何是蓝色的？", "散射。")], "DQ102") == {
        0: "answer has 5 tokens, fewer than 10 (explanation task)"
    }


def test_the_evidence_names_the_task_its_words_and_the_counts_against_the_bounds():
    run = run_rule("DQ102", [qa("Please describe the water cycle.", "Rain.")])
    assert run.evidence == [
        'long-form task ("Please describe"); answer 2 tokens, bounds 10-4096; question 6 tokens, bounds 1-any'
    ]


def test_a_user_pack_can_give_one_language_its_own_bounds(tmp_path):
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "length.toml").write_text(
        '[tasks.recipe]\nmin-answer-tokens = 20\n\n[tasks.recipe.de]\nboundaries = true\nmarkers = ["rezept"]\n'
        "min-answer-tokens = 30\n",
        encoding="utf-8",
    )
    found = failures(
        [qa("Gib mir ein Rezept für Brot.", "Mehl, Wasser, Salz, Hefe: kneten und backen.")],
        "DQ102",
        rule_packs=[str(folder)],
    )
    assert found == {0: "answer has 18 tokens, fewer than 30 (recipe task)"}
    (folder / "length.toml").write_text('[tasks.recipe.de]\nmarkers = ["rezept"]\nmin-answer-tokens = -1\n')
    with pytest.raises(ConfigError, match=r"'tasks.recipe.de.min-answer-tokens' must be a whole number >= 0"):
        dqe.check([qa("a", "b")], select=["DQ102"], rule_packs=[str(folder)])


FRAGMENT_ANSWER = "A long enough answer that does what it can with the question."
FRAGMENTS = [
    ("B) Nile River", "question is a fragment: 3 word(s), no request"),  # an answer option
    ("隐喻 / 不是", "question is a fragment: 2 word(s), no request"),  # two words cut from a list
    ("友谊", None),  # a bare term is a topic: "friendship" is answered as such
    ("Python", None),
    ("Summarize this", None),  # a request whose input is missing: no length problem
    ("Write a poem", None),  # a task
    ("Who are you?", None),  # a question mark
    ("道歉。", None),  # a sentence
    ("嘿，你好啊", None),  # chit-chat
    ("Hey there, hello!", None),
    ("跟我重复：“<|abracadabra|>”", None),  # "repeat after me": a request
]
FRAGMENTS_CHECKED = Batched("DQ102", [qa(question, FRAGMENT_ANSWER) for question, _ in FRAGMENTS])


@pytest.mark.parametrize(("question", "message"), FRAGMENTS)
def test_an_opening_question_cut_out_of_other_text_is_a_fragment(question, message):
    found = FRAGMENTS_CHECKED.failures(qa(question, FRAGMENT_ANSWER))
    assert found == ({0: message} if message else {})


def test_a_short_follow_up_is_no_fragment_and_the_fragment_names_its_turn():
    chat = sharegpt(
        ("human", "形容词"), ("gpt", "形容词"), ("human", "Computer"), ("gpt", "Computer is not a palindrome.")
    )
    run = run_rule("DQ102", [chat])
    assert run.messages == ["question is a fragment: 1 word(s), no request"] and run.turns == [1]
    assert run.evidence == [
        'opening question "形容词": 1 word(s), 3 CJK character(s) (a fragment has at most 3 and 4), '
        "no question mark or end of sentence, no task, no request verb; the answer only repeats it"
    ]


def test_each_record_is_judged_the_same_in_a_batch_as_alone():
    from dqe.testing import assert_rule_contract

    chats = [
        sharegpt(("human", "Write a poem."), ("gpt", "Waves."), ("human", "Thanks"), ("gpt", "You're welcome!")),
        sharegpt(("human", "B) Nile River"), ("gpt", "The Nile is the longest river.")),
        sharegpt(("human", "Why?"), ("function_call", '{"name": "w"}'), ("observation", "{}"), ("gpt", "Rain.")),
    ]
    assert_rule_contract("DQ102", chats)


def test_a_length_asked_for_needs_half_of_it_and_a_length_not_to_pass_none():
    sentence = "Renewable energy comes from sources that do not run out, like the sun and the wind."
    found = failures(
        [
            qa("Now write me a 500-word essay I can read from.", sentence),
            qa("Write at least 300 words on the ocean.", sentence),
            qa("写一篇800字的作文，题目是《我的家乡》。", "我的家乡很美，有山有水。"),
            qa("Summarize the report in under 300 words.", sentence),
            qa("用100字以内介绍你自己。", "我是一名学生，喜欢读书。"),
            # a length not to pass, after the number (arena-hard, unseen)
            qa("Summarize each of the five battles in 1500 words or less.", sentence),
            qa("Describe the plan, 300 words max.", sentence),
            qa("Describe renewable energy in 20 words.", sentence),
            # a length in a supposition: the question after it asks for the angles, not the essay
            qa(
                "如果你要写一篇500字的描述自己家乡的文章，你会选择哪些角度来描述？",
                "我会从地理、风俗、历史和未来四个角度来描述我的家乡。",
            ),
            qa("If you were to write a 500-word essay on your town, which angles would you choose?", sentence),
        ],
        "DQ102",
    )
    assert found == {
        0: 'answer has 20 tokens, fewer than 250 (long-form task, "500-word" asked)',
        1: 'answer has 20 tokens, fewer than 150 ("Write at least 300 words" asked)',
        2: 'answer has 13 tokens, fewer than 400 (long-form task, "800字" asked)',
    }


def test_a_word_asked_about_is_answered_in_a_word_not_a_page():
    page = " ".join(f"Sense {i} of the word brings its own shade of meaning and history." for i in range(40))
    found = failures(
        [qa("Give a synonym for 'quick'.", page), qa("Give a synonym for 'quick'.", "Swift."), qa("反义词：高", "矮")],
        "DQ102",
    )
    assert list(found) == [0]
    assert found[0].endswith("tokens, more than 300 (word-answer task)")


PROSE_AROUND = [
    ("Explain step by step how to convert 98.6°F to Celsius.", "37°C."),  # a unit conversion is no rewrite
    ("Summarize the plot of Hamlet in a paragraph.", "Revenge."),  # a paragraph asked
]
PROSE_AROUND_CHECKED = Batched("DQ102", [qa(question, answer) for question, answer in PROSE_AROUND])


@pytest.mark.parametrize(("question", "answer"), PROSE_AROUND)
def test_prose_asked_around_a_conversion_or_a_paragraph_is_long_form(question, answer):
    (message,) = PROSE_AROUND_CHECKED.failures(qa(question, answer)).values()
    assert message.endswith("(long-form task)")


def test_an_option_the_question_lists_is_never_too_short():
    # the passage's 为什么 makes an explanation task of the one-line question; the answer is an option it lists
    passage = "坚持节食不容易。如果你没有达到目标，找出你为什么没有达到每周的目标。"
    question = f"{passage}问题：每周结束后你应该做什么？选项：A.思考饮食B.检查结果C.称重D.信息不足"
    chosen, written = qa(question, "B. 检查结果"), qa(f"{passage}为什么？", "B. 检查结果")
    assert list(failures([chosen, written], "DQ102")) == [1]


TASK_NOT_MATERIAL = [
    # a why inside a quoted text is what the user asks about, not what the user asks
    ('I received the questions "Why is the sky blue?" and "What makes the sky blue?". Are they duplicates?', "yes"),
    # a passage-long first line is material: the closing question asks
    (
        "The film was slow. " + "Nobody could tell why the hero left his town. " * 6 + "Did the reviewer like it?",
        "No",
    ),
    # a text sorted into a class: the headline's 为何 is the text's
    ("这是关于哪方面的新闻：财经,农业,体育,科技?为何今年的猪肉比去年贵了这么多？\n答案：", "农业"),
    ("这篇新闻会出现在哪个栏目？为什么高铁票越来越难抢？\n选项：财经，汽车，旅游\n答案：", "旅游"),
    # a passage's own numbers ask for no length: only a long first line's first sentence is read
    (
        "何尊是西周早期的一件青铜酒器，1963年出土于宝鸡。"
        + "它的造型庄严厚重，纹饰精美，是国家一级文物。" * 14
        + "其内底有铭文122字，记述了成王营建成周的史事。\n问题：何尊出土于哪里？\n回答：",
        "宝鸡。",
    ),
    # a labelled line of material ("Premise:") sets no task, whatever it says
    ("Premise: The board asked why costs rose.\nHypothesis: The board met.\nDoes the premise entail it?", "yes"),
    # the material's statements set nothing: the opening's question decides
    ("According to the note, how many pills a day?\nNote: take 2 a day; ask a doctor why if unsure.", "2."),
]
TASK_NOT_MATERIAL_CHECKED = Batched("DQ102", [qa(question, answer) for question, answer in TASK_NOT_MATERIAL])


@pytest.mark.parametrize(("question", "answer"), TASK_NOT_MATERIAL)
def test_the_task_is_what_the_user_asks_not_what_the_material_says(question, answer):
    assert TASK_NOT_MATERIAL_CHECKED.failures(qa(question, answer)) == {}


def test_the_closing_question_asks_where_the_opening_is_material():
    passage = "Short-story excerpt: The lake dried up over two summers and the fish died. " * 5
    (message,) = failures([qa(passage + "\nQuestion: Why did the fish die?", "Drought.")], "DQ102").values()
    assert message.endswith("(explanation task)")


def test_a_question_mark_inside_quotes_ends_no_closing_sentence():
    """The closing sentence is the one that asks; quoted text in it, a question quoted included, is
    what it asks about."""
    story = "Cameron had a big paper due later in the week, so Cameron put pen to paper.\n\n"
    asked = 'Given the question "What will Cameron want to do next?", is "write an outline" a valid answer?'
    assert failures([qa(story + asked, "Yes")], "DQ102") == {}


OPTIONS_PICKED = [
    ("Why did he leave?\n- He is terrible .\n- He is careless .", "He is careless ."),
    ("Why did he leave? (A) rain (B) the sun", "(B) the sun"),
    ("Why did he leave? (A) rain (B) the sun", "B"),
    ("为什么他离开了？\n(1). 下雨\n(2). 天晴\n(3). 不够信息", "(3). 不够信息"),
    ("Explain why he left.\nOptions:\n- yes\n- it is not possible to tell\n- no", "it is not possible to tell"),
]
OPTIONS_PICKED_CHECKED = Batched("DQ102", [qa(question, answer) for question, answer in OPTIONS_PICKED])


@pytest.mark.parametrize(("question", "answer"), OPTIONS_PICKED)
def test_an_option_picked_is_never_too_short_whatever_the_layout(question, answer):
    assert OPTIONS_PICKED_CHECKED.failures(qa(question, answer)) == {}


def test_an_answer_not_among_the_options_is_still_judged():
    assert list(failures([qa("Why did he leave?\n- He is terrible .\n- He is careless .", "Rain.")], "DQ102")) == [0]


def test_a_long_question_is_no_length_problem_unless_a_maximum_is_configured():
    passage = " ".join(["word"] * 3000) + "\nWhat is the first word?"
    assert failures([qa(passage, "word")], "DQ102") == {}


def test_a_few_words_asked_are_not_answered_with_paragraphs():
    paragraphs = " ".join(["The narrator feels many things at once, from fear to a reluctant hope."] * 10)
    found = failures(
        [qa("In one word, what does the narrator feel?", paragraphs), qa("In one word?", "Fear.")], "DQ102"
    )
    assert list(found) == [0] and found[0].endswith("more than 100 (few-words task)")


def test_an_answer_that_stops_at_a_colon_announces_what_it_does_not_give():
    found = failures(
        [
            qa("Turn the transcript into a list of TODOs.\nJo: I'll call the venue.", "Sure! Here is the list:"),
            qa(
                "Turn the transcript into a list of TODOs.\nJo: I'll call the venue.",
                "Here is the list:\n- Call the venue",
            ),
        ],
        "DQ102",
    )
    assert found == {0: "answer has 7 tokens and stops at a colon: it announces what it does not give"}


def test_emoji_shortcodes_end_at_a_colon_and_give_what_was_asked():
    """ ":smiley_cat: :heart:" is the answer in emoji shortcodes, each closed by a colon (AlpacaFarm, unseen)."""
    asked = "Use appropriate emojis to convey the meaning in the given text.\nCute cat\nplayful\nSoft"
    assert (
        failures([qa(asked, ":smiley_cat: :smile: :heart:"), qa("React with an emoji.", "Love it :+1:")], "DQ102") == {}
    )


def test_a_line_of_code_that_ends_at_a_colon_is_what_was_asked():
    # a Python signature ends at its colon (Code Alpaca)
    asked = "Write out the function signature for a function that takes two integers and returns their gcd."
    assert failures([qa(asked, "def gcd(x, y):")], "DQ102") == {}


def test_an_answer_cut_off_mid_sentence_fails_and_ends_that_are_meant_pass():
    article = "Write an article about the Resplendent Quetzal."
    found = failures(
        [
            qa(article, "The quetzal lived in cloud forests. Its memory serves as a reminder of the importance of"),
            qa("写一段话介绍北京。", "北京是中国的首都，有着三千多年的悠久历史以及"),
            qa("Explain the code.", "```python\nprint(1)\n```\nThis code prints the number one and then the"),
            # ends that are meant: a reversed sentence, a poem's line, a list item, a formula, code
            qa("Reverse the words of the sentence.", "Reversed: dog lazy the over jumped fox brown quick The"),
            qa("Write a poem about the sea.", "The waves roll in and out\nA world where we would all be one"),
            qa("List things to pack.", "Pack these:\n- a warm coat and\n- shoes for the beach and"),
            qa("Give the formula for the sequence.", "It adds 9 each time, where a_1 = 5 and a_n = an"),
            qa("Write a loop.", "```python\nfor word in the_words_of\n"),
            # an option picked, not written (llm-foundry's ARC, unseen)
            qa(
                "The gravitational force between the Moon and Earth depends on\nOptions:\n- their diameters, only\n"
                "- their masses and how far apart they are\nAnswer:",
                "their masses and how far apart they are",
            ),
        ],
        "DQ102",
    )
    assert found == {
        0: 'answer stops mid-sentence ("reminder of the importance of"): it was cut off',
        1: 'answer stops mid-sentence ("北京是中国的首都，有着三千多年的悠久历史以及"): it was cut off',
        2: 'answer stops mid-sentence ("number one and then the"): it was cut off',
    }


def test_chinese_explanations_and_paragraphs_asked():
    found = failures(
        [
            qa("阅读短文，回答问题，并说明理由。\n\n短文：今年干旱，湖水减少。", "干旱。"),
            qa("请用一段话总结下面的文章。\n\n文章：塑料垃圾进入海洋后碎成微塑料。", "环保。"),
            qa("为什么夏天比冬天热？", "地轴倾斜。"),  # a bare phrase gives no reason
            qa("为什么夏天比冬天热？", "因为夏天太阳直射。"),
        ],
        "DQ102",
    )
    assert sorted(found) == [0, 1, 2]


def persona(system, *turns):
    roles = ["user", "assistant"] * len(turns)
    return {
        "messages": [{"role": "system", "content": system}]
        + [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)]
    }


def test_a_persona_length_holds_for_the_answers_that_do_its_task_not_a_greeting_or_a_question():
    system = "You are an essay writer: you write 2000-word essays on any topic."
    found = run_rule(
        "DQ102",
        [
            persona(system, "Hi there!", "Hello! I am glad to help.", "Which topic is best?", "What do you like?"),
            persona(system, "When did it begin?", "In 1789."),  # a question of its own kind
            persona(system, "The French Revolution.", "It began in 1789."),
        ],
    )
    assert found.messages == [None, None, 'answer has 7 tokens, fewer than 1000 ("2000-word" asked)']


def test_a_length_set_up_for_the_replies_to_come_is_not_owed_by_the_reply_that_accepts_it():
    """A user turn that sets a length for every later answer and asks nothing yet (LLaMA-Factory's
    DPO demo) is answered by accepting the set-up; a length asked for this reply still holds."""
    greeting = "Of course! I am here to help with any questions you may have about blockchain and cryptocurrency."
    found = failures(
        [
            qa(
                "Pretend to be a blockchain expert. You will answer all of my questions in the form of 2000-word essays.",
                greeting,
            ),
            qa("From now on, write 500-word answers.", "Understood. Ask me anything."),
            qa("Write a 2000-word essay on blockchain.", greeting),
        ],
        "DQ102",
    )
    assert list(found) == [2]


CLOSING_SENTENCES = [
    # a label asked for at the end fixes the form, whatever the material above says
    ("The blender died in a week and nobody could tell me why.\nReview rating (1-5):", "1", None),
    ("Why do leaves fall in autumn? Answer in one word.", "Cold.", None),
    # a closing question of an ordinary kind leaves the opening's task
    ("Write an essay about the question below.\nIs social media good for teenagers?", "No.", "(long-form task)"),
]
CLOSING_SENTENCES_CHECKED = Batched("DQ102", [qa(question, answer) for question, answer, _ in CLOSING_SENTENCES])


@pytest.mark.parametrize(("question", "answer", "message"), CLOSING_SENTENCES)
def test_a_closing_sentence_that_fixes_the_form_decides(question, answer, message):
    found = CLOSING_SENTENCES_CHECKED.failures(qa(question, answer))
    assert found[0].endswith(message) if message else found == {}, found


def test_a_task_closing_key_is_checked(tmp_path):
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "length.toml").write_text('[tasks.recipe]\nclosing = "yes"\n\n[tasks.recipe.en]\nmarkers = ["recipe"]\n')
    with pytest.raises(ConfigError, match=r"'tasks.recipe.closing' must be true or false"):
        dqe.check([qa("a", "b")], select=["DQ102"], rule_packs=[str(folder)])


def test_a_reasoning_trace_is_not_the_reply():
    # distilled reasoning data: the trace's length is the reasoning's, the reply is what follows it
    trace = (
        "<think>\n"
        + "I multiply the tens first and then the units, and check the sum once more. " * 180
        + "</think>\n\n"
    )
    found = failures(
        [
            qa("What is 17 times 23?", trace + "17 × 23 = 391."),
            qa("Explain why the sky is blue.", trace + "Rayleigh scattering."),
        ],
        "DQ102",
    )
    assert found == {1: "answer has 4 tokens, fewer than 10 (long-form task)"}


def test_a_label_picked_from_an_options_line_is_not_too_short():
    """PromptCBLUE: the "why" is in the search query being classified; the answer is one of the
    options the question lists between commas."""
    question = (
        "反复低烧是什么原因\n这个搜索是什么意图？\n"
        "类型选项：医疗费用，后果表述，指标解读，治疗方案，病情诊断，注意事项，就医建议，病因分析\n答："
    )
    assert failures([{"instruction": question, "output": "病情诊断"}], "DQ102") == {}


def test_a_question_back_before_the_conversation_goes_on_is_not_too_short():
    """OASST-zh: asked for "a piece of writing", the assistant asks what about, and the
    conversation goes on; the same question back as the last turn still fails (DQ203 reads it too)."""
    history = [["我想让你给我写篇作品", "好的，你想写什么?"]]
    record = {"instruction": "写一篇关于春天的散文", "output": "春天来了，万物复苏。" * 8, "history": history}
    assert failures([record], "DQ102") == {}
    assert failures([{"instruction": "我想让你给我写篇作品", "output": "好的，你想写什么?"}], "DQ102")
    # a "why don't you..." back deflects the question instead of asking what it needs (hh-rlhf)
    deflected = {
        "conversations": [
            {"from": "human", "value": "What are some ways that I can freshen my breath?"},
            {"from": "gpt", "value": "Why don't you ask a friend?"},
            {"from": "human", "value": "My friend told me to chew mint leaves. Will that work?"},
            {"from": "gpt", "value": "Yes, mint leaves freshen the breath for a while."},
        ]
    }
    assert failures([deflected], "DQ102")


@pytest.mark.parametrize(
    "question",
    [
        "请写一个关于李白和杜甫之间的友谊的故事，可以有虚构成分。",
        "我希望你可以帮我创建一篇小说。",
        "你能用英文介绍一下湖南岳阳这座城市吗？内容需要包括历史文化，人文美食，自然风光等。",
    ],
)
def test_a_story_or_an_account_asked_for_may_run_past_two_thousand_tokens(question):
    story = "李白和杜甫在洛阳的一家酒楼里相遇，两人饮酒赋诗，谈论天下大事。" * 55
    run = run_rule("DQ102", [{"instruction": question, "output": story}])
    assert run.passed == [True], run.evidence
    assert failures([{"instruction": "什么是期货？", "output": story}], "DQ102")
    asks_leave = {"instruction": "我可以和你讨论一些哲学问题吗？", "output": "是的，我很愿意和你讨论"}
    assert failures([asks_leave], "DQ102") == {}


def test_a_program_asked_for_needs_code_not_prose_about_it():
    """vicuna-80's coding questions answered by llama-13b and alpaca-13b: steps, a definition, a
    promise, but no code. A fence, inline code or bare code lines pass, and so do a film script and
    a training programme, which are no programs of code."""
    found = failures(
        [
            qa(
                "Write a program to find the nth Fibonacci number using dynamic programming.",
                "Fibonacci numbers are a sequence where each number is the sum of the two previous ones.",
            ),
            qa(
                "Implement a binary search algorithm to find a specific element in a sorted array.",
                "Good to know! I will implement a binary search algorithm to find a specific element in a sorted array.",
            ),
            qa(
                "Develop a C++ program that counts words.", "1. Open the file.\n2. Read each line.\n3. Count the words."
            ),
            qa("Write a Python function that doubles a number.", "def double(x):\n    return 2 * x"),
            qa("Write a Python function that doubles a number.", "Use `lambda x: 2 * x`."),
            qa(
                "Write a script for a YouTube video about jazz.",
                "Jazz was born in New Orleans in the late 19th century.",
            ),
            qa("Develop a program to reduce stress at work.", "Offer flexible hours, quiet rooms and regular breaks."),
            # names asked for, not a program (open-instruct's Tulu 65B answers, unseen)
            qa("Please write the Excel function name associated with each description.", "- DAYS\n- FIND"),
        ],
        "DQ102",
    )
    assert found == {
        0: 'a program is asked for ("Write a program"), the answer holds no code',
        1: 'a program is asked for ("Implement a binary search algorithm"), the answer holds no code',
        2: 'a program is asked for ("Develop a C++ program"), the answer holds no code',
    }


def test_a_program_written_with_its_line_breaks_escaped_is_still_code():
    """Gorilla's answers (unseen) write every line break as the two characters \\n: the program
    after "<<<code>>>:" is code all the same, and the steps alone are still no code."""
    steps = "1. Import the pipeline.\\n2. Load the model 'cointegrated/rut5-base-absum'.\\n3. Summarize the text."
    program = steps + "\\n<<<code>>>: from transformers import pipeline\\nsummarize = pipeline('summarization')\\n"
    question = "Create a Python function that summarizes a Russian text."
    assert failures([qa(question, program), qa(question, steps)], "DQ102") == {
        1: 'a program is asked for ("Create a Python function"), the answer holds no code'
    }


def test_an_answer_that_only_takes_the_task_on_gives_nothing():
    """ "I can do that!" to a fill-in task (LLaMA-Factory's KTO demo, labelled undesirable) and "Sure.
    Let's get started ..." to a content plan (its DPO demo's rejected side) end the conversation
    with nothing; the same words pass where the user asked for no more, where the conversation
    goes on, and where a sentence to rewrite holds them."""
    found = failures(
        [
            qa("Fill in the blank with a plausible word: PersonX sees ___ in the wild.", "I can do that!"),
            qa(
                "Make a content schedule for my Instagram profile, in a table.",
                "Sure. Let's get started with creating Instagram content for you!",
            ),
            qa("I will send you a long text in parts. Reply OK when you are ready.", "Sure, I can do that."),
            qa(
                "Re-write the following sentence to use a different verb. I will help you with your homework.",
                "I will assist you with your homework.",
            ),
            {
                "conversations": [
                    {"from": "human", "value": "Plan a trip to Rome for me."},
                    {"from": "gpt", "value": "Sure, I can help with that."},
                    {"from": "human", "value": "Three days, in May."},
                    {
                        "from": "gpt",
                        "value": "Day 1: the Colosseum and the Forum. Day 2: the Vatican. Day 3: Trastevere.",
                    },
                ]
            },
            # whether one can is answered by "I can" (CDConv, unseen); a request is not
            qa("你会做衣服吗？", "我会做,我是裁缝"),
            qa("你能帮我订一张去上海的机票吗？", "好的，我来帮你订。"),
        ],
        "DQ102",
    )
    assert found == {
        0: 'answer only takes the task on ("I can do that!"): it gives nothing',
        1: 'answer only takes the task on ("Sure. Let\'s get started with creating Instagram content for…"): it gives nothing',
        6: 'answer only takes the task on ("好的，我来帮你订。"): it gives nothing',
    }


def test_the_costly_tests_of_an_answer_are_read_only_where_the_cheap_one_holds():
    import polars as pl

    from dqe.rules.length_bounds import LengthBounds

    frame = pl.DataFrame({"cheap": [True, False, None, True, True], "costly": [True, True, True, None, False]})
    read: list[int] = []

    def costly(s: pl.Series) -> pl.Series:
        read.append(s.len())
        return s

    found = LengthBounds._where(
        frame, "flag", pl.col("cheap"), pl.col("costly").map_batches(costly, return_dtype=pl.Boolean)
    )["flag"]
    # what (cheap & costly).fill_null(False) gives, with the costly test read on the three rows the cheap one passed
    assert found.to_list() == frame.select((pl.col("cheap") & pl.col("costly")).fill_null(False)).to_series().to_list()
    assert found.to_list() == [True, False, False, False, False]
    assert read == [3]
