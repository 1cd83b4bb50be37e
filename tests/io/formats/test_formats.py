"""Hand-written cases for each record format: normalization, errors naming the field, writing."""

from __future__ import annotations

import pytest

from dqe.errors import RecordError
from dqe.io.formats.alpaca import Alpaca
from dqe.io.formats.base import Columns, Tags
from dqe.io.formats.firefly import Firefly
from dqe.io.formats.moss import Moss
from dqe.io.formats.oasst import OpenAssistant
from dqe.io.formats.openai import OpenAI
from dqe.io.formats.preference import Preference
from dqe.io.formats.questions import Questions
from dqe.io.formats.selfinstruct import SelfInstruct
from dqe.io.formats.sharegpt import ShareGPT
from dqe.io.formats.transcript import Transcript
from dqe.io.formats.xtuner import XTuner
from dqe.records import Record, Turn

C, T = Columns(), Tags()


def test_alpaca_history_system_and_input():
    n = Alpaca().normalize(
        {
            "instruction": "And in French?",
            "input": "",
            "output": "Bonjour",
            "system": "You translate.",
            "history": [["Say hello in Spanish", "Hola"]],
            "category": "translation",
        },
        C,
        T,
    )
    assert n.roles == ["user", "assistant", "user", "assistant"]
    assert n.contents == ["Say hello in Spanish", "Hola", "And in French?", "Bonjour"]
    assert n.system == "You translate."
    assert n.category == "translation"


def test_alpaca_input_is_appended_to_the_instruction():
    n = Alpaca().normalize({"instruction": "Sum", "input": "1 2", "output": "3"}, C, T)
    assert n.contents[0] == "Sum\n1 2"


def test_an_alpaca_record_with_an_input_and_no_instruction_asks_its_input():
    n = Alpaca().normalize({"input": "我被公司辞退了，能要求赔偿吗？", "output": "可以。"}, C, T)
    assert (n.contents, n.input) == (["我被公司辞退了，能要求赔偿吗？", "可以。"], None)


def test_a_history_of_turns_written_as_strings_is_the_conversation():
    # lawyer-llama's multi-turn sets: the query is the client's opening, the history every turn
    record = {
        "query": "离婚时孩子归谁抚养？",
        "laws": ["《民法典》第一千零八十四条：……"],
        "history": [
            "[客户] 离婚时孩子归谁抚养？",
            "[律师] 不满两周岁的子女，以由母亲直接抚养为原则。",
            "[客户] 孩子三岁了呢？",
        ],
    }
    n = Alpaca().normalize(record, Columns(prompt="query"), T)
    assert n.roles == ["user", "assistant", "user"]
    assert n.contents == ["离婚时孩子归谁抚养？", "不满两周岁的子女，以由母亲直接抚养为原则。", "孩子三岁了呢？"]
    unlabelled = {"instruction": "And in French?", "output": "Bonjour", "history": ["Say hello in Spanish", "Hola"]}
    assert Alpaca().normalize(unlabelled, C, T).contents == [
        "Say hello in Spanish",
        "Hola",
        "And in French?",
        "Bonjour",
    ]
    asked_after = {"instruction": "Thanks!", "history": ["[A] Hi", "[B] Hello"]}  # a question after the history
    assert Alpaca().normalize(asked_after, C, T).roles == ["user", "assistant", "user"]
    with pytest.raises(RecordError, match=r"'history' has 3 speakers \(A, B, C\)"):
        Alpaca().normalize({"instruction": "x", "history": ["[A] a", "[B] b", "[C] c"]}, C, T)


def test_a_file_of_conversations_held_in_their_history_is_read_as_alpaca(write_jsonl):
    import dqe

    records = [
        {
            "query": "试用期可以随时辞职吗？",
            "history": ["[客户] 试用期可以随时辞职吗？", "[律师] 可以，提前三日通知用人单位即可。"],
        },
        {
            "query": "工资被拖欠怎么办？",
            "history": ["[客户] 工资被拖欠怎么办？", "[律师] 可以向劳动监察大队投诉。", "[律师] 也可以申请劳动仲裁。"],
        },
    ]
    report = dqe.check(write_jsonl(records), select=["DQ001"])
    assert (report.files[0].format, report.summary.invalid) == ("alpaca", 0)
    assert [(f.source.rsplit(":", 1)[1], f.code) for f in report.findings] == [("2", "DQ001")]  # two answers in a row


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"instruction": "x"}, "missing field 'output'"),
        ({"input": "", "output": "y"}, "missing field 'instruction'"),
        ({"instruction": 3, "output": "x"}, "field 'instruction' must be a string, got int"),
        ({"instruction": "x", "output": "y", "history": [["only one"]]}, "'history[0]' must be a pair"),
        ({"instruction": "x", "output": "y", "history": "no"}, "must be a list"),
    ],
)
def test_alpaca_errors_name_the_field(obj, message):
    with pytest.raises(RecordError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Alpaca().normalize(obj, C, T)


def test_column_mapping_reads_non_standard_names():
    columns = Columns(prompt="question", response="answer", query="context")
    fmt = Alpaca()
    obj = {"question": "Capital of France?", "context": "", "answer": "Paris"}
    assert fmt.detect(obj, columns, T)
    assert fmt.normalize(obj, columns, T).contents == ["Capital of France?", "Paris"]


def test_sharegpt_system_turn_and_unknown_role():
    fmt = ShareGPT()
    n = fmt.normalize(
        {
            "conversations": [
                {"from": "system", "value": "Be brief."},
                {"from": "human", "value": "Hi"},
                {"from": "gpt", "value": "Hello"},
            ]
        },
        C,
        T,
    )
    assert n.system == "Be brief." and n.roles == ["user", "assistant"]
    with pytest.raises(RecordError, match=r"'conversations\[0\].from' is 'robot'"):
        fmt.normalize({"conversations": [{"from": "robot", "value": "beep"}]}, C, T)
    with pytest.raises(RecordError, match=r"'conversations\[0\].value' is a int"):
        fmt.normalize({"conversations": [{"from": "human", "value": 1}]}, C, T)


def test_messages_mapped_as_llamafactory_maps_them_are_read_as_openai_messages():
    # LLaMA-Factory's mllm_demo.json: formatting sharegpt, columns messages=messages, role/content tags
    record = {"messages": [{"role": "user", "content": "Who are they?"}, {"role": "assistant", "content": "Kane."}]}
    mapped = Columns(messages="messages")
    assert not ShareGPT().detect(record, mapped, T) and OpenAI().detect(record, mapped, T)
    assert ShareGPT().detect(record, mapped, Tags(role_tag="role", content_tag="content"))  # with its tags
    assert ShareGPT().detect({"messages": [{"from": "human", "value": "Hi"}]}, mapped, T)


def test_sharegpt_with_custom_tags():
    tags = Tags(role_tag="role", content_tag="content", user_tag="user", assistant_tag="assistant")
    columns = Columns(messages="messages")
    obj = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}
    assert ShareGPT().normalize(obj, columns, tags).roles == ["user", "assistant"]


