"""DQ201 chain-of-thought: the seed's Xiao Ming example, GSM8K with and without its reasoning,
hand-written cases in English and Chinese (the patterns of issue 13: role-play prose, inline tool
calls, non-math prompts with numbers, classification inputs; bare answers to algebra,
comparisons and syllogisms), every exchange of a conversation, the data-set metric and the gate."""

from __future__ import annotations

import json

import pytest

import dqe
from dqe import ConfigError
from dqe.testing import conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, SCENE_WHYS, failures, fu_hongxue_scene, real

XIAO_MING = (
    "What's the name of the third child of Xiao Ming's mother, who has three children, "
    "the first named Yi Mao and the second Er Mao?"
)
XIAO_MING_ZH = "小明的妈妈有三个孩子，老大叫一毛，老二叫二毛，老三叫什么？"


def qa(question, answer):
    return {"instruction": question, "output": answer}


def test_the_seed_example_fails_bare_and_passes_with_its_reasoning():
    bare = qa(XIAO_MING, "Xiao Ming.")
    reasoned = qa(XIAO_MING, "The question starts from Xiao Ming's mother, so her third child is Xiao Ming himself.")
    assert failures([bare, reasoned], "DQ201") == {
        0: "question needs reasoning (logic), the answer shows none (CoT score 0.0 < 0.3)"
    }


def test_numbers_of_the_material_make_no_word_problem_of_a_question_about_it():
    # the list is data to take the distinct values of (Code Alpaca); a question that states its
    # own numbers still asks for working
    found = failures(
        [
            qa("What are the distinct values from the given list?\ndataList = [3, 9, 3, 5, 7, 9, 5]", "3, 5, 7 and 9."),
            qa("Tom has 3 red, 5 blue and 7 green marbles. What is the number of marbles he has?", "15"),
        ],
        "DQ201",
    )
    assert list(found) == [1]


def test_a_range_written_with_a_dash_is_no_subtraction():
    found = failures(
        [
            qa("Generate 10 random integers between 0 - 100.", "[83, 17, 66, 90, 16, 36, 78, 15, 18, 4]"),
            qa("生成10个在1-100之间的随机整数。", "[5, 17, 33, 48, 52, 61, 70, 84, 90, 99]"),
            qa("How many integers between 1 - 100 are divisible by 7?", "14"),
        ],
        "DQ201",
    )
    assert list(found) == [2]


def test_the_seed_example_in_chinese():
    bare = qa(XIAO_MING_ZH, "小明。")
    reasoned = qa(XIAO_MING_ZH, "题目说的是小明的妈妈，所以她的第三个孩子就是小明自己。")
    assert list(failures([bare, reasoned], "DQ201")) == [0]


REASONED = [
    # a word problem answered with its working: equations with intermediate results
    (
        "A pen costs $3 and a book costs 4 times as much. How much do both cost?",
        "The book costs 3 * 4 = 12 dollars. Together 12 + 3 = 15 dollars.",
    ),
    # the operation stated in words
    ("What is 2 + 2?", "2 + 2 is 4."),
    # Japanese working (M-IFEval, unseen)
    (
        "クラスの中にAさん、Bさん、Cさんがいます。この三人の中からランダムに二人を選ぶとき、Aさんが選ばれる確率を求めてください。",
        "まず、選び方はAさんとBさん、AさんとCさん、BさんとCさんの三通りです。そのうちAさんが入るのは二通りなので、確率は三分の二です。",
    ),
    # numbered steps
    (
        "Solve step by step: how many minutes are in 3 hours?",
        "1. An hour has 60 minutes.\n2. Three hours have 3 x 60 = 180 minutes.",
    ),
    # a "why" answered with a reason
    (
        "Why is the sky blue?",
        "Because air scatters short blue wavelengths more than red ones, so the sky looks blue.",
    ),
    # working written in LaTeX: "\\div", "\\times", "\\frac{a}{b}"
    ("Mick pays $800 for 40 lessons. How much is each lesson?", "$$800\\div40=20$$\n\nEach lesson costs $20."),
    ("A box holds 12 rows of 8 eggs. How many eggs in all?", "\\(12 \\times 8 = 96\\) eggs."),
    ("Share 3 pizzas among 4 friends. How much does each get?", "$\\frac{3}{4} = 0.75$ of a pizza each."),
    # a <think> block
    ("How many legs do 3 spiders have?", "<think>A spider has 8 legs, three have 24.</think>24"),
    # Chinese connectives and equations
    ("小红有5个苹果，又买了3个，一共有几个苹果？", "因为原来有5个，又买了3个，所以一共有 5 + 3 = 8 个苹果。"),
    # questions that need no reasoning may be answered in a word: facts, and one operation on
    # given numbers, seen at a glance (the labelling guide's decision)
    ("What is the capital of France?", "Paris."),
    ("What is 17 * 23?", "391."),
    ("Convert 45 kilometers to meters.", "45 kilometers is 45,000 meters."),
    ("Classify the sentiment of this sentence: I love it.", "Positive"),
    # a shell pipeline or script does the counting (AgentBench's OS tasks, unseen)
    (
        "Stock logs are shown in /usr/stock.log. The last two columns are stock index and count. Please determine the "
        "number of types of stocks Bob sold. And tell me the answer.",
        "grep \"Bob | Sell\" /usr/stock.log | awk -F '|' '{print $3}' | sort -u | wc -l",
    ),
    (
        "Create a main directory named StudentFiles with three sub-directories, each with three more, and determine the "
        "total number of created directories as your answer.",
        "#!/bin/bash\nmkdir -p ~/StudentFiles/Class{A,B,C}/{Project1,Project2,Project3}\n"
        "find ~/StudentFiles -type d -printf '%p\\n' > dirs.txt\nwc -l < dirs.txt",
    ),
    # a computation written in LaTeX, its result in a command (MATH's solutions, unseen)
    (
        "In how many ways can a President, Vice-President, and Treasurer be chosen from a group of 8 people if no one "
        "can serve two roles at the same time?",
        "We have 8 choices for the President, 7 choices for the Vice-President, and 6 choices for the Treasurer, for a "
        "total of $8\\times 7\\times 6=\\boxed{336}$ choices.",
    ),
    (
        "If $h(x) = \\sqrt{\\frac{x+3}{2}}$, what is the value of $h(-1)$?",
        "We have $h(-1) = \\sqrt{\\frac{-1+3}{2}} = \\sqrt{\\frac{2}{2}} = \\sqrt{1} = \\boxed{1}$.",
    ),
    (
        "At each basketball practice Jenny made twice as many free throws as at the one before. At the fifth she made "
        "48 free throws. How many did she make at the first practice?",
        "At Jenny's fourth practice she made $\\frac{1}{2}(48)=24$ free throws. At her third practice she made 12, at "
        "her second practice she made 6, and at her first practice she made $\\boxed{3}$.",
    ),
    ("把这句话翻译成英文：你好。", "Hello."),
    # a search with criteria asks for a pick, not a sum: a range of prices, a floor of ratings, "求推荐",
    # "打算出去" (CrossWOZ task dialogues, unseen)
    (
        "你好，我想找个人均消费在100-150元、评分是4.5分以上的餐馆，要去哪儿呢？",
        "直接去全聚德烤鸭店(清华园店)吧，肯定错不了。",
    ),
    ("我想找一个人均消费在150到500元的餐馆，评分4.5以上的有哪家？", "去远望楼宾馆餐厅吧，评分5分呢。"),
    ("好的。然后再找一家舒适型的、评分是4.5分以上的酒店，求推荐。", "为您推荐北京都季商旅酒店。"),
    ("您好，我想找一家评分是4.5分以上、提供中式餐厅的酒店向女朋友求婚，有什么好地方吗？", "为您推荐北京贵都大酒店哟。"),
    ("我还打算出去玩个2小时 - 3小时，您能帮我物色个评分是4分以上的景点吗？", "建议您去雍和宫转转。"),
    (
        "我想带孩子多玩几天，最好是游玩时长在3天的4.5分评分的景点，票价在100-150元的。",
        "那你们只有一个选择了，就是摩登家庭农场。",
    ),
]
REASONED_CHECKED = Batched("DQ201", [qa(question, answer) for question, answer in REASONED])


