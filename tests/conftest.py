"""Shared fixtures: the real data in ../shared/data and small helpers to write inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests try a few generated examples in the default run, each test's @example cases
# always; the slow CI step tries many (`--hypothesis-profile thorough`). A test that sets its
# own max_examples keeps it in both: only cheap tests do. No deadline: the CI machine is shared.
settings.register_profile("fast", max_examples=10, deadline=None)
settings.register_profile("thorough", max_examples=100, deadline=None)
settings.load_profile("fast")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

REAL_FILES = {
    "rasbt_instruction_data.json": ("alpaca", 1100),
    "llamafactory_alpaca_en_demo.json": ("alpaca", 999),
    "llamafactory_alpaca_zh_demo.json": ("alpaca", 1000),
    "llamafactory_identity.json": ("alpaca", 91),
    "llamafactory_glaive_toolcall_en_demo.json": ("sharegpt", 300),
    "llamafactory_v1_sft_demo.jsonl": ("openai", 500),
    "fastchat_dummy_conversation.json": ("sharegpt", 500),
    "gsm8k_train_alpaca.json": ("alpaca", 7473),
    "gpteacher_codegen_instruct.json": ("alpaca", 4535),  # its answer field is 'response'
}


def langdetect_reference(text: str) -> str:
    """langdetect's own ``detect()``, seeded as its README says to (``und``: no features)."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return "und"


def real(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings taken as lines) to a JSONL file and return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run each test from an empty folder, so that no dqe.toml of the machine leaks in, and
    with installed plugins off (built-ins stay), so that dqe is tested as shipped. Tests of
    plugin loading switch them back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DQE_DISABLE_PLUGINS", "all")


def failures(source, code: str, **config) -> dict[int, str]:
    """The records ``code`` fails in ``source`` (only that rule selected): {record index: message}."""
    import dqe

    report = dqe.check(source, select=[code], complete=True, **config)
    return {f.record: f.message for f in report.findings if f.code == code}
