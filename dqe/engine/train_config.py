"""The training configuration: ``train.toml`` (or command-line options), validated by pydantic.

Keys are kebab-case, grouped in tables (``[lora]``, ``[p-tuning]``, ``[prompt-tuning]``,
``[optim]``, ``[batch]``, ``[split]``, ``[eval]``, ``[log]``, ``[checkpoint]``); an unknown key
or a bad value is an error naming it, and so is an option of a method the run does not use.
Relative paths in a file are relative to the file's folder. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dqe.engine.config import describe_errors, kebab_case, read_toml
from dqe.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=kebab_case, populate_by_name=True)


class LoraSettings(Section):
    r: int = Field(16, ge=1, description="LoRA rank")
    alpha: float = Field(32, gt=0, description="LoRA alpha (the update is scaled by alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA input")
    target_modules: list[str] | Literal["all-linear"] | None = Field(
        None, description="module names to adapt; default: every linear layer of the architecture"
    )
    qlora: bool = Field(
        False, description="the older spelling of method = 'qlora': load the base model in 4 bits (CUDA, bitsandbytes)"
    )


class PTuningSettings(Section):
    """P-tuning (peft's PromptEncoderConfig): virtual tokens produced by a small trained encoder."""

    num_virtual_tokens: int = Field(20, ge=1, description="virtual tokens put before every sequence")
    encoder_hidden_size: int | None = Field(None, ge=1, description="the encoder's width; default: the model's")
    encoder_type: Literal["MLP", "LSTM"] = Field("MLP", description="the encoder that reparameterises the tokens")
    encoder_num_layers: int = Field(2, ge=1, description="layers of an LSTM encoder (an MLP has 2)")
    encoder_dropout: float = Field(0.0, ge=0, lt=1, description="dropout in the encoder")


class PromptTuningSettings(Section):
    """Prompt tuning (peft's PromptTuningConfig): the virtual tokens' embeddings are the weights."""

    num_virtual_tokens: int = Field(20, ge=1, description="virtual tokens put before every sequence")
    init: Literal["random", "sample-vocab", "text"] = Field(
        "random", description="start from random vectors, embeddings of random words, or of init-text"
    )
    init_text: str | None = Field(None, min_length=1, description="with init = 'text': the words to start from")

    @model_validator(mode="after")
    def _text_with_its_init(self) -> PromptTuningSettings:
        if (self.init == "text") != (self.init_text is not None):
            raise ValueError("init = 'text' and init-text go together (one is set without the other)")
        return self


Method = Literal["lora", "qlora", "p-tuning", "prompt-tuning"]
PROMPT_METHODS = ("p-tuning", "prompt-tuning")  # virtual tokens in front of the input, no weight changed


class OptimSettings(Section):
    lr: float = Field(2e-4, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="share of steps with linear warm-up")
    warmup_steps: int | None = Field(None, ge=0, description="warm-up steps (wins over warmup-ratio)")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine decays to lr * min-lr-ratio")
    max_grad_norm: float | None = Field(1.0, gt=0, description="gradient clipping; none to switch off")


class BatchSettings(Section):
    seq_len: int = Field(2048, ge=8, description="tokens per sequence; longer records are cut")
    micro_batch_size: int = Field(4, ge=1, description="sequences per forward pass")
    grad_accum: int = Field(4, ge=1, description="forward passes per optimizer step")
    packing: Literal[True, False, "auto"] = Field(
        "auto",
        description="pack records into sequences (auto: when the model masks across records)",
    )
    overlong: Literal["truncate", "drop"] = Field(
        "truncate", description="records longer than seq-len: cut at seq-len, or drop them"
    )
    loss_chunk: int = Field(1024, ge=16, description="tokens per chunk of the cross-entropy")


class SplitSettings(Section):
    val: float = Field(0.05, ge=0, lt=1, description="share of records held out for validation")
    test: float = Field(0.05, ge=0, lt=1, description="share held out for dqe eval, written to test.jsonl")
    stratify: bool = Field(True, description="keep category shares equal across splits when known")
    test_from: Path | None = Field(
        None,
        description="a dqe train run folder whose test records are this run's test split (test is then unused): "
        "two runs to compare with dqe eval --against",
    )

    @model_validator(mode="after")
    def _leaves_training_data(self) -> SplitSettings:
        if self.val + self.test >= 1:
            raise ValueError("val + test must leave records to train on (their sum is >= 1)")
        return self


class ValidationSettings(Section):
    every: int = Field(50, ge=1, description="validation every N optimizer steps")
    patience: int | None = Field(3, ge=1, description="stop after N evaluations without improvement")
    min_delta: float = Field(0.0, ge=0, description="smallest drop of validation loss that counts")


class LogSettings(Section):
    every: int = Field(10, ge=1, description="log training loss every N steps")
    tensorboard: bool = Field(True, description="also write TensorBoard events when installed")


class CheckpointSettings(Section):
    every: int = Field(100, ge=1, description="checkpoint every N steps")
    keep: int = Field(2, ge=1, description="checkpoints kept (the newest)")


class TrainConfig(Section):
    """Everything that decides a training run (and is written into its run manifest)."""

    model: str = Field(description="base model: a local folder or a Hugging Face id")
    data: Path = Field(description="records that passed `dqe filter` (its gate manifest beside it)")
    out: Path = Field(description="run folder")
    manifest: Path | None = Field(None, description="gate manifest; default: DATA.manifest.json")
    dqe_config: Path | None = Field(None, description="dqe config to check staleness against")
    template: str = Field("alpaca", description="prompt template, or 'model' for the tokenizer's chat template")
    system: str | None = Field(None, description="system prompt for records that have none")
    learn_all_turns: bool = Field(False, description="also learn earlier assistant turns, not only the last")
    seed: int = 0
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after N optimizer steps")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description="auto: bf16 on CUDA, fp32 on CPU")
    attention: Literal["auto", "sdpa", "flash_attention_2", "flex_attention", "eager"] = "auto"
    gradient_checkpointing: bool = True
    merge: bool = Field(False, description="also save the base model with the adapter merged in")
    method: Method = Field("lora", description="lora, qlora (4-bit base), p-tuning or prompt-tuning")
    lora: LoraSettings = Field(default_factory=LoraSettings)
    p_tuning: PTuningSettings | None = Field(None, description="options of method = 'p-tuning'")
    prompt_tuning: PromptTuningSettings | None = Field(None, description="options of method = 'prompt-tuning'")
    optim: OptimSettings = Field(default_factory=OptimSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    split: SplitSettings = Field(default_factory=SplitSettings)
    eval: ValidationSettings = Field(default_factory=ValidationSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    checkpoint: CheckpointSettings = Field(default_factory=CheckpointSettings)

    @model_validator(mode="after")
    def _one_method(self) -> TrainConfig:
        """The method and its options agree; ``lora.qlora`` (the older key) is kept in step."""
        said = "method" in self.model_fields_set
        if "qlora" in self.lora.model_fields_set:
            if not said:
                self.method = "qlora" if self.lora.qlora else "lora"
            elif self.lora.qlora != (self.method == "qlora"):
                raise ConfigError(
                    f"'method' is {self.method!r} and 'lora.qlora' is {str(self.lora.qlora).lower()}: they disagree; "
                    "keep 'method' alone (lora.qlora = true is the older spelling of method = 'qlora')"
                )
        options = {"p-tuning": self.p_tuning, "prompt-tuning": self.prompt_tuning}
        for name, table in options.items():
            if table is not None and name != self.method:
                raise ConfigError(f"'{name}': options of method {name!r}, and 'method' is {self.method!r}")
        if self.method in PROMPT_METHODS:
            lora_keys = sorted(self.lora.model_fields_set)
            if lora_keys:
                raise ConfigError(
                    f"'lora.{kebab_case(lora_keys[0])}': an option of LoRA, and 'method' is {self.method!r}"
                )
            if self.merge:
                raise ConfigError(
                    f"'merge': {self.method} trains virtual tokens that go in front of the input, not a change of "
                    "weights: there is nothing to merge into the model; set merge = false"
                )
            if self.batch.packing is True:
                raise ConfigError(
                    f"'batch.packing': {self.method} puts its virtual tokens once in front of each sequence, and a "
                    'record packed after another would not see them; set packing = false (or "auto")'
                )
            if self.method == "p-tuning" and self.p_tuning is None:
                self.p_tuning = PTuningSettings()
            if self.method == "prompt-tuning" and self.prompt_tuning is None:
                self.prompt_tuning = PromptTuningSettings()
        else:
            self.lora.qlora = self.method == "qlora"
        return self

    @property
    def virtual_tokens(self) -> int:
        """Tokens a prompt method puts before every sequence (on top of seq-len); 0 for LoRA."""
        options = self.p_tuning or self.prompt_tuning
        return options.num_virtual_tokens if options is not None and self.method in PROMPT_METHODS else 0

    def resolved(self) -> TrainConfig:
        """The same config with absolute paths (a local model folder included)."""
        update: dict[str, Any] = {
            k: getattr(self, k).resolve() for k in ("data", "out", "manifest", "dqe_config") if getattr(self, k)
        }
        if Path(self.model).expanduser().exists():
            update["model"] = str(Path(self.model).expanduser().resolve())
        if self.split.test_from:
            update["split"] = self.split.model_copy(update={"test_from": self.split.test_from.resolve()})
        return self.model_copy(update=update)

    def to_json(self) -> dict[str, Any]:
        """The config as a table that reads back into the same config (only the method's options)."""
        unused = {"p_tuning", "prompt_tuning"} - {self.method.replace("-", "_")}
        if self.method in PROMPT_METHODS:
            unused.add("lora")
        return self.model_dump(mode="json", by_alias=True, exclude=unused)

    def digest(self) -> str:
        """sha256 of what shapes the training (not where it is written)."""
        data = {k: v for k, v in self.to_json().items() if k != "out"}
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"lora.r": 8}`` -> ``{"lora": {"r": 8}}`` (command-line overrides)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        table = out
        for part in parents:
            table = table.setdefault(part, {})
        table[leaf] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _rebase(table: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative paths of a config file, rooted at the file's folder."""
    out = dict(table)
    for key in ("data", "out", "manifest", "dqe-config"):
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = str(folder / out[key])
    split = out.get("split")
    if (
        isinstance(split, dict)
        and isinstance(split.get("test-from"), str)
        and not Path(split["test-from"]).is_absolute()
    ):
        out["split"] = {**split, "test-from": str(folder / split["test-from"])}
    model = out.get("model")
    if isinstance(model, str) and not Path(model).is_absolute() and (folder / model).exists():
        out["model"] = str(folder / model)
    return out


def read_train_table(path: Path) -> dict[str, Any]:
    """The table of a ``train.toml`` with its relative paths rebased."""
    return _rebase(read_toml(path), path.resolve().parent)


def build_config(table: dict[str, Any], overrides: dict[str, Any] | None = None, where: str = "") -> TrainConfig:
    """Validate a config table with dotted overrides (``{"lora.r": 8}``) on top."""
    merged = _merge(table, _nest({kebab_case_path(k): v for k, v in (overrides or {}).items()}))
    prefix = f"{where}: " if where else ""
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(prefix + describe_errors(exc, "", TrainConfig)) from None
    except ConfigError as exc:  # the method and its options disagree
        raise ConfigError(prefix + str(exc)) from None


def kebab_case_path(key: str) -> str:
    return ".".join(kebab_case(part) for part in key.split("."))


def load_train_config(path: Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A ``train.toml`` (optional) with command-line overrides on top."""
    table = read_train_table(path) if path else {}
    return build_config(table, overrides, str(path) if path else "")
