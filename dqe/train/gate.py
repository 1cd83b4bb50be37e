"""The trainer's side of the gate: is this data what ``dqe filter`` passed, under this config?

It refuses data whose gate manifest is missing, whose gate failed, whose file or config changed
since it was filtered (stale), or that holds records the gate did not pass. ``--force`` turns
each refusal into a loud warning that the run manifest records; records the gate did not pass
are still left out when a manifest lists the passed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dqe.engine.config import LoadedConfig
from dqe.errors import ConfigError
from dqe.io.files import file_sha256
from dqe.report.manifest import GateManifest, ids_sha256, load_manifest, manifest_path


@dataclass
class GateCheck:
    """What the trainer knows about the data's gate before training on it."""

    data: Path
    manifest_path: Path
    manifest: GateManifest | None
    config: LoadedConfig  # the dqe config now: formats, columns and tags to read the data with
    data_sha256: str
    manifest_sha256: str | None
    problems: list[str] = field(default_factory=list)
    forced: bool = False

    @property
    def passed_ids(self) -> set[str] | None:
        return set(self.manifest.passed_ids) if self.manifest else None

    def summary(self) -> dict[str, Any]:
        """The gate section of the run manifest."""
        m = self.manifest
        return {
            "manifest": str(self.manifest_path) if m else None,
            "manifest_sha256": self.manifest_sha256,
            "verdict": m.gate.verdict if m else None,
            "passed_sha256": m.passed.sha256 if m else None,
            "passed_ids_sha256": m.passed_ids_sha256 if m else None,
            "config_sha256": m.config.sha256 if m else None,
            "data_sha256": self.data_sha256,
            "forced": self.forced,
            "problems": self.problems,
        }


def _failing_metrics(manifest: GateManifest) -> list[str]:
    lines = []
    for m in manifest.gate.metrics:
        if m.state == "fail":
            op = "<" if m.direction == "min" else ">"
            value = "n/a" if m.value is None else f"{m.value:g}"
            lines.append(f"gate metric {m.name} ({m.key}) = {value} {op} {m.fail:g}, its fail threshold")
    return lines or ["the gate verdict is fail"]


def current_config(manifest: GateManifest | None, dqe_config: Path | None) -> LoadedConfig:
    """The dqe config as ``dqe filter`` would load it now, with the overrides it was run with."""
    from dqe.api import resolve_config

    overrides = manifest.config.overrides if manifest else {}
    path = dqe_config
    if path is None and manifest and manifest.config.path:
        path = Path(manifest.config.path)
        if not path.exists():
            raise ConfigError(
                f"the gate manifest names the dqe config {path}, which is gone; give the config "
                "with --dqe-config (or filter the data again)"
            )
    return resolve_config(path, overrides)


def check_gate(data: Path, manifest: Path | None = None, dqe_config: Path | None = None) -> GateCheck:
    """Every file-level reason to refuse the data (the record-level check comes with reading)."""
    if not data.is_file():
        raise ConfigError(f"'data': {data}: no such file")
    path = manifest or manifest_path(data)
    problems: list[str] = []
    loaded: GateManifest | None = None
    manifest_sha = None
    if not path.is_file():
        problems.append(
            f"no gate manifest for {data} (looked for {path}): train on the --passed output of "
            "`dqe filter`, which writes its manifest beside it"
        )
    else:
        try:
            loaded = load_manifest(path)
        except (ValidationError, ValueError) as exc:
            raise ConfigError(f"{path}: not a dqe gate manifest ({str(exc).splitlines()[0]})") from None
        manifest_sha = file_sha256(path)
    data_sha = file_sha256(data)
    config = current_config(loaded, dqe_config)
    if loaded is not None:
        if loaded.gate.verdict == "fail":
            problems.append(f"the gate failed when {data} was filtered: " + "; ".join(_failing_metrics(loaded)))
        if loaded.passed.sha256 != data_sha:
            problems.append(
                f"{data} changed since it was filtered (sha256 {data_sha[:12]}, the manifest says "
                f"{(loaded.passed.sha256 or 'none')[:12]}): the manifest is stale; filter again"
            )
        now = config.config.digest()
        if loaded.config.sha256 != now:
            problems.append(
                f"the dqe config ({config.label}) changed since the data was filtered (sha256 "
                f"{now[:12]}, the manifest says {loaded.config.sha256[:12]}): "
                "the manifest is stale; filter again"
            )
        if ids_sha256(loaded.passed_ids) != loaded.passed_ids_sha256:
            problems.append(f"{path}: passed_ids do not match passed_ids_sha256 (the manifest was edited)")
    return GateCheck(
        data=data,
        manifest_path=path,
        manifest=loaded,
        config=config,
        data_sha256=data_sha,
        manifest_sha256=manifest_sha,
        problems=problems,
    )


def check_encoding(manifest: GateManifest | None, model: str, template: str) -> str | None:
    """Refuse data whose gate checked token lengths with another model or template than this
    run trains with (a ``ConfigError`` naming both); a note (returned) when the gate counted
    with a generic tokenizer instead of the trainer's encoding, None when they agree."""
    if manifest is None or manifest.tokenizer is None:
        return None
    if not manifest.tokenizer.startswith("model:"):
        return (
            f"the gate counted tokens with {manifest.tokenizer} and template {manifest.template}, not this "
            f"model's encoding: `dqe filter --model {model} --template {template}` checks what training will see"
        )
    checked = manifest.tokenizer.removeprefix("model:")
    if checked != model or manifest.template != template:
        raise ConfigError(
            f"the data was checked with the tokenizer of {checked} and template '{manifest.template}', but this run "
            f"trains {model} with template '{template}': filter it again with --model {model} --template {template} "
            "(or --train-config), or train with the model and template it was checked with"
        )
    return None
