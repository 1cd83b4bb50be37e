"""``dqe score`` from start to end: read the records as ``dqe filter`` reads them, encode them as
``dqe train`` will, score what the cache does not hold, write a line per record.

A record's cache entry is keyed by the model's weights (sha256), the precision and the exact
tokens and labels of its two sequences, which hold the record's content and every encoding
setting: a second run over the same data loads no model and runs no forward pass, and a run over
data with a few records added scores only those.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console

from dqe import diskcache
from dqe.engine.config import LoadedConfig
from dqe.engine.encoding import EncodingSettings, leading_special_ids, load_model_tokenizer, make_encoder
from dqe.engine.plugins import Registry
from dqe.engine.scores import ScoreHeader, model_sha256, score_lines
from dqe.engine.train_config import TrainConfig
from dqe.io.writers import OutputSet
from dqe.score.forward import summed_losses
from dqe.score.pairs import Pair, answer_pair
from dqe.train.data import read_examples
from dqe.train.model import load_base_model, pick_device, pick_dtype

_CHUNK = 4096  # records tokenized per batch call


@dataclass
class ScoreResult:
    path: Path
    records: int  # every input record, one line each
    scored: int  # records with scores (from the cache or the model)
    cached: int  # of them, from the cache (a record repeated in the data is scored once, not counted cached)
    tokens: int  # tokens through the model (both passes, the cache's not counted)
    seconds: float  # in forward passes
    ifd: list[float]  # of the records scored, in input order


def _key(sha: str, precision: str, pair: Pair) -> str:
    digest = hashlib.sha256(f"{sha} {precision}".encode())
    for part in (pair.given.ids, pair.given.labels, pair.alone.ids, pair.alone.labels):
        digest.update(part.tobytes() + b"|")
    return digest.hexdigest()


def _load_model(settings: EncodingSettings, device: Any, dtype: Any) -> Any:
    # the trainer's own loader (precision, attention, offline for a folder); it reads only the
    # model, attention and lora.qlora of a config, whose defaults are the trainer's
    return load_base_model(TrainConfig.model_construct(model=settings.model), device, dtype, quantize=False)


def score(
    paths: Iterable[Path],
    out: Path,
    settings: EncodingSettings,
    loaded: LoadedConfig,
    registry: Registry,
    *,
    device: str = "auto",
    rows: int = 8,
    echo: bool = True,
) -> ScoreResult:
    """Score every record of ``paths`` into ``out`` (a JSONL score file, written atomically)."""
    console = Console(stderr=True, quiet=not echo, highlight=False)
    examples = [e for path in paths for e in read_examples(path, loaded, registry)]
    tokenizer = load_model_tokenizer(settings.model)
    encoder = make_encoder(
        tokenizer,
        settings.template,
        registry.templates,
        system=settings.system,
        learn_all_turns=settings.learn_all_turns,
        columns=loaded.config.columns,
    )
    leading = leading_special_ids(tokenizer)
    pairs: dict[int, Pair | str] = {}
    readable = [e for e in examples if e.record is not None]
    for start in range(0, len(readable), _CHUNK):
        chunk = readable[start : start + _CHUNK]
        for e, enc in zip(chunk, encoder.encode([e.record for e in chunk]), strict=True):
            pairs[e.index] = answer_pair(enc, leading, settings.seq_len, settings.overlong)

    torch_device = pick_device(device)
    dtype = pick_dtype("auto", torch_device)
    precision = "bf16" if "bfloat16" in str(dtype) else "fp32"
    sha = model_sha256(settings.model)
    keys = {i: _key(sha, precision, p) for i, p in pairs.items() if isinstance(p, Pair)}
    sums: dict[str, tuple[float, float]] = {}  # by cache key: a record repeated in the data is scored once
    for key in set(keys.values()):
        hit = diskcache.load("scores", key)
        if hit is not None:
            sums[key] = tuple(orjson.loads(hit))
    cached = sum(key in sums for key in keys.values())
    todo = {key: i for i, key in keys.items() if key not in sums}  # one record for each key
    tokens, seconds = 0, 0.0
    if todo:
        console.print(
            f"scoring {len(keys) - cached:,} record(s) with {settings.model} ({torch_device.type}, {precision})"
            + (f"; {cached:,} from the cache" if cached else "")
        )
        model = _load_model(settings, torch_device, dtype)
        items = [part for i in todo.values() for part in (pairs[i].given, pairs[i].alone)]  # type: ignore[union-attr]
        heard = _progress(console, len(items))
        clock = time.perf_counter()
        losses = summed_losses(
            model, items, rows=rows, pad_id=tokenizer.pad_token_id, device=torch_device, dtype=dtype, on_batch=heard
        )
        seconds = time.perf_counter() - clock
        tokens = sum(len(e) for e in items)
        for n, key in enumerate(todo):
            sums[key] = (float(losses[2 * n]), float(losses[2 * n + 1]))
            diskcache.store("scores", key, orjson.dumps(sums[key]))

    lines, ifd = [], []
    for e in examples:
        line: dict[str, Any] = {"id": e.id or None, "source": e.source}
        pair = pairs.get(e.index, e.problem)
        if not isinstance(pair, Pair):
            line["error"] = pair
        else:
            given, alone = (s / pair.tokens for s in sums[keys[e.index]])
            line.update(tokens=pair.tokens, ppl=float(np.exp(given)), ppl_alone=float(np.exp(alone)))
            line["ifd"] = float(np.exp(given - alone))
            ifd.append(line["ifd"])
        lines.append(line)
    header = ScoreHeader(model_sha256=sha, precision=precision, encoding=settings)
    with OutputSet() as files:
        files.open(out).write(score_lines(header, lines))
    return ScoreResult(out, len(examples), len(keys), cached, tokens, seconds, ifd)


def _progress(console: Console, total: int) -> Callable[[int, int], None]:
    """A line on stderr at most every 5 seconds: sequences done, tokens/s."""
    start = last = time.monotonic()
    done = tokens = 0

    def heard(n: int, t: int) -> None:
        nonlocal last, done, tokens
        done, tokens = done + n, tokens + t
        now = time.monotonic()
        if now - last >= 5 or done == total:
            last = now
            console.print(f"scored {done:,} of {total:,} sequences, {tokens / max(now - start, 1e-9):,.0f} tokens/s")

    return heard