def test_openai_tool_calls_string_and_part_content():
    n = OpenAI().normalize(
        {
            "messages": [
                {"role": "system", "content": "sys"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "x"}}],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "1", "function": {"name": "w", "arguments": "{}"}}],
                },
                {"role": "tool", "content": "sunny"},
                {"role": "assistant", "content": "It is sunny."},
            ],
            "tools": [{"type": "function", "function": {"name": "w"}}],
        },
        C,
        T,
    )
    assert n.system == "sys"
    assert n.roles == ["user", "tool_call", "tool", "assistant"]
    assert n.contents[0] == "Weather?"
    assert n.tools.startswith("[{")


def test_tooltalk_api_logs_are_the_calls_made_before_the_text_that_reports_them():
    # ToolTalk's turns {index, role, text}, read with [columns] messages = "conversation" and
    # [tags] content_tag = "text": an assistant's apis are its tool calls and their results
    call = {"api_name": "CreateEvent", "parameters": {"name": "Walk"}}
    conversation = [
        {"index": 0, "role": "user", "text": "Block the next hour for a walk."},
        {
            "index": 1,
            "role": "assistant",
            "text": "Done: the walk is in your calendar.",
            "apis": [
                {"request": call, "response": {"event_id": "e149"}, "exception": None},
                {"request": call, "response": None, "exception": "The event overlaps another."},
            ],
        },
    ]
    n = OpenAI().normalize({"conversation": conversation}, Columns(messages="conversation"), Tags(content_tag="text"))
    assert n.roles == ["user", "tool_call", "tool", "tool_call", "tool", "assistant"]
    assert n.contents[1:5] == [
        '{"api_name":"CreateEvent","parameters":{"name":"Walk"}}',
        '{"event_id":"e149"}',
        '{"api_name":"CreateEvent","parameters":{"name":"Walk"}}',
        '{"exception":"The event overlaps another."}',
    ]
    with pytest.raises(RecordError, match=r"'conversation\[1\].apis' must be a list of calls, each with a 'request'"):
        conversation[1]["apis"] = [{"api_name": "CreateEvent"}]
        OpenAI().normalize({"conversation": conversation}, Columns(messages="conversation"), Tags(content_tag="text"))


