"""DQ206 broken-markup: LaTeX that lost its backslashes and unbalanced code fences; LaTeX with its
backslashes and code in other languages pass."""

from __future__ import annotations

import pytest

import dqe
from dqe.testing import assert_findings, conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, ROOT, failures, real

BROKEN = [
    (
        "Add `usepackage{endfloat}` to the preamble.",
        "LaTeX without its backslash: usepackage{",
        'LaTeX: "usepackage{endfloat}"',
    ),
    (
        "documentclass{article}\nbegin{document}\nHello\nend{document}",
        "LaTeX without its backslash: documentclass{, begin{document}, end{document}",
        'LaTeX: "documentclass{article}"',
    ),
    (
        "$x = frac{-b pm sqrt{b^2-4ac}}{2a}$",
        "LaTeX without its backslash: frac{, sqrt{, pm",
        'LaTeX: "frac{-b pm sqrt',
    ),
    # symbol commands inside math
    ("The area is $A = pi r^2 = 9pi$ square units.", "LaTeX without its backslash: pi", "A = pi r^2"),
    ("$a leq b$ and $b neq 0$.", "LaTeX without its backslash: leq, neq", "a leq b"),
    # "\n" that lost its backslash where a string or a sentence ends
    (
        "const poem = `${noun}.n${phrase}`;",
        'an escape without its backslash ("\\n" read as "n"): "}.n$"',
        'escape: "const poem',
    ),
    ('printf("Done!n");', 'an escape without its backslash ("\\n" read as "n"): "e!n""', "printf"),
    (
        "The first line ends here.nThe second line starts here.",
        'an escape without its backslash ("\\n" read as "n"): "re.nThe s"',
        "here.nThe second",
    ),
    (
        "```latex\ndocumentclass{article}\n```",
        "LaTeX without its backslash: documentclass{",
        "documentclass{article}",
    ),
    (
        "Here:\n```python\nprint(1)\n",
        "1 code fence(s) (```): one never closed",
        "one never closed",
    ),  # wikitext scraped from a wiki's source, never rendered (Chat-Haruhi's scripts, unseen)
    (
        "No. We are committing genetic fraud. I have a [[Missy Cooper|sister]] with the same DNA.",
        'wikitext never rendered: "[[Missy Cooper|sister]]"',
        "have a [[Missy Cooper|sister]]",
    ),
    ("''(Entering)'' Hi.", "wikitext never rendered: \"''(Entering)''\"", "''(Entering)'' Hi."),
]
BROKEN_CHECKED = Batched("DQ206", [record("Show me.", answer) for answer, *_ in BROKEN])


@pytest.mark.parametrize(("answer", "message", "evidence"), BROKEN)
def test_broken_markup_warns(answer, message, evidence):
    run = BROKEN_CHECKED.run(record("Show me.", answer))
    assert run.messages == [f"broken markup in answer: {message}"]
    assert run.turns == [2]
    assert evidence in run.evidence[0]
    assert run.report.findings[0].severity == "warning"


SOUND = [
    "$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$",
    "```latex\n\\documentclass{article}\n\\begin{document}\nHi\n\\end{document}\n```",
    "```python\nprint(1)\n```",
    "```css\nsection{margin: 0}\n```",
    "A fraction like 1/2 has a numerator and a denominator.",
    "Write \\\\frac{1}{2} in a Python string.",
    "Wrap code in three backticks (```) on its own line, before and after it: ```python ... ```.",
    "```js\nconsole.log(1);\n    ```",  # an indented closing fence closes
    "```js\nconsole.log(1);```",  # so does one at the end of a line
    # plain-text math, money and shell variables are no LaTeX; member access is no escape
    "The area is A = pi r^2, so A = 9pi, about 28.27.",
    "It costs $5 times 2, so $10 in all.",
    'echo "The word $word appears $count times in $file"',
    "this.next = node;\nobj.name = 'Ann';",
    "Use $x = \\pi r^2$ with a backslash.",  # lists of lists and empty strings are code, not wikitext
    "grid = [[1, 2], [3, 4]]",
    "name = '' if missing else ''",
    "In SQL, write 'It''s' for an apostrophe.",
    # TeX's closing quotes beside its math (MATH)
    "If $90\\%$ scored ''proficient or above.'' So $10\\%$ did not: 70 students.",
]
SOUND_CHECKED = Batched("DQ206", [record("Show me.", answer) for answer in SOUND])


