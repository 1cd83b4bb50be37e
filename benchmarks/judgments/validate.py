"""Check the labelled judgement files against the schema of README.md, without running any rule.

    python benchmarks/judgments/validate.py                      # every *.jsonl here
    python benchmarks/judgments/validate.py handwritten-*.jsonl  # some files

Each line must be one JSON object with the schema's fields and values; a written record must be
readable as its ``format`` (read by dqe's own format, as ``dqe check`` reads it), a ``ref`` must
point at a record of ../shared/data, every turn named in ``fails`` must exist and be a turn the
rule judges, and every ``duplicate_of`` must name a record of the set. Prints what is wrong with
file:line and exits 1, or prints the set's make-up (records per file, clean records, failures per
rule, Chinese share, multi-turn records) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from dqe.formats.base import Columns, RecordError, RecordFormat, Tags
from dqe.plugins import load_plugins

HERE = Path(__file__).parent
DATA = HERE.parents[1] / ".." / "shared" / "data"

CATEGORIES = {
    "programming", "translation", "text-correction", "text-matching", "sentiment-analysis", "entity-recognition",
    "keyword-recognition", "structured-extraction", "structured-output", "idiom-explanation",
    "reading-comprehension", "objective-test", "classification", "chain-of-thought", "math", "summarization",
    "rewriting", "reviews", "copywriting", "creative-writing", "storytelling", "composition", "brainstorming",
    "open-qa", "closed-qa", "multi-turn", "role-play", "tool-use",
}  # fmt: skip
SUBJECTS = {"stem", "humanities", "social", "everyday", "none"}
DOMAINS = {"medical", "legal", "finance", "ecommerce", "mental-health", "general"}
COT = {"needs", "no"}
FIELDS = {"id", "ref", "record", "format", "fails", "category", "subject", "domain", "cot", "duplicate_of", "note"}
REQUIRED = {"id", "fails", "category", "subject", "domain", "cot", "duplicate_of"}

# The record rules judged, and the roles of the turns each one can fault (None: any turn).
ANSWER = frozenset({"assistant"})
RULES: dict[str, frozenset[str] | None] = {
    "DQ001": None,
    "DQ002": None,
    "DQ101": None,
    "DQ102": frozenset({"user", "assistant"}),
    "DQ201": ANSWER,
    "DQ202": ANSWER,
    "DQ203": ANSWER,
    "DQ204": frozenset({"user", "assistant"}),
    "DQ205": ANSWER,
    "DQ206": ANSWER,
    "DQ207": ANSWER,
    "DQ302": ANSWER,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def _formats() -> dict[str, RecordFormat]:
    return load_plugins().formats


def _turns(fmt: str, record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The roles and texts of a record's turns, as dqe reads them (system prompt not counted)."""
    formats = _formats()
    if fmt not in formats:
        raise RecordError(f"'format' is {fmt!r}, expected one of {', '.join(sorted(formats))}")
    normalized = formats[fmt].normalize(record, Columns(), Tags())
    texts = list(normalized.contents) + ([normalized.system] if normalized.system else [])
    return list(normalized.roles), texts


@cache
def _records_in(name: str) -> int | None:
    """How many records a file of ../shared/data holds (a JSON array or JSON Lines); None when absent."""
    path = DATA / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return len(json.loads(text))
    return sum(1 for line in text.splitlines() if line.strip())


def _check_ref(ref: dict[str, Any]) -> list[str]:
    """Problems of a reference to a record of ../shared/data (none checked where the data is absent)."""
    index = ref.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return ["'ref.index' must be a 0-based position"]
    if not DATA.is_dir():
        return []
    count = _records_in(str(ref.get("file")))
    if count is None:
        return [f"'ref.file' {ref.get('file')!r} is not a file of ../shared/data"]
    if index >= count:
        return [f"'ref.index' {index} is past the end of {ref['file']} ({count} records)"]
    return []


