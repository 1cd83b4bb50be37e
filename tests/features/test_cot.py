"""The cot feature: per exchange, what reasoning a question needs and how much its answer shows."""

from __future__ import annotations

import functools

import pytest

from dqe.engine.config import load_config
from dqe.engine.context import Context
from dqe.engine.plugins import load_plugins
from dqe.features.cot import CotFeature
from dqe.testing import batch, conversation, record
from tests.batched import TableRun


@functools.cache
def feature():
    return CotFeature(Context(load_config(discover=False), load_plugins()))


@pytest.fixture(scope="module")
def cot():
    return feature()


def judged(cot, question, answer):
    """The one exchange of a question and its answer: need, score, evidence."""
    return judged_each([record(question, answer)], cot)[0]


def judged_each(records, cot=None):
    """Each record's one exchange, judged in one batch: need, score, evidence."""
    cot = cot or feature()
    frame = batch(records)
    exchange = cot.judge(frame)
    assert exchange["_r"].to_list() == list(range(len(records))), "one exchange a record"
    evidence = dict(cot.explain(frame, exchange).select("_r", "evidence").iter_rows())
    return [(need, score, evidence.get(r)) for r, need, score in exchange.select("_r", "need", "score").iter_rows()]


NEEDS = [
    ("Natalia sold clips to 48 of her friends in April, and then half as many in May. How many in all?", "math"),
    # a word problem keeps its need under a form asked of the reply
    (
        "A shop sells 3 apples for $2. How much do 12 apples cost? Answer in at least 50 words, in double quotes.",
        "math",
    ),
    ("How many moons does Mars have?", None),  # a fact: no quantity to work with
    ("What were the main causes of the war of 1914?", None),  # a year is no quantity
    ("How many Covid-19 cases were reported in India today?", None),  # a number in a name neither
    ("How many points did the Lakers score in game 4 of the finals?", None),  # nor one that labels
    ("Why do leaves change colour in autumn?", "why"),
    ("Here is a riddle: what gets wetter the more it dries?", "logic"),
    ("List three fruits, step by step.", "request"),
    ("小明有5个苹果，吃了2个，还剩几个？", "math"),
    ("写一首关于春天的诗。", None),
    # algebra in letters, comparison chains and syllogisms need no trigger word
    ("If x = 2y and y = 3z, express x - y in terms of z.", "math"),
    ("Anna is taller than Ben. Ben is taller than Carl. Who is the shortest?", "logic"),
    ("All birds have feathers. Penguins are birds. Do penguins have feathers?", "logic"),
    ("小明比小红高，小红比小刚高。谁最矮？", "logic"),
    # a question full of quantities that asks for an unknown is a word problem
    ("Sam had 12 marbles. He gave 5 to Ann and got 3 from Joe. What does Sam have now?", "math"),
    # one operation on given numbers is seen at a glance, unless a formula applies
    ("What is the sum of 7 and 8?", None),
    ("Calculate 15% of 500.", None),
    ("Convert 45 kilometers to meters.", None),
    ("Convert 72 degrees Fahrenheit to Celsius.", "math"),
    ("Determine the area of a square with side length of 8 meters.", None),  # one multiplication
    ("Calculate the area of a circle with a radius of 4 meters.", "math"),
    ("What is the hypotenuse of a right triangle with legs of 3 cm and 4 cm?", "math"),
    ("Find the product of 9, 5 and 28.", "math"),  # two operations
    # steps of a procedure are knowledge; steps of working are asked for
    ("Give me step-by-step instructions to bake bread.", None),
    ("Solve 2x + 3 = 11 step by step.", "request"),
    # a second operation on the result of the first is no longer one step
    ("What is 12% of 250, and how much is left after taking that away?", "math"),
    # a conversion by the factor given, one power term: seen at a glance
    ("Convert 20 miles to kilometers, assuming 1 mile is approximately 1.60934 kilometers.", None),
    ("What is the derivative of x^2?", None),
    # so many items at a price each is one multiplication; two such purchases are a word problem
    ("How much do 5 pens cost at $2 each?", None),
    ("Tom buys 3 apples at $2 each and 4 pears at $3 each. How much does he spend?", "math"),
    # the largest of a list takes comparing its values; of two, it is seen at a glance
    ("Which is the largest number: 0.45, 4/9, 0.449, 45%?", "math"),
    # a syllogism with a long class and a member denied; a premise is a statement, not a request
    (
        "All the violinists in the city orchestra can read music. Hana cannot read music. Is Hana one of them?",
        "logic",
    ),
    ("Could you share some advice on how I can succeed?\nSome of the issues include cost and time.", None),
    # assignment and arrangement puzzles, riddles by their form
    (
        "Alex, Bea and Cal each own one pet: a cat, a dog or a fish. Alex is allergic to fur. Who owns which pet?",
        "logic",
    ),
    (
        "The chest on the far left holds sand. The blue chest is to the right of the green one. Which has the key?",
        "logic",
    ),
    ("What has keys but can't open locks?", "logic"),
    # a Chinese word problem about programmers is no programming task; a blank to fill asks
    ("某公司 3 名程序员每人每天写 400 行代码，项目共需 36000 行代码，需要多少天？", "math"),
    ("写一个 Python 函数计算 1 到 100 的和", None),
    ("质量为 2 kg 的物体受到 10 N 的恒力作用，2 s 内物体的位移为（　）", "math"),
    # an ordinal is a place, not a number to calculate with
    ("第二班几点到？", None),
    # a question about a given text: the passage's "why"s are its own, its numbers data for a
    # calculation asked, not for a look-up
    ("Read the passage and answer.\nPassage: Why did he run? He left at 8:15.\nQuestion: When did he leave?", None),
    (
        "Read the passage and answer.\nPassage: Muffins sell for $3 each; 48 sold.\nQuestion: How much money came in?",
        "math",
    ),
    ("阅读短文，回答问题。\n短文：小林问妈妈：“为什么天空是蓝色的？”\n问题：主人公叫什么名字？", None),
    ("Pick out the five most important keywords from this abstract.\nWe show that corals recover faster.", None),
]
NEEDS_JUDGED = TableRun(judged_each, [record(question, "x") for question, _ in NEEDS])


