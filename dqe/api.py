"""The Python API: ``dqe.check``, ``dqe.filter`` and ``dqe.convert``. The CLI calls these.

``source`` is a path, a list of paths, a list of dicts, a list of ``dqe.Record``s (read as they
are, each in its own ``format``) or a polars DataFrame. ``config`` is a
path to a config file, a ``Config``, a dict of config keys, or None to find ``dqe.toml`` or
``[tool.dqe]`` by walking up from the current folder. Keyword overrides take config keys
(``select=["DQ1"]``, ``tokenizer="hf:./tok"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dqe.engine.config import Config, LoadedConfig, kebab_case, load_config, validate_config
from dqe.engine.context import loaded_dir
from dqe.engine.engine import Engine, RunProgress
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError, InputError, RecordError
from dqe.io.formats.base import Layout
from dqe.io.inputs import Inputs, expand, input_paths, refuse_overwriting, resolve_inputs
from dqe.io.writers import ObjectWriter, OutputSet
from dqe.records import Source
from dqe.report.manifest import manifest_path, write_manifest
from dqe.report.model import Report, build_report
from dqe.report.outputs import OutputCounts, write_outputs
from dqe.report.passed_ids import PassedIds


class FilterResult(BaseModel):
    report: Report
    outputs: OutputCounts
    manifest: Path


class ConvertResult(BaseModel):
    written: int
    skipped: list[str]  # "file:line: reason" of records that could not be converted
    output: str


def resolve_config(config: Any = None, overrides: dict[str, Any] | None = None) -> LoadedConfig:
    overrides = {kebab_case(k): v for k, v in (overrides or {}).items() if v is not None}
    if config is None or isinstance(config, str | Path):
        return load_config(Path(config) if config else None, overrides)
    path = None
    if isinstance(config, LoadedConfig):
        path, config = config.path, config.config
    table = config.model_dump(by_alias=True, exclude_unset=True) if isinstance(config, Config) else dict(config)
    return LoadedConfig(config=validate_config({**table, **overrides}, path), path=path)


def make_engine(
    config: Any = None,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    overrides: dict[str, Any] | None = None,
) -> Engine:
    """The config and plugins loaded and validated, once: what check, filter and convert run."""
    loaded = resolve_config(config, overrides)
    registry = load_plugins(disabled=[*disable_plugins, *loaded.config.disable_plugins], extra=plugins)
    if loaded.config.engine == "ray":
        return ray_engine()(loaded, registry)
    return Engine(loaded, registry)


def ray_engine() -> type[Engine]:
    """The Ray engine's class, imported only when a run asks for it (the ``[ray]`` extra)."""
    try:
        import ray.data  # noqa: F401 - the extra's presence, checked before dqe.ray imports it
    except ImportError:
        raise ConfigError('engine = "ray" needs Ray Data: pip install "dqe[ray]"') from None
    from dqe.ray.engine import RayEngine

    return RayEngine


def guard_outputs(engine: Engine, source: Any, outputs: dict[str, Path]) -> Inputs:
    """``source`` resolved, once any output that would replace an input has been refused: a
    data file, the config file or an --against set (an ``InputError``, exit code 2)."""
    inputs = resolve_inputs(source, engine.loaded.config.exclude)
    read = input_paths(inputs)
    if engine.loaded.path is not None:
        read.append(engine.loaded.path)
    base = loaded_dir(engine.loaded)
    for against in engine.loaded.config.against:
        read.extend(expand(base / against))
    refuse_overwriting(outputs, read)
    return inputs


def check(
    source: Any,
    config: Any = None,
    *,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    complete: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
    **overrides: Any,
) -> Report:
    """Check ``source`` and return the report (``report.records`` has every record's verdict)."""
    engine = make_engine(config, plugins, disable_plugins, overrides)
    return build_report(engine.run(source, progress), complete=complete)


def filter(  # noqa: A001 - dqe.filter is the command's name
    source: Any,
    passed: str | Path,
    rejected: str | Path,
    config: Any = None,
    *,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    progress: Callable[[RunProgress], None] | None = None,
    annotate: bool = False,
    **overrides: Any,
) -> FilterResult:
    """Check ``source`` and write every record to ``passed`` or ``rejected`` (with reasons),
    and the gate manifest beside ``passed``: all three files or none. ``annotate`` adds each
    record's labels (category, domain, languages, ...) under the annotation field."""
    passed, rejected = Path(passed), Path(rejected)
    engine = make_engine(config, plugins, disable_plugins, overrides)
    manifest = manifest_path(passed)
    inputs = guard_outputs(engine, source, {"--passed": passed, "--rejected": rejected, "the gate manifest": manifest})
    result = engine.run(inputs, progress)
    unread = [f for f in result.files if f.error]
    if unread:  # its records cannot be written anywhere: no outputs rather than outputs without them
        raise InputError(f"{unread[0].path}: {unread[0].error}; no output was written")
    recorded = {kebab_case(k): v for k, v in overrides.items() if v is not None}
    with OutputSet() as files, PassedIds() as ids:
        ok, bad = files.open(passed), files.open(rejected)
        outputs = write_outputs(result, result.reopen(), ok, bad, ids, annotate=annotate, progress=progress)  # type: ignore[misc]
        if outputs.redactions.values:
            result.dataset["redactions"] = outputs.redactions.model_dump()
        write_manifest(
            result, ok, bad, files.open(manifest), outputs.passed, outputs.rejected, ids, recorded, outputs.annotation
        )
    return FilterResult(report=build_report(result), outputs=outputs, manifest=manifest)


def convert(
    source: Any,
    to: str,
    output: str | Path,
    config: Any = None,
    *,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    **overrides: Any,
) -> ConvertResult:
    """Rewrite records in another record format, keeping every field the formats do not own."""
    engine = make_engine(config, plugins, disable_plugins, overrides)
    formats = engine.registry.formats
    if to not in formats:
        raise RecordError(f"unknown format '{to}'; known: {', '.join(formats)}")
    target = Layout(formats[to], engine.loaded.config.columns, engine.loaded.config.tags)
    reader = engine.reader(guard_outputs(engine, source, {"-o/--output": Path(output)}))
    skipped: list[str] = []
    with OutputSet() as files:
        writer = ObjectWriter(files.open(Path(output)))
        for file, item, layout in reader.stream():
            where = f"{reader.files[file].path}:{item.line}"
            if item.obj is None or layout is None:
                skipped.append(f"{where}: {item.error or 'no record format detected'}")
                continue
            obj = layout.object(item.obj)
            if layout.name == to:  # already in the target format, under the file's own field names
                writer.write(obj)
                continue
            try:
                record = layout.record(item.obj, Source(file=reader.files[file].path, line=item.line), obj)
                converted = target.denormalize(record)
            except RecordError as exc:
                skipped.append(f"{where}: {exc}")
                continue
            owned = layout.owned_keys()
            writer.write({**converted, **{k: v for k, v in obj.items() if k not in owned and k not in converted}})
        writer.close()
    return ConvertResult(written=writer.count, skipped=skipped, output=str(output))