def test_openai_bad_content_type_names_the_message():
    with pytest.raises(RecordError, match=r"'messages\[1\].content' must be a string or a list"):
        OpenAI().normalize({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": 5}]}, C, T)


def test_openai_messages_that_are_exchanges_say_how_to_read_them():
    # XTuner's multi_turn demo: each item a question and its answer under keys of the set's own
    exchanges = [
        {"toy_system": "You are helpful.", "toy_input": "Tips for sleep?", "toy_output": "Keep a schedule."},
        {"toy_input": "And for study?", "toy_output": "Set goals."},
    ]
    with pytest.raises(RecordError) as caught:
        OpenAI().normalize({"messages": exchanges}, C, T)
    assert str(caught.value) == (
        "'messages[0]' has no 'role': an exchange of 'toy_input' and 'toy_output', not a message: read the "
        'file with input-format = "xtuner", [columns] messages = "messages", system = "toy_system" and [tags] '
        'user_tag = "toy_input", assistant_tag = "toy_output" in a config file (--config)'
    )
    columns = Columns(messages="messages", system="toy_system")
    n = XTuner().normalize({"messages": exchanges}, columns, Tags(user_tag="toy_input", assistant_tag="toy_output"))
    assert n.system == "You are helpful." and n.contents == [
        "Tips for sleep?",
        "Keep a schedule.",
        "And for study?",
        "Set goals.",
    ]


def test_denormalize_round_trips_between_formats():
    record = Record(
        system="Be kind.",
        turns=[
            Turn(role="user", content="Hi"),
            Turn(role="assistant", content="Hello"),
            Turn(role="user", content="Bye"),
            Turn(role="assistant", content="Ciao"),
        ],
    )
    alpaca = Alpaca().denormalize(record, C, T)
    assert alpaca == {
        "system": "Be kind.",
        "instruction": "Bye",
        "input": "",
        "output": "Ciao",
        "history": [["Hi", "Hello"]],
    }
    sharegpt = ShareGPT().denormalize(record, C, T)
    assert [t["from"] for t in sharegpt["conversations"]] == ["human", "gpt", "human", "gpt"]
    back = ShareGPT().normalize(sharegpt, C, T)
    assert back.contents == ["Hi", "Hello", "Bye", "Ciao"] and back.system == "Be kind."
    openai = OpenAI().denormalize(record, C, T)
    assert openai["messages"][0] == {"role": "system", "content": "Be kind."}


def test_alpaca_cannot_hold_tool_calls():
    record = Record(
        turns=[
            Turn(role="user", content="x"),
            Turn(role="tool_call", content="{}"),
            Turn(role="tool", content="r"),
            Turn(role="assistant", content="y"),
        ]
    )
    with pytest.raises(RecordError, match="no place for tool calls"):
        Alpaca().denormalize(record, C, T)


# -- field names spelt another way, detected per file ------------------------------------------


@pytest.mark.parametrize(
    ("record", "note"),
    [
        ({"instruction": "Sum 1 and 2.", "input": "", "response": "3"}, "answer read from 'response'"),
        (
            {"prompt": "Sum 1 and 2.", "completion": "3"},
            "instruction read from 'prompt'; answer read from 'completion'",
        ),
        ({"question": "Sum 1 and 2.", "answer": "3"}, "instruction read from 'question'; answer read from 'answer'"),
        ({"src": "Sum 1 and 2.", "tgt": "3"}, "instruction read from 'src'; answer read from 'tgt'"),  # PaddleNLP
        ({"query": "Sum 1 and 2.", "response": "3"}, "instruction read from 'query'; answer read from 'response'"),
        (
            {"instruction": "Sum them.", "context": "1 and 2", "response": "3", "category": "open_qa"},  # dolly
            "input read from 'context'; answer read from 'response'",
        ),
    ],
)
def test_alpaca_spellings_are_read_per_file_and_kept_in_outputs(tmp_path, record, note):
    import json

    import dqe

    other = {"instruction": "Name a colour.", "input": "", "output": "Red."}
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(other) + "\n")  # the default names, in the same run
    result = dqe.filter(tmp_path, tmp_path / "out" / "ok.jsonl", tmp_path / "out" / "bad.jsonl", select=["DQ001"])
    assert [(f.format, f.note) for f in result.report.files] == [("alpaca", note), ("alpaca", None)]
    assert result.report.summary.passed == 2
    assert [json.loads(line) for line in (tmp_path / "out" / "ok.jsonl").read_text().splitlines()] == [record, other]
    dqe.convert(tmp_path / "a.jsonl", "sharegpt", tmp_path / "out" / "c.jsonl")
    converted = json.loads((tmp_path / "out" / "c.jsonl").read_text())
    assert [t["value"] for t in converted["conversations"]][-1] == "3"
    assert set(converted) <= {"conversations", "category"}  # the Alpaca fields, under any spelling, converted


def test_a_mapping_the_user_gave_is_never_guessed_over(write_jsonl):
    import dqe

    path = write_jsonl([{"question": "Sum 1 and 2.", "response": "3", "answer": ""}])
    report = dqe.check(path, select=["DQ001"], columns={"response": "answer"}, complete=True)
    assert report.files[0].note == "instruction read from 'question'"
    assert [f.message for f in report.findings] == ["empty answer"]  # read from 'answer', as mapped


def test_openai_tool_calls_as_content_parts_are_tool_call_turns():
    # LLaMA-Factory's v1 messages put reasoning and tool calls in typed content parts.
    call = '{"name": "get_movie", "arguments": {"title": "Inception"}}'
    n = OpenAI().normalize(
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "value": "Tell me about Inception."}]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "reasoning", "value": "I should look it up."},
                        {"type": "tool_call", "value": call},
                    ],
                },
                {"role": "tool", "content": [{"type": "text", "value": '{"year": 2010}'}]},
                {"role": "assistant", "content": [{"type": "text", "value": "A 2010 film."}]},
            ]
        },
        C,
        T,
    )
    assert n.roles == ["user", "tool_call", "tool", "assistant"]
    assert n.contents[1] == call


TASK = {
    "id": "seed_task_7",
    "instruction": "Classify the sentiment.\nAnswer with one word.",
    "instances": [{"input": "I love it", "output": "positive"}, {"input": "Awful.", "output": "negative"}],
    "is_classification": True,
}


def test_self_instruct_instances_are_the_exchanges_of_one_task():
    n = SelfInstruct().normalize(TASK, C, T)
    assert n.roles == ["user", "assistant", "user", "assistant"]
    assert n.contents[2:] == ["Classify the sentiment.\nAnswer with one word.\nAwful.", "negative"]
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    assert SelfInstruct().denormalize(Record(turns=turns, original=TASK), C, T) == {
        k: TASK[k] for k in ("instruction", "instances")
    }
    assert SelfInstruct().denormalize(Record(turns=turns), C, T)["instruction"] == TASK["instruction"]


@pytest.mark.parametrize(
    ("instances", "message"),
    [([], "field 'instances' is empty"), ([{"input": "x"}], r"instances\[0\]: missing field 'output'")],
)
def test_self_instruct_errors_name_the_instance(instances, message):
    with pytest.raises(RecordError, match=message):
        SelfInstruct().normalize({**TASK, "instances": instances}, C, T)


