"""DQ401 exact-duplicate and DQ402 near-duplicate: which records cluster, which one is kept."""

from __future__ import annotations

import json
import random
import re

import polars as pl
from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.hookspecs import hookimpl
from dqe.rule import RecordRule
from tests.conftest import real
from tests.test_minhash import naive_shingles

DEDUP = ["DQ401", "DQ402"]
NEAR = re.compile(r"^near-duplicate of (.+):(\d+) \(similarity (0\.\d\d|1\.00), cluster ([0-9a-f]{16})\)$")

ANSWER = (
    "Photosynthesis is the process by which green plants and some other organisms use sunlight "
    "to synthesize foods from carbon dioxide and water. It generally involves the green pigment "
    "chlorophyll and generates oxygen as a byproduct, which is released into the atmosphere."
)


def record(output: str, instruction: str = "Explain photosynthesis.", **extra) -> dict:
    return {"instruction": instruction, "input": "", "output": output, **extra}


def edit(text: str, positions: range | list[int], word: str = "changed") -> str:
    words = text.split()
    for i in positions:
        words[i] = f"{word}{i}"
    return " ".join(words)


class Preferred(RecordRule):
    """Scores records by their category (good 1.0, bad 0.2, else 0.6; "rejected" fails with
    1.0): a stand-in for the quality scores real record rules give."""

    code = "TST001"
    name = "preferred"
    summary = "quality from the category field, for tests"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        score = pl.col("category").replace_strict(
            {"good": 1.0, "bad": 0.2, "rejected": 1.0}, default=0.6, return_dtype=pl.Float64
        )
        return batch.select(passed=pl.col("category").fill_null("") != "rejected", score=score)


class QualityPlugin:
    @hookimpl
    def dqe_register_rules(self, register):
        register(Preferred)


def check(records, select=DEDUP, **kw):
    return dqe.check(records, select=select, **kw)


def by_code(report, code):
    return {f.source: f.message for f in report.findings if f.code == code}


# Exact duplicates


