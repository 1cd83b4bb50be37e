"""How right and how sure dqe's labels are, on the labelled set (benchmarks/judgments/, issue 13),
and how often the gate's 95% intervals hold the truth.

Labels: category top-1 (an `uncertain` label counts as wrong), the share labelled `uncertain`
and the accuracy of the others, the top-1 of the best-scoring category even where it is
uncertain, `open-qa` predicted against true; the calibration of `category_confidence` (records
binned by confidence: mean confidence against accuracy, and the expected calibration error);
subject; domain with the answer and from the question alone (answers blanked). The category
model is trained on this set (and more), so its figures here are its fit: the held-out ones
come from `python benchmarks/train_categories.py` (5-fold cross-validation). "Best-scoring" is
the taxonomy's hand-weighted evidence alone.

Intervals (`--coverage`): simulated data sets of 10 to 10,000 records drawn from known mixes;
the share of draws whose interval holds the true value, for the Wilson interval of a share and
for DQ411's imbalance interval, and how often each gate fails.

    python benchmarks/bench_labels.py
    python benchmarks/bench_labels.py --coverage
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_judgments import DATA, load_judgments, materialize  # noqa: E402

from dqe.engine.config import load_config  # noqa: E402
from dqe.engine.context import Context  # noqa: E402
from dqe.engine.gate import wilson  # noqa: E402
from dqe.engine.plugins import load_plugins  # noqa: E402
from dqe.features.category import UNCERTAIN_CATEGORY, Category, TaxonomyClassifier  # noqa: E402
from dqe.features.domain import Domain  # noqa: E402
from dqe.features.subject import Subject  # noqa: E402
from dqe.io.reader import Reader  # noqa: E402
from dqe.rules.category_balance import imbalance_interval  # noqa: E402

BINS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


def labelled_frames(judgments, folder: Path) -> tuple[pl.DataFrame, list[str]]:
    """Every judged record as one batch frame (dqe's batch columns), and the judgement id of each row."""
    where = materialize(judgments, folder, DATA)
    registry = load_plugins()
    frames, ids = [], []
    for path in sorted(folder.glob("*.jsonl")):
        for batch in Reader(path, registry.formats):
            frames.append(batch.frame)
            ids += [where[f"{path}:{line}"] for line in batch.frame["_line"].to_list()]
    return pl.concat(frames, how="vertical_relaxed"), ids


def calibration(confidence: np.ndarray, right: np.ndarray) -> tuple[list[str], float]:
    rows, ece = [], 0.0
    for low, high in zip(BINS, BINS[1:], strict=False):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            gap = abs(confidence[inside].mean() - right[inside].mean())
            ece += gap * inside.sum() / len(right)
            rows.append(
                f"    [{low:.2f}, {min(high, 1):.2f})  {inside.sum():5,} records  mean confidence "
                f"{confidence[inside].mean():.3f}  right {right[inside].mean():.3f}"
            )
    return rows, ece


def labels_figures() -> None:
    judgments = load_judgments()
    truth = {j.id: j for j in judgments}
    with tempfile.TemporaryDirectory(prefix="dqe-labels-") as tmp:
        frame, ids = labelled_frames(judgments, Path(tmp))
    context = Context(load_config(discover=False), load_plugins())
    category, subject, domain = Category(context), Subject(context), Domain(context)
    classifier = TaxonomyClassifier(context)
    labels = category.compute(frame)
    labelled = frame.hstack(labels.get_columns())
    best = np.array(classifier.labels(), dtype=object)[classifier.scores(frame).argmax(axis=1)]
    blank = frame.with_columns(answer=pl.lit(""))
    alone = domain.compute(blank.hstack(category.compute(blank).get_columns()))["domain_pred"]

    def truths(field: str) -> np.ndarray:
        return np.array([getattr(truth[i], field) for i in ids], dtype=object)

    true_cat = truths("category")
    predicted = np.array(labels["category_pred"].to_list(), dtype=object)
    confidence = labels["category_confidence"].to_numpy()
    right = predicted == true_cat
    uncertain = predicted == UNCERTAIN_CATEGORY
    print(f"{len(ids):,} judged records ({sum(truth[i].ref is None for i in ids):,} hand-written)")
    print(f"category top-1 {right.mean():.3f} (uncertain counted wrong)")
    print(f"  uncertain {uncertain.mean():.3f}; right where a category is named {right[~uncertain].mean():.3f}")
    print(f"  best-scoring category, uncertain or not: {(best == true_cat).mean():.3f}")
    print(
        f"  open-qa predicted for {(predicted == 'open-qa').mean():.3f} of records, "
        f"true for {(true_cat == 'open-qa').mean():.3f}"
    )
    print("  calibration of category_confidence (records given a category):")
    rows, ece = calibration(confidence[~uncertain], right[~uncertain])
    print("\n".join(rows))
    print(f"    expected calibration error {ece:.3f}")
    subjects = np.array(subject.compute(labelled)["subject"].to_list(), dtype=object)
    print(f"subject {(subjects == truths('subject')).mean():.3f}")
    true_dom = truths("domain")
    vertical = true_dom != "general"
    for name, got in (("with the answer", domain.compute(labelled)["domain_pred"]), ("from the question alone", alone)):
        got = np.array(got.to_list(), dtype=object)
        print(
            f"domain {name}: {(got == true_dom).mean():.3f}; vertical records {vertical.sum():,}, found "
            f"{(got == true_dom)[vertical].mean():.3f}; general records called vertical "
            f"{(got != 'general')[~vertical].mean():.3f}"
        )


def coverage_figures(draws: int) -> None:
    rng = np.random.default_rng(13)
    print(f"Wilson 95% interval of a share: coverage over {draws:,} draws (and how often 'fail > 0.3' fails)")
    for share in (0.05, 0.3, 0.6):
        cells = []
        for n in (10, 40, 200, 1_000, 10_000):
            counts = rng.binomial(n, share, size=draws)
            inside = fails = 0
            for k in counts:
                low, high = wilson(k / n, n)
                inside += low <= share <= high
                fails += low > 0.3
            cells.append(f"n={n:,}: {inside / draws:.3f} ({fails / draws:.2f})")
        print(f"  share {share:.2f}  " + "  ".join(cells))
    categories = 28
    target = {str(i): 1 / categories for i in range(categories)}
    mixes = {
        "general (imbalance 0.55)": [0.2, 0.15, 0.12, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02]
        + [0.01] * 3,
        "one ability at 70% (0.79)": [0.7, 0.1] + [0.05] * 4,
        "just under 0.85 (0.82)": [0.86] + [0.14 / 27] * 27,
        "one ability (0.96)": [1.0],
    }
    print(f"DQ411 imbalance interval: coverage over {draws:,} draws (and how often 'fail > 0.85' fails)")
    for name, shares in mixes.items():
        p = np.array(shares) / sum(shares)
        mix = {str(i): float(v) for i, v in enumerate(p)}
        true = 0.5 * sum(abs(mix.get(c, 0.0) - target.get(c, 0.0)) for c in set(mix) | set(target))
        cells = []
        for n in (10, 40, 200, 1_000, 10_000):
            inside = fails = 0
            for counts in rng.multinomial(n, p, size=draws):
                seen = {str(i): k / n for i, k in enumerate(counts) if k}
                low, high = imbalance_interval(seen, target, n)
                inside += low <= true <= high
                fails += low > 0.85
            cells.append(f"n={n:,}: {inside / draws:.3f} ({fails / draws:.2f})")
        print(f"  {name:27} " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coverage", action="store_true", help="also simulate the coverage of the gate's intervals")
    parser.add_argument("--draws", type=int, default=1_000, help="simulated data sets per cell")
    args = parser.parse_args()
    labels_figures()
    if args.coverage:
        coverage_figures(args.draws)


if __name__ == "__main__":
    main()
