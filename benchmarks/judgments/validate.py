"""Check the labelled judgement set beyond its schema, without running any rule.

    python benchmarks/judgments/validate.py            # the set in benchmarks/judgments/
    python benchmarks/judgments/validate.py FOLDER     # the *.jsonl files of another folder

The schema, the ids and `duplicate_of` are checked as the benchmark loads them
(`bench_judgments.load_judgments`, which stops at the first bad line). This adds what only reading
the records tells, before a benchmark run mixes a mislabelled turn into its figures: every record
reads as its format (as `dqe check` reads it), and every turn named in `fails` exists and is a
turn its rule judges (an answer for the content rules). Prints every problem with its file and
line and exits 1, or prints the set's make-up (records per file, clean records, failures per
rule, Chinese share, multi-turn records) and exits 0.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_judgments as bench  # noqa: E402

from dqe.engine.plugins import load_plugins  # noqa: E402
from dqe.io.reader import Reader  # noqa: E402

ANSWER = frozenset({"assistant"})
TEXT = frozenset({"user", "assistant"})
# The roles of the turns each record rule can fault (None: any turn); README.md and its decisions
# say which: generator residue and lost markup may sit in a question too (a "noinput" marker).
JUDGED_TURNS: dict[str, frozenset[str] | None] = {
    "DQ001": None,
    "DQ002": None,
    "DQ101": None,
    "DQ102": TEXT,
    "DQ201": ANSWER,
    "DQ202": ANSWER,
    "DQ203": ANSWER,
    "DQ204": TEXT,
    "DQ205": TEXT,
    "DQ206": TEXT,
    "DQ207": ANSWER,
    "DQ208": ANSWER,
    "DQ302": ANSWER,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def read_turns(
    judgments: list[bench.Judgment], data: Path = bench.DATA
) -> tuple[dict[str, tuple[list[str], str]], dict[str, str]]:
    """Each readable record's turn roles and its whole text (system prompt included), and why
    each unreadable one could not be read, by judgement id; read as the benchmark writes them."""
    turns: dict[str, tuple[list[str], str]] = {}
    unreadable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dqe-judgments-") as tmp:
        where = bench.materialize(judgments, Path(tmp), data)
        reader = Reader(sorted(Path(tmp).glob("*.jsonl")), load_plugins().formats)
        for batch in reader:
            for file, line, system, record in batch.frame.select("_file", "_line", "system", "turns").iter_rows():
                text = "\n".join([system or "", *(t["content"] for t in record)])
                turns[where[f"{reader.files[file].path}:{line}"]] = ([t["role"] for t in record], text)
            for bad in batch.invalid:
                unreadable[where[f"{reader.files[bad.file].path}:{bad.line}"]] = bad.reason
    return turns, unreadable


def problems(judgments: list[bench.Judgment], turns: dict[str, tuple[list[str], str]], unreadable: dict[str, str]):
    """What is wrong with each judgement's record and turns, as 'file:line: problem'."""
    for j in judgments:
        if j.id in unreadable:
            yield f"{j.where}: the record does not read: {unreadable[j.id]}"
            continue
        roles = turns[j.id][0]
        for code, turn in j.fails.items():
            if turn is None:
                continue
            if turn > len(roles):
                yield f"{j.where}: 'fails.{code}' names turn {turn}, the record has {len(roles)}"
            elif (judged := JUDGED_TURNS[code]) is not None and roles[turn - 1] not in judged:
                yield f"{j.where}: 'fails.{code}' names turn {turn}, a {roles[turn - 1]} turn this rule does not judge"


def make_up(judgments: list[bench.Judgment], turns: dict[str, tuple[list[str], str]]) -> str:
    """Records per file, clean ones, failures per rule, Chinese share and multi-turn records."""
    files = Counter(Path(j.where.rsplit(":", 1)[0]).name for j in judgments)
    rules = Counter(code for j in judgments for code in j.fails)
    written = [j for j in judgments if j.record is not None]
    chinese = sum(bool(CJK.search(turns[j.id][1])) for j in written)
    multi = sum(2 <= turns[j.id][0].count("user") <= 6 for j in written)
    return "\n".join(
        [
            f"{len(judgments)} records in {len(files)} files",
            *(f"  {name}: {n}" for name, n in sorted(files.items())),
            f"clean (no rule fails, no duplicate_of): {sum(not j.fails and not j.duplicate_of for j in judgments)}",
            "fails per rule: " + ", ".join(f"{code} {n}" for code, n in sorted(rules.items())),
            f"duplicates: {sum(j.duplicate_of is not None for j in judgments)}",
            f"written records holding Chinese: {chinese} of {len(written)}",
            f"written multi-turn records (2-6 exchanges): {multi}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=bench.JUDGMENTS, help="folder of *.jsonl judgements")
    args = parser.parse_args(argv)
    try:
        judgments = bench.load_judgments(args.folder)
        turns, unreadable = read_turns(judgments)
    except bench.JudgmentError as exc:
        print(f"error: {exc}")
        return 1
    found = list(problems(judgments, turns, unreadable))
    if found:
        print("\n".join(found))
        return 1
    print(make_up(judgments, turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