def test_a_file_of_self_instruct_tasks_is_read_as_such(write_jsonl):
    import dqe

    report = dqe.check(write_jsonl([TASK, {**TASK, "id": "seed_task_8"}]), select=["DQ001"])
    assert report.files[0].format == "self-instruct" and report.summary.invalid == 0


FIREFLY = {
    "conversation_id": 44,
    "category": "Brainstorming",
    "conversation": [
        {"human": "怎么能够有效地提升个人能力？", "assistant": "可以从学习新知识、持续练习和寻求反馈三方面入手。"},
        {"human": "对于初学者来说呢？", "assistant": "先打好基础，再多做练习。"},
    ],
}


def test_firefly_exchanges_are_user_and_assistant_turns():
    n = Firefly().normalize({**FIREFLY, "system": "你是一个乐于助人的助手。"}, C, T)
    assert n.roles == ["user", "assistant", "user", "assistant"]
    assert (n.contents[2], n.system, n.category) == ("对于初学者来说呢？", "你是一个乐于助人的助手。", "Brainstorming")
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    assert Firefly().denormalize(Record(turns=turns), C, T) == {"conversation": FIREFLY["conversation"]}
    assert not Firefly().detect({"conversations": [{"from": "human", "value": "Hi"}]}, C, T)  # ShareGPT's


@pytest.mark.parametrize(
    ("conversation", "message"),
    [
        ([], "field 'conversation' is empty"),
        ([{"human": "Hi"}], r"'conversation\[0\].assistant' is missing"),
        ([{"human": "Hi", "assistant": 3}], r"'conversation\[0\].assistant' is a int, not a string"),
        (["Hi"], r"'conversation\[0\]' must be an object with 'human' and 'assistant'"),
    ],
)
def test_firefly_errors_name_the_exchange(conversation, message):
    with pytest.raises(RecordError, match=message):
        Firefly().normalize({"conversation": conversation}, C, T)


def test_a_file_of_firefly_conversations_is_read_as_such(write_jsonl):
    import dqe

    report = dqe.check(write_jsonl([FIREFLY, {**FIREFLY, "conversation_id": 45}]), select=["DQ001"])
    assert report.files[0].format == "firefly" and report.summary.invalid == 0


XTUNER = {
    "conversation": [
        {"system": "你是心理咨询师。", "input": "我最近总是失眠。", "output": "失眠常和压力有关，可以先固定作息。"},
        {"input": "那白天很累怎么办？", "output": "午后小睡二十分钟，避免咖啡因。"},
    ]
}


def test_xtuner_exchanges_are_user_and_assistant_turns_with_the_system_in_the_first():
    n = XTuner().normalize(XTUNER, C, T)
    assert n.roles == ["user", "assistant", "user", "assistant"]
    assert (n.system, n.contents[0], n.contents[3]) == (
        "你是心理咨询师。",
        "我最近总是失眠。",
        "午后小睡二十分钟，避免咖啡因。",
    )
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    assert XTuner().denormalize(Record(system=n.system, turns=turns), C, T) == XTUNER
    assert not XTuner().detect(FIREFLY, C, T) and not Firefly().detect(XTUNER, C, T)


def test_a_file_of_xtuner_conversations_written_as_an_indented_array_is_read_as_such(tmp_path):
    import json

    import dqe

    path = tmp_path / "emo.jsonl"  # EmoLLM's *_format_emo.jsonl: an indented JSON array
    path.write_text(json.dumps([XTUNER, {"conversation": [{"input": "你好", "output": "你好！"}]}], indent=4), "utf-8")
    report = dqe.check(path, select=["DQ001"])
    assert (report.files[0].format, report.summary.records, report.summary.invalid) == ("xtuner", 2, 0)


HH = {
    "chosen": "\n\nHuman: What are some pranks with a pen I can do?\n\nAssistant: Are you looking for practical joke ideas?"
    "\n\nHuman: yep\n\nAssistant: Draw a fake spider on a friend's notebook.",
    "rejected": "\n\nHuman: What are some pranks with a pen I can do?\n\nAssistant: Stab someone with it.",
}


def test_hh_rlhf_transcripts_are_conversations_and_rejected_stays_as_it_came():
    n = Transcript().normalize(HH, C, T)
    assert n.roles == ["user", "assistant", "user", "assistant"]
    assert n.contents[1:3] == ["Are you looking for practical joke ideas?", "yep"]
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    assert Transcript().denormalize(Record(turns=turns, original=HH), C, T) == {"chosen": HH["chosen"]}
    assert Transcript().owned_keys(C, T) == {"chosen", "transcript"}  # rejected is written back as it came
    red_team = {"transcript": "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with that."}
    assert Transcript().normalize(red_team, C, T).roles == ["user", "assistant"]
    assert not Transcript().detect({"chosen": "A plain answer."}, C, T)  # Alpaca's preference spelling


def test_a_gzipped_file_of_hh_rlhf_transcripts_is_read_as_such(tmp_path):
    import gzip
    import json

    import dqe

    path = tmp_path / "harmless-base-test.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(HH) + "\n" for _ in range(3)).encode()))
    report = dqe.check(path, select=["DQ001"])
    assert report.files[0].format == "hh-rlhf" and report.summary.invalid == 0 and report.summary.records == 3


def test_questions_alone_are_read_as_user_turns():
    mt_bench = {"question_id": 81, "category": "writing", "turns": ["Compose a blog post.", "Rewrite it in rhymes."]}
    n = Questions().normalize(mt_bench, C, T)
    assert (n.roles, n.contents, n.category) == (["user", "user"], mt_bench["turns"], "writing")
    assert Questions().normalize({"prompt": "What is 2+2?"}, C, T).contents == ["What is 2+2?"]
    assert not Questions().detect({"instruction": "Hi.", "output": "Hello."}, C, T)  # an answer: Alpaca's
    assert not Questions().detect({"turns": [{"role": "user"}]}, C, T)


