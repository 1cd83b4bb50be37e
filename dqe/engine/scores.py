"""The score file ``dqe score`` writes and ``dqe check --scores`` reads: per record, the answer's
perplexity with its question and without it, and their ratio, IFD (Cherry LLM).

The first line says what made the numbers: the model's weights (sha256) and the trainer's
encoding (template, system prompt, learn-all-turns, seq-len, overlong). A check with another
model or encoding refuses the file instead of reading numbers that mean something else. Every
other line is one input record, matched to the data by its content id (``_id``), so a file
scored on a superset serves any subset of it. Nothing here imports torch or transformers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from dqe import diskcache
from dqe.engine.config import describe_errors
from dqe.engine.encoding import EncodingSettings
from dqe.errors import ConfigError

FORMAT = "dqe-scores/1"
# a record's line: its id and source, the answer tokens scored, the two perplexities, IFD, or why
# it has none (the trainer drops it, the template cannot render it, ...)
SCHEMA = {
    "id": pl.String,
    "source": pl.String,
    "tokens": pl.Int64,
    "ppl": pl.Float64,
    "ppl_alone": pl.Float64,
    "ifd": pl.Float64,
    "error": pl.String,
}
_WEIGHTS = ("config.json", "*.safetensors", "pytorch_model*.bin")  # what decides a model's outputs


class ScoreHeader(BaseModel):
    """What the scores were made with (the file's first line)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["dqe-scores/1"] = FORMAT
    model_sha256: str
    precision: Literal["fp32", "bf16"]
    encoding: EncodingSettings


def model_sha256(model: str) -> str:
    """sha256 of a model folder's config and weights (kept in the cache by size and mtime, so a
    1B model is hashed once); a Hugging Face id is known by its name alone."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return hashlib.sha256(f"hub:{model}".encode()).hexdigest()
    files = sorted({f for pattern in _WEIGHTS for f in folder.glob(pattern) if f.is_file()})
    if not files:
        raise ConfigError(f"'model': {model} holds no config.json or weights (*.safetensors, pytorch_model*.bin)")
    stamp = "\n".join(f"{f.resolve()} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in files)
    known = diskcache.load("model-sha256", stamp)
    if known is not None:
        return known.decode()
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0")
        with f.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                digest.update(chunk)
    value = digest.hexdigest()
    diskcache.store("model-sha256", stamp, value.encode())
    return value


@dataclass
class ScoreFile:
    path: Path
    header: ScoreHeader
    table: pl.DataFrame  # SCHEMA, one row per distinct record id

    def refuse_other_encoding(self, settings: EncodingSettings) -> None:
        """A ConfigError naming the file and what differs when the check encodes otherwise."""
        made = self.header.encoding
        for key in ("template", "system", "learn_all_turns", "seq_len", "overlong"):
            if getattr(made, key) != getattr(settings, key):
                raise ConfigError(
                    f"{self.path}: scored with {key.replace('_', '-')} {getattr(made, key)!r}, and this check "
                    f"encodes with {getattr(settings, key)!r}: score again with the check's encoding, or check with the scores'"
                )
        if self.header.model_sha256 != model_sha256(settings.model):
            raise ConfigError(
                f"{self.path}: scored with the model {made.model} (sha256 {self.header.model_sha256[:12]}), "
                f"and this check names {settings.model}, other weights: score again with it"
            )

    def lookup(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The scores of ``batch``'s records, in its order, and whether the file holds each
        (``found``: ``refuse_missing`` names the first it does not, once the run knows its files)."""
        found = batch.select("_id").join(self.table, left_on="_id", right_on="id", how="left", maintain_order="left")
        return found.select("tokens", "ppl", "ppl_alone", "ifd", "error", found=pl.col("source").is_not_null())

    def refuse_missing(self, table: pl.DataFrame, sources: Callable[[list[int], list[int]], list[str]]) -> None:
        """A ConfigError naming the file and the first record of ``table`` (``_idx``, ``_file``,
        ``_line``, ``_id`` and ``found``) it holds no line for; ``sources`` names it ``path:line``."""
        missing = table.filter(~pl.col("found")).sort("_idx").head(1)
        if missing.height:
            where = sources(missing["_file"].to_list(), missing["_line"].to_list())[0]
            raise ConfigError(
                f"{self.path}: no score for the record at {where} (id {missing['_id'][0]}): "
                "the scores were made for other data; score this data with dqe score"
            )


def read_scores(path: Path) -> ScoreFile:
    """A score file, every way it can be wrong a ConfigError naming the file (and the line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"'scores': {path}: cannot be read ({exc.strerror or exc})") from None
    first, _, rest = data.partition(b"\n")
    try:
        header = ScoreHeader.model_validate(orjson.loads(first))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        why = describe_errors(exc, "") if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"{path}:1: not the header of a dqe score file ({why}); make one with dqe score") from None
    try:
        table = pl.read_ndjson(rest, schema=SCHEMA) if rest.strip() else pl.DataFrame(schema=SCHEMA)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"{path}: a record line that is not a score ({exc})") from None
    if table["id"].null_count():
        line = int(table["id"].is_null().arg_true()[0]) + 2
        raise ConfigError(f"{path}:{line}: a score line without a record id")
    return ScoreFile(path, header, table.unique("id", keep="first", maintain_order=True))


def score_lines(header: ScoreHeader, rows: list[dict]) -> bytes:
    """The file's bytes: the header, then a line per record (``SCHEMA``'s keys)."""
    lines = [orjson.dumps(header.model_dump(mode="json"))]
    lines += [orjson.dumps({k: row.get(k) for k in SCHEMA}) for row in rows]
    return b"\n".join(lines) + b"\n"