@pytest.mark.parametrize(("question", "answer"), REASONED)
def test_reasoned_answers_and_questions_without_need_pass(question, answer):
    assert REASONED_CHECKED.failures(qa(question, answer)) == {}


# a table given as input, its rows of cells between pipes (WikiTableQuestions, AgentBench's DB bench: unseen)
GOALS = (
    "Table:\nPlayer | Friendlies | Cup | Total Goals\nAloisi | 1 | 4 | 5\nBresciano | 2 | 0 | 2\n"
    "Milicic | 2 | 0 | 2\nEmerton | 0 | 2 | 2"
)
NEEDS_REASONING = [
    ("A pen costs $3 and a book costs 4 times as much. How much do both cost?", "$15", "math"),
    ("Calculate the area of a circle with a radius of 4 meters.", "The area is about 50.27 square meters.", "math"),
    ("What is 17 * 23 + 9?", "400.", "math"),
    ("Why does ice float on water?", "Density.", "why"),
    ("Solve this riddle: what has keys but can't open locks?", "A piano.", "logic"),
    ("Explain your reasoning: is 91 a prime number?", "No.", "request"),
    ("小红有5个苹果，又买了3个，一共有几个苹果？", "8个。", "math"),
    ("为什么冬天比夏天冷？", "太阳。", "why"),
    # a mathematical function is no code, and a sum of a range is worked out
    ("Find the derivative of the given function f(x) = 3x^2 + 2x at x = 2.", "14", "math"),
    ("Calculate the sum of all the numbers between 0 and 10.", "55", "math"),
    # one number and a relation between the things counted is a word problem
    ("12 friends each shake hands with every other friend once. How many handshakes in total?", "66.", "math"),
    ("一个班有40名学生，每人种3棵树，一共种了多少棵？", "120棵。", "math"),
    ("平面上4个点可以组成多少个三角形？", "4个。", "math"),  # a count of ways
    # the same questions, bare: the product, the sum of a range and a count still need their working
    ("What is the total cost of buying 10 cinema tickets that cost 6 euros each?", "60 euros.", "math"),
    ("How many prime numbers are there between 1 and 20?", "There are 8 prime numbers between 1 and 20.", "math"),
    # a floor or a plan beside the operands of a word problem leaves them operands
    ("成绩在80分以上的有12人，占全班的40%，全班有多少人？", "30人。", "math"),
    ("商店打算把原价200元的衣服打八折出售，现价多少钱？", "160元。", "math"),
    ("求方程 3x + 5 = 20 的解。", "x = 5。", "math"),
    # a computation whose results the options list: their numbers count beside the question's own
    (
        "题目：一个圆柱的侧面积是12.56dm2，高是0.5dm，它的底面直径是（ ）dm\nA. 8\nB. 4\nC. 16\nD. 12\n答案是：",
        "A",
        "math",
    ),
    # a count or a sum over a table's rows, though its result is one of the table's numbers
    ("How many players had 2 friendlies?\n" + GOALS, "2", "math"),
    ("How many total goals did Milicic and Bresciano score?\n" + GOALS, "4", "math"),
]
NEEDS_REASONING_CHECKED = Batched("DQ201", [qa(question, answer) for question, answer, _ in NEEDS_REASONING])


@pytest.mark.parametrize(("question", "answer", "need"), NEEDS_REASONING)
def test_questions_that_need_reasoning_fail_bare_answers(question, answer, need):
    (message,) = NEEDS_REASONING_CHECKED.failures(qa(question, answer)).values()
    assert message.startswith(f"question needs reasoning ({need})")


NO_TRIGGER_WORD = [
    # algebra in letters
    ("If x = 2y and y = 3z, express x - y in terms of z.", "3z"),
    ("Given a + b = 10 and a - b = 4, what is a?", "7"),
    ("Let m be twice k, and k be 4 more than j. Write m in terms of j.", "m = 2j + 8"),
    # a chain of comparisons
    ("Mia runs faster than Zoe, and Zoe runs faster than Liam. Is Liam faster than Mia?", "No."),
    ("Tom is older than Sue but younger than Max. Who is the oldest?", "Max"),
    ("小明比小红高，小红比小刚高。谁最矮？", "小刚。"),
    # a syllogism with no "then"
    ("All roses are flowers. Some flowers fade quickly. Can we conclude that some roses fade quickly?", "No."),
    ("No reptiles are mammals. All snakes are reptiles. Are any snakes mammals?", "No"),
    ("所有的猫都是动物，所有的动物都会呼吸。能否推出所有的猫都会呼吸？", "能。"),
    # a word problem with no "how many"
    ("Sam had 12 marbles. He gave 5 to Ann and got 3 from Joe. What does Sam have now?", "10 marbles."),
    ("一本书30元，打八折后多少钱？", "24元。"),
    ("小王下载一个3GB的文件，网速是每秒10MB，需要多长时间？", "大约5分钟。"),
    # a formula asked for by name, a conversion that takes a formula
    ("What is the hypotenuse of a right triangle with legs of 3 cm and 4 cm?", "5 cm."),
    ("What is 25 degrees Celsius in Fahrenheit?", "77 °F."),
    # a contrapositive, a kinship chain, an arrangement, a liar puzzle in a role-play
    ("If the alarm rings, Tom wakes up. Tom did not wake up. Did the alarm ring?", "No."),
    ("如果下雨，地面就会湿。地面没有湿。下雨了吗？", "没有。"),
    ("Sarah is Tom's mother. Tom is Ann's father. What is Sarah to Ann?", "Her grandmother."),
    (
        "The red door is left of the blue door, and the green door is right of the blue door. Which is in the middle?",
        "Blue.",
    ),
    (
        "You are Sherlock Holmes. The butler says the maid did it; the maid says she is innocent; the cook says "
        "the butler is lying. Only one of them tells the truth. Who is guilty?",
        "The butler, Watson.",
    ),
    ("你是一名侦探。甲说：乙是小偷。乙说：我不是小偷。丙说：甲在说谎。三人中只有一人说了真话。谁是小偷？", "乙。"),
    # the largest of a list takes comparing them all (issue 13: one-operation list tasks)
    ("Which is the largest number: 0.45, 4/9, 0.449, 45%?", "4/9"),
    # a verdict told in sentences is no derivation
    ("Anna is taller than Ben. Ben is taller than Carl. Who is the shortest?", "Elementary. It is Carl. Next!"),
    # BIG-Bench-Hard's targets (unseen): a chain of operations, who lies by what the others say, what
    # each holds after a series of swaps (its question asked before its options), an order to deduce,
    # where a walk ends
    ("((9 + 2 + 3 - -3) + (-5 + 6 - -6 - -9)) =", "33"),
    ("((5 + 6 * 4 * 9) + (-9 - 0 * 3 - 1)) =", "211"),
    ("Jane booked a flight for tomorrow, Jul 29, 2002. What is the date yesterday in MM/DD/YYYY?", "07/27/2002"),
    ("Question: Kandi tells the truth. Ryan says Kandi lies. Sima says Ryan lies. Does Sima tell the truth?", "Yes"),
    (
        "Alice, Bob, and Claire are playing a game. At the start of the game, they are each holding a ball: Alice "
        "has a yellow ball, Bob has a green ball, and Claire has a blue ball.\nAs the game progresses, pairs of "
        "players trade balls. First, Alice and Bob swap balls. Then, Alice and Claire swap balls. Finally, Claire "
        "and Bob swap balls. At the end of the game, Bob has the\nOptions:\n(A) yellow ball\n(B) green ball\n"
        "(C) blue ball",
        "(B)",
    ),
    (
        "The following paragraphs each describe a set of five objects arranged in a fixed order. The statements "
        "are logically consistent within each paragraph. A fruit stand sells five fruits: watermelons, oranges, "
        "loquats, plums, and kiwis. The plums are less expensive than the kiwis. The plums are more expensive than "
        "the watermelons. The loquats are more expensive than the kiwis. The oranges are the most expensive.\n"
        "Options:\n(A) The watermelons are the third-most expensive\n(B) The oranges are the third-most expensive"
        "\n(C) The loquats are the third-most expensive\n(D) The plums are the third-most expensive",
        "(E)",
    ),
    (
        "If you follow these instructions, do you return to the starting point? Always face forward. Take 4 steps "
        "left. Take 5 steps backward. Take 2 steps forward.\nOptions:\n- Yes\n- No",
        "No",
    ),
    # a common multiple asked in words, two ratios compared, an age from its relations (ASDiv, unseen)
    (
        "Tim has 39 pairs of headphones and 13 music players. Tim wants to sell all of them in identical "
        "packages. What is the greatest number of packages Tim can make?",
        "13 (packages)",
    ),
    (
        "Ava baked 14 apple pies and 8 blueberry pies. Shannon baked 12 and 4. Who baked a higher ratio of apple pies?",
        "Shannon",
    ),
    (
        "Vidya's mother is 5 years more than three times Vidya's age. Find Vidya's present age, if her mother is 44.",
        "13",
    ),
    # a comparison of given things worked out, its answer one of their names (ASDiv, unseen)
    (
        "A book store sells 2 books for $15.86. Online you can buy 7 books for $55.93. Which has a lower unit price?",
        "Book store",
    ),
    # what follows from conditions, asked as LogiQA and LSAT ask it, options on their header's line (unseen)
    (
        "Context: F and G cannot be in the same group. If K is in a group, J is in it too.\nQuestion: If K is in "
        "the first group, which of the following statements must be true?\nChoices: A. J is in the first group.\n"
        "B. F is in the first group.",
        "A",
    ),
    (
        "Five witnesses testify on Monday, Tuesday or Wednesday. Franco does not testify on the day Garcia does. "
        "Iturbe testifies on Wednesday.\nQ: Which one of the following could be the schedule?\nA.) Franco, Garcia "
        "on Monday\nB.) Iturbe on Monday",
        "B",
    ),
]
NO_TRIGGER_WORD_CHECKED = Batched("DQ201", [qa(question, answer) for question, answer in NO_TRIGGER_WORD])


