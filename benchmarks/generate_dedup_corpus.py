"""Generate the corpus near-duplicate detection is measured on, reproducibly by seed.

Harder than ``generate_corpus.py``'s, and built so that its ground truth is complete:

- Base records are written word by word (character by character for Chinese) by a first-order
  Markov chain over the real files in ../shared/data: they have the data's vocabulary, numbers
  and punctuation, and no two of them share a passage by chance (records composed from whole
  sentences of a few thousand do, which blurs what a planted copy is).
- A quarter of the records put a short question and a short answer behind a long tool preamble:
  a header and the JSON descriptions of 3 to 6 tools from the glaive tool-call demo (1,000-2,600
  characters), each preamble shared by hundreds of records that ask different things. Those are
  the negatives: records that are mostly the same text and not duplicates.
- Planted near copies of earlier records have 2-15% of their words (characters for Chinese)
  substituted (half of the edits), dropped, inserted or swapped with the next one; 30% also have
  the sentences of their answer reordered, and 30% of those with numbers have every number
  changed. A copy of a preambled record keeps the preamble and is edited behind it.
- A copy with every number changed is a copy when the numbers are a small part of a long text
  (a year or an amount in an essay), and another example when the text is short and holds
  several numbers: "Adam has 1700 ml ... Mary has 72 fish" and "Adam has 2800 ml ... Mary has 52
  fish" are one word problem's template with other numbers, as "What is 37*12?" and "What is
  41*9?" are two questions. Such copies (under ``SHORT_PAIRS`` pairs of words or Chinese
  characters behind the preamble, DQ402's short-shingles, and ``NUMBERS_OF_A_TEMPLATE`` distinct
  numbers or more) are negatives.
- Planted exact copies, for DQ401.

The ground truth is written beside the corpus (``<out>.truth.json``): ``exact`` ([copy, source]),
``near`` ([copy, source, fraction edited, reordered, numbers changed]), ``renumbered`` (short
copies with other numbers, the same fields: not duplicates) and ``preamble`` (each record's
preamble, -1 for none).

    python benchmarks/generate_dedup_corpus.py -n 1000000 -o /tmp/dedup.jsonl --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import numpy as np
from generate_corpus import ALPACA_FILES, DATA

TOOLS_FILE = "llamafactory_glaive_toolcall_en_demo.json"
HEADERS = (
    "You are a helpful assistant with access to the following functions. Use them if required.",
    "toolformer: enabled\ntoolformer access: {names}",
    "# Tools\nYou may call one or more of the tools below to answer the user. Available tools: {names}.",
    "SYSTEM NOTICE: the assistant can call these APIs ({names}). Describe a call before making it.",
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WIDE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # written without spaces around
_UNIT = re.compile(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+")  # a Chinese character or a run of other non-space characters
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_NUMBER = re.compile(r"\d+")
SHORT_PAIRS = 40  # pairs of words (characters for Chinese) behind the preamble: under this a text is short
NUMBERS_OF_A_TEMPLATE = 2  # distinct numbers a short text needs for them to be its arguments
_RESERVOIR = 100_000
_CHUNK = 10_000
# (question, answer) lengths in words, or characters for Chinese
LENGTHS = {"en": ((8, 40), (30, 150)), "zh": ((10, 60), (40, 300)), "preambled": ((6, 25), (5, 40))}


class Chain:
    """A first-order Markov chain over the units (words; characters for Chinese) of some texts."""

    def __init__(self, texts: list[str], chinese: bool):
        self.chinese = chinese
        vocab: dict[str, int] = {"": 0}  # 0: between texts
        sequence = [0]
        for text in texts:
            units = _UNIT.findall(text) if chinese else text.split()
            sequence.extend(vocab.setdefault(u, len(vocab)) for u in units)
            sequence.append(0)
        self.vocab = np.array(list(vocab), dtype=object)
        current, following = np.array(sequence[:-1]), np.array(sequence[1:])
        order = np.argsort(current, kind="stable")
        self.successors = following[order]
        self.degree = np.bincount(current, minlength=len(vocab))
        self.offsets = np.cumsum(self.degree) - self.degree

    def texts(self, rng: np.random.Generator, lengths: np.ndarray) -> list[str]:
        """One text per length (in units), each a walk of the chain from a text's start."""
        state = np.zeros(lengths.size, dtype=np.int64)
        steps = np.empty((lengths.size, int(lengths.max())), dtype=np.int64)
        for t in range(steps.shape[1]):
            pick = self.offsets[state] + (rng.random(state.size) * self.degree[state]).astype(np.int64)
            state = self.successors[pick]
            steps[:, t] = state
        out = []
        for row, length in zip(steps, lengths.tolist(), strict=True):
            units = self.vocab[row[:length][row[:length] != 0]].tolist()
            out.append(self.join(units))
        return out

    def join(self, units: list[str]) -> str:
        if not self.chinese:
            return " ".join(units)
        text = ""
        for u in units:  # spaces only between runs of Latin letters, digits and the like
            text += u if not text or _WIDE.match(u) or _WIDE.match(text[-1]) else " " + u
        return text


