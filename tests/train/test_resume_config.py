"""A run folder's config: resuming reads it, and a config given again must be the same one."""

from __future__ import annotations

import pytest

from dqe.engine.train_config import load_train_config
from dqe.errors import ConfigError
from dqe.train.run import CONFIG_FILE, resume_config


def test_resume_refuses_a_config_that_differs_from_the_run(tmp_path):
    from dqe.train.runfolder import write_json

    config = load_train_config(None, {"model": "m", "data": tmp_path / "d.jsonl", "out": tmp_path / "run"}).resolved()
    (tmp_path / "run").mkdir()
    write_json(tmp_path / "run" / CONFIG_FILE, config.to_json())
    assert resume_config(tmp_path / "run", None, {}) == config
    assert resume_config(tmp_path / "run", None, {"seed": 0}) == config
    with pytest.raises(ConfigError, match=r"'lora.r' was 16, now 4"):
        resume_config(tmp_path / "run", None, {"lora.r": 4})
    with pytest.raises(ConfigError, match="no run there"):
        resume_config(tmp_path / "elsewhere", None, {})
