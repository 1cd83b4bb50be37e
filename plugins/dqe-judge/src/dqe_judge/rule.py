"""JDG001 llm-judge: an LLM grades each record against a rubric; low grades fail.

Fail closed: a record the judge did not grade (the budget was spent, the response stayed slow,
failing or malformed after retries) fails with "not judged: ..." and counts in the gate metric
``judge-unjudged``, which fails the gate by default; an endpoint that cannot be reached at all
stops the run with an error (exit code 2). Nothing unjudged ever passes.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import Field

from dqe import (
    CallFailed,
    ChatClient,
    ConfigError,
    EndpointUnavailable,
    GateMetric,
    RecordRule,
    RuleOptions,
    loaded_dir,
)
from dqe_judge.cache import VerdictCache, default_cache_dir, request_key
from dqe_judge.prompt import DEFAULT_RUBRIC, build_messages, parse_verdict

ENV_BASE_URL = ("DQE_JUDGE_BASE_URL", "OPENAI_BASE_URL")
ENV_MODEL = ("DQE_JUDGE_MODEL",)
ENV_API_KEY = ("DQE_JUDGE_API_KEY", "OPENAI_API_KEY")


class JudgeUnavailable(Exception):
    """The endpoint cannot grade anything: the run stops and says why."""


class JudgeOptions(RuleOptions):
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API root, like http://localhost:8000/v1 (default $DQE_JUDGE_BASE_URL, then $OPENAI_BASE_URL)",
    )
    model: str | None = Field(None, description="model the endpoint serves (default $DQE_JUDGE_MODEL)")
    api_key: str | None = Field(
        None,
        description="API key; keep it in $DQE_JUDGE_API_KEY (or $OPENAI_API_KEY) rather than in a config file",
    )
    rubric: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RUBRIC),
        description="criteria the judge grades from 1 to 5, each with what it means",
    )
    min_score: float = Field(3.0, ge=1, le=5, description="lowest mean grade that passes")
    min_each: float = Field(2.0, ge=1, le=5, description="lowest grade on any one criterion that passes")
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once")
    timeout: float = Field(60.0, gt=0, description="seconds to wait for one response")
    retries: int = Field(
        3,
        ge=0,
        le=10,
        description="retries of a failing, slow or malformed response, with exponential backoff",
    )
    retry_delay: float = Field(1.0, ge=0, description="seconds before the first retry; doubles each time, plus jitter")
    budget_records: int = Field(
        1000,
        ge=0,
        description="most records sent to the endpoint in one run; cached verdicts are free, 0 uses only them",
    )
    budget_tokens: int | None = Field(
        None,
        ge=1,
        description="most prompt plus completion tokens spent in one run, as the endpoint reports them (no limit unless set)",
    )
    cache_dir: str | None = Field(
        None,
        description="folder of the verdict cache, relative to the config file (default $DQE_CACHE_DIR/judge or ~/.cache/dqe/judge)",
    )
    json_mode: bool = Field(
        True, description="send response_format json_object (switch off for servers that reject it)"
    )
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature of the judge")


def _env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


class LlmJudge(RecordRule):
    """Asks a language model behind an OpenAI-compatible chat-completions endpoint (vLLM,
    llama.cpp server, Ollama, or a hosted API) to grade each record's final answer, given the
    whole conversation, on each rubric criterion from 1 to 5: by default correctness,
    helpfulness and reasoning. A record fails when its mean grade is below min-score or any
    grade is below min-each. Verdicts are cached on disk by model, rubric and conversation,
    so a rerun costs nothing; a budget caps what one run may spend. Off by default: it costs
    money and needs the network. Records the judge did not grade fail ("not judged")."""

    code = "JDG001"
    name = "llm-judge"
    summary = "an LLM judge grades the answer low on correctness, helpfulness or reasoning (off by default)"
    why = (
        "Rules catch what can be measured; a wrong answer written fluently passes them all. "
        "Fine-tuning on wrong answers teaches a model to be confidently wrong, so the last "
        "line of defence is a strong model reading each example the way a reviewer would."
    )
    example = (
        "'What is 17 * 3?' answered '17 * 3 = 41.' fails: 'judge: correctness 1 < 2, mean 2.3 < 3 "
        "(correctness 1, helpfulness 3, reasoning 3): 17 * 3 is 51, not 41.'"
    )
    default_enabled = False
    Options = JudgeOptions
    gate_metrics = (
        GateMetric(
            name="judge-unjudged",
            key="judge.unjudged",
            description="records the LLM judge did not grade (budget spent, responses failing or malformed)",
            direction="max",
            fail=0,
            bounds=(0, None),
        ),
    )

    def __init__(self, options: JudgeOptions, context: Any):
        super().__init__(options, context)
        base_url = options.base_url or _env(ENV_BASE_URL)
        model = options.model or _env(ENV_MODEL)
        if not base_url or not model:
            missing = "base-url" if not base_url else "model"
            env = ENV_BASE_URL[0] if not base_url else ENV_MODEL[0]
            raise ConfigError(
                f"rule {self.code} needs '{missing}': set it in [rules.{self.code}] or the environment ({env})"
            )
        if not options.rubric:
            raise ConfigError(f"'rules.{self.code}.rubric': give at least one criterion")
        self.model = model
        extra: dict[str, Any] = {"temperature": options.temperature}
        if options.json_mode:
            extra["response_format"] = {"type": "json_object"}
        self.client = ChatClient(
            base_url,
            model,
            options.api_key or _env(ENV_API_KEY),
            timeout=options.timeout,
            retries=options.retries,
            retry_delay=options.retry_delay,
            extra=extra,
            key_hint="set DQE_JUDGE_API_KEY or api-key",
        )
        folder = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        self.cache = VerdictCache(folder if folder.is_absolute() else loaded_dir(context.loaded) / folder)
        self.stats: Counter[str] = Counter()
        self.grades: Counter[str] = Counter()
        self._reserved = 0  # records sent or being sent: what budget-records counts
        self._lock = threading.Lock()

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        o: JudgeOptions = self.options  # type: ignore[assignment]
        rubric = dict(o.rubric)
        requests = [
            build_messages(system, turns, rubric) for system, turns in batch.select("system", "turns").iter_rows()
        ]
        keys = [request_key(self.model, messages) for messages in requests]
        verdicts: dict[str, dict[str, Any]] = self.cache.get_many(keys)
        self.stats["cached"] += sum(key in verdicts for key in keys)
        unjudged: dict[str, str] = {}
        todo = [k for k in dict.fromkeys(keys) if k not in verdicts]
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        fresh: dict[str, dict[str, Any]] = {}
        try:
            with ThreadPoolExecutor(max_workers=o.concurrency) as pool:
                futures = {}
                for key in todo:
                    if self._reserved >= o.budget_records:
                        unjudged[key] = (
                            f"the budget of {o.budget_records:,} records for this run is spent (raise budget-records)"
                        )
                        continue
                    self._reserved += 1
                    futures[pool.submit(self._judge, requests[first[key]], list(rubric))] = key
                for future in as_completed(futures):
                    key = futures[future]
                    try:
                        fresh[key] = future.result()
                    except CallFailed as exc:
                        unjudged[key] = str(exc)
                    except _OverBudget as exc:
                        unjudged[key] = str(exc)
                    except EndpointUnavailable as exc:
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise JudgeUnavailable(str(exc)) from None
        finally:
            self.cache.put_many(fresh)  # what was graded stays paid for, even when the run stops
        verdicts.update(fresh)
        return self._results(keys, verdicts, unjudged, o)

    def _judge(self, messages: list[dict[str, str]], criteria: list[str]) -> dict[str, Any]:
        o: JudgeOptions = self.options  # type: ignore[assignment]
        if o.budget_tokens is not None:
            with self._lock:
                if self.stats["prompt_tokens"] + self.stats["completion_tokens"] >= o.budget_tokens:
                    raise _OverBudget(
                        f"the budget of {o.budget_tokens:,} tokens for this run is spent (raise budget-tokens)"
                    )
        try:
            reply, verdict = self.client.complete(messages, lambda content: parse_verdict(content, criteria))
        except CallFailed:
            with self._lock:
                self.stats["requests"] += 1
            raise
        chars = sum(len(m["content"]) for m in messages)
        with self._lock:  # endpoints that report no usage: about 4 characters a token
            self.stats["requests"] += 1
            self.stats["prompt_tokens"] += reply.prompt_tokens if reply.prompt_tokens is not None else chars // 4
            self.stats["completion_tokens"] += (
                reply.completion_tokens if reply.completion_tokens is not None else len(reply.content) // 4
            )
        return {**verdict, "model": self.model}

    def _results(
        self,
        keys: list[str],
        verdicts: dict[str, dict[str, Any]],
        unjudged: dict[str, str],
        o: JudgeOptions,
    ) -> pl.DataFrame:
        passed: list[bool] = []
        scores: list[float] = []
        messages: list[str | None] = []
        for key in keys:
            verdict = verdicts.get(key)
            if verdict is None:
                self.stats["unjudged"] += 1
                passed.append(False)
                scores.append(0.0)
                messages.append(f"not judged: {unjudged.get(key, 'no verdict')}")
                continue
            grades = verdict["scores"]
            mean = sum(grades.values()) / len(grades)
            self.stats["judged"] += 1
            self.grades.update(grades)
            self.grades["_mean"] += mean
            problems = [f"{name} {value:g} < {o.min_each:g}" for name, value in grades.items() if value < o.min_each]
            if mean < o.min_score:
                problems.append(f"mean {mean:.1f} < {o.min_score:g}")
            passed.append(not problems)
            scores.append((mean - 1) / 4)
            if problems:
                detail = ", ".join(f"{name} {value:g}" for name, value in grades.items())
                explanation = f": {verdict['explanation']}" if verdict.get("explanation") else ""
                messages.append(f"judge: {', '.join(problems)} ({detail}){explanation}")
            else:
                messages.append(None)
        return pl.DataFrame(
            {"passed": passed, "score": scores, "message": messages},
            schema={"passed": pl.Boolean, "score": pl.Float64, "message": pl.String},
        )

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        judged = self.stats["judged"]
        criteria = list(self.options.rubric)  # type: ignore[attr-defined]
        return {
            "judge": {
                "model": self.model,
                "judged": judged,
                "unjudged": self.stats["unjudged"],
                "cached": self.stats["cached"],
                "requests": self.stats["requests"],
                "prompt_tokens": self.stats["prompt_tokens"],
                "completion_tokens": self.stats["completion_tokens"],
                "mean_grade": round(self.grades["_mean"] / judged, 3) if judged else None,
                "criteria": {name: round(self.grades[name] / judged, 3) for name in criteria} if judged else {},
            }
        }


class _OverBudget(Exception):
    pass