@pytest.mark.parametrize(("question", "answer"), NO_TRIGGER_WORD)
def test_bare_answers_to_problems_without_trigger_words_fail(question, answer):
    assert list(NO_TRIGGER_WORD_CHECKED.failures(qa(question, answer))) == [0]


SHOWN_OR_NOT_NEEDED = [
    # a remark asked back in chat is no family puzzle: it asks nobody to count (CDConv, unseen)
    ("我下班还得去幼儿园接孩子。\n你已经有两个孩子了啊？", "是啊，两个都是男孩，可累了。"),
    # role-play answers that explain themselves in prose
    (
        "You are the Sorting Hat. A student is strong in Herbology but afraid of public speaking. "
        "Which house would you choose for him and why?",
        "I would place him in Hufflepuff as this house values hard work and patience, which are qualities "
        "that match his talent. Its nurturing spirit would help him grow braver over time.",
    ),
    (
        "Imagine you are a time traveller. Which event would you change and why?",
        "I would save the Library of Alexandria. Its scrolls held centuries of learning, preserving them "
        "would have sped up science by generations.",
    ),
    # a riddle answered by pointing at where the question gives it away, or by naming what it counts
    (
        "Anna's father has three daughters. Two of them are April and May. What is the third daughter's name?",
        "Her name is Anna, as stated at the start of the riddle.",
    ),
    (
        "One Eye was a cat and Two Paws was one too. One Eye caught one mouse. Two Paws caught one too. "
        "How many cats are in this story?",
        "There are two cats in the story: One Eye and Two Paws.",
    ),
    (
        "One Eye was a cat and Two Paws was one too. One Eye caught one mouse. Two Paws caught one too. "
        "How many cats are in this story?",
        "There are two cats in this story. They are One Eye and Two Paws.",
    ),
    (
        "One Eye was a cat and Two Paws was one too. One Eye caught one mouse. Two Paws caught one too. "
        "How many cats are in this story?",
        "There are two cats in this story, One Eye and Two Paws.",
    ),
    # "in which" opens a relative clause: a dilemma with numbers in it asks nothing to calculate
    (
        "Is there a right answer to the dilemma in which a driver can steer into 5 people or into 1 person, killing 1 rather than 5?",
        "There is no single right answer. Utilitarians count the lives saved; others hold that steering into "
        "anyone is a killing the driver is answerable for.",
    ),
    # a result with the operation that gives it in brackets
    (
        "Ann pays her coach $900 for 30 lessons of 2 hours each. How much does she pay per lesson?",
        "She pays $30 ($900 / 30) per lesson.",
    ),
    # an answer that says the question does not give what it asks is not judged
    (
        "Ben's aunt has three nephews. Two of them are called Sam and Leo. What is the third nephew called?",
        "The third nephew's name is not given in the question.",
    ),
    # numbers and a "?" in the input of a classification, summary or translation
    ("Classify the sentiment of this review.\nThe room cost $300 for 2 nights and broke twice?!", "Negative"),
    ("Predict the intent. Options: 1) order 2) shipping 3) refund.\nMy 3 items haven't come in 10 days?", "2"),
    ("Translate to French: How many apples do you have?", "Combien de pommes as-tu ?"),
    # prompts with numbers that are no problem to solve
    ("Recommend 3 books for a 10 year old under $20.", "Charlotte's Web, Matilda and Holes."),
    (
        "You are a negotiator. The other camp offers 50 gallons of water for 30 pounds of grain, "
        "but we have only 20. What do you propose?",
        "Twenty pounds of grain and two days of our mechanic's labour.",
    ),
    ("Write a haiku about 5 autumn leaves.", "Five leaves drift and fall\nred and gold on quiet ground\nwind hums"),
    ("What is the output of this code?\nx = 5\ny = 10\nprint(x + y)", "15"),
    # code given in the question does the work, whatever the question asks of it
    ("What does the following code print out?\nx = 5\ny = 10\nprint(x + y)", "15"),
    ("Read the given code and output the logical result.\nx = 5\ny = 10\nif x > y:\n    print('X')", "Y"),
    # one look at given values: their sum, the larger of two, a remainder
    ("Find the sum of all items in this array.\nmy_array = [2, 4, 6, 8, 10]", "30"),
    ("What is the maximum element in the given array? [3, 10]", "10"),
    ("What is the maximum element in the given array?\narr = [3, 4, 8, 9, 10]", "10"),
    ("找出数组中的最大值。[3, 9, 2, 7]", "9"),
    # which row of a given table is highest: one look down a column
    (
        "姓名,年龄,身高(cm),体重(kg)\n王芳,31,162,55\n李雷,27,178,72\n赵强,45,170,86\n基于这个表格回答：哪个人的体重最重？",
        "赵强最重，86kg。",
    ),
    (
        "Name,Age,Height (cm),Weight (kg)\nAnn,31,162,55\nBob,27,178,72\nCid,45,170,86\n"
        "Which person has the highest weight in the table?",
        "Cid.",
    ),
    ("给定一个句子和一个数字，返回该位置的字，位置索引从1开始计算。\n这是一句随机的话。4", "句"),
    # a chance hoped for, not a probability asked for
    (
        "Plan an Instagram schedule with the best chance of ranking for 3 keywords, 2 posts a day for 14 days.",
        "| Mon | Tue |\n| Post A | Post B |",
    ),
    ("What is the result of 1111 modulo 10?", "1"),
    # the asker wants the answer alone; an answer that asks back gives none
    ("Solve 3x + 5 = 20. Give only the final answer.", "x = 5"),
    ("Calculate my monthly loan payment.", "Sure: what are the amount, the rate and the term?"),
    # a look-up with one number in it: a price, a normal range; a total stated, not asked
    ("这两个显卡的市场价格是多少？", "A型约2500美元，B型约8000美元。"),
    ("血压低压多少正常？我的是97。", "低压60到89之间算正常，97偏高，建议复查。"),
    ("有一场派对正在进行，总共有96个人在那里。", "好的，我明白了，请继续。"),
    # a verdict asked for in so many words, in a conditional instruction: the "why" is an example's
    (
        "下面有两个问题（问题1和问题2）。如果这两个问题的意思和答案相同，回答“是”，否则回答“否”。\n--------\n"
        "问题：问题1：有没有好的方法来给代码写注释？问题2：有没有关于写好代码注释的建议？\n\n答案：是\n\n\n"
        "问题：问题1：猫可以喝牛奶吗？为什么？问题2：猫能喝牛奶吗？\n\n答案：是\n\n\n"
        "问题：问题1：没有Java基础，学Python难吗？问题2：Python容易学吗？\n\n答案：",
        "不。",
    ),
    # a text sorted into a class, a premise weighed: the "why", the numbers and the steps are the text's
    ("这是关于哪方面的新闻？为什么今年的猪肉价格涨了3倍？\n选项：财经，农业，体育\n答案：", "农业"),
    (
        "给定“加快推进农村公路建设”我们应该假定“农村公路建设需要分地区逐步推进”是真的吗？是的,不是,或也许？\n答案：",
        "也许",
    ),
    # versions are names, not quantities
    (
        "这行日志是什么意思？\nDalvik/2.1.0 (Linux; U; Android 11; Build/RP1A.200720.012) appVersion=4.6.2 (406251)",
        "这是一台安卓设备上某个应用的版本信息。",
    ),
    # a consultation: its numbers are the asker's circumstances, not data to work from
    (
        "我家孩子三岁，发烧38度两天了，嗓子里长了泡泡，会不会传染给我？怎么办？求医生指点。",
        "可能是疱疹性咽峡炎，会传染，请多喝水、清淡饮食，并带孩子去医院儿科就诊。",
    ),
    (
        "有的说是肠炎，有的说是阑尾炎，肚子疼了3天，我该怎么治疗？",
        "建议尽快去医院做血常规和B超，明确诊断后再治疗。",
    ),
    (
        "一名6岁男孩阑尾切除术后第3天体温38.2度，应该做哪些检查和处理？",
        "查血常规和切口情况，物理降温，必要时用抗生素。",
    ),
    ("患者发热三天伴咳嗽，胸片见片状阴影，初步诊断为什么病？", "社区获得性肺炎。"),
    (
        "My son is 4 and has had a 38.5 C fever for 2 days with 3 blisters on his hands. What should I do?",
        "It sounds like hand, foot and mouth disease; keep him hydrated and see his doctor.",
    ),
    # Unseen Huatuo (Chinese medical cases): "为何种疾病" asks which disease, not why; a case's
    # lab values, sizes and vital signs are its circumstances, whatever the question word
    ("一名新生儿出生后不久出现黄疸、厌食等症状，诊断为何种疾病？", "婴儿肝病综合征"),
    (
        "张女士，30岁，突发头晕、呕吐，查血常规：白细胞计数为1.5×10^9/L，其中中性粒细胞占20%。请问治疗方案是什么？",
        "ATRA（维甲酸）+化疗",
    ),
    (
        "患者孕14周，主诉右上腹部疼痛，伴随恶心、呕吐，BP 160/110 mmHg，有肝区压痛。请问可能患有什么疾病？",
        "患者可能患有妊娠期肝血肿及破裂，需要进行B超检查。",
    ),
    (
        "一名45岁女性近期突然发现肩胛骨部位一颗硬结，大小约有2*2厘米，伴随发热和全身乏力，查体时发现局部皮肤微热。",
        "建议进行超声检查、MRI检查或CT检查，确定肿瘤的范围和深度。",
    ),
    (
        "赵女士患有黄疸型肝炎已经十年了，症状比较轻微，主要是肝区痛和全身乏力，求治疗建议。",
        "建议前往消化内科就诊。",
    ),
    # an outline's heading numbers are labels, not quantities (unseen ShareGPT-zh)
    (
        "第四章：地震预防和风险减少方法\n4.1 地震预防和风险减少方法\n4.1.1 建筑物的抗震能力\n4.1.2 防震建筑技术\n"
        "4.2 地震保险\n4.2.1 什么是地震保险？\n4.2.2 地震保险的范围和条件\n请添加与该主题相关的附加标题",
        "4.1.5 地震风险分析\n4.1.6 地震预警系统\n4.1.7 建筑物加固工程",
    ),
    # an offer to translate is no premise of a syllogism (unseen ShareGPT-zh, a translator's note)
    (
        "Is stress caused by social instinct?\n\n(Note: This is a translation of the original prompt. It has "
        "not been converted to Chinese. If you require a Mandarin translation, please let me know.)",
        "No, not on its own.",
    ),
    # a worked example's "Why?", answered on its own line, is an example explained, not asked
    (
        "Fill in the blank with a plausible word.\n\nPersonX sees ___ in the wild\nSolution: tiger\n"
        "Why? This is a good example. The output is a correct answer.\n\nNew input: PersonX eats ___ at noon\nSolution:",
        "lunch",
    ),
    # Unseen AlignBench (Chinese): a persona to play whose age is no quantity to work from
    (
        "我想让你假扮成和一个20岁的女生聊天的聊天框。我输入和20岁女生的聊天内容，你仅仅只输出一个20岁女生可能会回复的内容，"
        "不要输出任何多余的文本。你平时有什么爱好呀？",
        "我喜欢阅读，尤其是小说和诗词，还有就是喜欢听音乐和画画。",
    ),
    # ... the answers asked for directly ("直接给出所有正确的答案")
    (
        "下面是一道多选题,请仔细查看选项并直接给出所有正确的答案。\n在棱长为1的正方体上截去8个三棱锥后,剩下的几何体的体积"
        "表述错误的是（）\n A.2/3\n B.7/6\n C.4/5\n D.5/6",
        "ABC",
    ),
    ("Which of these numbers are prime: 4, 7, 9, 11? Directly give all the correct options.", "7 and 11."),
    # ... "我的几个问题" are my few questions, not a count asked for
    (
        "根据文本回答我的几个问题。问题1：A银行是一家什么样的公司？问题2：A银行有多少名研究人员？文本：A银行自2001年成立"
        "之日起,就将自己定位为“银行联合信息中心”,为银行业提供全方位优质的信息和咨询服务。A银行目前拥有全职研究与咨询人员"
        "160余人,每年定期出版各类研究报告200多种,长期服务的客户包括国内外700多家银行。",
        "问题1：为银行业提供信息和咨询服务的公司。问题2：160余人。",
    ),
    # a calculation game to set up, not a calculation asked (MOSS role-play, unseen)
    (
        "我想尝试一下数学计算游戏，请给我一个难度适中的版本，并在1分钟内设定一个最大得分目标。",
        "好的，您需要在1分钟内尽可能多地解答我提供的题目，每答对一题得1分，最大得分目标为50分。第一题：8+6=",
    ),
    # ... pointing at the question in other words, or naming what it counts (AlpacaEval's
    # gpt-3.5 answers, unseen)
    (
        "Tom's aunt has three nephews. Two of them are Ben and Carl. What is the third nephew's name?",
        'The third nephew is Tom, as the question states "Tom\'s aunt" and the other two are named.',
    ),
    (
        "One Ear was a goat and Two Ears was one too. One Ear ate one apple. Two Ears ate one too. "
        "How many goats are in this story?",
        "There are two goats in this story named One Ear and Two Ears.",
    ),
    # a total shown by its parts, in prose
    (
        "Ana bought three $20 books, two $4 pens and a $9 bag. How much did she spend in total?",
        "Ana spent $77. She spent $60 on the three books, $8 on the two pens, and $9 on the bag.",
    ),
    # ... the process asked for, numbered inline: "1. …,2. …,3. …"
    (
        "一个猎人带着一只狗,一个男人带着两个小男孩,只有一条船,一次最多运两个。怎样才能把人和狗安全运到对岸？写出过程。",
        "1. 猎人带着狗过河,2. 猎人把狗留在对岸,自己回来,3. 男人带一个小男孩过河,4. 男人自己回来,5. 男人带另一个小男孩过河,"
        "6. 猎人回来接狗,所有人和狗都安全抵达对岸。",
    ),
    # a range given as an example, spaced dash and all, is no subtraction (unseen DPO-zh)
    (
        "在这个任务中，你会得到一个国家的名字，然后需要返回该国家的条形码前缀。一些国家有一系列的条形码前缀，"
        "比如730 - 739；在这种情况下，该范围内的数字都会被视为有效输出。\n\n阿根廷",
        "779",
    ),
    # relations asked of a given sentence: its share is the sentence's, not an operand (PromptCBLUE)
    (
        "非小细胞肺癌@大细胞癌，占肺癌的比例大约为10%，大细胞癌是未分化的肿瘤，倾向于集中出现。\n"
        "问题：句子中的发病率，病理分型等关系类型三元组是什么？",
        "具有发病率关系的头尾实体对如下：\n具有病理分型关系的头尾实体对如下：头实体为肺癌，尾实体为大细胞癌。",
    ),
    # "没有" as "does not have", not the "no" of a syllogism's premise (OASST-zh)
    (
        "据我对你的系统架构了解，你似乎没有长程记忆的能力。例如，你并不能在对话中回忆起我们上一次对话的内容。是这样么？",
        "你可能没有听说过什么叫上下文信息",
    ),
    # working done in words, in character (RoleBench, unseen): a product named by its factors,
    # an operation and its result, a chain of additions, a count shown by listing what it counts
    (
        "What is the total cost of buying 10 cinema tickets that cost 6 euros each?",
        "Well, that's simple math. 10 tickets at 6 euros each. It's gonna run you 60 euros.",
    ),
    (
        "You are given an email with a list of items and prices. Find the total price of all the items.\n"
        "5 apples $1.99, 3 oranges $0.75, 1 milk $2.50.",
        "Five apples at $1.99 each, that's $9.95. Throw in three oranges at 75 cents a pop, and that's another "
        "$2.25. The milk? $2.50. Total comes to $14.70.",
    ),
    (
        "Find the length of the given word and add 3 to it.\nMountains",
        'The word "Mountains" has 9 letters. Add 3, and you get 12.',
    ),
    ("What is 12 * 3 + 4?", "12 times 3 plus 4... that makes 40."),
    (
        "How many prime numbers are there between 1 and 20?",
        "There are 8 prime numbers between 1 and 20. They are 2, 3, 5, 7, 11, 13, 17, and 19.",
    ),
    # a sum of the numbers the question lists, or of a number's digits, is seen at a glance
    ("Calculate the sum of three numbers: 10, 5, and 8", "That would be 23."),
    ("Calculate the sum of 1, 4, and 9.", "That's easy, it's 14."),
    ("Compute the sum of all the numbers in the input list\n[1, 2, 3, 4, 5]", "Sure thing! The sum is 15."),
    ("What is 3 + 4 + 5?", "12"),
    # a swap that is no puzzle
    ("Tom and Ann swap seats at lunch. Then, they talk about the weather. What did they talk about?", "The weather."),
    # numbered labels of the material are no quantities
    ("Which of the two words appears later in the dictionary?\nWord 1: Apple\nWord 2: Airplane", "Apple."),
    ("You are given a number N. Find the sum of all its digits.\n123.", "It's 6."),
    # a field is no surface, and an answer fixed to yes or no waives the working
    (
        "Identify what is the area of expertise of the given sentence.\nDonald Trump was impeached in 2019.",
        "Politics.",
    ),
    (
        "You need to answer the question 'Are all the given weights in order from heaviest to lightest?' Your "
        "answer must be either Yes or No. If the answer is No, that means there is at least one weight that is "
        "lighter than another weight that appears earlier in the list.\nWeights: [10 kg, 9 kg, 8 kg, 7 kg].",
        "Yes.",
    ),
    # a fact asked among numbered options: they are candidate answers, not quantities; a marker in an
    # option asks nothing (CMMLU, unseen)
    (
        "题目：2019年1月12日，中国天文学会和北京天文馆在京联合宣布启动国际天文学联合会（IAU）发起的全球天文行动，"
        "以纪念IAU成立多少周年\nA. 60\nB. 200\nC. 80\nD. 100\n答案是：",
        "D",
    ),
    (
        "题目：2019年1月，中国天文学会宣布启动国际天文学联合会（IAU）发起的天文行动，以纪念IAU成立多少周年\nA. 60\nB. 200\nC. 80\nD. 100\n答案是：",
        "D",
    ),
    (
        "题目：驾驶机动车在进出非机动车道时，最高速度不能超过多少\nA. 60公里/小时\nB. 30公里/小时\nC. 50公里/小时\nD. 40公里/小时\n答案是：",
        "B",
    ),
    (
        "题目：关于法律推理，下列说法正确的是\nA. 演绎推理的大前提通常是法律事实\nB. 英美法系国家一般采用归纳推理\n"
        "C. 辩证推理是通过法官的主观想象获得合理裁判结论的推理过程\nD. “类似案件，类似处理”是类比推理的基本要求\n答案是：",
        "D",
    ),
    # read off a table given as input: the cell where a row and a column it names meet, a cell's text
    ("How many friendlies did Milicic have?\n" + GOALS, "2"),
    (
        "How many attended tie number 19?\nTie no | Home team | Attendance\n18 | Leeds | 1,020\n19 | Hull | 1,174",
        "1174.0",
    ),
    ("Which player scored 4 goals in the cup?\n" + GOALS, "Aloisi"),
    # a line of a scene that Tom Riddle speaks: his name, not a riddle announced (Chat-Haruhi, unseen)
    (
        "Riddle：「Was my father a wizard? He was called Tom Riddle too, they've told me.」",
        "「I'm afraid I don't know.」",
    ),
    # options as bullets under their header are candidates: no premises, no quantities (llm-foundry's ARC, unseen)
    (
        "Question: Which would indicate that a series of fossils represent the evolution of the horse?\nOptions:\n"
        "- All of the fossils are identical to horse bones.\n- All of the fossils show structures similar to the "
        "modern horse's.\n- All of the fossils were found where horses live.\nAnswer:",
        "All of the fossils show structures similar to the modern horse's.",
    ),
    ("How many times would someone change the page of a calendar in a year?\nOptions:\n- 13\n- 12\n- 14", "12"),
    # the answer's form prescribed, and kept to; an average asked of the world (IFEval, unseen)
    (
        'If a + b + c = 30 and b = 10 and c = 5. Is a = 20? Answer ”My answer is yes." or "My answer is no."',
        "My answer is no.",
    ),
    (
        "A train goes 60 km in 1.5 hours. What is its average speed?\nA. 40 km/h\nB. 90 km/h\nAnswer with only the letter.",
        "A",
    ),
    ("what is the average iq of a 16 year old boy?", "Around 100."),
    ("Is the following statement true or false? Output T for true and F for false.\nQ: All bats have eyes.\nA:", "T"),
    # a "what" among numbers answered with a name: a thing they describe, not a result (TriviaQA, unseen)
    (
        "Question: What cocktail typically consists of 3 parts vodka, 1 part apple schnapps, and 1 part cointreau?",
        "Appletini",
    ),
]
SHOWN_OR_NOT_NEEDED_CHECKED = Batched("DQ201", [qa(question, answer) for question, answer in SHOWN_OR_NOT_NEEDED])


