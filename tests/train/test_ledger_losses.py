"""What a run learned about each record: the losses ``dqe train`` writes into the ledger, and
the records they single out.

A tiny random model learns the statistics of its data's tokens in seconds, not what a question
asks: it cannot tell an answer moved onto the wrong question (that takes a real model), but it
can tell an answer whose words are shuffled from answers that follow the data's phrasing. So
the data here is a few hundred regular records, and the planted ones have their words shuffled.
"""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("torch", reason="needs the [train] extra: pip install torch==2.13.0 -e '.[train]'")

from dqe.engine.ledger import fit_lists, read_ledger  # noqa: E402
from dqe.train.run import train  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow]

FRUITS = ["apple", "lemon", "cherry", "grape", "banana", "plum", "peach", "orange", "melon", "kiwi", "lime", "pear"]
COLOURS = ["red", "yellow", "green", "purple", "orange", "blue", "brown", "white"]


def fruit_records(n: int, planted: int, seed: int = 0) -> tuple[list[dict], set[str]]:
    """``n`` records about fruit in one phrasing, 1 to 4 sentences long; the answers of
    ``planted`` of them with their words shuffled (returned)."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        fruit, colour = rng.choice(FRUITS), rng.choice(COLOURS)
        sentences = [
            f"The {fruit} is {colour} when it is ripe.",
            "It grows on a tree in a warm place.",
            f"People eat the {fruit} fresh or in a cake.",
            f"A {colour} {fruit} is sweet and soft.",
        ]
        records.append(
            {"instruction": f"Tell me about the {fruit}.", "input": "", "output": " ".join(sentences[: 1 + i % 4])}
        )
    shuffled = set()
    for i in rng.sample(range(n), planted):
        words = records[i]["output"].split()
        rng.shuffle(words)
        records[i]["output"] = " ".join(words)
        shuffled.add(records[i]["output"])
    return records, shuffled


def test_records_with_shuffled_answers_rank_worst_for_their_length(torch_extra, tmp_path, filtered, config_for):
    records, shuffled = fruit_records(300, planted=10)
    ok = filtered(records)
    run = train(
        config_for(ok, tmp_path / "run", epochs=2, max_steps=60, **{"split.val": 0.0, "split.test": 0.05}), echo=False
    )

    rows = read_ledger(run.run_dir)
    trained = [r for r in rows if r.split == "train"]
    assert trained and all(r.loss is not None and r.loss_first_epoch is not None for r in trained)
    assert all(r.loss is None for r in rows if r.split != "train")
    answers = {f"{ok}:{n}": json.loads(line)["output"] for n, line in enumerate(ok.read_text().splitlines(), 1)}
    planted = {r.source for r in trained if answers[r.source] in shuffled}

    lists = fit_lists(rows, str(run.run_dir / "ledger.jsonl"), top=len(planted))
    assert {m.source for m in lists.worst_for_length} == planted
    assert [m.rank for m in lists.worst_for_length] == list(range(1, len(planted) + 1))
    # the losses are the mean over each record's answer tokens: weighted by them, the split's loss
    mean = sum(r.loss * r.supervised for r in trained) / sum(r.supervised for r in trained)
    assert abs(mean - run.manifest["losses"]["train_last_step"]) < 1.0
    assert run.manifest["training"]["record_loss_seconds"] > 0


def test_record_losses_are_those_of_each_record_alone(torch_extra, tmp_path, filtered, config_for, tokenizer):
    """Packed with others or alone, a record's loss is its own."""
    torch = torch_extra
    from dqe.engine.config import load_config
    from dqe.engine.encoding import TemplateEncoder, fit_length
    from dqe.engine.plugins import load_plugins
    from dqe.io.formats.base import Columns
    from dqe.train.batches import BatchPlan
    from dqe.train.data import read_examples
    from dqe.train.loss import record_losses, summed_loss
    from dqe.train.model import load_base_model

    records, _ = fruit_records(12, planted=2)
    ok = filtered(records)
    registry = load_plugins()
    examples = read_examples(ok, load_config(None, discover=False), registry)
    encoder = TemplateEncoder(
        tokenizer, registry.templates["alpaca"], system=None, learn_all_turns=False, columns=Columns()
    )
    items = [fit_length(e, 256, "truncate")[0] for e in encoder.encode([e.record for e in examples])]
    model = load_base_model(config_for(ok, tmp_path / "run"), torch.device("cpu"), torch.float32).eval()
    settings = {"pad_id": 0, "device": torch.device("cpu"), "dtype": torch.float32, "chunk": 16}
    packed = BatchPlan([len(e) for e in items], seq_len=256, rows=2, packing=True, seed=0).fixed()

    together = record_losses(model, items, packed, packing=True, **settings)
    alone = [record_losses(model, [e], [[[0]]], packing=False, **settings)[0] for e in items]
    total, _ = summed_loss(model, items, packed, packing=True, **settings)
    assert torch.allclose(together, torch.stack(alone), atol=1e-4)
    assert abs(float(together.sum()) - float(total)) < 1e-3
