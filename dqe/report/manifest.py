"""The gate manifest ``dqe filter`` writes beside the passed records: what was checked, how,
the verdict, and the ids of the records that passed.

The trainer trusts data only through this file: it refuses data whose manifest is missing,
whose verdict is fail, whose file or config hash changed since (stale), or that holds a record
whose id is not among ``passed_ids``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from dqe import __version__
from dqe.engine.config import LoadedConfig
from dqe.engine.gate import GateResult
from dqe.io.inputs import ANNOTATION

if TYPE_CHECKING:
    from dqe.engine.engine import RunResult
    from dqe.io.writers import PendingFile
    from dqe.report.passed_ids import PassedIds

SUFFIX = ".manifest.json"


class FileHash(BaseModel):
    path: str
    sha256: str | None  # None for in-memory inputs
    records: int


class ConfigHash(BaseModel):
    path: str | None
    sha256: str
    # config keys given on the command line (or as API keywords) on top of the file, so that
    # the trainer can rebuild the same effective config and tell whether it changed since
    overrides: dict[str, Any] = Field(default_factory=dict)


class GateManifest(BaseModel):
    kind: Literal["dqe-gate-manifest"] = "dqe-gate-manifest"
    version: int = 1
    dqe_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    inputs: list[FileHash]
    config: ConfigHash
    rules: list[str]
    passed: FileHash
    rejected: FileHash
    annotation: str = ANNOTATION  # the field of the outputs' records that holds dqe's reasons and redactions
    gate: GateResult
    dataset: dict[str, Any]
    passed_ids: list[str]  # sorted, unique content hashes (dqe.io.reader.record_id)
    passed_ids_sha256: str
    # What token lengths were checked with (None in manifests written before these fields): the
    # tokenizer ("model:PATH" when checked with the trainer's encoding, dqe check --model) and
    # the template. ``dqe train`` refuses data checked with another model or template.
    tokenizer: str | None = None
    template: str | None = None


class CheckedEncoding(NamedTuple):
    tokenizer: str
    template: str


def checked_encoding(loaded: LoadedConfig) -> CheckedEncoding:
    """The tokenizer and template a run counted tokens with, as the manifest records them
    (read from the config: naming them does not load the model's tokenizer)."""
    from dqe.engine.context import loaded_dir
    from dqe.engine.encoding import encoding_settings

    settings = encoding_settings(loaded.config, loaded_dir(loaded))
    if settings is None:
        return CheckedEncoding(loaded.config.tokenizer, loaded.config.template)
    return CheckedEncoding(f"model:{settings.model}", settings.template)


def manifest_path(passed: Path) -> Path:
    return passed.with_name(passed.name + SUFFIX)


def ids_sha256(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def load_manifest(path: Path) -> GateManifest:
    return GateManifest.model_validate_json(path.read_bytes())


def write_manifest(
    result: RunResult,
    passed: PendingFile,
    rejected: PendingFile,
    target: PendingFile,
    passed_count: int,
    rejected_count: int,
    passed_ids: PassedIds,
    overrides: dict[str, Any] | None = None,
    annotation: str = ANNOTATION,
) -> Path:
    """Write the manifest of the outputs ``passed`` and ``rejected`` (complete, not yet moved
    into place) to ``target``, all three files of one ``OutputSet``; returns its path.

    ``passed_ids`` holds the id of each record of the passed file, as written (redacted or
    annotated records by their new id): they are listed sorted and hashed as they stream from
    it, never held together. ``overrides`` are the config keys given on the command line, so
    the trainer can rebuild the same effective config and compare its hash.
    """
    from dqe.io.inputs import InputFile

    checked = checked_encoding(result.config)
    sources = [source for _, source in result.inputs.sources] if result.inputs else [None] * len(result.files)
    manifest = GateManifest(
        inputs=[
            FileHash(path=f.path, sha256=s.sha256() if isinstance(s, InputFile) else None, records=f.records)
            for f, s in zip(result.files, sources, strict=True)
        ],
        config=ConfigHash(
            path=str(result.config.path.resolve()) if result.config.path else None,
            sha256=result.config.config.digest(),
            overrides=overrides or {},
        ),
        rules=[a.code for a in result.rules],
        passed=FileHash(path=str(passed.path), sha256=passed.sha256, records=passed_count),
        rejected=FileHash(path=str(rejected.path), sha256=rejected.sha256, records=rejected_count),
        annotation=annotation,
        gate=result.gate,
        dataset=result.dataset,
        passed_ids=[],
        passed_ids_sha256="",
        tokenizer=checked.tokenizer,
        template=checked.template,
    )
    # the JSON pydantic writes, the ids and their hash written into it as they stream (indent 1)
    head, tail = manifest.model_dump_json(indent=1).split(_IDS_PLACE)
    target.write(f'{head}\n "passed_ids": ['.encode())
    digest = hashlib.sha256()
    count = 0
    records = passed_ids.sorted()
    while ids := list(itertools.islice(records, _IDS_AT_ONCE)):
        after = "\n" if count else ""  # the hash is of the ids joined by new lines (ids_sha256)
        digest.update((after + "\n".join(ids)).encode())
        listed = ",\n  ".join(json.dumps(record, ensure_ascii=False) for record in ids)
        target.write(f"{',' if count else ''}\n  {listed}".encode())
        count += len(ids)
    closing = "\n ]" if count else "]"
    target.write(f'{closing},\n "passed_ids_sha256": "{digest.hexdigest()}",{tail}'.encode())
    return target.path


_IDS_AT_ONCE = 8_192
_IDS_PLACE = '\n "passed_ids": [],\n "passed_ids_sha256": "",'