@pytest.mark.parametrize(("question", "answer"), SHOWN_OR_NOT_NEEDED)
def test_reasoning_in_prose_tool_calls_and_questions_that_need_none_pass(question, answer):
    assert SHOWN_OR_NOT_NEEDED_CHECKED.failures(qa(question, answer)) == {}


INLINE_CALLS = [
    ("Calculate the square of 19, plus 7.", "The result is python('19**2 + 7')."),
    ("How many days are there in 12 weeks and 3 days?", "There are calculator(12*7+3) days."),
    ("What is the population of Paris divided by 2?", "About wikipedia('Paris population') / 2."),
    ("If today is Monday, what day will it be in 10 days?", "[Calendar()] It will be Thursday."),
    ("What is 15% of 80, plus a $5 fee?", '<functioncall> {"name": "calc", "arguments": {"expr": "0.15*80+5"}}'),
    ("Natalia sold 48 clips in April and half as many in May. How many in all?", "48/2 = <<48/2=24>>24, 72."),
    # a ReAct agent's action, its result the next turn's "Observation:" (FireAct, unseen)
    (
        "What is the population of Paris divided by 2?",
        "Thought: I need the population.\nAction: search[Paris population]",
    ),
]
INLINE_CALLS_CHECKED = Batched(
    "DQ201", [qa(question, answer) for question, call in INLINE_CALLS for answer in ("17.", call)]
)


