"""What many tests share that is not a fixture: the real data in ../shared/data and a one-rule check."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqe.testing import conversation

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


def failures(source, code: str, **config) -> dict[int, str]:
    """The records ``code`` fails in ``source`` (only that rule selected): {record index: message}."""
    import dqe

    report = dqe.check(source, select=[code], complete=True, **config)
    return {f.record: f.message for f in report.findings if f.code == code}


def write_scores(path: Path, records: list[dict], ifds: list[float | None], **encoding) -> Path:
    """A score file as ``dqe score`` writes it, for ``records`` with these IFDs (None: not
    scored), made without a model: perplexity 10 with the question, 10 / IFD without."""
    from dqe.engine.encoding import EncodingSettings
    from dqe.engine.scores import ScoreHeader, score_lines
    from dqe.io.reader import record_id

    header = ScoreHeader(
        model_sha256="0" * 64,
        precision="fp32",
        encoding=EncodingSettings(model=encoding.pop("model", "tiny"), **encoding),
    )
    rows = [
        {"id": record_id(r), "source": f"data.jsonl:{n + 1}"}
        | (
            {"tokens": 5, "ppl": 10.0, "ppl_alone": 10.0 / ifd, "ifd": ifd}
            if ifd is not None
            else {"error": "seq-len 2048 cuts the whole answer away"}
        )
        for n, (r, ifd) in enumerate(zip(records, ifds, strict=True))
    ]
    path.write_bytes(score_lines(header, rows))
    return path


FU_HONGXUE = "你是傅红雪，出自《天涯明月刀》。请以傅红雪的身份和口吻回答。\n性格：孤傲、冷僻，沉默寡言。"


def fu_hongxue_scene(*turns: str) -> dict:
    """A CharacterEval-style scene (unseen): Fu Hongxue in the system prompt, another character's
    lines prefixed with her name; ``turns`` are the user and assistant turns, alternating."""
    return conversation(*turns, system=FU_HONGXUE)


# the other character's whys in such a scene, answered in voice: dialogue, not questions to reason out
SCENE_WHYS = (
    "卓玉贞：我们为什么要到这里来？",
    "一粒白米，要藏在什么地方最安全？",
    "卓玉贞：藏在一大堆白米里。",
    "一口棺材要藏在什么地方才最不引人注意？",
    "卓玉贞：我们为什么不去找燕南飞的那个朋友杜十七？",
    "我们不能去。",
)