def test_questions_with_an_input_read_it_as_alpaca_does():
    n = Questions().normalize({"instruction": "Shorten the sentence.", "input": "It is what it is."}, C, T)
    assert (n.contents, n.input) == (["Shorten the sentence.\nIt is what it is."], "It is what it is.")


def test_a_file_of_questions_names_the_text_it_did_not_read(write_jsonl):
    """A comparison set (two models' answers under names no format knows) is read as questions
    alone, and every record fails DQ001: the file's note says where the answers may be and how
    to read one of them."""
    import dqe

    pairs = [
        {
            "instruction": f"Name a colour ({i}).",
            "cmp_key": "bloom-7b_llama-7b",
            "response1": "Red is a colour, as a rose is.",
            "response2": "I think the colour blue is one.",
        }
        for i in range(3)
    ]
    report = dqe.check(write_jsonl(pairs), select=["DQ001"])
    assert report.files[0].note == (
        "questions alone, no answer field; text not read from 'response1', 'response2' (to check one as the "
        "answer: --columns response=response1)"
    )
    assert report.summary.rejected == 3
    report = dqe.check(write_jsonl(pairs), select=["DQ001"], columns={"response": "response1"})
    assert (report.files[0].format, report.summary.passed) == ("alpaca", 3)


def test_function_calling_questions_are_read_as_the_users_messages():
    """BFCL: ``question`` is a list of turns, each a list of messages; the function schemas are metadata."""
    bfcl = {
        "id": "multi_turn_base_0",
        "question": [
            [{"role": "user", "content": "Move 'final_report.pdf' into the 'temp' folder."}],
            [],
            [{"role": "system", "content": "The user is in /home."}, {"role": "user", "content": "Now list it."}],
        ],
        "function": [{"name": "mv", "parameters": {}}],
    }
    assert Questions().detect(bfcl, C, T)
    n = Questions().normalize(bfcl, C, T)
    assert (n.roles, n.contents) == (
        ["user", "user"],
        ["Move 'final_report.pdf' into the 'temp' folder.", "Now list it."],
    )
    with pytest.raises(RecordError, match="field 'question' must be a string, or the user's turns"):
        Questions().normalize({"question": [[{"role": "user", "content": 3}]]}, C, T)
    with pytest.raises(RecordError, match="field 'question' holds no user turn"):
        Questions().normalize({"question": [[]]}, C, T)


# -- preference data (LLaMA-Factory's ranking sets): the chosen answer is checked ------------