@pytest.mark.parametrize(("question", "call"), INLINE_CALLS)
def test_an_inline_tool_call_does_the_work_a_bare_answer_does_not(question, call):
    assert list(INLINE_CALLS_CHECKED.failures(qa(question, "17."))) == [0]
    assert INLINE_CALLS_CHECKED.failures(qa(question, call)) == {}


def test_every_exchange_is_judged_and_the_finding_names_the_turn_with_its_evidence():
    chat = conversation(
        "Hi!",
        "Hello! How can I help?",
        "A pen costs $3 and a book 4 times as much. How much do both cost?",
        "$15",
        "Why is the sky blue?",
        "Rayleigh.",
    )
    run = run_rule("DQ201", [chat])
    assert run.turns == [4]
    assert run.messages == [
        "question needs reasoning (math), the answer shows none (CoT score 0.0 < 0.3) (also turns 6)"
    ]
    assert run.evidence == [
        'need math: "How much" + 2 quantities; answer score 0.0 '
        "(no connective, explaining clause, step, equation, earlier sentence, tool call or code) < 0.3"
    ]


def test_a_why_put_to_a_character_in_a_scene_is_dialogue_and_a_puzzle_there_is_not():
    scene = fu_hongxue_scene(*SCENE_WHYS)
    puzzle = fu_hongxue_scene(
        "卓玉贞：我们为什么要到这里来？",
        "一粒白米，要藏在什么地方最安全？",
        "卓玉贞：小明的妈妈有三个孩子，老大叫一毛，老二叫二毛，老三叫什么？",
        "三毛。",
    )
    assert failures([scene, puzzle], "DQ201") == {
        1: "question needs reasoning (logic), the answer shows none (CoT score 0.0 < 0.3)"
    }