@pytest.mark.parametrize(("question", "need"), NEEDS)
def test_need(question, need):
    assert NEEDS_JUDGED.of(record(question, "x"))[0] == need


NO_NEED = [
    # the numbers and the "?" are in the material a text task works on
    "Classify the sentiment of this review.\nThe room cost $300 for 2 nights and the AC broke twice?! Never again.",
    "Identify if the phrase contains an emotional sentiment.\nI don't understand why this always happens to me.",
    "Is this tweet about sports?\nTweet: Lakers win 112-98, why is LeBron so good? He scored 35.",
    "判断下面这句话的情感。\n这家店3个菜花了200块，为什么这么贵？",
    # a creative request: numbers in the scene are no word problem
    "You are a negotiator. The other camp offers 50 gallons of water for 30 pounds of grain, but we have 20. "
    "What do you propose?",
    "Write a short story about a girl who has 3 cats and 2 dogs. What happens when 4 more cats arrive?",
    # a programming task: the code does the work
    "What is the output of this code?\nx = 5\ny = 10\nprint(x + y)",
    "Write a Python function to calculate the sum of two numbers.",
    # the asker waives the reasoning
    "Solve 3x + 5 = 20. Give only the final answer.",
    # a puzzle to write, not to solve
    "Design a chess puzzle in FEN notation.",
    # one operation seen at a glance; the range the answer must fall in is its form, not two more numbers
    "Find the answer to the math problem. The output should be an integer between 0 and 1000000.\nInput: What is 7 times 6?",
    "给出一个数学问题，你需要找到答案。输出应该是0到1000000之间的一个整数。输入：7乘以6是多少？",
    # the length and form asked of the reply are no quantities, relations or premises (IFEval, unseen)
    "What are the common signs of dehydration? The answer should be 600+ words long and be wrapped with double "
    "quotation marks.",
    "Which of the following is not a fish: salmon or avocado? Use some words in all caps, but those all-caps words "
    "should appear at most 10 times.",
    "Are hamburgers sandwiches? Please respond using only the Kannada language, no other language is allowed.",
    "What is the name of the green-eyed monster? Your response should be less than 3 sentences (just 1 sentence or "
    "2 sentences).",
    "Which subdistrict should I stay in? Answer with at least 400 words. The word climatic should appear at least 2 "
    "times, with at least 3 placeholders.",
    # a French question's euphonic t is no algebra (M-IFEval, unseen)
    "Combien de jours y a-t-il dans une année bissextile ?",
]
NO_NEED_JUDGED = TableRun(judged_each, [record(question, "x") for question in NO_NEED])


