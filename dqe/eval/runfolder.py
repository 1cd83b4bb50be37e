"""A finished ``dqe train`` run, as ``dqe eval`` reads it: its config, manifest, adapter and
held-out test records.

Files are found by their place in the run folder (``train_config.json``, ``run.json``,
``adapter/``, ``test.jsonl``, ``split.json``), so a run folder that was moved or copied still
evaluates. The test split must be the one the run wrote (its sha256 is in ``split.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dqe.engine.config import LoadedConfig
from dqe.engine.train_config import TrainConfig, build_config
from dqe.errors import ConfigError, InputError
from dqe.io.files import file_sha256
from dqe.train.data import Example, read_examples
from dqe.train.runfolder import read_json


@dataclass
class TrainedRun:
    dir: Path
    config: TrainConfig
    manifest: dict[str, Any]
    split: dict[str, Any]

    @property
    def adapter(self) -> Path:
        return self.dir / "adapter"

    @property
    def test_path(self) -> Path:
        return self.dir / "test.jsonl"

    def reading_config(self, config: Path | None = None) -> LoadedConfig:
        """The dqe config to read the test records with (and to pick rules from): ``config``
        when given, else the one the training data was filtered with, as ``dqe train`` found it."""
        from dqe.api import resolve_config
        from dqe.report.manifest import load_manifest, manifest_path
        from dqe.train.gate import current_config

        if config is not None:
            return resolve_config(config)
        path = self.config.manifest or manifest_path(self.config.data)
        manifest = load_manifest(path) if path.is_file() else None
        return current_config(manifest, self.config.dqe_config)

    def test_examples(self, loaded: LoadedConfig, registry: Any) -> list[Example]:
        """The held-out records, in file order, read as the trainer read them."""
        examples = read_examples(self.test_path, loaded, registry)
        for e in examples:
            e.split = "test"
        return examples


def _json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path.parent}: not a finished dqe train run (no {path.name}: {what})")
    try:
        return read_json(path)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None


def open_run(run_dir: Path) -> TrainedRun:
    """The run in ``run_dir``; a clear error when it is not a finished run with a test split."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run folder")
    table = _json(run_dir / "train_config.json", "the training config")
    config = build_config(table, where=str(run_dir / "train_config.json"))
    manifest = _json(run_dir / "run.json", "the run manifest")
    if manifest.get("status") != "completed":
        raise ConfigError(
            f"{run_dir}: the run is {manifest.get('status', 'unknown')}, not completed; "
            f"finish it with dqe train --resume {run_dir}"
        )
    if not (run_dir / "adapter").is_dir():
        raise ConfigError(f"{run_dir}: no adapter/ folder")
    split = _json(run_dir / "split.json", "the split description")
    run = TrainedRun(dir=run_dir, config=config, manifest=manifest, split=split)
    if not run.test_path.is_file():
        raise InputError(f"{run.test_path}: no such file (the held-out test records)")
    wanted = (split.get("test") or {}).get("sha256")
    if wanted and file_sha256(run.test_path) != wanted:
        raise InputError(f"{run.test_path} changed since the run wrote it (sha256 differs from split.json's)")
    if not (split.get("test") or {}).get("records"):
        raise InputError(f"{run_dir}: the test split is empty (train with split.test above 0 to evaluate)")
    return run
