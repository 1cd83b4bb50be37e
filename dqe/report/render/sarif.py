"""SARIF 2.1.0, the format code-scanning services read: one result per finding, located at its
record's file and line, with the rules as the tool's reporting descriptors.

Findings are the report's sample per rule unless the check ran with ``--all-findings``; the
run's properties say which (``findingsComplete``) and carry the summary and the gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from dqe import __version__
from dqe.report.model import Report
from dqe.report.render.common import relative_path, split_source

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def artifact_uri(path: str) -> str:
    """A relative path as a relative URI reference, an absolute one as a file: URI."""
    local = relative_path(path)
    if Path(local).is_absolute():
        return Path(local).as_uri()
    return quote(Path(local).as_posix(), safe="/")


def _location(source: str, artifacts: dict[str, int]) -> dict[str, Any]:
    path, line = split_source(source)
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if path in artifacts:
        physical["artifactLocation"]["index"] = artifacts[path]
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def sarif_log(report: Report) -> dict[str, Any]:
    rule_index = {r.code: i for i, r in enumerate(report.rules)}
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary or r.name},
            "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")},
            "properties": {
                "scope": r.scope,
                "plugin": r.plugin,
                "evaluated": r.evaluated,
                "failed": r.failed,
                "errors": r.errors,
            },
        }
        for r in report.rules
    ]
    artifacts = {f.path: i for i, f in enumerate(report.files)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f.explained},
            "locations": [_location(f.source, artifacts)],
            "properties": {"record": f.record, "score": f.score},
        }
        if f.code in rule_index:
            result["ruleIndex"] = rule_index[f.code]
        if f.id:
            result["partialFingerprints"] = {"recordId/v1": f.id}
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": f"rule {e.code} (plugin {e.plugin}) raised: {e.message}"},
            "descriptor": {"id": e.code},
            **({"locations": [_location(e.source, artifacts)]} if e.source else {}),
        }
        for e in report.errors
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dqe",
                        "version": report.version,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/dqe-dev/dqe",
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "exitCode": report.exit_code,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "artifacts": [
                    {
                        "location": {"uri": artifact_uri(f.path)},
                        "properties": {"format": f.format, "records": f.records, "invalid": f.invalid},
                    }
                    for f in report.files
                ],
                "results": results,
                "properties": {
                    "summary": report.summary.model_dump(),
                    "gate": report.gate.model_dump(),
                    "findingsComplete": report.findings_complete,
                },
            }
        ],
    }


def render_sarif(report: Report) -> str:
    return orjson.dumps(sarif_log(report), option=orjson.OPT_INDENT_2).decode() + "\n"