@pytest.mark.parametrize("question", NO_NEED)
def test_no_need(question):
    assert NO_NEED_JUDGED.of(record(question, "x"))[0] is None


SCORES = [
    ("72", 0.0),
    ("<think>48 / 2 = 24 and 48 + 24 = 72</think> 72", 1.0),
    ("She sold 48/2 = 24 clips in May.", 0.35),
    ("It floats, because ice is less dense than water.", 0.3),
    ("Ice floats as it is less dense than water.", 0.3),  # "as it": a reason
    ("First sentence. Second sentence. Third sentence.", 0.3),  # two sentences before the last
    ("66 is 2 × 3 × 11, and 44 is 2 × 2 × 11", 0.7),  # numbers restated as operations: two equations
    ("1. Add the numbers.\n2. Divide by two.", 0.45),  # two steps and one sentence before the last
    ("The total is $1216.65, making the interest $216.65.", 0.15),  # a clause, but no working
    # a tool did the work, inline: Toolformer calls and GSM8K's calculator annotations
    ("The square of 9 is python('9**2').", 1.0),
    ("There are calculator(12*7) days in 12 weeks.", 1.0),
    ("In May she sold 48/2 = <<48/2=24>>24 clips.", 1.0),
    ("def add(a, b):\n    return a + b", 1.0),  # a program is its own reasoning
    # the theorem or formula a result follows from, named in Chinese as in English ("by the
    # Pythagorean theorem"): Chinese-LLaMA-Alpaca's answers (unseen)
    ("根据勾股定理，斜边的长度为$√(6^2+8^2)=√(48+120)=√174=13$。", 0.3),
    ("利用面积公式，长方形的面积是24平方米。", 0.3),
]
SCORES_JUDGED = TableRun(judged_each, [record("q", answer) for answer, _ in SCORES])


@pytest.mark.parametrize(("answer", "score"), SCORES)
def test_score(answer, score):
    assert SCORES_JUDGED.of(record("q", answer))[1] == pytest.approx(score)


def test_evidence_names_the_markers_and_what_the_answer_scored_on(cot):
    need, score, evidence = judged(cot, "How many legs do 3 spiders and 2 ants have?", "36")
    assert (need, score) == ("math", 0.0)
    assert evidence == (
        'need math: "How many" + 2 quantities; answer score 0.0 '
        "(no connective, explaining clause, step, equation, earlier sentence, tool call or code)"
    )
    _, _, evidence = judged(cot, "Why does ice float?", "Density, so it floats.")
    assert evidence == (
        'need why: "Why"; answer score 0.3 (1 connective "so"; '
        "no explaining clause, step, equation, earlier sentence, tool call or code)"
    )
    _, _, evidence = judged(cot, "Anna is taller than Ben, Ben than Carl. Who is shortest?", "Carl.")
    assert evidence.startswith('need logic: 2 comparisons ("taller than"…)')