class Writer:
    """Base records of one kind (en, zh, preambled), generated a chunk at a time."""

    def __init__(self, chain: Chain, lengths: tuple[tuple[int, int], tuple[int, int]], rng: np.random.Generator):
        self.chain, self.lengths, self.rng = chain, lengths, rng
        self.buffer: list[tuple[str, str]] = []

    def next(self) -> tuple[str, str]:
        if not self.buffer:
            (q0, q1), (a0, a1) = self.lengths
            questions = self.chain.texts(self.rng, self.rng.integers(q0, q1 + 1, _CHUNK))
            answers = self.chain.texts(self.rng, self.rng.integers(a0, a1 + 1, _CHUNK))
            self.buffer = list(zip(questions, answers, strict=True))[::-1]
        return self.buffer.pop()


class Edits:
    """Edits that turn a record into a near copy, drawing new words and characters from the data."""

    def __init__(self, rng: random.Random, en: Chain, zh: Chain):
        self.rng = rng
        self.words = [w for w in en.vocab.tolist() if w]
        self.chars = [c for c in zh.vocab.tolist() if _CJK.fullmatch(c)]

    def units(self, text: str, fraction: float) -> str:
        """``fraction`` of the words (characters for Chinese; at least one) substituted (half of
        the edits), dropped, inserted, or swapped with the next one."""
        rng = self.rng
        zh = bool(_CJK.search(text))
        units = list(text) if zh else text.split()
        if not units:
            return text
        for _ in range(max(1, round(len(units) * fraction))):
            i = rng.randrange(len(units))
            op = rng.random()
            if op < 0.5:
                units[i] = rng.choice(self.chars if zh else self.words)
            elif op < 0.7 and len(units) > 1:
                del units[i]
            elif op < 0.9:
                units.insert(i, rng.choice(self.chars if zh else self.words))
            elif i + 1 < len(units):
                units[i], units[i + 1] = units[i + 1], units[i]
        return ("" if zh else " ").join(units)

    def reorder(self, text: str) -> str:
        """The sentences in another order (unchanged when there is one sentence)."""
        parts = [s for s in _SENTENCE.split(text) if s.strip()]
        if len(parts) < 2:
            return text
        shuffled = parts[:]
        while shuffled == parts:
            self.rng.shuffle(shuffled)
        return ("" if _CJK.search(text) else " ").join(shuffled)

    def numbers(self, text: str) -> str:
        """Every number replaced by another of about the same size."""

        def other(match: re.Match) -> str:
            value = int(match[0][:9])
            new = self.rng.randint(0, max(9, 2 * value))
            return str(new if new != value else value + 1)

        return _NUMBER.sub(other, text)

    def copy(self, original: dict[str, str], preamble: str) -> tuple[dict[str, str], list]:
        """A near copy of ``original`` and what was done: [fraction, reordered, numbers changed].
        Behind a preamble only the question and the answer are edited."""
        rng = self.rng
        fraction = rng.uniform(0.02, 0.15)
        reorder = rng.random() < 0.3
        renumber = rng.random() < 0.3 and any(_NUMBER.search(v) for v in original.values())
        out = {}
        for field, text in original.items():
            head = preamble + "\n" if field == "instruction" and preamble else ""
            body = text[len(head) :]
            if field == "output" and reorder:
                body = self.reorder(body)
            if renumber:
                body = self.numbers(body)
            if body:
                body = self.units(body, fraction)
            out[field] = head + body
        return out, [round(fraction, 4), reorder, renumber]


def other_example(original: dict[str, str], preamble: int) -> bool:
    """Whether ``original`` (its first ``preamble`` characters a shared preamble) is short and
    holds enough numbers that, with every number changed, it is another example, not a copy."""
    texts = [original["instruction"][preamble:], *(v for k, v in original.items() if k != "instruction")]
    pairs = sum(max(len(_UNIT.findall(t)) - 1, 1) for t in texts if t.strip())
    numbers = set(_NUMBER.findall(" ".join(texts)))
    return pairs < SHORT_PAIRS and len(numbers) >= NUMBERS_OF_A_TEMPLATE