def test_preference_data_checks_the_chosen_answer_and_writes_every_record_back_as_it_came(tmp_path):
    import json

    import dqe

    conversations = [{"from": "human", "value": "Write a thank-you note to my team."}]
    signed = "Dear team, thank you for a great quarter. Best, [Your Name]"
    sharegpt = [
        {
            "conversations": conversations,
            "chosen": {"from": "gpt", "value": signed},
            "rejected": {"from": "gpt", "value": "ok"},
        },
        {
            "conversations": conversations,
            "chosen": {"from": "gpt", "value": "Dear team, thank you. Best, Ana"},
            "rejected": {"from": "gpt", "value": "Best, [Your Name]"},
        },
    ]
    alpaca = [
        {"instruction": "Write a thank-you note to my team.", "input": "", "chosen": signed, "rejected": "Thanks."}
    ]
    openai = [
        {
            "messages": [{"role": "user", "content": "Write a thank-you note to my team."}],
            "chosen": {"role": "assistant", "content": signed},
            "rejected": {"role": "assistant", "content": "No."},
        }
    ]
    for name, records in (("sharegpt", sharegpt), ("alpaca", alpaca), ("openai", openai)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    result = dqe.filter(
        tmp_path, out / "ok.jsonl", out / "bad.jsonl", select=["DQ001", "DQ207"], rules={"DQ207": {"severity": "error"}}
    )
    assert [(f.format, f.note) for f in result.report.files] == [
        ("alpaca", "answer read from 'chosen'"),
        ("openai", "preference data: the 'chosen' answers checked, 'rejected' not"),
        ("sharegpt", "preference data: the 'chosen' answers checked, 'rejected' not"),
    ]
    sources = sorted(f.source.rsplit("/", 1)[-1] for f in result.report.findings)
    assert sources == ["alpaca.jsonl:1", "openai.jsonl:1", "sharegpt.jsonl:1"]
    written = [json.loads(line) for name in ("ok.jsonl", "bad.jsonl") for line in (out / name).read_text().splitlines()]
    written = [{k: v for k, v in obj.items() if k != "_dqe"} for obj in written]  # the rejected carry their reasons
    assert sorted(map(json.dumps, written)) == sorted(map(json.dumps, [*sharegpt, *alpaca, *openai]))


QUESTION = {"role": "user", "content": "What is the capital of France?"}
PARIS = {"role": "assistant", "content": "The capital of France is Paris."}
LYON = {"role": "assistant", "content": "Lyon."}


@pytest.mark.parametrize(
    "pair",
    [
        {"chosen": [QUESTION, PARIS], "rejected": [QUESTION, LYON]},  # TRL, the prompt in each side
        {"prompt": [QUESTION], "chosen": [PARIS], "rejected": [LYON]},  # TRL, an explicit prompt
        {"prompt": QUESTION["content"], "chosen": [PARIS], "rejected": [LYON]},
        {"chosen_messages": [QUESTION, PARIS], "rejected_messages": [QUESTION, LYON]},  # LLaMA-Factory v1
    ],
)
def test_preference_conversations_are_the_prompt_and_the_chosen_side(pair):
    assert Preference().detect(pair, C, T)
    n = Preference().normalize(pair, C, T)
    assert (n.roles, n.contents) == (["user", "assistant"], [QUESTION["content"], PARIS["content"]])
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    written = Preference().denormalize(Record(turns=turns, original=pair), C, T)
    assert written == {k: v for k, v in pair.items() if not k.startswith("rejected")} | (
        {"prompt": [QUESTION]} if "prompt" in pair else {}
    )


def test_preference_conversations_read_system_prompts_and_content_parts():
    system = {"role": "system", "content": [{"type": "text", "value": "Answer briefly."}], "loss_weight": 0.0}
    v1 = {"chosen_messages": [system, QUESTION, PARIS], "rejected_messages": [system, QUESTION, LYON]}
    n = Preference().normalize(v1, C, T)
    assert n.system == "Answer briefly." and n.roles == ["user", "assistant"]
    assert not Preference().detect({"chosen": "Paris.", "rejected": "Lyon."}, C, T)  # Alpaca's spelling
    assert Preference().detect({"chosen_messages": [], "rejected_messages": [LYON]}, C, T)  # a pair, read invalid
    assert not Preference().detect({"chosen": []}, C, T)  # an empty list alone is no pair
    with pytest.raises(RecordError, match="'prompt' must be a string or a list of messages"):
        Preference().normalize({"prompt": 3, "chosen": [PARIS]}, C, T)
    with pytest.raises(RecordError, match=r"'chosen\[0\].role' is 'bot'"):
        Preference().normalize({"chosen": [{"role": "bot", "content": "Hi"}]}, C, T)


def test_a_file_of_preference_conversations_is_checked_on_the_chosen_side_and_written_back_whole(write_jsonl):
    import json

    import dqe

    pairs = [
        {"chosen_messages": [QUESTION, PARIS], "rejected_messages": [QUESTION, LYON]},
        {"chosen_messages": [QUESTION], "rejected_messages": [QUESTION, PARIS]},  # a chosen side with no answer
    ]
    path = write_jsonl(pairs)
    out = path.parent / "out"
    result = dqe.filter(path, out / "ok.jsonl", out / "bad.jsonl", select=["DQ001"])
    assert (result.report.files[0].format, result.report.files[0].note) == (
        "preference",
        "preference data: the 'chosen_messages' conversations checked, 'rejected_messages' not",
    )
    assert [f.source.rsplit(":", 1)[1] for f in result.report.findings] == ["2"]
    written = [json.loads(line) for name in ("ok.jsonl", "bad.jsonl") for line in (out / name).read_text().splitlines()]
    assert [{k: v for k, v in obj.items() if k != "_dqe"} for obj in written] == pairs


def reply(text, role, rank=None, replies=(), deleted=False):
    return {"text": text, "role": role, "rank": rank, "deleted": deleted, "replies": list(replies)}


TREE = {
    "message_tree_id": "054e1df3",
    "prompt": reply(
        "How do I boil an egg?",
        "prompter",
        replies=[
            reply("Put it in water.", "assistant", rank=1),
            reply(
                "Boil water, add the egg, wait 9 minutes.",
                "assistant",
                rank=0,
                replies=[
                    reply("And a soft one?", "prompter", replies=[reply("6 minutes.", "assistant", deleted=True)]),
                ],
            ),
            reply("Eggs are great.", "assistant", rank=None),
        ],
    ),
}


# A tree as oasst's *.trees.jsonl writes it, and as its evaluation exports do (en_100_message.jsonl):
# the prompt message itself, its replies nested in it
ROOT_MESSAGE = {"message_id": "054e1df3", "parent_id": None, **TREE["prompt"]}


@pytest.mark.parametrize("tree", [TREE, ROOT_MESSAGE], ids=["trees-export", "root-message"])
def test_an_open_assistant_tree_is_its_best_ranked_path_to_its_last_answer(tree):
    assert OpenAssistant().detect(tree, C, T)
    n = OpenAssistant().normalize(tree, C, T)
    # rank 0 at the first turn; the follow-up's only answer was deleted, so it is left unanswered and out
    assert (n.roles, n.contents) == (
        ["user", "assistant"],
        ["How do I boil an egg?", "Boil water, add the egg, wait 9 minutes."],
    )
    turns = [Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)]
    path = OpenAssistant().denormalize(Record(turns=turns), C, T)
    assert OpenAssistant().normalize(path, C, T).contents == n.contents
    with pytest.raises(RecordError, match=r"'prompt.replies\[0\].role' is 'bot'"):
        OpenAssistant().normalize({"prompt": reply("Hi", "prompter", replies=[reply("Hello", "bot", rank=0)])}, C, T)
    with pytest.raises(RecordError, match=r"'replies\[0\].text' must be a string"):
        OpenAssistant().normalize(reply("Hi", "prompter", replies=[reply(None, "assistant", rank=0)]), C, T)
    # a message alone, linked to its parent by id (a flat export), is no tree
    assert not OpenAssistant().detect(
        {"message_id": "a8c0", "parent_id": "4a24", "text": "Hi", "role": "prompter"}, C, T
    )