def test_every_exchange_is_judged_and_the_record_keeps_its_worst(cot):
    chat = conversation(
        "Why is the sky blue?",
        "Because air scatters blue light more than red, so the sky looks blue.",
        "A pen costs $3 and a book 4 times as much. How much do both cost?",
        "$15",
        "Thanks!",
        "You're welcome.",
    )
    out = cot.compute(batch([chat])).row(0, named=True)
    assert (out["cot_need"], out["cot_score"]) == ("math", 0.0)
    assert [(e["turn"], e["need"], e["score"]) for e in out["cot_exchanges"]] == [(2, "why", 0.9), (4, "math", 0.0)]


def test_a_text_tasks_own_sentence_is_its_task_whatever_groups_the_pack_holds(cot):
    """The pack's entries hold groups of their own ("(you are )?asked to"); the task's sentence is
    still the one found, and a marker in it still counts."""
    question = "Decide whether the syllogism is logically sound.\nAll Germans are European.\nSome are tall."
    assert judged(cot, question, "Not sound.")[0] == "logic"
    assert judged(cot, "Classify the review.\nWhy did 3 of my 5 orders arrive late?", "Negative")[0] is None


def test_an_answer_that_asks_back_or_is_empty_is_not_judged(cot):
    assert judged(cot, "Calculate my monthly loan payment.", "What is the amount, the rate and the term?")[0] is None
    assert judged(cot, "What is 17 * 23?", " ")[0] is None


def test_a_tool_result_counts_for_every_answer_to_its_question(cot):
    messages = [
        {"role": "user", "content": "What is 15% of $80, plus a $5 fee? Calculate it."},
        {"role": "assistant", "content": "Let me work that out."},
        {"role": "tool", "content": '{"result": 12}'},
        {"role": "assistant", "content": "It is $12."},
    ]
    rows = cot.judge(batch([{"messages": messages}])).select("turn", "need", "score").rows()
    assert rows == [(2, "math", 1.0), (4, "math", 1.0)]


def test_equations_are_counted_to_judge_only_where_they_can_change_the_score(cot):
    """An answer whose connectives and steps already reach the cap of 1 scores 1 whatever its
    equations: judging leaves them uncounted there; explaining counts every one."""
    question = "Sam had 12 marbles and gave 5 to Ann. How many are left?"
    argued = "First, Sam has 12. Then he gives 5, so 12 - 5 = 7. Therefore, 7 are left because 12 - 5 = 7."
    bare = "12 - 5 = 7."
    rows = cot._exchanges(batch([record(question, argued), record(question, bare)]))
    judging, explaining = cot._scored(rows, exact=False), cot._scored(rows)
    assert judging["_equations"].to_list() == [0, 1] and explaining["_equations"].to_list() == [2, 1]
    assert judging["score"].to_list() == explaining["score"].to_list() == [1.0, 0.35]
    assert judging["_derivation"].to_list() == explaining["_derivation"].to_list()


def test_a_problem_to_solve_needs_a_derivation_not_sentences_alone(cot):
    """A verdict told in three sentences is bare for a puzzle; for a "why", prose is the explanation."""
    puzzle = "Tom is taller than Jim. Jim is taller than Sam. Who is the shortest?"
    verdict = "Elementary. It is Sam. Have him measured again."
    need, score, evidence = judged(cot, puzzle, verdict)
    assert (need, score) == ("logic", 0.0)
    assert "2 earlier sentences (no reason on their own)" in evidence
    assert judged(cot, puzzle, "Jim is shorter than Tom, so Sam, shorter than Jim, is the shortest.")[1] >= 0.3
    why = judged(cot, "Why do you guard the bridge?", "I was born here. My father guarded it. Now it is mine.")
    assert why[:2] == ("why", 0.6)


def test_sentences_that_argue_for_a_stated_final_answer_are_its_reasoning(cot):
    """FLAN-style rationales: facts, then "The answer: X". A bare "The answer is B." shows nothing."""
    question = "What do all vertebrates have?\nOptions:\n- (A) gills\n- (B) a complete digestive system\nLet's think step by step."
    rationale = "All chordates have a complete digestive system. All vertebrates are chordates. The final answer: (B)."
    assert judged(cot, question, rationale)[1] >= 0.3
    assert judged(cot, question, "The final answer: (B).")[1] == 0.0
    syllogism = "All the violinists read music. Hana cannot read music. Is she a violinist?"
    assert judged(cot, syllogism, "答案是：不是。")[1] == 0.0