def test_copies_differing_only_in_case_and_whitespace_fail_naming_the_first():
    report = check(
        [
            record(ANSWER),
            record("Something else entirely."),
            record("  " + ANSWER.upper().replace(" ", "   ")),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:3": "exact duplicate of <records>:1"}
    assert by_code(report, "DQ402") == {}
    assert report.dataset["duplicates"] | {"largest": None} == {
        "records": 3,
        "rate": 0.333333,
        "exact": 1,
        "near": 0,
        "clusters": 1,
        "largest": None,
    }


def test_full_width_forms_are_the_same_text():
    report = check(
        [
            record("ＧＰＴ－４ ｈａｓ ａ １２８ｋ ｃｏｎｔｅｘｔ．"),
            record("GPT-4 has a 128k context."),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:2": "exact duplicate of <records>:1"}


def test_words_moved_from_question_to_answer_make_another_text():
    report = check(
        [record("Blue.", instruction="Name a color"), record("color Blue.", instruction="Name a")],
        select=["DQ401"],
    )
    assert report.summary.rejected == 0


def test_the_system_prompt_is_not_compared():
    report = check(
        [
            record(ANSWER, system="You are helpful."),
            record(ANSWER, system="You are a biology tutor."),
        ]
    )
    assert by_code(report, "DQ401") == {"<records>:2": "exact duplicate of <records>:1"}


def test_every_turn_of_the_history_is_compared():
    history = [["Hi", "Hello! How can I help?"]]
    other = [["Hi", "Good morning."]]
    report = check([record(ANSWER, history=history), record(ANSWER, history=other)], select=["DQ401"])
    assert report.summary.rejected == 0


def test_the_best_record_is_kept_and_ties_keep_the_first_seen():
    records = [
        record(ANSWER, category="bad"),
        record(ANSWER, category="good"),
        record(ANSWER, category="good"),
    ]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    assert by_code(report, "DQ401") == {
        "<records>:1": "exact duplicate of <records>:2",
        "<records>:3": "exact duplicate of <records>:2",
    }


def test_a_record_another_rule_rejected_is_not_the_one_kept():
    records = [record(ANSWER, category="rejected"), record(ANSWER, category="bad")]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    assert by_code(report, "DQ401") == {"<records>:1": "exact duplicate of <records>:2"}


# Near duplicates


def test_one_word_changed_is_a_near_duplicate_of_the_original():
    report = check([record(ANSWER), record(edit(ANSWER, [10]))])
    (message,) = by_code(report, "DQ402").values()
    source, line, similarity, cluster = NEAR.match(message).groups()
    assert (source, line) == ("<records>", "1") and float(similarity) >= 0.8
    assert cluster == report.records["id"][0]
    assert report.dataset["duplicates"]["near"] == 1


def test_different_answers_to_the_same_instruction_template_do_not_cluster():
    texts = [
        (
            "Translate the following sentence into French.\nThe weather is nice today.",
            "Il fait beau aujourd'hui.",
        ),
        (
            "Translate the following sentence into French.\nMy brother plays football every Sunday.",
            "Mon frère joue au football tous les dimanches.",
        ),
        (
            "Translate the following sentence into French.\nWhere is the train station?",
            "Où est la gare ?",
        ),
    ]
    report = check([{"instruction": q.split("\n")[0], "input": q.split("\n")[1], "output": a} for q, a in texts])
    assert report.summary.rejected == 0 and report.dataset["duplicates"]["clusters"] == 0


def test_a_removed_record_is_within_the_threshold_of_the_kept_one_not_a_chain():
    words = " ".join(f"word{i}" for i in range(100))
    first = edit(words, range(5, 100, 16), "first")  # A
    middle = edit(first, range(13, 100, 16), "middle")  # B: A with 6 words changed
    last = edit(middle, range(5, 100, 16), "last")  # C: B with A's 6 words changed again
    jaccard = {}
    for name, (x, y) in {"AB": (first, middle), "BC": (middle, last), "AC": (first, last)}.items():
        a, b = set(naive_shingles(x, 2, 2)), set(naive_shingles(y, 2, 2))
        jaccard[name] = len(a & b) / len(a | b)
    assert jaccard["AB"] > 0.75 and jaccard["BC"] > 0.75 and jaccard["AC"] < 0.65
    report = check([record(first), record(middle), record(last)])
    assert list(by_code(report, "DQ402")) == ["<records>:2"]  # C stays: it is not close to A


def test_the_best_of_a_cluster_is_kept():
    records = [
        record(ANSWER, category="bad"),
        record(edit(ANSWER, [3]), category="good"),
        record(edit(ANSWER, [20])),
    ]
    report = dqe.check(records, select=[*DEDUP, "TST001"], plugins=[QualityPlugin()])
    near = by_code(report, "DQ402")
    assert set(near) == {"<records>:1", "<records>:3"}
    assert all(NEAR.match(m).group(2) == "2" for m in near.values())


def test_copies_of_a_near_duplicate_fail_as_exact_duplicates_once_each():
    changed = edit(ANSWER, [7])
    report = check([record(ANSWER), record(changed), record(changed), record("Unrelated answer here.")])
    assert by_code(report, "DQ401") == {"<records>:3": "exact duplicate of <records>:2"}
    assert list(by_code(report, "DQ402")) == ["<records>:2"]
    section = report.dataset["duplicates"]
    assert (section["exact"], section["near"], section["clusters"], section["rate"]) == (
        1,
        1,
        1,
        0.5,
    )
    (largest,) = section["largest"]
    assert largest["size"] == 3 and largest["id"] == report.records["id"][0]
    assert [e["source"] for e in largest["examples"]] == [
        "<records>:1",
        "<records>:2",
        "<records>:3",
    ]
    assert largest["examples"][0]["text"].startswith("Explain photosynthesis. | Photosynthesis is the process")


def test_chinese_text_is_compared_by_characters():
    original = "细胞理论是生物科学的一个理论，它认为所有生命体都是由微小的基本单元——细胞所构成。这是生物学的一个基础理论，认为细胞是所有生物的基本结构和功能单位。"
    edited = original.replace("微小", "细小").replace("基础", "重要")
    report = check(
        [
            record(original, instruction="解释细胞理论。"),
            record(edited, instruction="解释细胞理论。"),
        ]
    )
    assert list(by_code(report, "DQ402")) == ["<records>:2"]
    long_shingles = check([record(original), record(edited)], rules={"DQ402": {"char-shingle-size": 16}})
    assert long_shingles.summary.rejected == 0  # a changed character spoils 16 shingles


def test_a_record_without_words_is_only_compared_exactly():
    report = check(
        [
            record("!!!", instruction="?"),
            record("...", instruction="?"),
            record("!!!", instruction="?"),
        ]
    )
    assert list(by_code(report, "DQ401")) == ["<records>:3"] and by_code(report, "DQ402") == {}


def test_bands_must_leave_two_rows_each(write_jsonl, tmp_path):
    (tmp_path / "dqe.toml").write_text("[rules.near-duplicate]\nbands = 200\n")
    result = CliRunner().invoke(
        main, ["check", str(write_jsonl([record(ANSWER)])), "--config", str(tmp_path / "dqe.toml")]
    )
    assert result.exit_code == 2
    assert "rules.near-duplicate" in result.output and "bands = 200 leaves fewer than 2 rows per band" in result.output


# Real data


def test_fastchat_dummy_conversations_are_mostly_near_duplicates():
    path = real("fastchat_dummy_conversation.json")
    report = check(path, complete=True)
    section = report.dataset["duplicates"]
    assert section["rate"] > 0.5 and section["near"] > 250
    assert section["largest"][0]["size"] >= 20
    assert len(section["largest"]) == 5 and all(len(c["examples"]) == 3 for c in section["largest"])
    # Each removed record is close to the record it names: exact Jaccard of the shingles within
    # the MinHash estimate's error of the threshold. (Templated data like this has many pairs
    # just under the threshold, and some of their estimates land above it.)
    objects = json.loads(path.read_text())
    texts = [" ".join(t["value"] for t in o["conversations"]).lower() for o in objects]
    record_of = dict(zip(report.records["source"], report.records["record"], strict=True))
    close = []
    for finding in report.findings:
        kept = NEAR.match(finding.message)
        if finding.code == "DQ402" and kept:
            a = set(naive_shingles(texts[finding.record], 2, 2))
            b = set(naive_shingles(texts[record_of[f"{kept[1]}:{kept[2]}"]], 2, 2))
            close.append(len(a & b) / len(a | b))
    assert len(close) == section["near"] and min(close) >= 0.6


def test_chinese_demo_set_finds_planted_near_duplicates_by_character():
    objects = json.loads(real("llamafactory_alpaca_zh_demo.json").read_text(encoding="utf-8"))
    rng = random.Random(4)
    planted = []
    for i in rng.sample(range(len(objects)), 5):
        chars = list(objects[i]["output"])
        for j in rng.sample(range(len(chars)), max(1, len(chars) // 25)):
            chars[j] = "变"
        planted.append({**objects[i], "output": "".join(chars)})
    report = check([*objects, *planted])
    near = by_code(report, "DQ402")
    assert {f"<records>:{len(objects) + k + 1}" for k in range(5)} <= set(near)
    assert report.dataset["duplicates"]["exact"] == 8  # the demo set repeats eight records


# The gate


def test_check_exits_1_when_the_duplicate_rate_passes_the_fail_threshold(write_jsonl, tmp_path):
    records = [record(f"Answer number {i} is about topic {i * 7}.", instruction=f"Question {i}?") for i in range(80)]
    path = write_jsonl(records + records[:20])  # 20 of 100 are copies: 95% CI 0.133-0.289, all above 0.1
    runner = CliRunner()
    failing = runner.invoke(main, ["check", str(path), "--select", "DQ4", "--format", "json"])
    assert failing.exit_code == 1, failing.output
    gate = {m["name"]: m for m in json.loads(failing.output)["gate"]["metrics"]}
    assert gate["duplicate-rate"]["value"] == 0.2 and gate["duplicate-rate"]["state"] == "fail"
    assert gate["duplicate-rate"]["n"] == 100 and gate["duplicate-rate"]["ci_low"] > 0.1
    (tmp_path / "dqe.toml").write_text("[gate]\nduplicate-rate = { fail = 0.25 }\n")
    warning = runner.invoke(
        main,
        [
            "check",
            str(path),
            "--select",
            "DQ4",
            "--format",
            "json",
            "--config",
            str(tmp_path / "dqe.toml"),
        ],
    )
    assert warning.exit_code == 0, warning.output
    gate = {m["name"]: m for m in json.loads(warning.output)["gate"]["metrics"]}
    assert gate["duplicate-rate"]["state"] == "warn"


def test_filter_puts_the_copies_in_rejected_with_their_reasons(write_jsonl, tmp_path):
    path = write_jsonl([record(ANSWER), record(edit(ANSWER, [4])), record(ANSWER)])
    result = dqe.filter(path, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", select=DEDUP)
    assert result.outputs.passed == 1 and result.outputs.rejected == 2
    rejected = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    reasons = sorted(r for obj in rejected for r in json.dumps(obj["_dqe"]).split('"') if r.startswith("DQ40"))
    assert reasons[0].startswith("DQ401") and reasons[1].startswith("DQ402")