def load_texts(data: Path) -> dict[str, list[str]]:
    """Every instruction, input and answer of the Alpaca files, English and Chinese apart."""
    texts: dict[str, list[str]] = {"en": [], "zh": []}
    for name in ALPACA_FILES:
        for record in json.loads((data / name).read_text("utf-8")):
            lang = "zh" if _CJK.search(record["instruction"]) else "en"
            texts[lang].extend(t for t in (record["instruction"], record.get("input", ""), record["output"]) if t)
    return texts


def load_tools(data: Path) -> list[str]:
    """The distinct tool descriptions (JSON) of the glaive tool-call demo."""
    tools = {
        json.dumps(tool, ensure_ascii=False)
        for record in json.loads((data / TOOLS_FILE).read_text("utf-8"))
        for tool in json.loads(record["tools"])
    }
    return sorted(tools)


def compose_preamble(rng: random.Random, tools: list[str]) -> str:
    """A header and the descriptions of 3 to 6 tools, which many records put before their question."""
    chosen = rng.sample(tools, rng.randint(3, 6))
    names = ", ".join(json.loads(t)["name"] for t in chosen)
    return "\n".join([rng.choice(HEADERS).format(names=names), *chosen])


def generate(n: int, out: Path, seed: int, near: float, exact: float, preambled: float, preambles: int) -> dict:
    """Write ``n`` records to ``out`` and the ground truth beside it; returns the counts planted."""
    rng = random.Random(seed)
    walk = np.random.default_rng(seed)
    texts = load_texts(DATA)
    chains = {"en": Chain(texts["en"], chinese=False), "zh": Chain(texts["zh"], chinese=True)}
    writers = {kind: Writer(chains["zh" if kind == "zh" else "en"], LENGTHS[kind], walk) for kind in LENGTHS}
    edits = Edits(rng, chains["en"], chains["zh"])
    tools = load_tools(DATA)
    shared = [compose_preamble(rng, tools) for _ in range(preambles)]
    truth: dict[str, list] = {"exact": [], "near": [], "renumbered": [], "preamble": []}
    reservoir: list[tuple[int, dict[str, str], int]] = []  # originals: copies are not copied again
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            roll = rng.random()
            if i > 100 and roll < exact:
                src, record, preamble = rng.choice(reservoir)
                truth["exact"].append([i, src])
            elif i > 100 and roll < exact + near:
                src, original, preamble = rng.choice(reservoir)
                head = shared[preamble] + "\n" if preamble >= 0 else ""
                record, edit = edits.copy(original, head[:-1])
                kind = "renumbered" if edit[2] and other_example(original, len(head)) else "near"
                truth[kind].append([i, src, *edit])
            else:
                preamble = rng.randrange(preambles) if rng.random() < preambled else -1
                kind = "preambled" if preamble >= 0 else "zh" if rng.random() < 0.15 else "en"
                question, answer = writers[kind].next()
                if preamble >= 0:
                    question = f"{shared[preamble]}\n{question}"
                record = {"instruction": question, "input": "", "output": answer}
                if len(reservoir) < _RESERVOIR:
                    reservoir.append((i, record, preamble))
                elif (j := rng.randrange(i + 1)) < _RESERVOIR:
                    reservoir[j] = (i, record, preamble)
            truth["preamble"].append(preamble)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    truth_path = out.with_name(out.name + ".truth.json")
    truth_path.write_text(json.dumps({"records": n, "seed": seed, "preambles": preambles, **truth}))
    return {
        "exact": len(truth["exact"]),
        "near": len(truth["near"]),
        "renumbered": len(truth["renumbered"]),
        "preambled": sum(p >= 0 for p in truth["preamble"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--records", type=int, default=100_000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near", type=float, default=0.03, help="share of planted near copies")
    parser.add_argument("--exact", type=float, default=0.01, help="share of planted exact copies")
    parser.add_argument("--preambled", type=float, default=0.25, help="share of records behind a tool preamble")
    parser.add_argument("--preambles", type=int, default=400, help="distinct tool preambles")
    args = parser.parse_args()
    start = time.perf_counter()
    counts = generate(args.records, args.output, args.seed, args.near, args.exact, args.preambled, args.preambles)
    size = args.output.stat().st_size / 1e6
    print(
        f"{args.records:,} records, {size:,.0f} MB -> {args.output} in {time.perf_counter() - start:.1f} s; planted {counts}"
    )


if __name__ == "__main__":
    main()