def test_a_why_answered_in_a_sentence_of_prose_is_explained_and_a_noun_is_not(cot):
    question = "Why might the temp agency have told me I was no longer needed?"
    assert judged(cot, question, "The company hiring the temp workers might have had a change of mind.")[1] >= 0.3
    assert judged(cot, "Why is the sky blue?", "Rayleigh scattering.")[:2] == ("why", 0.0)
    assert judged(cot, "天空为什么是蓝色的？", "瑞利散射。")[:2] == ("why", 0.0)


def test_a_why_about_the_listeners_own_doing_is_answered_by_a_motive_in_a_clause(cot):
    """Asked for their own reasons ("Why did you...?", "Why not?"), people give a motive or deny
    the premise in one clause (hh-rlhf, unseen); a short clause about the world is still bare."""
    assert judged(cot, "Why did you tell me it was hard, then?", "I was trying to warn you.")[1] >= 0.3
    assert judged(cot, "Why did you leave the party so early?", "I had a headache.")[1] >= 0.3
    assert judged(cot, "Why not?", "It would violate your consent.")[1] >= 0.3
    assert judged(cot, "你为什么不早点告诉我？", "我怕你会担心。")[1] >= 0.3
    assert judged(cot, "Why do you think the sky is blue?", "It is just blue.")[:2] == ("why", 0.0)
    assert judged(cot, "Why do we have seasons?", "The axis is tilted.")[:2] == ("why", 0.0)
    assert judged(cot, "Why did you choose this name?", "Luck.")[:2] == ("why", 0.0)


def test_a_verdict_asked_for_in_so_many_words_waives_the_reasoning(cot):
    question = (
        'Question: how much is 1 tablespoon of water\nIs "It is abbreviated as tbsp" a correct answer? Yes or no.'
    )
    assert judged(cot, question, "No")[0] is None
    assert judged(cot, "所有会员都能享受九折。小李没有享受九折。小李是会员吗？请回答是或否。", "否")[0] is None
    # a yes/no question that does not ask for the bare verdict still needs its reason
    syllogism = "All violinists here read music. Hana cannot read music. Is Hana a violinist here?"
    assert judged(cot, syllogism, "No.")[0] == "logic"


def test_an_answer_that_says_the_question_cannot_be_answered_is_not_judged(cot):
    passage = "请阅读这段文字并回答问题。希腊经济以服务业（82.8%）和工业（13.3%）为基础，2015年农业贡献了3.9%。问题：2013年有多少游客？"
    assert judged(cot, passage, "无法回答。该文本没有提供2013年游客数量的信息。")[0] is None
    marbles = "Sam has 3 red and some blue marbles. How many marbles does he have?"
    assert judged(cot, marbles, "Not enough information.")[0] is None


def test_what_to_do_in_a_case_is_an_instruction_not_a_premise(cot):
    question = "检测句子中是否存在性别偏见。如果存在，建议替换为另一种说法。否则，输出“没有发现此类偏见。”\n这一发现可能会改变整个人类。"
    assert judged(cot, question, "没有发现此类偏见。")[0] is None
    # a premise in a word problem is still one
    books = "Zig wrote four times as many books as Flo. If Zig wrote 60 books, how many did they write altogether?"
    assert judged(cot, books, "75")[0] == "math"


def test_a_passage_holds_a_one_word_answer_but_not_a_bare_option_letter(cot):
    paragraph = (
        "Answer the following question given this paragraph:\n\nGravity has traditionally been defined as a force of "
        "attraction between things that have mass. Anything that has mass, no matter how small, exerts gravity on "
        "other matter. Gravity can act between objects that are not even touching, and it acts over great distances. "
        "The farther objects are from each other, the weaker is the force of gravity between them; 2 objects twice as "
        "far apart feel 4 times less. Less massive objects also have less gravity than more massive objects.\n\n"
        "Q: What is the term for the force of attraction between things that have a mass?\n\nChoices:\n- motion\n"
        "- weight\n- gravity\n- friction"
    )
    assert judged(cot, paragraph, "gravity")[0] is None
    sums = paragraph.replace("What is the term for", "How many times weaker, in total, is")
    assert judged(cot, sums, "(B)")[0] == "math"