@pytest.mark.parametrize("answer", SOUND)
def test_latex_with_its_backslashes_and_other_code_pass(answer):
    assert_findings(SOUND_CHECKED.run(record("Show me.", answer)), {})


def test_a_users_broken_latex_is_named_by_its_turn():
    chat = conversation("Hi", "Hello!", "Typeset begin{enumerate} item A end{enumerate}", "Use \\begin{enumerate}.")
    run = run_rule("DQ206", [chat])
    assert run.turns == [3]
    assert run.messages == [
        "broken markup in instruction: LaTeX without its backslash: begin{enumerate}, end{enumerate}"
    ]


MOJIBAKE = [
    ("Rose, her fiancÃ© Cal Hockley, and her mother.", "Ã©"),
    ("50Â°F is 10Â°C.", "Â°"),
    ("(60/100) * 40 â€“ (4/5) * 30 = 0", "â€“"),
    ("Pay â‚¹25,000 when you file.", "â‚¹"),
    ("ä¸\u00adæ–‡", "ä¸\u00ad"),
    ("您现在拥有实现梦想职业所需的工\ufffd\ufffd\ufffd和知识。", "\ufffd\ufffd\ufffd"),
    ("\u2f00名观察者站在站台边。", "\u2f00名"),  # a Kangxi radical for 一 (a PDF's text)
]
MOJIBAKE_CHECKED = Batched("DQ206", [record("Tell me.", answer) for answer, _ in MOJIBAKE])


@pytest.mark.parametrize(("answer", "shown"), MOJIBAKE)
def test_text_decoded_with_the_wrong_encoding_warns(answer, shown):
    run = MOJIBAKE_CHECKED.run(record("Tell me.", answer))
    assert run.messages == [f'broken markup in answer: text decoded with the wrong encoding (mojibake): "{shown}"']


def test_accented_letters_and_typographic_marks_are_no_mojibake():
    answers = [
        "Le café est très bon, déjà vu, élève, naïve, São Paulo, NÃO.",
        "Ông Âu ở Hà Nội.",
        "He said “yes” – and left… at 20°C, for €5 or ₹400.",
        "Ærø and Ødegaard; Ça va? Mañana.",
    ]
    assert run_rule("DQ206", [record("Tell me.", a) for a in answers]).passed == [True] * 4


def test_line_breaks_escaped_twice_around_a_fence_are_named_not_an_open_fence():
    """A question stored with its line breaks as the two characters \\n: the fences balance once
    they are read as breaks, and the finding names what is wrong."""
    escaped = record("这段代码有什么错误？\\n```python\\nclass A:\\n    pas\\n```", "应为 pass。")
    printed = record("How do I print a line break in C?", 'Use `printf("\\n")`; \\n is a line break.')
    run = run_rule("DQ206", [escaped, printed])
    assert_findings(run, {0: 'line breaks written as "\\n" around a code fence (the text was escaped twice)'})
    assert "one never closed" not in run.messages[0]
    # the evidence quotes the fence with the escaped breaks around it
    assert run.evidence[0] == 'line breaks as \\n: "这段代码有什么错误？\\n```python\\nclass A:\\n    pas\\n```"'


def test_line_breaks_escaped_twice_between_sentences_warn_without_a_fence():
    """Gorilla's answers (unseen) write every line break as the two characters \\n, in prose with
    no fence: three breaks after a sentence's end are text escaped twice. Data written on one line
    ("Name,Age\\nAlice,30") and escapes in a string literal of code are what they say."""
    escaped = record(
        "Which model finds named entities?",
        "<<<api_call>>>: pipeline('ner')\\n<<<explanation>>>: 1. Import the pipeline.\\n2. Load the model."
        "\\n3. Run it on the text.\\n4. Print the entities.",
    )
    csv = record("Read data.csv (content: Name,Age\\nAlice,30\\nBob,25\\nEve,41)", "It holds three people.")
    code = record("How do I print lines in Python?", 'Write print("Hello.\\nWorld.\\nAgain.\\nDone.") and run it.')
    run = run_rule("DQ206", [escaped, csv, code])
    assert_findings(run, {0: 'line breaks written as "\\n" between sentences (the text was escaped twice)'})
    assert "1. Import the pipeline.\\n2. Load" in run.evidence[0]