def test_alpaca_history_is_judged_too():
    reasoned = "Because air scatters blue light more than red, so the sky looks blue."
    bare = record("How many legs do 3 spiders and 2 ants have?", "36", history=[("Why is the sky blue?", reasoned)])
    early = record("How many legs do 3 spiders and 2 ants have?", "3 x 8 + 2 x 6 = 36 legs.", history=[("Why?", "No.")])
    run = run_rule("DQ201", [bare, early])
    assert run.turns == [4, 2]
    assert run.evidence[1].startswith('need why: "Why"; answer score 0.0')


def test_a_react_agents_final_action_is_no_tool_call():
    answer = "Action: finish[50]"
    assert list(failures([qa("What is the population of Paris divided by 2?", answer)], "DQ201")) == [0]


def test_a_tool_call_counts_as_the_work_shown():
    record = {
        "conversations": [
            {"from": "human", "value": "What is 15% of $80? Calculate it please."},
            {"from": "function_call", "value": '{"name": "percent", "arguments": {"p": 15, "of": 80}}'},
            {"from": "observation", "value": '{"result": 12}'},
            {"from": "gpt", "value": "It is $12."},
        ]
    }
    assert failures([record], "DQ201") == {}


def test_needs_option_narrows_the_questions_checked():
    record = qa("Why does ice float on water?", "Density.")
    assert failures([record], "DQ201", rules={"DQ201": {"needs": ["math"]}}) == {}
    with pytest.raises(ConfigError, match="rules.DQ201.needs"):
        dqe.check([record], select=["DQ201"], rules={"DQ201": {"needs": ["astrology"]}})


def test_gsm8k_answers_score_as_chain_of_thought():
    report = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ201"])
    assert report.summary.rejected == 0
    cot = report.dataset["cot"]
    assert cot["share"] == 1.0 and cot["share_reasoning"] == 1.0
    assert cot["reasoning_records"] >= 0.99 * 7473  # nearly every GSM8K question is seen to need reasoning
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "pass"


def test_gsm8k_answers_cut_to_the_final_number_fail():
    import re

    records = json.loads(real("gsm8k_train_alpaca.json").read_text())
    cut = [qa(r["instruction"], re.findall(r"-?\d[\d,]*(?:\.\d+)?", r["output"])[-1]) for r in records]
    report = dqe.check(cut, select=["DQ201"])
    assert report.summary.rejected >= 0.99 * len(cut)
    assert report.dataset["cot"]["share_reasoning"] == 0.0
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "warn"


def test_dataset_section_counts_reasoning_records():
    records = [
        qa("Why is the sky blue?", "Because of Rayleigh scattering, so blue light dominates."),
        qa("Why does ice float?", "Density."),
        qa("Name a colour.", "Red."),
        qa("Name a fruit.", "An apple, because it is the first fruit that comes to mind."),
    ]
    cot = dqe.check(records, select=["DQ201"]).dataset["cot"]
    assert cot["reasoning_records"] == 2 and cot["cot_records"] == 2
    assert cot["share"] == 0.5 and cot["share_reasoning"] == 0.5
    assert cot["by_need"] == {"why": 2}


def test_no_reasoning_questions_leave_the_gate_metric_skipped():
    report = dqe.check([qa("Name a colour.", "Red.")], select=["DQ201"])
    assert report.dataset["cot"]["share_reasoning"] is None
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "skipped"


# Failures per real file, read and judged: bare answers to calculations that apply a formula or
# take more than one operation ("Calculate the volume of a sphere..." -> "The volume is
# approximately 113.10 cubic cm.", 25 °C as "77.0°F"), the derivative of x^2 as "2x". One
# operation on given numbers (the sum of 7 and 8, 15% of 500, 45 km in metres, the area of a
# square), GSM8K, tool calls and chit-chat pass; "why" answers that give their reason in prose
# ("One reason is to protect privacy... making it difficult to track...") pass. GPTeacher's code
# set: none. Its 72 findings of before were read on the io branch as 26 right (the output of a
# code snippet answered alone: "25", "[9, 4, 5]") and 45 false alarms (answers that are code,
# outputs given with their explanation); DQ201 now treats a programming task as no math problem
# at all (the code does the work, the numbers are the code's), so the 26 pass too: a decision,
# noted in the report of issue 13.
EXPECTED = {
    # a conversion by the factor given and the derivative of x^2 are seen at a glance
    "rasbt_instruction_data.json": 15,
    # the cost of 3 apples at $1 each is one multiplication
    "llamafactory_alpaca_en_demo.json": 4,
    "llamafactory_alpaca_zh_demo.json": 1,
    # "OpenAI为什么要制作你？" answered in a sentence of prose that corrects it and gives the purpose
    "llamafactory_identity.json": 0,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 3,
    "fastchat_dummy_conversation.json": 0,
    "gpteacher_codegen_instruct.json": 0,
}


# GSM8K's: none, test_gsm8k_answers_score_as_chain_of_thought (the same check, none rejected)
@pytest.mark.parametrize("name", sorted(REAL_FILES.keys() - {"gsm8k_train_alpaca.json"}))
def test_real_files(name):
    found = failures(real(name), "DQ201")
    assert len(found) == EXPECTED[name]
    assert all(m.startswith("question needs reasoning (") for m in found.values())


def test_a_users_pack_extends_the_markers(tmp_path):
    """A pack of your own adds tasks on text (and any other marker) to the shipped lists."""
    record_ = qa("Anonymise this record: John, 34, paid $20 for 3 tickets. How much was each?", "Name, 34, $20, 3.")
    assert list(failures([record_], "DQ201")) == [0]
    (tmp_path / "cot.toml").write_text('[question.en]\ntext-task = ["anonymi[sz]e"]\n', encoding="utf-8")
    assert failures([record_], "DQ201", rule_packs=[str(tmp_path)]) == {}


