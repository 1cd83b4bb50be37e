"""Configuration: ``dqe.toml``, ``[tool.dqe]`` in pyproject.toml, or ``--config FILE``.

Found by walking up from the current folder (``dqe.toml`` wins over ``pyproject.toml`` in the
same folder). Every key is validated: an unknown key or a bad value is an error naming the key,
never ignored. Rule options are validated by each rule's own pydantic model once the plugins
are loaded (``dqe.engine.selection``).
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_snake

from dqe.errors import ConfigError
from dqe.io.formats.base import UNREAD_COLUMNS, Columns, Tags


def kebab_case(name: str) -> str:
    """Python field names as config keys: max_tokens -> max-tokens."""
    return to_snake(name).replace("_", "-")


class Threshold(BaseModel):
    """Gate thresholds of one metric: ``{fail = 0.8, warn = 0.95}``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    fail: float | None = None
    warn: float | None = None


class Classifiers(BaseModel):
    """Which registered classifier labels records that carry no label of their own."""

    model_config = ConfigDict(extra="forbid")

    category: str = "taxonomy"  # rules/categories.toml
    domain: str = "lexicon"  # rules/domains/*.toml


class AugmentSettings(BaseModel):
    """``[augment]``: where ``dqe augment`` asks for records and what it may spend; its options
    override these. The key is never a config value: only the name of the variable holding it."""

    model_config = ConfigDict(extra="forbid", alias_generator=kebab_case, populate_by_name=True)

    base_url: str | None = None  # an OpenAI-compatible API root, like http://localhost:8000/v1
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable holding the key (none needed locally)
    per_round: int = Field(20, ge=1, le=200)  # records asked for in one request
    rounds: int = Field(10, ge=1)  # budgets, over every run into the same output folder
    requests: int = Field(20, ge=1)  # HTTP requests, retries included
    tokens: int | None = Field(None, ge=1)  # prompt plus completion tokens, as the endpoint reports them
    seeds: int = Field(5, ge=0, le=50)  # seed examples shown in a prompt
    mistakes: int = Field(5, ge=0, le=50)  # rejection reasons (and reviewer-rejected examples) shown
    temperature: float = Field(0.8, ge=0, le=2)
    timeout: float = Field(120.0, gt=0)  # seconds for one response
    retries: int = Field(3, ge=0, le=10)
    retry_delay: float = Field(1.0, ge=0)  # seconds before the first retry; doubles each time


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=kebab_case, populate_by_name=True)

    select: list[str] | None = None  # None: every rule that is on by default
    extend_select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)  # options, by code or name
    input_format: str | None = None
    columns: Columns = Field(default_factory=Columns)
    tags: Tags = Field(default_factory=Tags)
    tokenizer: str = "tiktoken:cl100k_base"
    template: str = "chatml"
    # The trainer's encoding (dqe check --model / --train-config): a model folder whose tokenizer
    # (and chat template, with template = "model") counts tokens, or a train.toml whose model,
    # template, system prompt, learn-all-turns and seq-len are used; relative to the config
    model: str | None = None
    train_config: str | None = None
    # a dqe train run folder whose ledger DQ108 reads (dqe check --ledger): the records it fitted
    # worst for their length and those it got worse on; relative to the config
    ledger: str | None = None
    # a score file of dqe score (relative to the config): the answer's perplexity with and without
    # its question and IFD per record, read by DQ107, the report and selection by IFD
    scores: str | None = None
    disable_plugins: list[str] = Field(default_factory=list)
    rule_packs: list[str] = Field(default_factory=list)  # folders or files, relative to the config
    gate: dict[str, Threshold] = Field(default_factory=dict)
    against: list[str] = Field(
        default_factory=list
    )  # evaluation sets that training records must not leak into (DQ403); relative to the config
    # files of an input folder to leave out: glob patterns matched against each file's path and
    # its name ("dataset_info.json", "*/eval/*"); files named on the command line are always read
    exclude: list[str] = Field(default_factory=list)
    batch_size: int = Field(10_000, ge=1)
    workers: int = Field(0, ge=0)  # worker processes; 0: one per core for large inputs with costly rules
    findings_per_rule: int = Field(20, ge=0)  # findings kept per rule in reports (sampled)
    classifiers: Classifiers = Field(default_factory=Classifiers)
    # Selection (dqe filter --balance / --max-records): downsample over-represented categories
    # and vertical domains to their quotas; keep at most max-records records, the best first.
    balance: bool = False
    max_records: int | None = Field(None, ge=1)
    # what "best" means when selecting: the quality score, or the IFD of the scores (below 1, highest first)
    rank_by: Literal["quality", "ifd"] = "quality"
    # Where the records are checked: here (worker processes), or on a Ray cluster (the [ray] extra,
    # docs/ray.md) at ray-address ("auto": the cluster this machine belongs to; none: a local one).
    engine: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    augment: AugmentSettings = Field(default_factory=AugmentSettings)  # dqe augment (docs/augment.md)

    @property
    def selecting(self) -> bool:
        """Whether selection rules drop records to meet quotas (balance or max-records)."""
        return self.balance or self.max_records is not None

    def digest(self) -> str:
        """sha256 of the effective configuration, for gate and run manifests. Where the check
        runs (``engine``, ``ray-address``) and where ``dqe augment`` asks (``augment``) change nothing
        it decides, so they are left out; the trainer's encoding (``model``, ``train-config``), a
        run's ``ledger``, ``scores`` and ``rank-by`` are in it only when set, so that a manifest
        written before those keys existed still matches the configuration it was checked with."""
        unset = {key for key in ("model", "train_config", "ledger", "scores") if getattr(self, key) is None}
        if self.rank_by == "quality":
            unset.add("rank_by")
        settings = self.model_dump(mode="json", by_alias=True, exclude={"engine", "ray_address", "augment", *unset})
        data = orjson.dumps(settings, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()


class LoadedConfig(BaseModel):
    config: Config
    path: Path | None = None  # None: defaults, no file found

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "defaults"


def find_config(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        candidate = directory / "dqe.toml"
        if candidate.is_file():
            return candidate
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_dqe_table(candidate):
            return candidate
    return None


def _has_dqe_table(path: Path) -> bool:
    try:
        return "dqe" in tomllib.loads(path.read_text("utf-8")).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file's table; every way it can fail is a ConfigError naming the file."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _read_table(path: Path) -> tuple[dict[str, Any], str]:
    """The dqe table of a file and the prefix that names its keys in messages."""
    data = read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("dqe")
        if table is None:
            raise ConfigError(f"{path}: no [tool.dqe] table")
        return table, "tool.dqe."
    if "tool" in data and "dqe" in data["tool"] and len(data) == 1:
        return data["tool"]["dqe"], "tool.dqe."
    return data, ""


def describe_errors(exc: ValidationError, prefix: str, schema: type[BaseModel] | None = None) -> str:
    """One line per error, naming the key; with ``schema``, a key written outside its table
    (``seq-len`` for ``[batch] seq-len``) says which table it belongs in."""
    lines = []
    for err in exc.errors():
        key = prefix + ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            home = _table_of(schema, str(err["loc"][0])) if schema is not None and len(err["loc"]) == 1 else None
            unread = err["loc"][0] == "columns" and str(err["loc"][-1]) in UNREAD_COLUMNS
            lines.append(
                f"unknown key '{key}'"
                + (f" (a key of [{home}])" if home else "")
                + (
                    " (LLaMA-Factory's media and KTO-label columns hold no text to check: leave it out)"
                    if unread
                    else ""
                )
            )
        elif err["type"] == "missing":
            lines.append(f"missing key '{key}'")
        else:
            lines.append(f"'{key}': {err['msg']} (got {err.get('input')!r})")
    return "; ".join(lines)


def _table_of(schema: type[BaseModel], key: str) -> str | None:
    """The table of ``schema`` that has ``key``, if one does."""
    for name, field in schema.model_fields.items():
        for section in (field.annotation, *get_args(field.annotation)):
            is_table = isinstance(section, type) and issubclass(section, BaseModel)
            if is_table and any(key in (sub, sub_field.alias) for sub, sub_field in section.model_fields.items()):
                return field.alias or name
    return None


def validate_config(table: dict[str, Any], path: Path | None = None, prefix: str = "") -> Config:
    try:
        return Config.model_validate(table)
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        raise ConfigError(where + describe_errors(exc, prefix, Config)) from None


def load_config(
    path: Path | None = None, overrides: dict[str, Any] | None = None, *, discover: bool = True
) -> LoadedConfig:
    """The effective configuration: a file (given or found) with overrides on top.

    Override keys are config keys (``extend-select``); None values are ignored.
    """
    if path is None and discover:
        path = find_config()
    table: dict[str, Any] = {}
    prefix = ""
    if path is not None:
        table, prefix = _read_table(path)
    merged = {**table, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return LoadedConfig(config=validate_config(merged, path, prefix), path=path)
