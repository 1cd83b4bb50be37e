"""How right dqe is on the labelled judgement set (benchmarks/judgments/, issue 13).

Loads every `benchmarks/judgments/*.jsonl` (each line validated: a bad label stops the run with
its file and line), writes the records into one temporary input file per record format (records
drawn from ../shared/data read by reference, hand-written ones as they are), runs `dqe.check`
with every built-in DQ rule and complete findings, and compares findings and labels with the
truth: precision and recall per record rule (all records, and random, enriched and hand-written
picks apart), the share of true positives whose finding names the right turn, DQ401/DQ402 pairs
against `duplicate_of`, category accuracy with its confusion matrix, subject, domain and
chain-of-thought need; and the domain from the question alone (answers blanked, as a gate sees a
set whose answers are yet to be written): the vertical records found and the general records
kept general.

    python benchmarks/bench_judgments.py                # the figures
    python benchmarks/bench_judgments.py --json         # the same as JSON
    python benchmarks/bench_judgments.py --show DQ201   # the rule's false positives and negatives
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

import dqe
from dqe.engine.config import load_config
from dqe.engine.context import Context
from dqe.engine.plugins import load_plugins
from dqe.features.category import Category as CategoryFeature
from dqe.features.domain import Domain as DomainFeature
from dqe.io.reader import Reader

ROOT = Path(__file__).resolve().parent.parent
JUDGMENTS = ROOT / "benchmarks" / "judgments"
DATA = ROOT.parent / "shared" / "data"

RECORD_RULES = (
    "DQ001",
    "DQ002",
    "DQ101",
    "DQ102",
    "DQ201",
    "DQ202",
    "DQ203",
    "DQ204",
    "DQ205",
    "DQ206",
    "DQ207",
    "DQ208",
)
RECORD_RULES += ("DQ302",)
DUPLICATE_RULES = ("DQ401", "DQ402")
GROUPS = ("all", "random", "enriched", "handwritten")

Category = Literal[
    "programming", "translation", "text-correction", "text-matching", "sentiment-analysis", "entity-recognition",
    "keyword-recognition", "structured-extraction", "structured-output", "idiom-explanation", "reading-comprehension",
    "objective-test", "classification", "chain-of-thought", "math", "summarization", "rewriting", "reviews",
    "copywriting", "creative-writing", "storytelling", "composition", "brainstorming", "open-qa", "closed-qa",
    "multi-turn", "role-play", "tool-use",
]  # fmt: skip
Subject = Literal["stem", "humanities", "social", "everyday", "none"]
Domain = Literal["medical", "legal", "finance", "ecommerce", "mental-health", "general"]
RuleCode = Literal[RECORD_RULES]  # type: ignore[valid-type]


class JudgmentError(Exception):
    """A judgement file that cannot be used: the message names the file and line."""


class Ref(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    index: int = Field(ge=0)


class Judgment(BaseModel):
    """One labelled record, as benchmarks/judgments/README.md describes it."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    ref: Ref | None = None
    record: dict[str, Any] | None = None
    format: Literal["alpaca", "sharegpt", "openai", "moss"] | None = None
    pick: Literal["random", "enriched"] | None = None
    fails: dict[RuleCode, int | None] = Field(default_factory=dict)
    category: Category
    subject: Subject
    domain: Domain
    cot: Literal["needs", "no"]
    duplicate_of: str | None = None
    note: str = ""
    _where: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _consistent(self) -> Judgment:
        if (self.ref is None) == (self.record is None):
            raise ValueError("exactly one of 'ref' and 'record' is needed")
        if self.record is not None and self.format is None:
            raise ValueError("a hand-written 'record' needs its 'format'")
        if self.ref is not None and self.pick is None:
            raise ValueError("a record drawn by 'ref' needs its 'pick' (random or enriched)")
        if any(turn is not None and turn < 1 for turn in self.fails.values()):
            raise ValueError("'fails' turns are 1-based")
        if (self.fails or self.duplicate_of) and not self.note.strip():
            raise ValueError("a record that fails something or duplicates another needs a 'note'")
        return self

    @property
    def group(self) -> str:
        return self.pick or "handwritten"

    @property
    def where(self) -> str:
        return self._where