def test_the_rule_keeps_the_engines_contract():
    """One row per record, judged the same in a batch as alone, with and without history."""
    from dqe.testing import assert_rule_contract

    assert_rule_contract(
        "DQ201",
        [
            qa(XIAO_MING, "Xiao Ming."),
            qa("Why is the sky blue?", "Because air scatters blue light more, so the sky looks blue."),
            record("How many legs do 3 spiders have?", "24", history=[("Why?", "No.")]),
            qa("Classify the sentiment.\nIt cost $300 for 2 nights?!", "Negative"),
            qa("", ""),
        ],
    )


PASSAGE = (
    "Read the report and answer the question. The mill opened in 1872 with 40 looms. By 1901 it ran "
    "120 looms and employed 310 weavers, 70 of them children. A fire in 1923 closed the east wing, "
    "and the owners sold the site to the town council in 1931 for 12,000 pounds."
)


@pytest.mark.parametrize(
    "answer",
    [
        "The mill ran 120 looms and employed 310 weavers by 1901.",
        "The owners sold the site to the town council.",
    ],
)
def test_an_answer_looked_up_in_the_given_text_needs_no_working(answer):
    question = f"{PASSAGE}\nQuestion: How many weavers did the mill employ, and who bought the site?"
    assert failures([qa(question, answer)], "DQ201") == {}


def test_a_result_the_given_text_does_not_hold_was_worked_out():
    # the same passage, a calculation asked: 310 - 70 is not in the text, so the bare result fails
    question = f"{PASSAGE}\nQuestion: How many of the weavers in 1901 were adults?"
    assert list(failures([qa(question, "In 1901 the mill had 240 adult weavers.")], "DQ201")) == [0]


def test_a_puzzle_answered_with_its_own_words_still_needs_reasoning():
    # a logic puzzle's answer is words of its question by nature: no look-up below a passage's length
    question = (
        "Anna, Ben and Carl sit in a row. Anna is not next to Ben. Carl is not on the left end. "
        "Ben is to the right of Carl. Who sits on the left end of the row?"
    )
    assert list(failures([qa(question, "Anna sits on the left end of the row.")], "DQ201")) == [0]


COMMENT = (
    "I ordered 3 boxes of these protein bars at 12 dollars each and the total came to 36 dollars with "
    "free shipping. The average bar has 20 grams of protein and only 2 grams of sugar, which is what I need "
    "after a 10 kilometre run. My kids ate 5 of them in one afternoon, so the taste must be fine. Delivery "
    "took 2 days and every bar arrived intact. I will order 4 more boxes next month because the price per bar "
    "is lower than at my gym."
)
THREAD = f"{COMMENT} {COMMENT}"  # the comment posted twice: a long material


def test_a_long_question_asks_in_its_sentences_not_in_its_material():
    # the comment's numbers, "average" and "if" are its own; the asking sentence wants a label
    question = f"Here is a customer comment from our shop. {THREAD} Is the comment positive or negative?"
    assert failures([qa(question, "Positive.")], "DQ201") == {}
    # the same comment with a calculation asked: the asking sentence holds the marker, the comment the quantities
    asked = f"Here is a customer comment from our shop. {THREAD} How many bars did the kids leave of one box?"
    assert list(failures([qa(asked, "7.")], "DQ201")) == [0]


def test_a_task_that_asks_for_a_label_needs_no_derivation_whatever_its_text_holds():
    """The 'if's of a review and the 'why' and numbers of another are the reviews', not problems."""
    reviews = [
        qa(
            "if your senses haven't been dulled by slasher films and gorefests , if you're a connoisseur of "
            "psychological horror , this is your ticket . Did the reviewer enjoy the movie?",
            "Yes",
        ),
        qa(
            "Is this review positive or negative? Review: Then why the hell are the characters driving a 2004 car "
            "in 1971? I paid 12 dollars for 2 hours of this. 3/10.",
            "negative",
        ),
    ]
    assert failures(reviews, "DQ201") == {}
    # with no task taken as a labelling task, the markers decide alone
    assert len(failures(reviews, "DQ201", rules={"DQ201": {"label-tasks": []}})) == 2


def test_reasoning_kept_beside_the_answer_is_its_reasoning():
    question = "A farmer has 17 sheep. All but 9 run away. How many sheep does he have left?"
    bare = {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": "9"}]}
    traced = {
        "messages": [bare["messages"][0], {**bare["messages"][1], "reasoning_content": "All but 9 run away: 9 stay."}]
    }
    moss = {
        "chat": {
            "turn_1": {
                "Human": "<|Human|>: 一个笼子里有鸡和兔共10只，共有28条腿。兔有几只？<eoh>\n",
                "Inner Thoughts": "<|Inner Thoughts|>: 设兔y只，2(10-y)+4y=28，所以y=4。<eot>\n",
                "Commands": "<|Commands|>: None<eoc>\n",
                "Tool Responses": "<|Results|>:\nNone\n<eor>\n",
                "MOSS": "<|MOSS|>: 兔有4只。<eom>\n",
            }
        }
    }
    assert list(failures([bare, traced], "DQ201")) == [0]  # the bare answer only
    assert failures([moss], "DQ201") == {}


def test_a_trace_cut_before_its_answer_still_shows_reasoning():
    # the defect is the missing answer, DQ001's; DQ201 does not report it again as "no reasoning"
    cut = qa("一根绳子长12米，剪成3段，每段多长？", "<think>\n嗯，每段长度就是12除以3，等于")
    assert failures([cut], "DQ201") == {}


def test_a_why_behind_a_premise_is_explained_in_prose():
    """ "If water is not a good conductor, why ...?" asks for an explanation: its "if" clause is the
    premise the why rests on, not a puzzle's, and prose that explains answers it (LIMA, unseen). A
    why asked of a puzzle's premises is still a why: a bare verdict fails it."""
    question = "If water is not a good conductor, why are we advised to avoid water near electricity (no wet hands near circuits etc.)?"
    explained = (
        '"Pure" water is a very poor conductor (resistivity is used as a measure of purity).\n'
        '"Real" water is not pure - it contains electrolytes and is quite conductive. Also - when your skin is '
        "wet, its resistivity is significantly lower.\n"
        "* Immersion wets the skin very effectively and greatly lowers skin resistance per unit area\n"
        "* Electric current may also enter the body through mucous membranes, such as the mouth and throat"
    )
    puzzle = "All birds lay eggs. Penguins are birds. Why do penguins lay eggs?"
    run = run_rule("DQ201", [record(question, explained), record(puzzle, "They do.")])
    assert run.passed == [True, False]


def test_why_as_an_interjection_asks_for_no_reason():
    """ "Why, hello there!" and "Why, I never knew that." open with an interjection: the sentence
    exclaims or states, it asks nothing. "Why, then, did ...?" still asks why."""
    run = run_rule(
        "DQ201",
        [
            record("Why, hello there! Can you tell me the capital of France?", "Paris."),
            record("Why, I never knew that. Who wrote Hamlet?", "William Shakespeare."),
            record("Why, then, did the Western Roman Empire fall in 476?", "It did."),
        ],
    )
    assert run.passed == [True, True, False]


CONSULTATIONS = [
    # "逐步" as "gradually" in a plan the user tells, not a step-by-step asked for (EmoLLM)
    (
        "我会尝试按照您的建议去做，逐步找回生活的平衡。",
        "非常好，改变需要时间和耐心，不要对自己太苛刻。请在实践中记录你的感受。",
    ),
    # premises told, nothing asked of them: narration
    (
        "我总是把所有的责任都揽在自己身上。如果我男朋友工作不顺心，我就觉得自己应该做点什么。",
        "这种心态在心理学上被称为“过度负责”。每个人都有需要独立面对的问题，你的角色更多是支持者。",
    ),
    # a legal consultation: its sums and dates are the case, the law gives the answer (lawyer-llama)
    (
        "中华人民共和国刑事诉讼法第80条，赌博罪！涉及金额3万元左右，被判多久",
        "一般来说，可能会被判处一年左右的有期徒刑或者拘役，并处以罚金。",
    ),
    (
        "朋友以合伙做生意为由骗我拿出30万，说一个月可以挣十几万，一个月后只给我21万，还有9万本钱没有给我，请问这是诈骗吗？",
        "根据您提供的信息，这可能是一种诈骗行为。您可以考虑向当地警方报案。",
    ),
    # an answer saying it cannot be answered: no result to show working for
    (
        "因为打架判5年,之前坐了一年，2017年再进去大概需要多久才能出来",
        "根据您提供的信息，我无法确定您所在地区的法律规定。建议您咨询当地的律师。",
    ),
]
CONSULTATIONS_CHECKED = Batched("DQ201", [qa(question, answer) for question, answer in CONSULTATIONS])


@pytest.mark.parametrize(("question", "answer"), CONSULTATIONS)
def test_chinese_consultations_narration_and_answers_that_cannot_be_given_need_no_working(question, answer):
    assert CONSULTATIONS_CHECKED.failures(qa(question, answer)) == {}


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a witness asked for, not a proof (the Zhen Huan script, unseen)
        ("你再好好想想，要是能想起来有什么人证明你没有进入清凉殿的，你就告诉朕。", "是，臣妾相信。"),
        # a rhetorical "又有多少" asks for no count
        (
            "只是过去的就都过去了，大清开国以来，没听说过废妃再回去的，人生百年，真正能顺心遂意的日子又有多少呢？"
            "今天真是个好日子，长相思与长相守总算在一块了，两个人真心喜欢彼此是件难得的事，好好惜福吧。",
            "太妃的话，嬛儿铭记在心。",
        ),
        # "如何是好" pleads for what to do; the premise after it is the plight, not a syllogism
        ("那可如何是好？如果小主也受牵连的话，那更没有人救槿汐他们了。", "咱们去慎刑司。"),
    ],
)
def test_lines_of_a_chinese_drama_ask_for_no_working(question, answer):
    assert failures([qa(question, answer)], "DQ201") == {}


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # what a place is, looked up in a chat about it: its telephone, opening hours, address, dates,
        # a span given as a range (KdConv travel dialogues, unseen)
        (
            "电话是010-81181505,010-81181038，这个景点的附近还有什么可以玩的地方吗？",
            "你可以去旁边的中国长城博物馆看看。",
        ),
        ("地址是北京市东城区南池子大街菖蒲河沿9号菖蒲河公园内，你知道这里是几点开门的吗？", "营业时间是9:30-16:00。"),
        (
            "周二-周日 9:30—17:00，闭馆时间：周一、除夕、初一、初二，门票多少钱啊？",
            "科学乐园展厅：10元，主展厅：30元。",
        ),
        (
            "开放时间是旺季5月1日-10月31日8:00-17:00;淡季11月1日-次年4月30日8:00-16:00，地址你知道在哪吧？",
            "北京市昌平区蟒山路2号。",
        ),
        ("差不多2小时 - 4小时左右，这里门票知道是多少钱吗？", "无需门票。"),
        ("总部设在东京都小金井市梶野町1丁目4番25号，公司主要经营什么呀？", "主营电视游戏，动画电影，电视广告。"),
        # "十几岁" (in her teens) and "没多大" (not old) say an age, they ask none (KdConv film and music)
        ("2006年发行首张专辑，便获得了美国唱片业协会认证5倍白金唱片奖，那时她才十几岁。", "这张专辑就是她的同名专辑。"),
        ("其实他没多大，1976年07月19日出生，今年才四十几岁。", "那2000年他出演电视剧时，才二十几岁呢。"),
    ],
)
def test_a_chinese_chat_about_a_place_or_a_person_asks_for_no_working(question, answer):
    assert failures([qa(question, answer)], "DQ201") == {}