def test_premises_in_a_story_are_narration_not_a_puzzle(cot):
    story = (
        "Lucy and Sarah each own a lake they enjoy spending time at. They take care of their lakes and make sure "
        "everything is healthy, so that the lakes thrive and people keep visiting them. Sarah says she heard a secret: if you dump "
        "fertilizer into your lake, the fish will grow twice as large. All of her neighbours are doing it, and Sarah "
        "started this past week. Lucy is skeptical and waits to see what happens at Sarah's lake.\n\n"
        "Is the fish population going to decrease less in Lucy's lake or Sarah's lake?"
    )
    assert judged(cot, story, "Lucy's lake")[0] is None


def test_a_figure_read_off_a_text_handed_over_needs_no_working(cot):
    context = (
        "Context: The survey was sent to 1,200 members in May. 744 replied, and 62% of those who replied "
        "said they would support a later opening time.\n\nQuestion: What share of those who replied supported it?"
    )
    assert judged(cot, context, "62%.")[0] is None
    # a figure the text does not state was worked out: the bare result is still bare
    assert judged(cot, context.replace("What share of those who replied", "How many members"), "461")[0] == "math"


def test_the_question_lines_of_a_reading_frame_are_read_whatever_their_case(cot):
    passage = (
        "Read the passage and answer the question.\n\nPassage: A bakery sells muffins for $3 each. On Monday it sold "
        "48 muffins, and on Tuesday 25% more.\n\nQuestion: How much money did it take over the two days?\nAnswer:"
    )
    assert judged(cot, passage, "$324")[0] == "math"
    table = "Here are the figures:\n\nquarter,revenue,returns\nQ1,1200,80\nQ2,1500,120\n\nUsing the table, what was "
    assert judged(cot, table + "the net revenue (revenue minus returns) of Q1 and Q2 together?", "2500")[0] == "math"


def test_a_why_answered_by_picking_one_of_its_options_is_a_pick(cot):
    why = "Why did she skip the party?\nA. She was ill\nB. She was busy\nC. None of the above choices ."
    assert judged(cot, why, "B")[0] is None
    assert judged(cot, why, "None of the above choices .")[0] is None
    assert judged(cot, "Why did she skip the party?", "B")[0] == "why"
    # a word problem's option letter is still a bare result
    sums = "A shirt costs $40 after a 20% discount. What was its original price?\nA) $48\nB) $50\nC) $52"
    assert judged(cot, sums, "B")[0] == "math"


def test_quite_a_few_is_no_question_and_the_bare_items_asked_for_waive(cot):
    assert (
        judged(cot, "买了一箱车厘子，有好几个烂了，我昨天晚上九点签收的，现在还能处理吗？", "可以，请拍照联系客服。")[0]
        is None
    )
    assert judged(cot, "一箱车厘子有24个，烂了5个，还剩几个好的？", "19个。")[0] == "math"
    table = "name,age\nAnna,34\nBen,27\nCarl,41\n\nWhich rows have an age over 30? Give the names only."
    assert judged(cot, table, "Anna and Carl.")[0] is None


def test_a_verdict_or_a_pick_asked_for_ending_a_line_waives(cot):
    asked = "This is a correct answer to a question about Purdue. Yes or no?\nAnswer: 39 students in 1874.\nQuestion: how big is the greek system"
    assert judged(cot, asked, "No")[0] is None
    pick = 'How long would I walk to lose 1kg a week?\nHow far must I run daily to lose 1kg a week?\nPick one: These are "duplicates" or "not duplicates".'
    assert judged(cot, pick, "not duplicates")[0] is None