def _check(row: Any, ids: set[str]) -> tuple[list[str], dict[str, Any]]:
    """Problems of one line, and what it adds to the make-up."""
    if not isinstance(row, dict):
        return ["not a JSON object"], {}
    problems = [f"missing field '{k}'" for k in sorted(REQUIRED - row.keys())]
    problems += [f"unknown field '{k}'" for k in sorted(row.keys() - FIELDS)]
    if ("ref" in row) == ("record" in row):
        problems.append("needs exactly one of 'ref' and 'record'")
    for key, allowed in (("category", CATEGORIES), ("subject", SUBJECTS), ("domain", DOMAINS), ("cot", COT)):
        if key in row and row[key] not in allowed:
            problems.append(f"'{key}' is {row[key]!r}, not one of the schema's values")
    fails = row.get("fails")
    if not isinstance(fails, dict):
        problems.append("'fails' must be an object of rule code -> turn (or null)")
        fails = {}
    if (fails or "record" in row) and not (isinstance(row.get("note"), str) and row["note"].strip()):
        problems.append("'note' is required for a record that fails something and for every written record")
    roles: list[str] = []
    texts: list[str] = []
    if "record" in row:
        if not isinstance(row["record"], dict):
            problems.append("'record' must be an object")
        else:
            try:
                roles, texts = _turns(row.get("format"), row["record"])
            except RecordError as exc:
                problems.append(f"record does not read as {row.get('format')!r}: {exc}")
    elif isinstance(row.get("ref"), dict):
        problems += _check_ref(row["ref"])
    elif "ref" in row:
        problems.append("'ref' must be an object with 'file' and 'index'")
    for code, turn in fails.items():
        if code not in RULES:
            problems.append(f"'fails' names {code!r}, not a judged record rule")
        elif turn is not None and (not isinstance(turn, int) or isinstance(turn, bool) or turn < 1):
            problems.append(f"'fails.{code}' must be a 1-based turn or null, got {turn!r}")
        elif turn is not None and roles:
            if turn > len(roles):
                problems.append(f"'fails.{code}' names turn {turn}, the record has {len(roles)}")
            elif RULES[code] is not None and roles[turn - 1] not in RULES[code]:
                problems.append(f"'fails.{code}' names turn {turn}, a {roles[turn - 1]} turn this rule does not judge")
    dup = row.get("duplicate_of")
    if dup is not None and (not isinstance(dup, str) or dup == row.get("id")):
        problems.append(f"'duplicate_of' must be another record's id, got {dup!r}")
    if isinstance(row.get("id"), str):
        if row["id"] in ids:
            problems.append(f"id {row['id']!r} is used twice")
        ids.add(row["id"])
    else:
        problems.append("'id' must be a string")
    facts = {
        "fails": list(fails),
        "chinese": any(CJK.search(t) for t in texts),
        "exchanges": roles.count("user"),
        "dup": dup,
        "written": "record" in row,
    }
    return problems, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="judgement files (default: every *.jsonl here)")
    args = parser.parse_args(argv)
    files = [p if p.is_absolute() or p.exists() else HERE / p for p in args.files] or sorted(HERE.glob("*.jsonl"))
    ids: set[str] = set()
    problems: list[str] = []
    per_file: Counter[str] = Counter()
    every: list[dict[str, Any]] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path.name}:{n}: not JSON: {exc}")
                continue
            found, facts = _check(row, ids)
            problems += [f"{path.name}:{n}: {p}" for p in found]
            per_file[path.name] += 1
            every.append(facts)
    problems += [
        f"duplicate_of {f['dup']!r} names no record of the set" for f in every if f.get("dup") and f["dup"] not in ids
    ]
    if problems:
        print("\n".join(problems))
        return 1
    total = len(every)
    rules = Counter(code for f in every for code in f["fails"])
    print(f"{total} records in {len(per_file)} files")
    for name, count in sorted(per_file.items()):
        print(f"  {name}: {count}")
    print(f"clean (no rule fails, no duplicate_of): {sum(not f['fails'] and not f['dup'] for f in every)}")
    print("fails per rule: " + ", ".join(f"{code} {n}" for code, n in sorted(rules.items())))
    print(f"duplicates: {sum(bool(f['dup']) for f in every)}")
    written = [f for f in every if f["written"]]
    print(f"written records holding Chinese: {sum(f['chinese'] for f in written)} of {len(written)}")
    print(f"multi-turn (2-6 exchanges): {sum(2 <= f['exchanges'] <= 6 for f in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