def test_clock_times_and_ranges_in_a_word_problem_still_need_working():
    records = [
        qa("火车8:30出发，行驶2小时，几点到达？", "10:30。"),
        qa("一个工人每天工作8-10小时，一周工作5天，最多工作多少小时？", "50小时。"),
        qa("商场5月1日起打八折，一件衣服原价200元，现在多少钱？", "160元。"),
    ]
    assert list(failures(records, "DQ201")) == [0, 1, 2]


def test_a_proof_or_a_count_asked_for_in_chinese_still_needs_working():
    records = [
        qa("请证明：三角形的内角和为180度。", "是的。"),
        qa("你能证明根号2是无理数吗？", "能。"),
        qa("小明有5个苹果，吃了2个，还有多少个？", "3个。"),
    ]
    assert list(failures(records, "DQ201")) == [0, 1, 2]


def test_the_statute_a_legal_answer_applies_is_its_argument():
    question = "某人月工资5000元，工作了3年，被公司辞退，应得多少经济补偿？"
    records = [
        qa(question, "根据《劳动合同法》第四十七条，按工作年限每满一年支付一个月工资，应得15000元。"),
        qa(question, "应得15000元。"),
    ]
    assert list(failures(records, "DQ201")) == [1]


def test_a_step_by_step_asked_for_in_chinese_still_needs_the_steps():
    found = failures([qa("请一步一步地计算：小明有3个苹果，又买了5个，一共有几个？", "8个。")], "DQ201")
    assert list(found) == [0]


def test_a_syllogism_whose_premise_opens_with_no_still_needs_reasoning():
    found = failures([qa("没有鸟是哺乳动物。企鹅是一种鸟。企鹅是哺乳动物吗？", "不是。")], "DQ201")
    assert list(found) == [0]


def test_an_estimate_drawn_from_the_evidence_it_gives_shows_reasoning():
    """A Fermi question asked "step-by-step" answered by sources and what they suggest (vicuna-80's
    Bard answer) reasons; the same figures told with no inference drawn from them do not."""
    question = (
        "How many songs have been recorded throughout history? Try to explain your answer. "
        "Your explanation should take the reader through your reasoning step-by-step."
    )
    reasoned = (
        "There is no definitive answer. One way is to look at the songs registered with the US Copyright "
        "Office: over 97 million. Another way is to look at streaming catalogs. Spotify has over 82 million "
        "songs and Apple Music over 60 million. This suggests that there are at least 142 million recorded songs."
    )
    told = "Spotify has over 82 million songs. Apple Music has over 60 million. There are about 142 million songs."
    run = run_rule("DQ201", [record(question, reasoned), record(question, told)])
    assert run.passed == [True, False]


def test_lines_drawn_by_an_arrow_or_a_therefore_sign_show_reasoning():
    """AQuA's rationales (unseen) derive one line from the one before with "=>" or "∴"; the same
    figures stated with no line drawn from another stay bare."""
    question = (
        "25 percent of a class continued their education, and 50 percent of those went to four-year "
        "colleges. If 60 students went to four-year colleges, how many students were in the class?"
    )
    arrows = (
        "60 students went to four-year colleges.\nThis was 50 % of those who continued.\n"
        "=> 120 students continued.\nAnd this was 25 % of the class.\n=> 480 students in the class.\nAnswer E"
    )
    therefore = "Let the class be x students.\n∴ x / 4 / 2 is 60 students, and the class is 480 students.\nAnswer E"
    stated = "60 students went to four-year colleges.\nThe class had 480 students.\nAnswer E"
    run = run_rule("DQ201", [record(question, arrows), record(question, therefore), record(question, stated)])
    assert run.passed == [True, True, False]


def test_a_factorial_in_the_working_and_a_case_supposed_show_reasoning():
    """AQuA's held-back rationales (read after the last ten): "10!/5!5! = 252" is an equation, and
    "Suppose every item is priced at $100" sets up the case the working runs on; the results
    alone stay bare."""
    ways = "In how many ways can 10 bottles be split into two groups of 5 each?\n\nOptions: A)90 B)126 C)252"
    price = (
        "A shop gives 20% off all items for one day. By what percentage must it raise the price back to the "
        "original?\n\nOptions: A)20% B)25% C)33%"
    )
    run = run_rule(
        "DQ201",
        [
            record(ways, "Number of ways to select 5 bottles out of 10 = 10!/5!5! = 252\nAnswer C"),
            record(price, "Suppose every item is priced at $100. On 20% off it costs $80, and $20 more is 25% of $80."),
            record(ways, "There are 252 ways.\nAnswer C"),
            record(price, "The price must rise by 25%."),
        ],
    )
    assert run.passed == [True, True, False, False]
