"""``dqe filter``'s outputs: every input record in exactly one of passed and rejected.

Records are written as they were read (every field kept, in the input's own record format).
A rejected record carries its reasons under ``_dqe``; an invalid one that could not even be
parsed is kept as its raw text. Both files are written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel

from dqe.engine import RunResult
from dqe.files import ObjectWriter
from dqe.reader import Reader
from dqe.report import all_findings

STATUS_CODES = {"passed": 0, "rejected": 1, "invalid": 2}


class OutputCounts(BaseModel):
    passed: int
    rejected: int
    passed_path: str
    rejected_path: str


def _reasons(result: RunResult) -> dict[int, list[dict[str, Any]]]:
    """Reasons of every record that has findings, by record position."""
    names = {a.code: a.rule.name for a in result.rules}
    names["DQ000"] = "invalid-record"
    by_record: dict[int, list[dict[str, Any]]] = {}
    for record, code, severity, score, message in all_findings(result).select(
        "record", "code", "severity", "score", "message"
    ).iter_rows():
        by_record.setdefault(record, []).append(
            {"code": code, "name": names.get(code, code), "severity": severity, "score": round(score, 4), "message": message}
        )
    return by_record


def write_outputs(result: RunResult, reader: Reader, passed: Path, rejected: Path) -> OutputCounts:
    statuses = np.full(result.statuses.height, -1, dtype=np.int8)
    statuses[result.statuses["_idx"].to_numpy()] = (
        result.statuses["status"].replace_strict(STATUS_CODES, return_dtype=pl.Int8).to_numpy()
    )
    reasons = _reasons(result)
    ok = ObjectWriter(passed)
    bad = ObjectWriter(rejected)
    try:
        for idx, (file, item, _fmt) in enumerate(reader.stream()):
            if idx >= statuses.size:
                raise RuntimeError(f"an input grew while filtering: more than the {statuses.size} records checked")
            source = f"{reader.files[file].path}:{item.line}"
            if statuses[idx] == 0:
                ok.write(item.obj)  # type: ignore[arg-type]
                continue
            meta: dict[str, Any] = {"source": source, "status": "invalid" if statuses[idx] == 2 else "rejected"}
            meta["reasons"] = reasons.get(idx, [])  # every failed rule, warnings too, to review and fix
            if item.obj is None:
                bad.write({"_dqe": {**meta, "raw": item.raw}})
            else:
                bad.write({**item.obj, "_dqe": meta})
        if ok.count + bad.count != statuses.size:
            raise RuntimeError(f"an input shrank while filtering: {ok.count + bad.count} records, {statuses.size} checked")
    except BaseException:
        ok.close(ok=False)
        bad.close(ok=False)
        raise
    ok.close()
    bad.close()
    return OutputCounts(passed=ok.count, rejected=bad.count, passed_path=str(passed), rejected_path=str(rejected))
