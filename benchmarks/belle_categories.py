"""dqe's categories against the human labels of BELLE's evaluation set: a set the category model
was never trained or tuned on, so its figure says how the labels hold on data nobody here wrote.

BELLE (``LianjiaTech/BELLE``, ``eval/eval_set.json``: 1,000 Chinese questions, one JSON object a
line, each with ``question``, ``std_answer`` (empty for 369) and ``class``) is not committed;
fetch it and pass its path. Its ten classes are mapped onto dqe's categories (``MAPPING``):
a record is right when dqe's label is one of its class's categories (`uncertain` counts wrong).
"Loose" also counts dqe's ``closed-qa`` right for BELLE's ``open qa``: BELLE calls any question
without a passage open, dqe a factoid question closed, so there the taxonomies draw the line apart.

    python benchmarks/belle_categories.py /path/to/eval_set.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dqe.engine.config import load_config  # noqa: E402
from dqe.engine.context import Context  # noqa: E402
from dqe.engine.plugins import load_plugins  # noqa: E402
from dqe.features.category import UNCERTAIN_CATEGORY, Category  # noqa: E402
from dqe.io.reader import Reader  # noqa: E402

MAPPING = {
    "open qa": {"open-qa"},
    "closed qa": {"closed-qa", "reading-comprehension"},
    "brainstorming": {"brainstorming"},
    "rewrite": {"rewriting", "translation", "text-correction"},
    "generation": {"composition", "creative-writing", "copywriting", "storytelling"},
    "math": {"math", "chain-of-thought"},
    "classification": {"classification", "sentiment-analysis"},
    "summarization": {"summarization"},
    "code": {"programming"},
    "extract": {"structured-extraction", "entity-recognition", "keyword-recognition"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_set", type=Path, help="BELLE's eval/eval_set.json")
    args = parser.parse_args()
    records = [json.loads(line) for line in args.eval_set.read_text("utf-8").splitlines() if line.strip()]
    classes = [" ".join(r["class"].split()) for r in records]  # "closed\xa0qa" -> "closed qa"
    unknown = sorted(set(classes) - set(MAPPING))
    if unknown:
        raise SystemExit(f"{args.eval_set}: classes with no mapping: {unknown}")
    plugins = load_plugins()
    feature = Category(Context(load_config(discover=False), plugins))
    with tempfile.TemporaryDirectory(prefix="dqe-belle-") as tmp:
        path = Path(tmp) / "belle.jsonl"
        rows = [{"instruction": r["question"], "output": r["std_answer"]} for r in records]
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
        labels = [
            label for batch in Reader(path, plugins.formats) for label in feature.compute(batch.frame)["category_pred"]
        ]
    strict = [label in MAPPING[c] for label, c in zip(labels, classes, strict=True)]
    loose = [
        s or (c == "open qa" and label == "closed-qa") for s, label, c in zip(strict, labels, classes, strict=True)
    ]
    answered = [bool(r["std_answer"].strip()) for r in records]
    named = [label != UNCERTAIN_CATEGORY for label in labels]
    n = len(records)

    def share(hits: list[bool], where: list[bool] | None = None) -> str:
        where = where or [True] * n
        inside = [h for h, w in zip(hits, where, strict=True) if w]
        if not inside:
            return "no record"
        return f"{sum(inside) / len(inside):.1%} of {len(inside)}"

    print(f"strict: {share(strict)}; loose (closed-qa as open qa): {share(loose)}")
    print(f"  with an answer: strict {share(strict, answered)}, loose {share(loose, answered)}")
    print(f"  named (not uncertain): {sum(named) / n:.1%}; strict on the named {share(strict, named)}")
    print("per class (strict, loose):")
    for c in MAPPING:
        where = [k == c for k in classes]
        print(f"  {c:15} {share(strict, where):>12}  {share(loose, where):>12}")
    print("largest misses (class -> dqe's label):")
    misses = Counter((c, label) for c, label, ok in zip(classes, labels, loose, strict=True) if not ok)
    for (c, label), count in misses.most_common(12):
        print(f"  {c} -> {label}: {count}")


if __name__ == "__main__":
    main()
