"""The gate on the command line with the data-set metrics of categories and domains: exit codes,
thresholds from config, and the gate manifest `dqe filter` writes (with --balance, --max-records)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from dqe.cli import main
from dqe.report.manifest import load_manifest

RULES = "DQ001,DQ411,DQ421,DQ431"  # explicit codes: other data-set rules do not join in
CATEGORIES = [
    "multi-turn", "programming", "translation", "text-correction", "text-matching", "sentiment-analysis",
    "entity-recognition", "keyword-recognition", "structured-extraction", "structured-output",
    "idiom-explanation", "reading-comprehension", "objective-test", "classification", "chain-of-thought",
    "math", "summarization", "rewriting", "reviews", "copywriting", "creative-writing", "storytelling",
    "composition", "brainstorming", "open-qa", "closed-qa", "role-play", "tool-use",
]  # fmt: skip


def records(mix: dict[str, int], medical: int = 0) -> list[dict]:
    """Records of the given categories; the first ``medical`` of them in the medical domain."""
    out = []
    for category, n in mix.items():
        out += [{"instruction": f"Task {len(out) + i}.", "output": "Done.", "category": category} for i in range(n)]
    for obj in out[:medical]:
        obj["domain"] = "medical"
    return out


BALANCED = records({c: 10 for c in CATEGORIES})  # 280 records, 10 per category
MATH_HEAVY = records({"math": 250, "programming": 50})


def shows(out: str, *words: str) -> bool:
    """Whether the text report holds these words, in order, however aligned or wrapped."""
    return re.search(r"\s+".join(re.escape(w) for phrase in words for w in phrase.split()), out) is not None


def run(*args: str):
    result = CliRunner().invoke(main, [*args, "--no-progress", "--select", RULES])
    return result.exit_code, result.output


@pytest.fixture
def data(write_jsonl):
    return lambda recs: str(write_jsonl(recs))


def test_check_passes_a_balanced_set(data):
    code, out = run("check", data(BALANCED))
    assert code == 0, out
    assert shows(out, "category-imbalance", "0", "n = 280, 95% CI 0-0.239", "PASS") and "Gate PASS" in out


def test_check_fails_a_set_dominated_by_one_category(data):
    code, out = run("check", data(MATH_HEAVY))
    assert code == 1
    assert shows(out, "category-imbalance", "0.929", "n = 300, 95% CI 0.916-1", "FAIL", "(fail > 0.85, warn > 0.6)")
    assert shows(out, "its whole 95% interval lies above the fail level 0.85")


def test_check_fails_when_vertical_domains_are_the_majority(data):
    code, out = run("check", data(records({c: 10 for c in CATEGORIES}, medical=140)))
    assert code == 1
    assert shows(out, "domain-ratio", "0.5", "n = 280, 95% CI 0.442-0.558", "FAIL", "(fail > 0.3)")


def domain_ratio(out: str) -> dict:
    return next(m for m in json.loads(out)["gate"]["metrics"] if m["name"] == "domain-ratio")


def test_a_small_set_is_measured_with_a_wide_interval_not_skipped(data):
    # 40 records, 60% medical or legal: the interval is wide, but all of it lies above 0.3
    mix = records({c: 2 for c in CATEGORIES[:20]}, medical=24)
    for obj in mix[12:24]:
        obj["domain"] = "legal"
    code, out = run("check", data(mix))
    assert code == 1
    assert shows(out, "domain-ratio", "0.6", "n = 40, 95% CI 0.446-0.737", "FAIL", "(fail > 0.3)")
    assert "SKIPPED" not in out
    _, out = run("check", data(mix), "--format", "json")
    metric = domain_ratio(out)
    assert (metric["n"], metric["value"], metric["ci_low"], metric["ci_high"]) == (40, 0.6, 0.446, 0.7365)
    assert metric["reason"] == "its whole 95% interval lies above the fail level 0.3"


def test_a_share_past_its_level_whose_interval_reaches_back_only_warns(data):
    # 14 vertical records of 40 (0.35 > 0.3), but a sample of 40 cannot tell 0.35 from 0.3
    mix = records({c: 2 for c in CATEGORIES[:20]}, medical=14)
    _, out = run("check", data(mix))
    assert shows(out, "domain-ratio", "0.35", "n = 40, 95% CI 0.221-0.505", "WARN")
    assert shows(out, "0.35 is above the fail level 0.3, but its 95% interval reaches back to it")
    _, out = run("check", data(mix), "--format", "json")
    assert domain_ratio(out)["state"] == "warn"


def test_a_metric_with_nothing_to_measure_says_why(data):
    # every record fails DQ001 (no answer): no record passes, so no share can be measured
    code, out = run("check", data([{"instruction": "Task.", "output": ""}] * 3), "--format", "json")
    metrics = {m["name"]: m for m in json.loads(out)["gate"]["metrics"]}
    assert metrics["domain-ratio"]["state"] == "skipped"
    assert metrics["domain-ratio"]["reason"] == "not measured: no records passed the record rules"
    assert metrics["category-imbalance"]["reason"] == "not measured: no records passed the record rules"


def test_json_report_carries_sections_and_metric_states(data):
    code, out = run("check", data(MATH_HEAVY), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["summary"]["gate"] == "fail"
    assert report["dataset"]["categories"]["counts"] == {"math": 250, "programming": 50}
    assert report["dataset"]["domains"]["vertical_share"] == 0.0
    states = {m["name"]: m["state"] for m in report["gate"]["metrics"]}
    assert states == {
        "pass-rate": "pass",
        "invalid-records": "pass",
        "passed-records": "pass",
        "category-imbalance": "fail",
        "domain-ratio": "pass",
    }


def test_thresholds_come_from_the_config_file(data, tmp_path):
    config = tmp_path / "dqe.toml"
    config.write_text("[gate]\ncategory-imbalance = { fail = 0.95 }\n\n[rules.DQ421]\nmax-share = 0.6\n")
    code, out = run("check", data(MATH_HEAVY), "--config", str(config))
    assert code == 0, out
    assert shows(out, "category-imbalance", "0.929", "n = 300, 95% CI 0.916-1", "WARN")
    assert shows(out, "domain-ratio", "0", "n = 300, 95% CI 0-0.013", "PASS", "(fail > 0.6)")


def test_an_unknown_gate_metric_is_a_config_error(data, tmp_path):
    config = tmp_path / "dqe.toml"
    config.write_text("[gate]\ncategory-balance = { fail = 0.5 }\n")
    code, out = run("check", data(BALANCED), "--config", str(config))
    assert code == 2
    assert "'gate.category-balance': no such metric; known: category-imbalance, " in out
    assert "domain-ratio" in out


def test_a_threshold_of_a_rule_left_out_is_shown_skipped(data, tmp_path):
    config = tmp_path / "dqe.toml"
    config.write_text("[gate]\nduplicate-rate = { fail = 0.1 }\n")
    code, out = run("check", data(BALANCED), "--config", str(config))
    assert code == 0, out
    assert shows(out, "duplicate-rate", "-", "SKIPPED", "(fail > 0.1,")


def test_filter_writes_a_failing_manifest_for_a_failing_set(data, tmp_path):
    passed, rejected = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    code, out = run("filter", data(MATH_HEAVY), "--passed", str(passed), "--rejected", str(rejected))
    assert code == 1
    assert "gate: category-imbalance = 0.929, n = 300, 95% CI 0.916-1 (fail; fail > 0.85, warn > 0.6; its whole" in out
    manifest = load_manifest(tmp_path / "ok.jsonl.manifest.json")
    assert manifest.gate.verdict == "fail"
    assert manifest.dataset["categories"]["imbalance"] == 0.9286
    assert manifest.dataset["domains"]["max_vertical_share"] == 0.3
    assert len(manifest.passed_ids) == 300


def test_filter_balance_downsamples_and_the_manifest_passes(data, tmp_path):
    passed, rejected = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    mix = {c: 10 for c in CATEGORIES} | {"math": 400}
    code, out = run("filter", data(records(mix)), "--passed", str(passed), "--rejected", str(rejected), "--balance")
    assert code == 0, out
    kept = [json.loads(line) for line in passed.read_text().splitlines()]
    dropped = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert len(kept) + len(dropped) == 670
    # 27 categories of 10 plus math: math may keep 2 x 1/28 of the selection (20 of 290)
    assert sum(r["category"] == "math" for r in kept) == 20
    assert {r["category"] for r in dropped} == {"math"}
    assert dropped[0]["_dqe"]["reasons"] == [
        {
            "code": "DQ411",
            "name": "category-balance",
            "severity": "error",
            "score": 1.0,
            "message": "over the quota of category math: 20 of 400 kept (best by quality)",
        }
    ]
    manifest = load_manifest(tmp_path / "ok.jsonl.manifest.json")
    assert manifest.gate.verdict == "pass"
    assert manifest.dataset["records"] == {
        "total": 670, "passed": 290, "rejected": 380, "invalid": 0, "deselected": 380, "pass_rate": 1.0, "generated": 0,
    }  # fmt: skip
    assert manifest.dataset["categories"]["quotas"]["math"] == 20
    assert len(manifest.passed_ids) == 290


def test_filter_max_records_keeps_n_and_changes_the_config_hash(data, tmp_path):
    source = data(BALANCED)
    hashes = []
    for extra in ([], ["--max-records", "56"]):
        passed = tmp_path / f"ok{len(extra)}.jsonl"
        code, out = run("filter", source, "--passed", str(passed), "--rejected", str(tmp_path / "bad.jsonl"), *extra)
        assert code == 0, out
        manifest = load_manifest(passed.with_name(passed.name + ".manifest.json"))
        hashes.append(manifest.config.sha256)
    assert manifest.passed.records == 56
    assert set(manifest.dataset["categories"]["counts"].values()) == {2}  # 2 of each of 28
    assert hashes[0] != hashes[1]


def test_max_records_must_be_positive(data, tmp_path):
    code, out = run(
        "filter",
        data(BALANCED),
        "--passed",
        str(tmp_path / "a.jsonl"),
        "--rejected",
        str(tmp_path / "b.jsonl"),
        "--max-records",
        "0",
    )
    assert code == 2 and "--max-records" in out


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("pass-rate = { fail = 1.5 }", "'gate.pass-rate.fail': 1.5 is outside the values pass-rate can take (0 to 1)"),
        ("pass-rate = { fail = -0.2 }", "'gate.pass-rate.fail': -0.2 is outside the values pass-rate can take"),
        (
            "duplicate-rate = { fail = 0.05, warn = 0.2 }",
            "'gate.duplicate-rate.warn': 0.2 is above the fail level 0.05",
        ),
    ],
)
def test_a_threshold_that_could_never_pass_or_fail_is_a_config_error(data, tmp_path, table, message):
    config = tmp_path / "dqe.toml"
    config.write_text(f"[gate]\n{table}\n")
    code, out = run("check", data(BALANCED), "--config", str(config))
    assert code == 2 and message in " ".join(out.split())
