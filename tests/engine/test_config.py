"""Config: found by walking up, validated key by key, select/ignore semantics."""

from __future__ import annotations

import pytest

from dqe.engine.config import Config, find_config, load_config
from dqe.engine.plugins import load_plugins
from dqe.engine.selection import select_rules
from dqe.errors import ConfigError


def test_dqe_toml_is_found_walking_up_and_wins_over_pyproject(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.dqe]\ntemplate = 'alpaca'\n")
    (tmp_path / "dqe.toml").write_text("template = 'phi3'\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_config() == tmp_path / "dqe.toml"
    assert load_config().config.template == "phi3"


def test_pyproject_without_a_dqe_table_is_skipped(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config(tmp_path) is None


def test_errors_name_file_and_key(tmp_path):
    path = tmp_path / "dqe.toml"
    path.write_text("batch-size = 0\n")
    with pytest.raises(ConfigError, match=r"dqe.toml: 'batch-size': Input should be greater than or equal to 1"):
        load_config(path)
    path.write_text("this is not toml =\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def selected(**keys):
    return [s.cls.code for s in select_rules(load_config(None, keys, discover=False).config, load_plugins())]


def test_select_extend_select_and_ignore():
    assert {"DQ001", "DQ101"} <= set(selected())
    assert selected(select=["DQ1"]) and all(code.startswith("DQ1") for code in selected(select=["DQ1"]))
    assert selected(select=["DQ101"], **{"extend-select": ["structure"]}) == ["DQ001", "DQ101"]
    assert "DQ101" not in selected(ignore=["DQ101"]) and "DQ001" in selected(ignore=["DQ101"])
    assert selected(select=["ALL"], ignore=["DQ"]) == []


def test_rule_options_and_severity_are_validated():
    with pytest.raises(ConfigError, match="'rules.NOPE001': no such rule"):
        selected(rules={"NOPE001": {}})
    with pytest.raises(ConfigError, match="unknown key 'rules.DQ101.max-tokenz'"):
        selected(rules={"DQ101": {"max-tokenz": 3}})
    with pytest.raises(ConfigError, match="severity"):
        selected(rules={"DQ101": {"severity": "fatal"}})


def test_gate_thresholds_are_validated():
    import dqe

    with pytest.raises(ConfigError, match="'gate.pass-rat': no such metric"):
        dqe.check([{"instruction": "a", "output": "b"}], gate={"pass-rat": {"fail": 0.5}})
    report = dqe.check(
        [{"instruction": "a", "output": ""}, {"instruction": "a", "output": "b"}], gate={"pass-rate": {"fail": 0.4}}
    )
    assert report.summary.gate == "pass"


def test_a_manifest_of_the_default_configuration_keeps_its_digest():
    """Gate manifests carry the config digest and `dqe train` refuses a stale one: keys added
    later (where the check runs, the trainer's encoding) leave the digest as it was while unset.
    The value is the default configuration's digest at the eighth session's end (d35086f); if a
    change must move it, every manifest written before is refused: say so in the changelog."""
    assert Config().digest() == "816ede8e03aa3cfaf7a7e17ef6ca13b2706aad647931627d7ca3f1569dc02ca1"
    assert Config(engine="ray").digest() == Config().digest()
    assert Config(model="./my-model").digest() != Config().digest()


def test_a_key_written_outside_its_table_names_the_table(tmp_path):
    (tmp_path / "dqe.toml").write_text('base-url = "http://localhost:8000/v1"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'base-url' \(a key of \[augment\]\)"):
        load_config(tmp_path / "dqe.toml")


def test_a_llamafactory_column_with_no_text_says_to_leave_it_out(tmp_path):
    # a [columns] table copied from dataset_info.json: mllm_demo's images, kto_en_demo's kto_tag
    (tmp_path / "dqe.toml").write_text('[columns]\nmessages = "messages"\nimages = "images"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'columns.images' \(LLaMA-Factory's media and KTO-label"):
        load_config(tmp_path / "dqe.toml")
