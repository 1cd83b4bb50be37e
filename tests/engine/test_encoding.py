"""The trainer's encoding as a check learns it: from --model, a train.toml, and what goes wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqe.engine.config import Config
from dqe.engine.encoding import EncodingSettings, encoding_settings, load_model_tokenizer, make_encoder
from dqe.errors import ConfigError
from dqe.io.formats.base import Columns


def test_the_defaults_are_the_trainers():
    from dqe.engine.train_config import TrainConfig

    trainer = TrainConfig(model="m", data=Path("d"), out=Path("o"))
    ours = EncodingSettings(model="m")
    assert (ours.template, ours.system, ours.learn_all_turns) == (
        trainer.template,
        trainer.system,
        trainer.learn_all_turns,
    )
    assert (ours.seq_len, ours.overlong) == (trainer.batch.seq_len, trainer.batch.overlong)


def test_a_train_toml_gives_its_model_template_system_prompt_and_seq_len(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "train.toml").write_text(
        'model = "base"\ntemplate = "chatml"\nsystem = "Be brief."\nlearn-all-turns = true\n'
        'data = "ok.jsonl"\nout = "runs/x"\n[batch]\nseq-len = 512\noverlong = "drop"\nmicro-batch-size = 2\n'
    )
    settings = encoding_settings(Config(train_config="train.toml"), tmp_path)
    assert settings == EncodingSettings(
        model=str((tmp_path / "base").resolve()),
        template="chatml",
        system="Be brief.",
        learn_all_turns=True,
        seq_len=512,
        overlong="drop",
    )


def test_model_alone_takes_the_checks_template_and_the_trainers_defaults(tmp_path):
    (tmp_path / "base").mkdir()
    settings = encoding_settings(Config(model="base", template="alpaca"), tmp_path)
    assert settings == EncodingSettings(model=str((tmp_path / "base").resolve()), template="alpaca")
    assert encoding_settings(Config(), tmp_path) is None


def test_a_train_toml_without_a_model_or_with_a_bad_value_names_the_file_and_key(tmp_path):
    (tmp_path / "train.toml").write_text('template = "alpaca"\n')
    with pytest.raises(ConfigError, match="train.toml: no 'model' key"):
        encoding_settings(Config(train_config="train.toml"), tmp_path)
    (tmp_path / "train.toml").write_text('model = "m/x"\n[batch]\nseq-len = 2\n')
    with pytest.raises(ConfigError, match=r"train.toml: 'batch.seq-len'"):
        encoding_settings(Config(train_config="train.toml"), tmp_path)


def test_a_train_toml_the_trainer_would_refuse_is_refused_before_counting(tmp_path):
    """seq-len outside [batch] would leave the check counting at 2048 while dqe train stops."""
    (tmp_path / "train.toml").write_text('model = "m/x"\nseq-len = 512\n')
    with pytest.raises(ConfigError, match=r"train.toml: unknown key 'seq-len' \(a key of \[batch\]\)"):
        encoding_settings(Config(train_config="train.toml"), tmp_path)


def test_model_and_train_config_naming_different_models_is_an_error(tmp_path):
    (tmp_path / "train.toml").write_text('model = "org/one"\n')
    with pytest.raises(ConfigError, match="'model' is org/two but 'train-config' train.toml trains org/one"):
        encoding_settings(Config(model="org/two", train_config="train.toml"), tmp_path)


def test_a_model_folder_without_a_tokenizer_names_the_folder(tmp_path):
    (tmp_path / "weights").mkdir()
    with pytest.raises(ConfigError, match=r"'model': .*weights holds no tokenizer"):
        load_model_tokenizer(str(tmp_path / "weights"))
    with pytest.raises(ConfigError, match=r"'model': .*missing: no such folder"):
        load_model_tokenizer(str(tmp_path / "missing"))


def test_a_template_that_does_not_exist_names_the_key(english_model):
    from dqe.engine.plugins import load_plugins

    tokenizer = load_model_tokenizer(str(english_model))
    with pytest.raises(ConfigError, match="'template': no template 'alpacca'; known: alpaca, chatml"):
        make_encoder(
            tokenizer, "alpacca", load_plugins().templates, system=None, learn_all_turns=False, columns=Columns()
        )
