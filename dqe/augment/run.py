"""The augment loop: rounds of asking, screening and keeping, within budgets, resumable.

Each round takes the category furthest from its target, asks the endpoint for up to
``per-round`` records shaped like its seeds, with the most common rejection reasons so far as
mistakes to avoid, screens what comes back (``dqe.augment.screen``) and keeps what passes, with
its provenance under ``_dqe.generated``: the endpoint (never its credentials), the model, the
prompt's hash and the round. A reply that cannot be read, or a request that fails after its
retries, is a rejected round with its reason, never a crash. An endpoint that cannot serve at
all (nothing listens, the key is refused, a redirect) stops the run with what to fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dqe.api import make_engine, resolve_config
from dqe.augment.plan import Plan, category_shortfalls, make_plan, seeds_for
from dqe.augment.prompt import Mistake, ReviewedOut, build_messages, most_common, prompt_hash
from dqe.augment.replies import parse_reply
from dqe.augment.review import for_review, read_marks, review_file
from dqe.augment.screen import Reason, Verdict, screen
from dqe.augment.state import (
    CANDIDATES_FILE,
    GENERATED_FILE,
    REJECTED_FILE,
    RoundLog,
    State,
    accepted_counts,
    load_state,
    save,
)
from dqe.engine.config import AugmentSettings, LoadedConfig, describe_errors
from dqe.engine.engine import Engine
from dqe.errors import ConfigError, InputError
from dqe.io.inputs import ANNOTATION, GENERATED, STDIN, resolve_inputs
from dqe.io.values import dumps
from dqe.llm.client import CallFailed, ChatClient, EndpointUnavailable, without_credentials
from dqe.report.model import build_report

Echo = Callable[[str], None]
MALFORMED = Mistake(
    key="malformed", label="malformed reply", summary="a reply that is not a JSON array of record objects", example=""
)
REVIEW_KEY = "review"


class AugmentError(Exception):
    """The run cannot go on (the endpoint cannot serve); the state so far is saved."""


class AugmentResult(BaseModel):
    rounds: int  # rounds run this time
    accepted: int  # records accepted this time (a review's marks included)
    short: dict[str, int]  # records still wanted per category
    stopped: str  # why the run ended
    exit_code: int  # 0 every target met or a review pending, 1 a budget ran out first


def augment(
    data: list[str],
    out: Path,
    config: Any = None,
    *,
    settings: dict[str, Any] | None = None,
    category: str | None = None,
    count: int | None = None,
    seeds: Path | None = None,
    review: bool = False,
    disable_plugins: list[str] | tuple[str, ...] = (),
    echo: Echo = print,
    **overrides: Any,
) -> AugmentResult:
    """Grow the categories ``data`` lacks (or ``category``) into ``out``. ``settings`` are
    ``[augment]`` keys that override the config's (``base_url``, ``model``, ``rounds``, ...);
    keyword ``overrides`` are config keys, as in ``dqe.check`` (``select=["DQ2"]``)."""
    loaded = resolve_config(config, overrides)
    options = _settings(loaded, settings or {})
    if not options.base_url or not options.model:
        missing = "--base-url" if not options.base_url else "--model"
        raise ConfigError(f"dqe augment needs {missing} (or '{missing[2:]}' in [augment] of the config)")
    if (category is None) != (count is None):
        raise ConfigError("--category and --count go together: name the category and how many records it needs")
    _refuse_inside(out, data)
    out.mkdir(parents=True, exist_ok=True)
    screening = LoadedConfig(
        config=loaded.config.model_copy(update={"balance": False, "max_records": None}), path=loaded.path
    )
    engine = make_engine(screening, disable_plugins=disable_plugins)
    planning = make_engine(
        LoadedConfig(config=loaded.config.model_copy(update={"balance": True}), path=loaded.path),
        disable_plugins=disable_plugins,
    )
    checked = planning.run(data)
    if any(f.error for f in checked.files):
        bad = next(f for f in checked.files if f.error)
        raise InputError(f"{bad.path}: {bad.error}")
    report = build_report(checked)
    state = load_state(out)
    if state is None:
        targets = {category: count} if category is not None else category_shortfalls(report)
        state = State(targets=targets)  # type: ignore[arg-type]
    elif category is not None:
        state.targets[category] = count  # type: ignore[assignment]
    seed_reader = engine.readers(resolve_inputs([str(seeds)]))() if seeds is not None else None
    plan = make_plan(report, checked.reopen(), state.targets, seed_reader)  # type: ignore[misc]
    client = ChatClient(
        options.base_url,
        options.model,
        os.environ.get(options.api_key_env) or None,
        timeout=options.timeout,
        retries=options.retries,
        retry_delay=options.retry_delay,
        extra={"temperature": options.temperature},
        key_hint=f"set ${options.api_key_env} (--api-key-env names another variable)",
    )
    loop = _Loop(data, out, engine, plan, state, options, client, echo)
    accepted = loop.read_review()
    return loop.run(review, accepted)


class _Loop:
    def __init__(
        self,
        data: list[str],
        out: Path,
        engine: Engine,
        plan: Plan,
        state: State,
        options: AugmentSettings,
        client: ChatClient,
        echo: Echo,
    ):
        self.data, self.out, self.engine, self.plan, self.state = data, out, engine, plan, state
        self.options, self.client, self.echo = options, client, echo
        self.endpoint = without_credentials(options.base_url or "")

    def short(self) -> dict[str, int]:
        have = accepted_counts(self.out)
        return {c: n - have[c] for c, n in self.state.targets.items() if n > have[c]}

    def read_review(self) -> int:
        """Take a pending review's marks: accepted records are kept, rejected ones join the mistakes."""
        pending = self.state.pending_review
        if pending is None:
            return 0
        marked = read_marks(self.out / pending)
        for record, note in marked.rejected:
            shown = {k: v for k, v in record.items() if k != ANNOTATION}
            self.state.reviewed_out.append(ReviewedOut(record=shown, note=note))
            mistake = self.state.mistakes.setdefault(
                REVIEW_KEY,
                Mistake(
                    key=REVIEW_KEY,
                    label="reviewer",
                    summary="a record a person reviewing the data rejected",
                    example="",
                ),
            )
            mistake.count += 1
            mistake.example = note or mistake.example
        rejected = [_with_reasons(r, [f"reviewer: {note or 'rejected'}"]) for r, note in marked.rejected]
        self.state.pending_review = None
        save(self.out, self.state, {GENERATED_FILE: marked.accepted, REJECTED_FILE: rejected})
        self.echo(f"review {pending}: {len(marked.accepted)} accepted, {len(marked.rejected)} rejected")
        return len(marked.accepted)

    def run(self, review: bool, accepted: int) -> AugmentResult:
        rounds = 0
        while True:
            short = self.short()
            if not short:
                return AugmentResult(
                    rounds=rounds,
                    accepted=accepted,
                    short=short,
                    stopped="every category has the records it needs",
                    exit_code=0,
                )
            spent = self.spent()
            if spent:
                return AugmentResult(rounds=rounds, accepted=accepted, short=short, stopped=spent, exit_code=1)
            category = max(short, key=lambda c: short[c])
            kept = self.round(category, short[category], review)
            rounds += 1
            if self.state.pending_review:
                waiting = f"round waiting for review in {self.state.pending_review}"
                return AugmentResult(rounds=rounds, accepted=accepted, short=self.short(), stopped=waiting, exit_code=0)
            accepted += kept

    def spent(self) -> str | None:
        """Why no more requests may be sent, or None."""
        o, s = self.options, self.state
        if len(s.rounds) >= o.rounds:
            return f"the budget of {o.rounds} rounds is spent (raise --rounds)"
        if s.requests >= o.requests:
            return f"the budget of {o.requests} requests is spent (raise --requests)"
        if o.tokens is not None and s.tokens >= o.tokens:
            return f"the budget of {o.tokens:,} tokens is spent ({s.tokens:,} used; raise --tokens)"
        return None

    def round(self, category: str, wanted: int, review: bool) -> int:
        """One round for ``category``; returns the records accepted."""
        number = max((r.round for r in self.state.rounds), default=0) + 1
        asked = min(self.options.per_round, wanted)
        seeds = seeds_for(self.plan, category, number, self.options.seeds)
        mistakes = most_common(self.state.mistakes, self.options.mistakes)
        reviewed = self.state.reviewed_out[-self.options.mistakes :] if self.options.mistakes else []
        messages = build_messages(category, asked, seeds, mistakes, reviewed, [] if seeds else self.plan.examples)
        log = RoundLog(round=number, category=category, asked=asked, prompt_sha256=prompt_hash(messages))
        self.state.rounds.append(log)
        sent = self.client.sent
        try:
            reply, _ = self.client.complete(messages)
        except CallFailed as exc:
            log.failed = str(exc)
            self.state.requests += self.client.sent - sent
            save(self.out, self.state, {})
            self.echo(f"round {number} · {category} · asked {asked} · the request failed: {exc}")
            return 0
        except EndpointUnavailable as exc:
            self.state.rounds.pop()
            self.state.requests += self.client.sent - sent
            save(self.out, self.state, {})
            raise AugmentError(str(exc)) from None
        self.state.requests += self.client.sent - sent
        chars = sum(len(m["content"]) for m in messages)  # endpoints that report no usage: about 4 characters a token
        log.prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else chars // 4
        log.completion_tokens = (
            reply.completion_tokens if reply.completion_tokens is not None else len(reply.content) // 4
        )
        self.state.prompt_tokens += log.prompt_tokens
        self.state.completion_tokens += log.completion_tokens
        provenance = {
            "endpoint": self.endpoint,
            "model": self.options.model,
            "prompt_sha256": log.prompt_sha256,
            "round": number,
            "category": category,
        }
        try:
            parsed = parse_reply(reply.content)
        except ValueError as exc:
            self._mistake(Reason(MALFORMED.key, MALFORMED.label, MALFORMED.summary, str(exc)))
            log.reasons = {MALFORMED.label: 1}
            rejected = [
                {ANNOTATION: {"reasons": [f"malformed reply: {exc}"], "reply": reply.content, GENERATED: provenance}}
            ]
            save(self.out, self.state, {REJECTED_FILE: rejected})
            self.echo(f"round {number} · {category} · asked {asked} · malformed reply: {exc}")
            return 0
        records = [self._prepared(r, category, provenance) for r in parsed.records]
        kept, rejected, reasons = self._sort(records, self._screen(records, category), wanted)
        for problem in parsed.unreadable:
            rejected.append({ANNOTATION: {"reasons": [f"unreadable: {problem}"], GENERATED: provenance}})
            reasons["unreadable"] = reasons.get("unreadable", 0) + 1
            self._mistake(Reason(MALFORMED.key, MALFORMED.label, MALFORMED.summary, problem))
        log.received = len(parsed.records) + len(parsed.unreadable)
        log.accepted, log.rejected, log.reasons = len(kept), len(rejected), reasons
        if review and kept:
            log.review = review_file(number)
            self.state.pending_review = log.review
            save(self.out, self.state, {REJECTED_FILE: rejected}, {log.review: for_review(kept, number, category)})
        else:
            save(self.out, self.state, {GENERATED_FILE: kept, REJECTED_FILE: rejected})
        self._show(log, rejected)
        return len(kept)

    def _sort(
        self, records: list[dict[str, Any]], verdicts: list[Verdict], wanted: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
        """The records kept (up to ``wanted``), those rejected with their reasons, and how many
        each reason rejected; every reason but surplus counts as a mistake."""
        kept: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        reasons: dict[str, int] = {}
        for record, verdict in zip(records, verdicts, strict=True):
            why = verdict.reasons
            if not why and len(kept) >= wanted:
                why = [Reason("surplus", "surplus", "", f"more than the {wanted} records still wanted")]
            if not why:
                kept.append(record)
                continue
            rejected.append(_with_reasons(record, [f"{r.label}: {r.message}" for r in why]))
            for r in why:
                reasons[r.label] = reasons.get(r.label, 0) + 1
                if r.key != "surplus":
                    self._mistake(r)
        return kept, rejected, reasons

    def _prepared(self, record: dict[str, Any], category: str, provenance: dict[str, Any]) -> dict[str, Any]:
        """A generated record as it is checked and written: the data's category field when its
        records carry one, and the provenance (replacing any ``_dqe`` the model wrote)."""
        record = {k: v for k, v in record.items() if k != ANNOTATION}
        if self.plan.category_field:
            record[self.plan.layout.columns.category] = category
        record[ANNOTATION] = {GENERATED: provenance}
        return record

    def _screen(self, records: list[dict[str, Any]], category: str) -> list[Verdict]:
        if not records:
            return []
        candidates = self.out / CANDIDATES_FILE
        candidates.write_bytes(b"".join(dumps(r) + b"\n" for r in records))
        try:
            accepted = self.out / GENERATED_FILE
            return screen(
                self.engine,
                self.data,
                accepted if accepted.exists() else None,
                candidates,
                category,
                self.plan.layout.name,
            )
        finally:
            candidates.unlink(missing_ok=True)

    def _mistake(self, reason: Reason) -> None:
        """Count one record rejected for ``reason``: what the next prompts warn against."""
        mistake = self.state.mistakes.setdefault(
            reason.key, Mistake(key=reason.key, label=reason.label, summary=reason.summary, example=reason.message)
        )
        mistake.count += 1

    def _show(self, log: RoundLog, rejected: list[dict[str, Any]]) -> None:
        where = f"waiting for review in {log.review}" if log.review else f"{log.accepted} accepted"
        self.echo(
            f"round {log.round} · {log.category} · asked {log.asked}, got {log.received} · {where} · {log.rejected} rejected"
        )
        if log.reasons:
            self.echo(
                "  rejected: " + ", ".join(f"{k} ×{n}" for k, n in sorted(log.reasons.items(), key=lambda kv: -kv[1]))
            )
        for record in rejected:
            shown = {k: v for k, v in record.items() if k != ANNOTATION} or record[ANNOTATION].get("reply", "")
            self.echo(f"    {_clip(json.dumps(shown, ensure_ascii=False))}: {'; '.join(record[ANNOTATION]['reasons'])}")


def _clip(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_reasons(record: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """A rejected record as rejected.jsonl holds it: dqe filter's ``_dqe.reasons``, provenance kept."""
    annotation = dict(record.get(ANNOTATION) or {})
    return {**record, ANNOTATION: {**annotation, "reasons": reasons}}


def _settings(loaded: LoadedConfig, overrides: dict[str, Any]) -> AugmentSettings:
    """The config's ``[augment]`` with the command's options on top (keys as Python names)."""
    table = loaded.config.augment.model_dump()
    try:
        return AugmentSettings.model_validate({**table, **{k: v for k, v in overrides.items() if v is not None}})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, "augment.")) from None


def _refuse_inside(out: Path, data: list[str]) -> None:
    """The output folder and the data stay apart: each round reads the data again, and records
    of the output read as data would be checked against themselves."""
    target = out.resolve()
    for item in data:
        if item == STDIN:
            raise InputError("dqe augment reads its data once a round: give a file or folder, not '-'")
        path = Path(item).resolve()
        if path.is_relative_to(target) or (path.is_dir() and target.is_relative_to(path)):
            raise InputError(
                f"{item}: the output folder {out} may not be, hold or lie inside an input; write it elsewhere"
            )