def test_a_file_of_open_assistant_trees_is_read_as_such_and_written_back_whole(write_jsonl):
    import json

    import dqe

    path = write_jsonl([TREE, {"message_tree_id": "2", "prompt": reply("Hi!", "prompter")}])
    out = path.parent / "out"
    result = dqe.filter(path, out / "ok.jsonl", out / "bad.jsonl", select=["DQ001"])
    assert result.report.files[0].format == "oasst" and result.report.summary.invalid == 0
    assert [f.source.rsplit(":", 1)[1] for f in result.report.findings] == ["2"]  # a prompt never answered
    written = [json.loads(line) for name in ("ok.jsonl", "bad.jsonl") for line in (out / name).read_text().splitlines()]
    assert [{k: v for k, v in obj.items() if k != "_dqe"} for obj in written] == [
        TREE,
        {"message_tree_id": "2", "prompt": reply("Hi!", "prompter")},
    ]


MOSS = {
    "conversation_id": 1,
    "meta_instruction": "You are an AI assistant whose name is MOSS.\n- Calculator: enabled. API: Calculate(expression)\n",
    "num_turns": 2,
    "chat": {
        "turn_1": {
            "Human": "<|Human|>: 一个三角形的两边分别是16和12，周长是多少？<eoh>\n",
            "Inner Thoughts": "<|Inner Thoughts|>: 还需要第三条边的长度。<eot>\n",
            "Commands": "<|Commands|>: None<eoc>\n",
            "Tool Responses": "<|Results|>:\nNone\n<eor>\n",
            "MOSS": "<|MOSS|>: 请告诉我第三条边的长度。<eom>\n",
        },
        "turn_2": {
            "Human": "<|Human|>: 第三条边是10。<eoh>\n",
            "Inner Thoughts": "<|Inner Thoughts|>: 把三条边加起来。<eot>\n",
            "Commands": '<|Commands|>: Calculate("16+12+10")<eoc>\n',
            "Tool Responses": "<|Results|>:\nCalculate(\"16+12+10\") => '38'\n<eor>\n",
            "MOSS": "<|MOSS|>: 这个三角形的周长是38。<eom>\n",
        },
    },
    "category": "tool",
}


def test_moss_turns_are_read_without_their_tags_and_a_command_is_a_tool_call():
    n = Moss().normalize(MOSS, C, T)
    assert n.roles == ["user", "assistant", "user", "tool_call", "tool", "assistant"]
    assert n.contents[3:5] == ['Calculate("16+12+10")', "Calculate(\"16+12+10\") => '38'"]
    assert (n.system, n.category) == (MOSS["meta_instruction"], "tool")


def test_moss_inner_thoughts_are_the_answers_reasoning_trace():
    n = Moss().normalize(MOSS, C, T)
    assert n.contents[1] == "<think>\n还需要第三条边的长度。\n</think>\n\n请告诉我第三条边的长度。"
    assert n.contents[5] == "<think>\n把三条边加起来。\n</think>\n\n这个三角形的周长是38。"
    no_thoughts = {"chat": {"turn_1": {**MOSS["chat"]["turn_1"], "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n"}}}
    assert Moss().normalize(no_thoughts, C, T).contents == [
        "一个三角形的两边分别是16和12，周长是多少？",
        "请告诉我第三条边的长度。",
    ]


def test_moss_turns_are_read_in_number_order_and_inner_thoughts_may_be_absent():
    chat = {f"turn_{i}": {"Human": f"<|Human|>: q{i}<eoh>\n", "MOSS": f"<|MOSS|>: a{i}<eom>\n"} for i in range(1, 12)}
    shuffled = dict(sorted(chat.items()))  # turn_1, turn_10, turn_11, turn_2, ...
    n = Moss().normalize({"num_turns": 11, "chat": shuffled}, C, T)
    assert n.contents[-4:] == ["q10", "a10", "q11", "a11"]


def test_moss_written_back_holds_the_same_conversation_its_inner_thoughts_included():
    n = Moss().normalize(MOSS, C, T)
    record = Record(system=n.system, turns=[Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)])
    written = Moss().denormalize(record, C, T)
    assert written["chat"]["turn_2"] == MOSS["chat"]["turn_2"]  # the same keys in the same order
    assert written["chat"]["turn_1"] == {k: MOSS["chat"]["turn_1"][k] for k in ("Human", "Inner Thoughts", "MOSS")}
    assert (written["num_turns"], written["meta_instruction"]) == (2, MOSS["meta_instruction"])
    with pytest.raises(RecordError, match="moss needs exchanges of a user turn"):
        Moss().denormalize(Record(turns=[Turn(role="user", content="Hi")]), C, T)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chat": {}}, "field 'chat' is empty"),
        ({"num_turns": 1, "chat": {"turn_1": {"Human": "<|Human|>: Hi<eoh>\n"}}}, r"'chat.turn_1.MOSS' is missing"),
        ({"chat": {**MOSS["chat"], "turn_2": {**MOSS["chat"]["turn_2"], "MOSS": 3}}}, r"'chat.turn_2.MOSS' is a int"),
        (
            {"chat": {"turn_1": {**MOSS["chat"]["turn_2"], "Tool Responses": None}}, "num_turns": 1},
            r"'chat.turn_1.Tool Responses' is missing",
        ),
        ({"chat": {"turn_1": MOSS["chat"]["turn_1"], "turn_3": MOSS["chat"]["turn_2"]}}, r"'chat.turn_2' is missing"),
        ({"num_turns": 3}, "'num_turns' is 3 but 'chat' holds 2 turns"),
        ({"chat": {"turn_1": "Hi"}}, r"'chat.turn_1' must be an object with 'Human' and 'MOSS'"),
    ],
)
def test_moss_errors_name_the_turn_and_key(change, message):
    with pytest.raises(RecordError, match=message):
        Moss().normalize({**MOSS, **change}, C, T)


