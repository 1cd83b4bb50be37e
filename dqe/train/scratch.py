"""Models and tokenizers made from nothing, for trying the trainer offline: tests, benchmarks
and smoke runs of a pipeline before a real model is downloaded.

``build_tokenizer`` trains a small byte-level BPE on the texts you give it (with ChatML and
Phi-3 markers as special tokens and a ChatML chat template); ``build_model`` saves a randomly
initialised Llama-architecture model of a named shape. Both save to a folder that
``dqe train --model FOLDER`` loads like any downloaded model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dqe.errors import ConfigError, InputError

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
MARKERS = ("<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>")

CHATML_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Llama-architecture shapes (random weights): what the benchmarks and tests train.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    "llama-3.2-1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "rope_theta": 500000.0,
        "tie_word_embeddings": True,
        "max_position_embeddings": 131072,
    },
    "llama-3.1-8b": {
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "max_position_embeddings": 131072,
    },
}


def build_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> Any:
    """A byte-level BPE trained on ``texts``; adds BOS like Llama tokenizers do."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = [PAD, BOS, EOS, *MARKERS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, tok.token_to_id(BOS))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        chat_template=CHATML_TEMPLATE,
    )


def model_config(shape: str, vocab_size: int | None = None, tokenizer: Any = None) -> Any:
    from transformers import LlamaConfig

    values = dict(SHAPES[shape])
    if vocab_size is not None:
        values["vocab_size"] = vocab_size
    values.setdefault("max_position_embeddings", 4096)
    if tokenizer is not None:
        values.update(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    return LlamaConfig(**values)


def build_model(folder: Path, shape: str = "tiny", tokenizer: Any = None, seed: int = 0) -> Path:
    """Save a randomly initialised Llama of ``shape`` (and ``tokenizer``) to ``folder``."""
    import torch
    from transformers import LlamaForCausalLM

    vocab = len(tokenizer) if tokenizer is not None and shape == "tiny" else None
    torch.manual_seed(seed)
    model = LlamaForCausalLM(model_config(shape, vocab, tokenizer))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(folder))
    return folder


def main(argv: list[str] | None = None) -> int:
    """``python -m dqe.train.scratch FOLDER --texts DATA``: a model to try ``dqe train`` on offline."""
    import argparse

    from dqe.api import resolve_config
    from dqe.engine.plugins import load_plugins
    from dqe.train.data import read_examples

    parser = argparse.ArgumentParser(
        prog="python -m dqe.train.scratch",
        description="Save a randomly initialised Llama and a BPE tokenizer trained on your data: "
        "a stand-in model for trying dqe train and dqe eval without downloading one.",
    )
    parser.add_argument("folder", type=Path, help="where to save the model and tokenizer")
    parser.add_argument(
        "--texts",
        type=Path,
        nargs="+",
        required=True,
        help="data files (any format dqe reads) to train the tokenizer on",
    )
    parser.add_argument(
        "--shape", choices=sorted(SHAPES), default="tiny", help="model shape (default: tiny, 2 layers, hidden 64)"
    )
    parser.add_argument("--vocab", type=int, default=600, help="tokenizer vocabulary size (default: 600)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        loaded = resolve_config()
        registry = load_plugins(disabled=loaded.config.disable_plugins)
        texts = [
            turn.content
            for path in args.texts
            for example in read_examples(path, loaded, registry)
            if example.record is not None
            for turn in example.record.turns
        ]
    except (ConfigError, InputError) as exc:
        parser.error(str(exc))
    if not texts:
        parser.error("no readable records in --texts")
    tokenizer = build_tokenizer(texts, vocab_size=args.vocab)
    build_model(args.folder, args.shape, tokenizer, seed=args.seed)
    print(f"saved a {args.shape} Llama (random weights) and a {len(tokenizer)}-token tokenizer to {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
