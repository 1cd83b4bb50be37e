"""DQ209 misspelling on real English data: false flags on the clean sets, recall on planted typos.

For every English set of ../shared/data it checks the records as they are (every finding there
is a false flag, or a typo the set already had) and again with typos planted at 3% of each
answer's words (at least one): a letter dropped, doubled, swapped with the next or replaced
by a neighbour on the keyboard, in lower-case words of three letters or more, and only where the result is no word of the list (a real-word error, "form" for "from",
is beyond any word list). Typos go in prose only: not in lines with code's characters
(`=(){}[];$<>|`, a path's dot), not in quoted strings. Recall is the share of records with planted typos that fail;
word recall is the share of planted typos the findings name (in records with one answer: a finding
names the words of one answer). Speed: the run's time per record
with DQ209 alone against DQ101 alone (tokenizing), in the same process.

    python benchmarks/bench_spelling.py                 # all the English sets
    python benchmarks/bench_spelling.py --limit 2000    # at most 2000 records a set
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import polars as pl

import dqe

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SETS = {
    "rasbt_instruction_data.json": None,
    "llamafactory_alpaca_en_demo.json": None,
    "llamafactory_glaive_toolcall_en_demo.json": None,
    "llamafactory_v1_sft_demo.jsonl": None,
    "fastchat_dummy_conversation.json": None,
    "gpteacher_codegen_instruct.json": "response",
    "gsm8k_train_alpaca.json": None,
}
RATE = 0.03
_KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS = {
    c: "".join(
        _KEYS[r2][c2]
        for r2 in (r - 1, r, r + 1)
        for c2 in (i - 1, i, i + 1)
        if 0 <= r2 < 3 and 0 <= c2 < len(_KEYS[r2])
    ).replace(c, "")
    for r, row in enumerate(_KEYS)
    for i, c in enumerate(row)
}
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
_NOT_PROSE = re.compile(r"[(){}\[\];<>\\|]|^\s*(#!|//|import |def |class |return )|\w\.\w")  # code, paths
_QUOTED = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|“[^”\n]*”")
_WORD = re.compile(r"(?<![\w'’/.@#-])[a-z]{3,}(?![\w'’/@-])")


def load(name: str, answer_field: str | None, limit: int | None) -> list[dict]:
    path = DATA / name
    text = path.read_text(encoding="utf-8")
    records = (
        [json.loads(line) for line in text.splitlines() if line.strip()]
        if name.endswith(".jsonl")
        else json.loads(text)
    )
    if answer_field:
        records = [{**{k: v for k, v in r.items() if k != answer_field}, "output": r[answer_field]} for r in records]
    return records[:limit] if limit else records


def typo(word: str, rng: random.Random, known: set[str]) -> str | None:
    """A non-word one edit away from ``word``, or None when ten tries give only words."""
    for _ in range(10):
        i = rng.randrange(len(word))
        kind = rng.choice(("drop", "double", "swap", "neighbour"))
        if kind == "drop":
            out = word[:i] + word[i + 1 :]
        elif kind == "double":
            out = word[:i] + word[i] + word[i:]
        elif kind == "swap" and i < len(word) - 1:
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            out = word[:i] + rng.choice(_NEIGHBOURS.get(word[i], "e")) + word[i + 1 :]
        if out != word and out not in known:
            return out
    return None


def plant(text: str, rng: random.Random, known: set[str]) -> tuple[str, list[str]]:
    """``text`` with typos at RATE of its words (at least one), outside code; and the typos."""
    code = [m.span() for m in _CODE.finditer(text)]
    code += [(a, a + len(line)) for a, line in _lines(text) if _NOT_PROSE.search(line) or len(line.split()) < 2]
    code += [m.span() for m in _QUOTED.finditer(text)]
    spots = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in code)]
    if not spots:
        return text, []
    count = max(1, round(RATE * len(text.split())))
    chosen = sorted(rng.sample(spots, min(count, len(spots))), key=lambda m: m.start(), reverse=True)
    planted = []
    for m in chosen:
        wrong = typo(m.group(), rng, known)
        if wrong:
            text = text[: m.start()] + wrong + text[m.end() :]
            planted.append(wrong)
    return text, planted


def _lines(text: str) -> list[tuple[int, str]]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return list(zip(starts, text.split("\n"), strict=True))


def with_typos(record: dict, rng: random.Random, known: set[str]) -> tuple[dict, list[str]]:
    """The record with typos planted in its answers (output, or gpt/assistant turns)."""
    record = json.loads(json.dumps(record))
    planted: list[str] = []
    if "output" in record and isinstance(record["output"], str):
        record["output"], planted = plant(record["output"], rng, known)
    for key, role_key, text_key, roles in (
        ("conversations", "from", "value", ("gpt", "assistant")),
        ("messages", "role", "content", ("assistant",)),
    ):
        for turn in record.get(key) or []:
            if turn.get(role_key) not in roles:
                continue
            parts = turn[text_key] if isinstance(turn.get(text_key), list) else [turn]  # content parts
            for part in parts:
                field = text_key if part is turn else "value" if "value" in part else "text"
                if isinstance(part.get(field), str):
                    part[field], more = plant(part[field], rng, known)
                    planted += more
    return record, planted


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _answers(record: dict) -> int:
    turns = record.get("conversations") or record.get("messages") or []
    return max(1, sum(1 for t in turns if (t.get("from") or t.get("role")) in ("gpt", "assistant")))


def failures(records: list[dict], select: str) -> tuple[dict[int, str], float]:
    start = time.perf_counter()
    report = dqe.check(records, select=[select])
    seconds = time.perf_counter() - start
    found = report.findings_frame.filter(pl.col("code") == select)
    return dict(zip(found["record"].to_list(), found["evidence"].fill_null("").to_list(), strict=True)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="at most this many records a set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from dqe.features.spelling import dictionary

    known = set(dictionary("en").to_list())
    total = {"records": 0, "clean_flags": 0, "planted": 0, "caught": 0, "typos": 0, "named": 0}
    times = {"DQ209": 0.0, "DQ101": 0.0}
    print(f"{'set':44} {'records':>7} {'false flags':>12} {'planted':>7} {'recall':>7} {'word recall':>11}")
    for name, answer_field in SETS.items():
        if not (DATA / name).exists():
            print(f"{name:44} missing: skipped")
            continue
        records = load(name, answer_field, args.limit)
        rng = random.Random(args.seed)
        clean, seconds = failures(records, "DQ209")
        times["DQ209"] += seconds
        times["DQ101"] += failures(records, "DQ101")[1]
        planted = [with_typos(r, rng, known) for r in records]
        dirty, _ = failures([r for r, _typos in planted], "DQ209")
        with_any = [i for i, (_r, typos) in enumerate(planted) if typos]
        caught = sum(1 for i in with_any if i in dirty)
        # words named: a finding names one answer's words, so counted where one answer was planted in
        single = [i for i in with_any if _answers(planted[i][0]) == 1]
        typos = sum(len(planted[i][1]) for i in single)
        named = sum(
            1
            for i in single
            for t in planted[i][1]
            if re.search(rf"(?<![\w']){re.escape(t)}(?![\w'])", dirty.get(i, ""))
        )
        for key, value in zip(total, (len(records), len(clean), len(with_any), caught, typos, named), strict=True):
            total[key] += value
        print(
            f"{name:44} {len(records):7} {len(clean):6} ({len(clean) / len(records):6.2%})"
            f" {len(with_any):7} {caught / max(len(with_any), 1):7.1%} {_share(named, typos):>11}"
        )
    print(
        f"{'all':44} {total['records']:7} {total['clean_flags']:6} ({total['clean_flags'] / total['records']:6.2%})"
        f" {total['planted']:7} {total['caught'] / total['planted']:7.1%} {total['named'] / total['typos']:11.1%}"
    )
    print(
        f"time: DQ209 alone {times['DQ209']:.1f}s, DQ101 alone (tokenizing) {times['DQ101']:.1f}s: "
        f"ratio {times['DQ209'] / times['DQ101']:.2f}"
    )


if __name__ == "__main__":
    main()