def test_a_folder_of_moss_conversations_is_read_as_such_and_written_back_as_it_came(tmp_path):
    import json

    import dqe

    for i in (1, 2):  # MOSS's repository: one object per .json file
        (tmp_path / "moss" / f"calculator_plugin_conversation_{i}.json").parent.mkdir(exist_ok=True)
        (tmp_path / "moss" / f"calculator_plugin_conversation_{i}.json").write_text(
            json.dumps({**MOSS, "conversation_id": i}, ensure_ascii=False, indent=4)
        )
    out = tmp_path / "out"
    result = dqe.filter(tmp_path / "moss", out / "ok.jsonl", out / "bad.jsonl", select=["DQ001"])
    assert [f.format for f in result.report.files] == ["moss", "moss"] and result.report.summary.passed == 2
    assert [json.loads(line) for line in (out / "ok.jsonl").read_text().splitlines()] == [
        {**MOSS, "conversation_id": 1},
        {**MOSS, "conversation_id": 2},
    ]
    dqe.convert(tmp_path / "moss", "sharegpt", out / "sharegpt.jsonl")
    dqe.convert(out / "sharegpt.jsonl", "moss", out / "moss.jsonl")
    back = [json.loads(line) for line in (out / "moss.jsonl").read_text().splitlines()]
    assert [Moss().normalize(obj, C, T) for obj in back] == [Moss().normalize(MOSS, C, T)] * 2


# Distilled reasoning data keeps the trace beside the answer, under a key of its own
CALL = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
TRACED_OPENAI = {
    "messages": [
        {"role": "user", "content": "A farmer has 17 sheep. All but 9 run away. How many are left?"},
        {"role": "assistant", "content": "9", "reasoning_content": "All but 9 run away: 9 stay."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "reasoning_content": "I should ask the tool.", "tool_calls": CALL},
        {"role": "tool", "content": "18 °C"},
        {"role": "assistant", "content": "It is 18 °C.", "reasoning_content": ""},
    ]
}
TRACED_SHAREGPT = {
    "conversations": [
        {"from": "human", "value": "How many days are 3 weeks and 4 days?"},
        {"from": "gpt", "value": "25", "thinking": "3 * 7 = 21, plus 4 is 25."},
    ]
}


def test_a_trace_beside_an_answer_is_read_as_a_think_block_before_it():
    n = OpenAI().normalize(TRACED_OPENAI, C, T)
    assert n.roles == ["user", "assistant", "user", "assistant", "tool_call", "tool", "assistant"]
    assert n.contents[1] == "<think>\nAll but 9 run away: 9 stay.\n</think>\n\n9"
    assert n.contents[3] == "<think>\nI should ask the tool.\n</think>"  # the call's reasoning, a turn before it
    assert n.contents[6] == "It is 18 °C."  # an empty trace is none
    assert (
        ShareGPT().normalize(TRACED_SHAREGPT, C, T).contents[1] == "<think>\n3 * 7 = 21, plus 4 is 25.\n</think>\n\n25"
    )
    reasoning = {
        "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "reasoning": "2+2=4"}]
    }
    assert OpenAI().normalize(reasoning, C, T).contents[1] == "<think>\n2+2=4\n</think>\n\n4"


def test_a_trace_that_is_not_a_string_names_its_key():
    bad = {
        "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "reasoning_content": 4}]
    }
    with pytest.raises(RecordError, match=r"'messages\[1\].reasoning_content' must be a string \(a reasoning trace\)"):
        OpenAI().normalize(bad, C, T)


def test_traced_records_are_filtered_as_they_came_and_converted_with_the_trace_inline(tmp_path):
    import json

    import dqe

    data = tmp_path / "traced"
    data.mkdir()
    for name, record in (("openai", TRACED_OPENAI), ("sharegpt", TRACED_SHAREGPT)):
        (data / f"{name}.jsonl").write_text(json.dumps(record) + "\n")
    out = tmp_path / "out"
    result = dqe.filter(data, out / "ok.jsonl", out / "bad.jsonl", select=["DQ001", "DQ201"])
    assert result.report.summary.passed == 2
    # every key in its order, the trace included
    assert [json.loads(line) for line in (out / "ok.jsonl").read_text().splitlines()] == [
        TRACED_OPENAI,
        TRACED_SHAREGPT,
    ]
    dqe.convert(data / "openai.jsonl", "sharegpt", out / "sharegpt.jsonl")
    first = json.loads((out / "sharegpt.jsonl").read_text())
    assert first["conversations"][1] == {"from": "gpt", "value": "<think>\nAll but 9 run away: 9 stay.\n</think>\n\n9"}
    dqe.convert(data / "sharegpt.jsonl", "moss", out / "moss.jsonl")  # MOSS has a place of its own for it
    moss = json.loads((out / "moss.jsonl").read_text())
    assert moss["chat"]["turn_1"]["Inner Thoughts"] == "<|Inner Thoughts|>: 3 * 7 = 21, plus 4 is 25.<eot>\n"


def test_a_chosen_answers_trace_is_read_too():
    chosen = {"role": "assistant", "content": "9", "reasoning_content": "All but 9 run away: 9 stay."}
    pair = {
        "messages": TRACED_OPENAI["messages"][:1],
        "chosen": chosen,
        "rejected": {"role": "assistant", "content": "8"},
    }
    assert OpenAI().normalize(pair, C, T).contents[-1] == "<think>\nAll but 9 run away: 9 stay.\n</think>\n\n9"
