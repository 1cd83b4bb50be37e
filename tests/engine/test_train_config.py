"""train.toml: grouped kebab-case keys, validated; unknown keys are errors."""

from __future__ import annotations

import pytest

from dqe.engine.train_config import load_train_config
from dqe.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "cfg" / "train.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_a_train_toml_is_read_with_paths_relative_to_it(tmp_path):
    path = write(
        tmp_path,
        """
model = "meta-llama/Llama-3.2-1B"
data = "ok.jsonl"
out = "runs/exp1"
template = "chatml"
learn-all-turns = true
[lora]
r = 8
target-modules = ["q_proj", "v_proj"]
[batch]
seq-len = 1024
packing = false
[eval]
patience = 2
[split]
test-from = "runs/all"
""",
    )
    config = load_train_config(path, {"optim.lr": 1e-4, "seed": None})
    assert config.data == tmp_path / "cfg" / "ok.jsonl"
    assert config.out == tmp_path / "cfg" / "runs" / "exp1"
    assert config.split.test_from == tmp_path / "cfg" / "runs" / "all"
    assert config.model == "meta-llama/Llama-3.2-1B"  # not a folder here: a hub id
    assert (config.lora.r, config.lora.target_modules, config.lora.alpha) == (
        8,
        ["q_proj", "v_proj"],
        32,
    )
    assert (config.batch.seq_len, config.batch.packing, config.eval.patience) == (1024, False, 2)
    assert config.learn_all_turns and config.optim.lr == 1e-4 and config.seed == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "m"\ndata = "d"\nout = "o"\n[lora]\nrank = 8\n', "unknown key 'lora.rank'"),
        ('model = "m"\ndata = "d"\nout = "o"\nlearning-rate = 1\n', "unknown key 'learning-rate'"),
        ('model = "m"\ndata = "d"\n', "missing key 'out'"),
        (
            'model = "m"\ndata = "d"\nout = "o"\n[split]\nval = 0.5\ntest = 0.5\n',
            "val + test must leave records",
        ),
        ('model = "m"\ndata = "d"\nout = "o"\n[batch]\npacking = "sometimes"\n', "'batch.packing'"),
    ],
)
def test_bad_keys_and_values_are_errors_naming_them(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        load_train_config(write(tmp_path, text))


BASE = 'model = "m"\ndata = "d"\nout = "o"\n'


@pytest.mark.parametrize(
    ("text", "method", "virtual_tokens"),
    [
        ("", "lora", 0),
        ("[lora]\nqlora = true\n", "qlora", 0),  # the older spelling still works
        ('method = "qlora"\n[lora]\nr = 8\n', "qlora", 0),
        ('method = "p-tuning"\n[p-tuning]\nnum-virtual-tokens = 8\nencoder-hidden-size = 32\n', "p-tuning", 8),
        ('method = "prompt-tuning"\n[prompt-tuning]\ninit = "text"\ninit-text = "Answer:"\n', "prompt-tuning", 20),
    ],
)
def test_the_method_and_its_options(tmp_path, text, method, virtual_tokens):
    config = load_train_config(write(tmp_path, BASE + text))
    assert (config.method, config.virtual_tokens, config.lora.qlora) == (method, virtual_tokens, method == "qlora")
    again = load_train_config(None, config.to_json())  # what train_config.json holds reads back the same
    assert again == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('method = "lora"\n[lora]\nqlora = true\n', "'method' is 'lora' and 'lora.qlora' is true: they disagree"),
        ('method = "p-tuning"\n[lora]\nr = 8\n', "'lora.r': an option of LoRA, and 'method' is 'p-tuning'"),
        ("[p-tuning]\nnum-virtual-tokens = 8\n", "'p-tuning': options of method 'p-tuning', and 'method' is 'lora'"),
        ('method = "p-tuning"\n[prompt-tuning]\ninit = "random"\n', "'prompt-tuning': options of method"),
        ('method = "prompt-tuning"\nmerge = true\n', "'merge': prompt-tuning trains virtual tokens"),
        ('method = "p-tuning"\n[batch]\npacking = true\n', "'batch.packing': p-tuning puts its virtual tokens"),
        ('method = "prompt-tuning"\n[prompt-tuning]\ninit = "text"\n', "init = 'text' and init-text go together"),
        ('method = "p-tuning"\n[p-tuning]\nencoder = "GRU"\n', "unknown key 'p-tuning.encoder'"),
        ('method = "adapters"\n', "'method': Input should be 'lora', 'qlora', 'p-tuning' or 'prompt-tuning'"),
    ],
)
def test_a_method_and_options_that_disagree_are_errors_naming_the_keys(tmp_path, text, message):
    path = write(tmp_path, BASE + text)
    with pytest.raises(ConfigError, match=f"^{path}: .*{message}"):
        load_train_config(path)