def test_a_fence_inside_a_string_literal_of_code_is_code():
    """A Markdown converter's test input, in C++ string literals: a fence and its escaped line
    break between quotes are what the program reads, not text escaped twice (AlpacaEval, unseen)."""
    code = (
        '```c++\nstring md = "# Title\\n"\n                "```\\n"\n                "int x;\\n"\n'
        '                "```\\n";\ncout << markdownToHtml(md);\n```'
    )
    assert_findings(run_rule("DQ206", [record("Write a Markdown to HTML converter in C++.", code)]), {})


def test_a_fence_pair_inline_on_one_line_is_closed():
    """Fences that quote a span within a line ("用户输入:```如何评价北京```") open and close it
    (AlignBench, unseen)."""
    question = "请判断是否属于实时性问题。---用户输入:```如何评价北京```"
    assert run_rule("DQ206", [record(question, "否。"), record("Quote it.", "He typed ```ls``` and left.")]).passed == [
        True,
        True,
    ]


def test_the_demo_record_is_found_at_its_line():
    report = dqe.check([ROOT / "examples" / "demo.jsonl"], select=["DQ206"], complete=True)
    assert [(f.source.rsplit("/", 1)[1], f.turn) for f in report.findings if f.code == "DQ206"] == [
        ("demo.jsonl:23", 2)
    ]


# Read: the en and zh Alpaca demos each hold one answer cut off inside an open code fence; glaive
# has "textbf{not}" in an answer, a user's "begin{enumerate}" (twice), an open fence and a JavaScript
# template whose "\n" lost its backslash ("${randomNoun}.n${randomPhrase}"); GPTeacher's code prints
# "{:.2f}Â°C", a degree sign decoded with the wrong encoding.
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 1,
    "llamafactory_alpaca_zh_demo.json": 1,
    "llamafactory_identity.json": 0,
    "llamafactory_glaive_toolcall_en_demo.json": 5,
    "llamafactory_v1_sft_demo.jsonl": 1,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 1,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ206")) == EXPECTED[name]


def test_a_latex_command_or_a_quoted_escape_beside_a_fence_is_not_text_escaped_twice():
    """Stack Exchange answers put code in fences inline: ```\\newcommand{...}``` opens with a LaTeX
    command that starts with n, and ```\\n``` quotes the escape the question is about; neither is a
    line break written as \\n, and the inline pairs leave no fence open (LIMA, unseen)."""
    latex = "Create a shortcut macro:\n```\\newcommand{\\Lagr}{\\mathcal{L}}\n```\nthen use ```\\Lagr```."
    quoted = "What's the difference between ```\\n``` (newline) and ```\\r``` (carriage return)?"
    starred = "The starred variant of ```\\newwatermark``` puts it on top:\n```\\newwatermark*[allpages]{DRAFT}\n```"
    run = run_rule(
        "DQ206",
        [record("How do I write a curly L?", latex), record(quoted, "One ends a line."), record("How?", starred)],
    )
    assert_findings(run, {})


def test_html_character_references_in_prose_warn():
    """Stack Exchange text escaped for HTML: "&quot;hobbit&quot;" where quotes were meant, in prose
    and in the code it quotes (LIMA, unseen: 62 of 1,029 records). HTML code may write them, and so
    may inline code or a single mention of an entity."""
    escaped = [
        record("Why was it renamed?", "Because of a legal claim on &quot;hobbit&quot; by a company."),
        record("How do I scroll?", "Call it:\n```js\nconst el = document.querySelector(&quot;.example&quot;);\n```"),
        record("How do I merge two dicts?", "```\nz = {**x, **y}\n\n&gt;&gt;&gt; z\n{'a': 1, 'b': 3}\n```"),
    ]
    run = run_rule("DQ206", escaped)
    message = "broken markup in answer: HTML character references for the characters meant"
    assert run.messages == [f'{message}: "&quot;"', f'{message}: "&quot;"', f'{message}: "&gt;"']
    fine = [
        record("Escape it.", '```html\n<p title="&quot;hi&quot;">5 &lt; 6</p>\n```'),
        record("How do I write an ampersand in HTML?", "Write `&amp;` for & and `&lt;` for <."),
        record("What is &nbsp;?", "A no-break space, written &nbsp; in HTML."),
        # code that builds HTML writes its references in strings; only an escaped quote breaks code
        # (Arena-Hard, unseen)
        record("Underline the words.", '```\nspan.innerHTML = word.substring(0, 1) + "&nbsp;&nbsp;&nbsp;";\n```'),
    ]
    assert_findings(run_rule("DQ206", fine), {})
