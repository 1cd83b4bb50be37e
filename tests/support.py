"""What many tests share that is not a fixture: the real data in ../shared/data and a one-rule check."""

from __future__ import annotations

from pathlib import Path

import pytest

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
