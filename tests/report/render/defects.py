"""A small generated data set with one record of each defect the report must show, and the
data-set sections the dataset rules produce, as they will produce them."""

from __future__ import annotations

from dqe.engine.gate import MetricResult

PAYLOAD = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned-img'\">"
MARKDOWN = "| a | b |\n**bold** [link](http://example.com) `code`"


def defect_records(n: int = 120) -> list[dict | str]:
    """Alpaca records, most of them fine, with planted defects at fixed places."""
    records: list[dict | str] = []
    for i in range(n):
        records.append(
            {
                "instruction": f"Explain topic {i} in two sentences.",
                "input": "",
                "output": f"Topic {i} is about things. It matters. " * (1 + i % 5),
            }
        )
    records[3] = {"instruction": f"{PAYLOAD} 请解释这段代码", "input": "", "output": ""}  # empty answer, hostile text
    records[7] = {
        "instruction": "把这句话翻译成英文：今天天气很好。",
        "input": "",
        "output": "",
    }  # Chinese, empty answer
    records[11] = {"instruction": "Write a long essay.", "input": "", "output": "word " * 5000}  # over 4,096 tokens
    records[15] = {"instruction": MARKDOWN, "input": "", "output": ""}
    records[20] = '{"instruction": "cut off", '  # malformed JSON
    return records


SECTIONS = {
    "categories": {
        "counts": {"open questions": 60, "math": 30, "translation": 20, "<b>bold</b> $x$ category": 10},
        "target": {"open questions": 0.25, "math": 0.25, "translation": 0.25, "summarization": 0.25},
        "entropy": 0.81,
        "imbalance": 0.42,
        "missing": ["summarization"],
        "most": ["open questions"],
        "least": ["<b>bold</b> $x$ category"],
    },
    "languages": {"question": {"en": 110, "zh": 9, "ja": 1}, "answer": {"en": 112, "zh": 8}, "mismatch": 2},
    "domains": {
        "counts": {"medical": 12, "legal": 5, "finance": 3},
        "vertical_share": 0.1667,
        "max_vertical_share": 0.2,
    },
    "cot": {"share": 0.2, "share_reasoning": 0.55, "reasoning_records": 40, "cot_records": 24},
    "duplicates": {
        "rate": 0.05,
        "exact": 3,
        "near": 3,
        "clusters": 2,
        "largest": [
            {
                "id": "c1a2b3",
                "size": 4,
                "examples": [{"source": "data.jsonl:9", "text": f"near-identical answer {PAYLOAD}"}],
            },
            {"id": "d4e5f6", "size": 2, "examples": [{"source": "data.jsonl:31", "text": "我是一个人工智能助手。"}]},
        ],
    },
    "judge": {"mean_score": 0.73, "model": "tiny-judge"},  # a plugin's section no plot knows
}

SECTION_METRICS = [
    MetricResult(
        name="duplicate-rate",
        key="duplicates.rate",
        description="share of records that duplicate another",
        direction="max",
        value=0.05,
        fail=0.1,
        warn=0.03,
        state="warn",
    ),
    MetricResult(
        name="category-imbalance",
        key="categories.imbalance",
        description="distance of the category mix from its target",
        direction="max",
        value=0.42,
        fail=0.3,
        warn=None,
        state="fail",
    ),
    MetricResult(
        name="vertical-share",
        key="domains.vertical_share",
        description="share of vertical-domain records",
        direction="max",
        value=0.1667,
        fail=0.2,
        warn=None,
        state="pass",
    ),
    MetricResult(
        name="cot-share-reasoning",
        key="cot.share_reasoning",
        description="chain of thought among reasoning records",
        direction="min",
        value=0.55,
        fail=0.5,
        warn=0.7,
        state="warn",
    ),
]
