"""The base model, its tokenizer and the adapter: loading, precision, attention, targets.

A local folder loads fully offline; anything else is a Hugging Face id. bf16 on CUDA, fp32 on
CPU; 4-bit (QLoRA) only where bitsandbytes and a GPU are there. LoRA adapts every linear layer
of the blocks by default, named per architecture; P-tuning and prompt tuning train virtual
tokens put in front of the input (peft's PromptEncoderConfig and PromptTuningConfig). Whether packing is safe is tested on the
model itself: a short packed forward must match the records run one by one.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from dqe.engine.encoding import load_model_tokenizer
from dqe.engine.train_config import TrainConfig
from dqe.errors import ConfigError

# The linear layers of the transformer blocks, by model_type (lm_head and embeddings excluded).
TARGET_MODULES: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mixtral": ["q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "falcon": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
}


@contextmanager
def quiet_peft() -> Iterator[None]:
    """peft asks transformers 5 for an attribute it renamed; the warning says nothing to a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("'device': cuda asked for, and torch sees no CUDA device")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def pick_dtype(setting: str, device: torch.device) -> torch.dtype:
    if setting == "bf16":
        return torch.bfloat16
    if setting == "fp32":
        return torch.float32
    return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32


def pick_attention(setting: str, device: torch.device) -> str:
    if setting != "auto":
        return setting
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _is_local(model: str) -> bool:
    return Path(model).expanduser().exists()


def load_tokenizer(model: str) -> Any:
    """The model's tokenizer, loaded as ``dqe check --model`` loads it (one loader for both)."""
    return load_model_tokenizer(model)


def load_base_model(
    config: TrainConfig, device: torch.device, dtype: torch.dtype, *, quantize: bool | None = None
) -> Any:
    """The base model on ``device``, without an adapter (``quantize`` defaults to method = qlora)."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # dqe says what it loads; a second bar on stderr says nothing more
    quantize = config.method == "qlora" if quantize is None else quantize
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "attn_implementation": pick_attention(config.attention, device),
        "local_files_only": _is_local(config.model),
    }
    if quantize:
        if device.type != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError(
                "'method': qlora (4-bit training) needs a CUDA GPU and bitsandbytes (pip install bitsandbytes)"
            )
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": device.index or 0}
    try:
        model = AutoModelForCausalLM.from_pretrained(config.model, **kwargs)
    except (OSError, ValueError, ImportError) as exc:
        raise ConfigError(f"'model': cannot load {config.model}: {exc}") from None
    if not quantize:
        model.to(device)
    model.config.use_cache = False
    return model


def target_modules(model: Any, setting: list[str] | str | None) -> list[str] | str:
    if setting is not None:
        return setting
    return TARGET_MODULES.get(getattr(model.config, "model_type", ""), "all-linear")


def _adapter_config(model: Any, config: TrainConfig) -> Any:
    """peft's config of the run's method."""
    from peft import LoraConfig, PromptEncoderConfig, PromptTuningConfig

    if config.p_tuning is not None:
        p = config.p_tuning
        return PromptEncoderConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=p.num_virtual_tokens,
            encoder_hidden_size=p.encoder_hidden_size or model.config.hidden_size,
            encoder_reparameterization_type=p.encoder_type,
            encoder_num_layers=p.encoder_num_layers,
            encoder_dropout=p.encoder_dropout,
        )
    if config.prompt_tuning is not None:
        t = config.prompt_tuning
        return PromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=t.num_virtual_tokens,
            prompt_tuning_init=t.init.upper().replace("-", "_"),
            prompt_tuning_init_text=t.init_text,
            tokenizer_name_or_path=config.model if t.init == "text" else None,
        )
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=target_modules(model, config.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def _check_positions(model: Any, config: TrainConfig) -> None:
    """The virtual tokens come on top of seq-len: the sequence must still fit the model."""
    most = getattr(model.config, "max_position_embeddings", None)
    if config.virtual_tokens and most and config.batch.seq_len + config.virtual_tokens > most:
        raise ConfigError(
            f"'batch.seq-len': {config.batch.seq_len} tokens and {config.virtual_tokens} virtual tokens of "
            f"{config.method} make sequences longer than the model's {most} positions; lower one of them"
        )


def add_adapter(model: Any, config: TrainConfig) -> Any:
    """Wrap ``model`` with a fresh adapter of the run's method (initialised from torch's RNG:
    seed first)."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    _check_positions(model, config)
    ckpt_kwargs = {"use_reentrant": False}
    if config.method == "qlora":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs=ckpt_kwargs,
        )
    elif config.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers 5 renamed it
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=ckpt_kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=ckpt_kwargs)
    adapter = _adapter_config(model, config)
    try:
        with quiet_peft():
            return get_peft_model(model, adapter)
    except ValueError as exc:  # target modules the model does not have; init text a tokenizer cannot read
        raise ConfigError(
            f"'{'lora.target-modules' if config.method in ('lora', 'qlora') else config.method}': {exc}"
        ) from None


def parameter_counts(model: Any) -> tuple[int, int]:
    """(all parameters, trainable ones)."""
    total = trainable = 0
    for p in model.parameters():
        n = p.numel() * (2 if p.__class__.__name__ == "Params4bit" else 1)
        total += n
        if p.requires_grad:
            trainable += n
    return total, trainable


def head_and_body(model: Any) -> tuple[Any, Any] | None:
    """(decoder, lm_head) of a causal LM whose logits are a plain linear map of the decoder's
    output, for the chunked loss; None for heads that scale or cap their logits."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = lm.config
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None):
        return None
    head = lm.get_output_embeddings()
    body = lm.get_decoder() if hasattr(lm, "get_decoder") else None
    if body is None or head is None or not isinstance(getattr(head, "weight", None), torch.Tensor):
        return None
    return body, head


@torch.no_grad()
def packing_is_isolated(model: Any, device: torch.device, vocab: int) -> bool:
    """Whether a record packed after another (position ids restarting) sees only itself.

    Compares a short record run alone, packed after another, and simply appended to it: packed
    must be far closer to alone than appended is (a scale-free test that holds in bf16 too).
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(3, vocab, (1, 12), generator=gen).to(device)
    b = torch.randint(3, vocab, (1, 9), generator=gen).to(device)
    both = torch.cat([a, b], dim=1)
    restart = torch.cat([torch.arange(12), torch.arange(9)]).unsqueeze(0).to(device)

    def last_hidden(ids: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        out = model(input_ids=ids, position_ids=positions, use_cache=False, output_hidden_states=True)
        return out.hidden_states[-1][:, -b.shape[1] :].float()

    with evaluating(model):
        alone = last_hidden(b)
        packed = (last_hidden(both, restart) - alone).abs().max()
        appended = (last_hidden(both) - alone).abs().max()
    return bool(packed < 0.1 * appended)


@contextmanager
def evaluating(model: Any) -> Iterator[None]:
    """The model in eval mode (no dropout) for the block, then as it was."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