def load_judgments(folder: Path = JUDGMENTS) -> list[Judgment]:
    """Every judgement of `folder`/*.jsonl, validated; ids unique, `duplicate_of` resolving."""
    judgments: list[Judgment] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                judgment = Judgment.model_validate_json(line)
            except ValidationError as exc:
                problems = "; ".join(
                    f"'{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" if e["loc"] else e["msg"]
                    for e in exc.errors(include_url=False)
                )
                raise JudgmentError(f"{where}: {problems}") from None
            if judgment.id in seen:
                raise JudgmentError(f"{where}: id '{judgment.id}' is already used at {seen[judgment.id]}")
            judgment._where = where
            seen[judgment.id] = where
            judgments.append(judgment)
    for judgment in judgments:
        if judgment.duplicate_of is not None and judgment.duplicate_of not in seen:
            raise JudgmentError(
                f"{judgment.where}: 'duplicate_of' names '{judgment.duplicate_of}', which no judgement has"
            )
    return judgments


def _source_records(judgments: Iterable[Judgment], data: Path) -> dict[str, dict[str, Any]]:
    """The record of every judgement: read from `data` by reference, or hand-written."""
    files: dict[str, list[Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for j in judgments:
        if j.record is not None:
            out[j.id] = j.record
            continue
        assert j.ref is not None
        if j.ref.file not in files:
            path = data / j.ref.file
            if not path.is_file():
                raise JudgmentError(f"{j.where}: 'ref.file' {j.ref.file} is not in {data}")
            text = path.read_text("utf-8")
            files[j.ref.file] = (
                [json.loads(x) for x in text.splitlines() if x.strip()] if path.suffix == ".jsonl" else json.loads(text)
            )
        rows = files[j.ref.file]
        if j.ref.index >= len(rows):
            raise JudgmentError(f"{j.where}: 'ref.index' {j.ref.index} is past the {len(rows)} records of {j.ref.file}")
        out[j.id] = rows[j.ref.index]
    return out


def _format(j: Judgment, obj: dict[str, Any]) -> str:
    if j.format is not None:
        return j.format
    return "sharegpt" if "conversations" in obj else "openai" if "messages" in obj else "alpaca"


def materialize(judgments: list[Judgment], folder: Path, data: Path = DATA) -> dict[str, str]:
    """Write the records into `folder`, one JSONL file per format; returns file:line -> judgement id.

    An Alpaca record that names its answer `response` (GPTeacher's code set) is written with
    `output`, so that one run reads every file with the default columns."""
    records = _source_records(judgments, data)
    lines: dict[str, list[str]] = defaultdict(list)
    where: dict[str, str] = {}
    for j in judgments:
        obj = records[j.id]
        fmt = _format(j, obj)
        if fmt == "alpaca" and "response" in obj and "output" not in obj:
            obj = {("output" if k == "response" else k): v for k, v in obj.items()}
        path = folder / f"{fmt}.jsonl"
        lines[fmt].append(json.dumps(obj, ensure_ascii=False))
        where[f"{path}:{len(lines[fmt])}"] = j.id
    for fmt, rows in lines.items():
        (folder / f"{fmt}.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    return where


def record_labels(report: dqe.Report) -> pl.DataFrame:
    """What dqe labelled each record with: record, category, subject, domain, cot_need (bool).
    Subject is null while no feature labels it."""
    labels = report.labels
    subject = pl.col("subject") if "subject" in labels.columns else pl.lit(None, pl.String)
    return labels.select(
        "record", "category", subject.alias("subject"), "domain", cot_need=pl.col("cot.need").is_not_null()
    )


@dataclass
class Run:
    """dqe's verdicts on the set, by judgement id."""

    registered: list[str]
    findings: dict[str, dict[str, list[tuple[str, int | None]]]]  # id -> code -> (message, turn named)
    roles: dict[str, list[str]]  # id -> roles of its turns, as dqe numbers them (1-based)
    labels: dict[str, dict[str, Any]]  # id -> category, subject, domain, cot_need
    partners: dict[str, list[str]]  # id -> ids a DQ401/DQ402 finding names as the record kept
    alone: dict[str, str]  # id -> domain from the question alone (answers blanked)


def domains_from_question(folder: Path, where: dict[str, str]) -> dict[str, str]:
    """The domain feature on every record of ``folder`` with its answer blanked, by judgement id."""
    registry = load_plugins()
    context = Context(load_config(discover=False), registry)
    category, domain = CategoryFeature(context), DomainFeature(context)
    alone: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for batch in Reader(path, registry.formats):
            blank = batch.frame.with_columns(answer=pl.lit(""))
            labels = domain.compute(blank.hstack(category.compute(blank).get_columns()))["domain_pred"]
            alone.update((where[f"{path}:{line}"], d) for line, d in zip(batch.frame["_line"], labels, strict=True))
    return alone


def run_dqe(judgments: list[Judgment], data: Path = DATA) -> Run:
    """Check the set with every built-in DQ rule, complete findings."""
    with tempfile.TemporaryDirectory(prefix="dqe-judgments-") as tmp:
        folder = Path(tmp)
        where = materialize(judgments, folder, data)
        paths = sorted(str(p) for p in folder.glob("*.jsonl"))
        report = dqe.check(paths, config={}, select=["DQ"], workers=1, complete=True)
        records = report.records.select("record", "source")
        ids = {rec: where[src] for rec, src in records.iter_rows()}
        texts = report.record_texts(ids)
        alone = domains_from_question(folder, where)
    if report.summary.invalid:
        bad = report.findings_frame.filter(pl.col("code") == "DQ000")
        raise JudgmentError(
            "records dqe could not read: "
            + "; ".join(f"{ids.get(r, s)}: {m}" for r, s, m in bad.select("record", "source", "message").iter_rows())
        )
    findings: dict[str, dict[str, list[tuple[str, int | None]]]] = defaultdict(lambda: defaultdict(list))
    partners: dict[str, list[str]] = defaultdict(list)
    for rec, code, message, turn in report.findings_frame.select("record", "code", "message", "turn").iter_rows():
        jid = ids[rec]
        findings[jid][code].append((message, turn))
        if code in DUPLICATE_RULES:
            kept = re.match(r"(?:exact |near-)duplicate of (\S+:\d+)", message)
            if kept and kept.group(1) in where:
                partners[jid].append(where[kept.group(1)])
    labels = {ids[row["record"]]: row for row in record_labels(report).iter_rows(named=True)}
    return Run(
        registered=[r.code for r in report.rules],
        findings={k: dict(v) for k, v in findings.items()},
        roles={ids[rec]: [t.role for t in text.turns] for rec, text in texts.items()},
        labels=labels,
        partners=dict(partners),
        alone=alone,
    )


def named_turns(code: str, message: str, roles: list[str]) -> set[int]:
    """The turns (1-based) a finding's message points at, for findings that leave their `turn`
    null: "turn 3", "assistant turn 4", the answer
    (the last assistant turn; any assistant turn for DQ204's "in answer"), the question (the last
    user turn before the answer; any user turn for DQ204's "in instruction")."""
    numbers = {int(n) for n in re.findall(r"\bturn (\d+)", message)}
    if numbers:
        return numbers
    if "first turn" in message:
        return {1}
    assistant = [i for i, role in enumerate(roles, 1) if role == "assistant"]
    user = [i for i, role in enumerate(roles, 1) if role == "user"]
    answer = set(assistant[-1:])
    question = set([i for i in user if not assistant or i < assistant[-1]][-1:])
    if code == "DQ204":
        return (set(assistant) if " in answer" in message else set()) | (
            set(user) if " in instruction" in message else set()
        )
    if code in ("DQ201", "DQ302"):  # "question needs reasoning, the answer shows none", "question zh, answer en"
        return answer
    turns: set[int] = set()
    for part in message.split("; "):
        if re.search(r"\banswer\b", part):
            turns |= answer
        if re.search(r"\b(question|instruction)\b", part):
            turns |= question
    return turns


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score_rules(judgments: list[Judgment], run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in RECORD_RULES:
        if code not in run.registered:
            out[code] = {"registered": False}
            continue
        groups: dict[str, Counter] = {g: Counter() for g in GROUPS}
        turn_right = turn_checked = 0
        for j in judgments:
            truth = code in j.fails
            hits = run.findings.get(j.id, {}).get(code, [])
            kind = "tp" if truth and hits else "fn" if truth else "fp" if hits else "tn"
            for g in ("all", j.group):
                groups[g][kind] += 1
            if kind == "tp" and j.fails[code] is not None:
                turn_checked += 1
                roles = run.roles.get(j.id, [])
                named = set().union(*({t} if t is not None else named_turns(code, m, roles) for m, t in hits))
                turn_right += j.fails[code] in named
        out[code] = {
            "registered": True,
            **{
                g: {
                    "tp": c["tp"],
                    "fp": c["fp"],
                    "fn": c["fn"],
                    "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
                    "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
                }
                for g, c in groups.items()
            },
            "turn_share": _ratio(turn_right, turn_checked),
        }
    return out


def _clusters(edges: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in list(parent):
        groups[root(x)].add(x)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def _pairs(clusters: set[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset((a, b)) for c in clusters for a in c for b in c if a < b}


def score_duplicates(judgments: list[Judgment], run: Run) -> dict[str, Any]:
    """Pairs of records in one duplicate cluster, truth (duplicate_of) against dqe (DQ401/DQ402)."""
    truth = _pairs(_clusters((j.id, j.duplicate_of) for j in judgments if j.duplicate_of))
    found = _pairs(_clusters((a, b) for a, kept in run.partners.items() for b in kept))
    tp = len(truth & found)
    return {
        "registered": all(code in run.registered for code in DUPLICATE_RULES),
        "truth_pairs": len(truth),
        "found_pairs": len(found),
        "tp": tp,
        "precision": _ratio(tp, len(found)),
        "recall": _ratio(tp, len(truth)),
        "false_pairs": sorted(sorted(p) for p in found - truth),
        "missed_pairs": sorted(sorted(p) for p in truth - found),
    }


def score_labels(judgments: list[Judgment], run: Run) -> dict[str, Any]:
    """Category, subject, domain and CoT need, per pick; the category confusion matrix."""
    out: dict[str, Any] = {}
    fields = {
        "category": lambda j, p: p["category"] == j.category,
        "subject": lambda j, p: p["subject"] == j.subject,
        "domain": lambda j, p: p["domain"] == j.domain,
        "cot": lambda j, p: p["cot_need"] == (j.cot == "needs"),
    }
    for name, right in fields.items():
        if name == "subject" and all(run.labels[j.id]["subject"] is None for j in judgments):
            out[name] = {"available": False}
            continue
        acc = {}
        for g in GROUPS:
            chosen = [j for j in judgments if g in ("all", j.group)]
            acc[g] = _ratio(sum(bool(right(j, run.labels[j.id])) for j in chosen), len(chosen))
        out[name] = {"available": True, "accuracy": acc}
    confusion: dict[str, Counter] = defaultdict(Counter)
    for j in judgments:
        confusion[j.category][run.labels[j.id]["category"] or "none"] += 1
    n = len(judgments)
    out["category"]["open_qa_predicted_share"] = _ratio(sum(c["open-qa"] for c in confusion.values()), n)
    out["category"]["open_qa_true_share"] = _ratio(sum(confusion["open-qa"].values()), n)
    out["category"]["confusion"] = {t: dict(c.most_common()) for t, c in sorted(confusion.items())}
    vertical = [j for j in judgments if j.domain != "general"]
    general = [j for j in judgments if j.domain == "general"]
    out["domain"]["from_question"] = {
        "accuracy": _ratio(sum(run.alone[j.id] == j.domain for j in judgments), len(judgments)),
        "vertical": len(vertical),
        "vertical_found": _ratio(sum(run.alone[j.id] == j.domain for j in vertical), len(vertical)),
        "general_kept": _ratio(sum(run.alone[j.id] == "general" for j in general), len(general)),
    }
    return out


def evaluate(folder: Path = JUDGMENTS, data: Path = DATA) -> dict[str, Any]:
    """Every figure of the benchmark, as one JSON-able dict."""
    judgments = load_judgments(folder)
    run = run_dqe(judgments, data)
    return {
        "records": {g: sum(g in ("all", j.group) for j in judgments) for g in GROUPS},
        "rules": score_rules(judgments, run),
        "duplicates": score_duplicates(judgments, run),
        "labels": score_labels(judgments, run),
    }


def floor_figures(results: dict[str, Any]) -> dict[str, float]:
    """The figures a test holds to floors (benchmarks/judgments/floors.toml), by dotted key."""
    flat: dict[str, float | None] = {}
    for code, rule in results["rules"].items():
        if rule["registered"]:
            flat[f"rules.{code}.precision"] = rule["all"]["precision"]
            flat[f"rules.{code}.recall"] = rule["all"]["recall"]
            flat[f"rules.{code}.turn-share"] = rule["turn_share"]
    flat["duplicates.precision"] = results["duplicates"]["precision"]
    flat["duplicates.recall"] = results["duplicates"]["recall"]
    for name, label in results["labels"].items():
        if label["available"]:
            flat[f"labels.{name}-accuracy"] = label["accuracy"]["all"]
    alone = results["labels"]["domain"]["from_question"]
    flat["labels.domain-from-question-vertical-found"] = alone["vertical_found"]
    flat["labels.domain-from-question-general-kept"] = alone["general_kept"]
    return {k: v for k, v in flat.items() if v is not None}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def render(results: dict[str, Any]) -> str:
    r = results["records"]
    lines = [
        f"{r['all']} judgements: {r['random']} random, {r['enriched']} enriched, {r['handwritten']} hand-written",
        "",
    ]
    lines.append(
        "record rules    tp   fp   fn  precision  recall | random P/R      | enriched P/R    | hand-written P/R | turn"
    )
    for code, rule in results["rules"].items():
        if not rule["registered"]:
            lines.append(f"{code}   not registered")
            continue
        a = rule["all"]
        parts = [
            f"{_pct(rule[g]['precision']):>6} {_pct(rule[g]['recall']):>6}"
            for g in ("random", "enriched", "handwritten")
        ]
        lines.append(
            f"{code}        {a['tp']:>4} {a['fp']:>4} {a['fn']:>4}  {_pct(a['precision']):>9} {_pct(a['recall']):>7} | "
            + " | ".join(f"{p:<15}" for p in parts)
            + f" | {_pct(rule['turn_share'])}"
        )
    d = results["duplicates"]
    found = (
        f"{d['found_pairs']} found, {d['tp']} right: precision {_pct(d['precision'])}, recall {_pct(d['recall'])}"
        if d["registered"]
        else "DQ401/DQ402 not registered"
    )
    lines += [
        "",
        f"duplicates (pairs of records, DQ401/DQ402 against duplicate_of): {d['truth_pairs']} true, {found}",
        "",
    ]
    labels = results["labels"]
    for name in ("category", "subject", "domain", "cot"):
        label = labels[name]
        if not label["available"]:
            lines.append(f"{name:<9} accuracy: not available (dqe labels no {name} yet)")
            continue
        acc = label["accuracy"]
        lines.append(
            f"{name:<9} accuracy: {_pct(acc['all'])} (random {_pct(acc['random'])}, enriched {_pct(acc['enriched'])}, "
            f"hand-written {_pct(acc['handwritten'])})"
        )
    q = labels["domain"]["from_question"]
    lines.append(
        f"domain from the question alone: {_pct(q['accuracy'])}; vertical records {q['vertical']}, found "
        f"{_pct(q['vertical_found'])}; general records kept general {_pct(q['general_kept'])}"
    )
    c = labels["category"]
    lines += [
        f"open-qa: predicted for {_pct(c['open_qa_predicted_share'])} of records, true for {_pct(c['open_qa_true_share'])}",
        "",
        "category confusion (truth: n, right, predicted as ...)",
    ]
    for truth, preds in c["confusion"].items():
        n = sum(preds.values())
        wrong = ", ".join(f"{p} {k}" for p, k in preds.items() if p != truth)
        lines.append(f"  {truth:<22} {n:>4}  {preds.get(truth, 0):>4}  {wrong}")
    return "\n".join(lines)


def show(code: str, folder: Path = JUDGMENTS, data: Path = DATA) -> str:
    """The false positives and false negatives of one rule, with ids, notes and dqe's messages."""
    if code not in RECORD_RULES + DUPLICATE_RULES:
        raise JudgmentError(f"--show takes a judged rule ({', '.join(RECORD_RULES + DUPLICATE_RULES)}), not {code}")
    judgments = load_judgments(folder)
    run = run_dqe(judgments, data)
    if code in DUPLICATE_RULES:
        d = score_duplicates(judgments, run)
        return "\n".join(
            [f"false pairs ({len(d['false_pairs'])}):", *(f"  {a} ~ {b}" for a, b in d["false_pairs"])]
            + [f"missed pairs ({len(d['missed_pairs'])}):", *(f"  {a} ~ {b}" for a, b in d["missed_pairs"])]
        )
    fps, fns = [], []
    for j in judgments:
        hits = run.findings.get(j.id, {}).get(code, [])
        if hits and code not in j.fails:
            said = " / ".join(m if t is None else f"turn {t}: {m}" for m, t in hits)
            fps.append(f"  {j.id} ({j.group}): dqe says {said}\n      truth: {j.note or 'passes'}")
        elif code in j.fails and not hits:
            turn = "no one turn" if j.fails[code] is None else f"turn {j.fails[code]}"
            fns.append(f"  {j.id} ({j.group}, {turn}): {j.note}")
    head = [] if code in run.registered else [f"{code} is not registered: every record that should fail it is missed"]
    return "\n".join(
        [*head, f"{code} false positives ({len(fps)}):", *fps, f"{code} false negatives ({len(fns)}):", *fns]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--show", metavar="CODE", help="list a rule's false positives and false negatives")
    args = parser.parse_args()
    try:
        if args.show:
            print(show(args.show.upper()))
        else:
            results = evaluate()
            print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else render(results))
    except JudgmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
