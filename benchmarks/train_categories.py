"""Train the category model (dqe/features/category_model.py) on records labelled by hand, say
how well it holds on records it was not trained on, and write it as rules/categories-model.toml.

Training records: the judgement set (benchmarks/judgments/) and the category labels of
benchmarks/labelled/*.jsonl (records of ../shared/data read and labelled for this model, by
reference). The figure that counts is k-fold cross-validation: the records split into folds,
records with the same question in one fold (a duplicate must not be judged by a model that saw
its twin); each fold labelled by a model trained on the others, its vocabulary included. The
temperature and the `uncertain` threshold are chosen on those held-out labels too.

    python benchmarks/train_categories.py            # cross-validate and print the figures
    python benchmarks/train_categories.py --write    # then train on everything and write the pack
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
from scipy import sparse
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_judgments import DATA, load_judgments  # noqa: E402
from bench_labels import labelled_frames  # noqa: E402

from dqe.engine.config import load_config  # noqa: E402
from dqe.engine.context import Context  # noqa: E402
from dqe.engine.plugins import load_plugins  # noqa: E402
from dqe.features.category import SCORE_SCALE, TaxonomyClassifier  # noqa: E402
from dqe.io.reader import Reader  # noqa: E402

LABELLED = ROOT / "benchmarks" / "labelled"
PACK = ROOT / "rules" / "categories-model.toml"
FOLDS = 5
MIN_COUNT = 3  # a token seen in fewer training records has no weight
L2_TOKENS = 5e-4  # penalty on the token weights (per record): what keeps a rare token from deciding alone
L2_DENSE = 1e-4  # penalty on the dense weights' distance from the prior below
L2_SCORES = 1e-2  # heavier on the hand-weighted scores: evidence few records show (a persona set in a system
# prompt) keeps the weight the taxonomy gives it
L2_BIAS = 1e-2  # and on the bias: a category common in these records is not common everywhere
# The prior: a category's hand-weighted score counts for it, a logit a point. The model learns
# corrections to it; where labelled records are few (entity recognition, keywords, text
# matching) the hand weights still decide.
PRIOR = 1.0
STEPS = 400
UNCERTAIN_BELOW = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def extra_frames(folder: Path) -> tuple[pl.DataFrame | None, list[str], list[str]]:
    """The records of benchmarks/labelled/*.jsonl as one batch frame, with their categories and ids.
    Each source file's records go to a file of their own: the reader finds one format per file."""
    rows: dict[str, list[str]] = {}
    labels: dict[str, list[tuple[str, str]]] = {}
    files: dict[str, list] = {}
    for path in sorted(LABELLED.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            label = json.loads(line)
            name = label["ref"]["file"]
            if name not in files:
                text = (DATA / name).read_text("utf-8")
                files[name] = (
                    [json.loads(r) for r in text.splitlines() if r.strip()]
                    if name.endswith(".jsonl")
                    else json.loads(text)
                )
            record = dict(files[name][label["ref"]["index"]])
            if "response" in record and "output" not in record:
                record["output"] = record.pop("response")
            rows.setdefault(name, []).append(json.dumps(record, ensure_ascii=False))
            labels.setdefault(name, []).append((label["category"], f"{path.name}:{number}:{label['id']}"))
    if not rows:
        return None, [], []
    frames, categories, ids = [], [], []
    for k, name in enumerate(sorted(rows)):
        target = folder / f"labelled-{k}.jsonl"
        target.write_text("\n".join(rows[name]) + "\n", "utf-8")
        frames += [batch.frame for batch in Reader(target, load_plugins().formats)]
        categories += [c for c, _ in labels[name]]
        ids += [i for _, i in labels[name]]
    return pl.concat(frames, how="vertical_relaxed"), categories, ids


def training_set() -> tuple[pl.DataFrame, np.ndarray, int]:
    """Every labelled record as one batch frame and its category; the judged records first (how many)."""
    judgments = load_judgments()
    truth = {j.id: j.category for j in judgments}
    with tempfile.TemporaryDirectory(prefix="dqe-train-") as tmp:
        frame, ids = labelled_frames(judgments, Path(tmp))
        extra, categories, _ = extra_frames(Path(tmp))
    labels = [truth[i] for i in ids]
    if extra is not None:
        frame = pl.concat([frame, extra], how="vertical_relaxed")
        labels += categories
    return frame, np.array(labels, dtype=object), len(ids)


def groups(frame: pl.DataFrame, folds: int) -> np.ndarray:
    """The fold of each record; records with the same question (lower case, spaces squeezed) share
    one. A question's fold is a checksum of its text: a record keeps its fold when records are added,
    so figures before and after new labels compare the same held-out records."""
    key = frame.select(
        pl.col("question").fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    ).to_series()
    return np.array([zlib.crc32(text.encode("utf-8")) % folds for text in key], dtype=np.int64)


def design(dense: dict[str, np.ndarray], tokens: pl.DataFrame, names: list[str], vocabulary: list[str], n: int):
    """The records' features as one sparse matrix: the dense features ``names``, then a 0/1 column per token."""
    left = sparse.csr_matrix(np.column_stack([dense[name] for name in names]))
    index = pl.DataFrame({"token": vocabulary, "_col": np.arange(len(vocabulary))})
    hits = tokens.join(index, on="token", how="inner")
    right = sparse.csr_matrix(
        (np.ones(hits.height), (hits["_row"].to_numpy(), hits["_col"].to_numpy())), shape=(n, len(vocabulary))
    )
    return sparse.hstack([left, right], format="csr")


def vocabulary_of(tokens: pl.DataFrame, rows: np.ndarray) -> list[str]:
    seen = tokens.filter(pl.col("_row").is_in(pl.Series(rows.astype(np.uint32)).implode()))
    counts = seen.group_by("token").len().filter(pl.col("len") >= MIN_COUNT)
    return sorted(counts["token"].to_list())


def prior(names: list[str], classes: list[str], d: int) -> np.ndarray:
    """The weights the model starts from and is drawn back to: each category's score for it."""
    w0 = np.zeros((d, len(classes)))
    for j, name in enumerate(names):
        if name.startswith("score:"):
            w0[j, classes.index(name.removeprefix("score:"))] = PRIOR * SCORE_SCALE
    return w0


def fit(x: sparse.csr_matrix, y: np.ndarray, w0: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by L-BFGS, with an L2 penalty on the weights' distance from
    ``w0`` (the dense features ``names``, the hand-weighted scores held closest) or from 0 (tokens, the bias)."""
    n, d = x.shape
    classes = w0.shape[1]
    onehot = np.eye(classes)[y]
    penalty = np.full((d, 1), L2_TOKENS)
    penalty[: len(names)] = L2_DENSE
    penalty[[j for j, name in enumerate(names) if name.startswith("score:")]] = L2_SCORES

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: d * classes].reshape(d, classes), theta[d * classes :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        error = (np.exp(log_p) - onehot) / n
        value = -(onehot * log_p).sum() / n + 0.5 * (penalty * (w - w0) ** 2).sum() + 0.5 * L2_BIAS * (b**2).sum()
        gradient = [(x.T @ error + penalty * (w - w0)).ravel(), error.sum(axis=0) + L2_BIAS * b]
        return value, np.concatenate(gradient)

    start = np.concatenate([w0.ravel(), np.zeros(classes)])
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": STEPS}).x
    return theta[: d * classes].reshape(d, classes), theta[d * classes :]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def best_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that makes the held-out probabilities likeliest (negative log-likelihood)."""
    grid = np.arange(0.5, 3.01, 0.05)
    nll = [-np.log(softmax(logits, t)[np.arange(len(y)), y] + 1e-12).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"train on every record and write {PACK.name}")
    args = parser.parse_args()

    frame, labels, judged = training_set()
    with tempfile.TemporaryDirectory(prefix="dqe-train-") as tmp:
        hand = Path(tmp) / "categories.toml"  # the features are the taxonomy's evidence, not a model's output
        hand.write_text('[meta]\nmodel = ""\n', "utf-8")
        context = Context(load_config(overrides={"rule-packs": [str(hand)]}, discover=False), load_plugins())
        classifier = TaxonomyClassifier(context)
    classes = classifier.labels()
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise SystemExit(f"labels not in the taxonomy: {unknown}")
    y = np.array([classes.index(label) for label in labels])
    dense, tokens, scores = classifier.features(frame)
    tokens = tokens.unique()  # a token counts once per record, as the model counts it
    names = sorted(dense)
    n = frame.height
    fold = groups(frame, FOLDS)
    print(f"{n:,} records ({Counter(labels).most_common(3)} ...), {len(names)} dense features, {FOLDS} folds")

    held_out = np.zeros((n, len(classes)))
    for k in range(FOLDS):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        vocabulary = vocabulary_of(tokens, train)
        x = design(dense, tokens, names, vocabulary, n)
        w, b = fit(x[train], y[train], prior(names, classes, x.shape[1]), names)
        held_out[test] = x[test] @ w + b
    temperature = best_temperature(held_out, y)
    p = softmax(held_out, temperature)
    predicted, confidence = p.argmax(axis=1), p.max(axis=1)
    right = predicted == y
    hand = scores.argmax(axis=1) == y
    print(f"cross-validated top-1 (no uncertain): {right.mean():.3f}; hand weights' best category: {hand.mean():.3f}")
    print(f"temperature {temperature:.2f}")
    print(f"  on the judgement set's records alone: {right[:judged].mean():.3f}")
    # what a check gives: below the pack's threshold the label is `uncertain`, which is never the
    # truth, so it counts wrong over all records; the confident ones are measured apart
    shipped = classifier.taxonomy.uncertain_below
    named = confidence >= shipped
    print(
        f"with the pack's uncertain-below {shipped:.2f}: top-1 {(right & named).mean():.3f} over all records "
        f"(uncertain counted wrong), {right[named].mean():.3f} on the confident ones, {1 - named.mean():.1%} abstained"
    )
    for below in UNCERTAIN_BELOW:
        named = confidence >= below
        print(
            f"  uncertain below {below:.2f}: top-1 {(right & named).mean():.3f}, uncertain {1 - named.mean():.3f}, "
            f"right where named {right[named].mean():.3f}"
        )
    bins = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)
    print("calibration (held out):")
    for low, high in zip(bins, bins[1:], strict=False):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            print(
                f"  [{low:.2f}, {min(high, 1):.2f}) {inside.sum():5} records, mean confidence "
                f"{confidence[inside].mean():.3f}, right {right[inside].mean():.3f}"
            )
    confusion = Counter((classes[t], classes[q]) for t, q in zip(y, predicted, strict=True) if t != q)
    print("largest confusions (truth -> predicted):")
    for (t, q), count in confusion.most_common(12):
        print(f"  {t} -> {q}: {count}")
    per_class = {c: (right[y == i].mean(), (y == i).sum()) for i, c in enumerate(classes) if (y == i).any()}
    print("per category (held out): " + ", ".join(f"{c} {a:.2f}/{m}" for c, (a, m) in per_class.items()))
    print_confusion(classes, y, predicted)

    if args.write:
        vocabulary = vocabulary_of(tokens, np.arange(n))
        x = design(dense, tokens, names, vocabulary, n)
        w, b = fit(x, y, prior(names, classes, x.shape[1]), names)
        write_pack(classes, names, vocabulary, w, b, temperature, n)
        print(f"wrote {PACK} ({len(vocabulary):,} tokens, {len(names)} dense features)")


def print_confusion(classes: list[str], truth: np.ndarray, predicted: np.ndarray, least: int = 40) -> None:
    """The held-out confusion matrix, rows the truth and columns the label: the categories with
    ``least`` records or more each a row and a column of their own, the others one ``other``."""
    shown = [i for i in range(len(classes)) if (truth == i).sum() >= least]
    names = [classes[i][:6] for i in shown] + ["other"]
    index = {c: k for k, c in enumerate(shown)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for t, q in zip(truth, predicted, strict=True):
        matrix[index.get(t, len(shown)), index.get(q, len(shown))] += 1
    print(f"confusion (held out; rows truth, columns label; fewer than {least} records: other):")
    print(" " * 22 + " ".join(f"{name:>6}" for name in names))
    for k, row in enumerate(matrix):
        label = classes[shown[k]] if k < len(shown) else "other"
        print(f"  {label:20}" + " ".join(f"{v:6d}" for v in row))


def _row(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.2g}" if abs(v) >= 5e-3 else "0" for v in values) + "]"


def write_pack(classes, names, vocabulary, w, b, temperature, n) -> None:
    d = len(names)
    lines = [
        "# The category model: a linear model over the evidence of rules/categories.toml and the words",
        "# of the request line and the answer's opening (dqe/features/category_model.py). Written by",
        f"# benchmarks/train_categories.py --write from {n:,} records labelled by hand; do not edit by hand.",
        "# Each row of weights.dense and weights.tokens holds one weight per class, in meta.classes order.",
        "",
        "[meta]",
        'name = "categories-model"',
        f"temperature = {temperature:.2f}",
        "classes = " + json.dumps(classes),
        "features = " + json.dumps(names),
        "vocabulary = " + json.dumps(vocabulary, ensure_ascii=False),
        "",
        "[weights]",
        f"bias = {_row(b)}",
        "dense = [",
        *(f"  {_row(row)}," for row in w[:d]),
        "]",
        "tokens = [",
        *(f"  {_row(row)}," for row in w[d:]),
        "]",
        "",
    ]
    PACK.write_text("\n".join(lines), "utf-8")


if __name__ == "__main__":
    main()
