"""Records to token ids and labels: the prompt template, masking, truncation and the ledger.

With a dqe template each piece (a role's prefix, the content, the suffix) is tokenized on its
own, as the ``tokens`` feature counts them, so the length a record was checked at is the length
it is trained at. Labels are -100 on everything but the answers: the last assistant turn (every
assistant turn with ``learn-all-turns``), its closing markup and the end-of-text token. With the
model's own chat template the conversation is rendered whole and each answer's span is found by
rendering the conversation up to it. Every record gets a ledger row; a record whose answer
would be cut away entirely is dropped and counted, never trained on silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import orjson

from dqe.engine.templates import Template
from dqe.errors import ConfigError
from dqe.io.formats.base import Columns
from dqe.records import Record
from dqe.train.config import MODEL_TEMPLATE, TrainConfig

IGNORE = -100
_CHUNK = 4096  # records tokenized per batch call

Piece = tuple[str | int, bool]  # text (or one token id) and whether it is learned


@dataclass
class LedgerRow:
    id: str
    source: str
    split: str | None
    category: str | None
    tokens: int | None  # the formatted record, before truncation
    kept: int | None  # tokens trained on (after truncation)
    supervised: int | None  # tokens with a label (after truncation)
    truncated: bool
    dropped: str | None  # why the record is not trained on; None when it is


@dataclass
class Encoded:
    ids: np.ndarray  # int32
    labels: np.ndarray  # int32, aligned with ids: the token itself where learned, else -100

    def __len__(self) -> int:
        return int(self.ids.size)

    @property
    def supervised(self) -> int:
        return int((self.labels != IGNORE).sum())


def _learned_turns(record: Record, learn_all: bool) -> set[int]:
    roles = [t.role for t in record.turns]
    if learn_all:
        return {i for i, r in enumerate(roles) if r in ("assistant", "tool_call")}
    last = max((i for i, r in enumerate(roles) if r == "assistant"), default=None)
    return set() if last is None else {last}


def _last_answer(record: Record) -> int:
    """Index of the last assistant turn: the answer a prompt asks for."""
    last = max((i for i, t in enumerate(record.turns) if t.role == "assistant"), default=None)
    if last is None:
        raise ValueError("the record has no assistant turn to answer")
    return last


def leading_special_ids(tokenizer: Any) -> list[int]:
    """Token ids the tokenizer puts before a text (a BOS), which a template does not spell."""
    with_special = tokenizer("a", add_special_tokens=True)["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    n = len(with_special) - len(plain)
    if n <= 0 or with_special[n:][: len(plain)] != plain:
        return []
    return list(with_special[:n])


class TemplateEncoder:
    """Formats with a dqe ``Template``, piece by piece."""

    def __init__(
        self,
        tokenizer: Any,
        template: Template,
        *,
        system: str | None,
        learn_all_turns: bool,
        columns: Columns,
    ):
        self.tokenizer = tokenizer
        self.template = template
        self.system = system
        self.learn_all = learn_all_turns
        self.columns = columns
        self.leading = leading_special_ids(tokenizer)
        if template.eos_after_assistant and tokenizer.eos_token_id is None:
            raise ValueError(
                f"template '{template.name}' closes answers with the end-of-text token, and the tokenizer has none"
            )
        self.eos = tokenizer.eos_token_id

    def _alpaca_input(self, record: Record) -> tuple[str, str] | None:
        """(instruction, input) of an Alpaca record whose input the template places itself."""
        if record.format != "alpaca" or self.template.input is None:
            return None
        instruction = record.original.get(self.columns.prompt)
        query = record.original.get(self.columns.query)
        if isinstance(instruction, str) and isinstance(query, str) and query:
            return instruction, query
        return None

    def pieces(self, record: Record) -> list[Piece]:
        t = self.template
        split = self._alpaca_input(record)
        last_user = max((i for i, turn in enumerate(record.turns) if turn.role == "user"), default=-1)
        learned = _learned_turns(record, self.learn_all)
        out: list[Piece] = [(i, False) for i in self.leading]
        system = t.system_prompt(record.system or self.system, has_input=split is not None)
        if system:
            prefix, suffix = t.wrap("system")
            out += [(prefix, False), (system, False), (suffix, False)]
        for i, turn in enumerate(record.turns):
            content = turn.content
            if split is not None and i == last_user:
                content = t.user_content(*split)
            prefix, suffix = t.wrap(turn.role)
            learn = i in learned
            out += [(prefix, False), (content, learn), (suffix, learn)]
            if turn.role == "assistant" and t.eos_after_assistant:
                out.append((self.eos, learn))
        return out

    def _tokenize(self, all_pieces: list[list[Piece]]) -> list[Encoded]:
        texts = sorted({p for pieces in all_pieces for p, _ in pieces if isinstance(p, str) and p})
        ids = (
            dict(zip(texts, self.tokenizer(texts, add_special_tokens=False)["input_ids"], strict=True)) if texts else {}
        )
        out = []
        for pieces in all_pieces:
            tokens: list[int] = []
            labels: list[int] = []
            for piece, learn in pieces:
                part = [piece] if isinstance(piece, int) else ids.get(piece, [])
                tokens += part
                labels += part if learn else [IGNORE] * len(part)
            out.append(Encoded(np.asarray(tokens, dtype=np.int32), np.asarray(labels, dtype=np.int32)))
        return out

    def encode(self, records: list[Record]) -> list[Encoded]:
        return self._tokenize([self.pieces(r) for r in records])

    def prompts(self, records: list[Record]) -> list[np.ndarray | str]:
        """The tokens an answer is generated from: the conversation before the last assistant
        turn and that turn's opening markup, exactly as training formatted them (a string says
        why a record has no prompt)."""
        all_pieces: list[list[Piece]] = []
        problems: dict[int, str] = {}
        prefix = self.template.wrap("assistant")[0]
        for i, r in enumerate(records):
            try:
                before = r.model_copy(update={"turns": r.turns[: _last_answer(r)]})
            except ValueError as exc:
                problems[i] = str(exc)
                all_pieces.append([])
                continue
            all_pieces.append([*self.pieces(before), (prefix, False)])
        encoded = self._tokenize(all_pieces)
        return [problems.get(i, e.ids) for i, e in enumerate(encoded)]

    @property
    def end_of_turn(self) -> str | None:
        """The text that closes an answer (``<|im_end|>``), None when only the end-of-text
        token does."""
        return self.template.wrap("assistant")[1].strip() or None


_CHAT_ROLES = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
    "tool_call": "assistant",
    "tool": "tool",
}


class ChatTemplateEncoder:
    """Formats with the tokenizer's own chat template (``template = "model"``)."""

    def __init__(self, tokenizer: Any, *, system: str | None, learn_all_turns: bool):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("template 'model': the tokenizer has no chat template; name a dqe template instead")
        self.tokenizer = tokenizer
        self.system = system
        self.learn_all = learn_all_turns

    def _render(self, messages: list[dict[str, str]], tools: Any, prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=prompt)

    def _messages(self, record: Record) -> tuple[list[dict[str, str]], Any, int]:
        """The chat messages, the tools, and the index of the record's first turn in them."""
        messages = []
        system = record.system or self.system
        if system:
            messages.append({"role": "system", "content": system})
        offset = len(messages)
        messages += [{"role": _CHAT_ROLES[t.role], "content": t.content} for t in record.turns]
        tools = orjson.loads(record.tools) if record.tools else None  # the template renders them
        tools = [tools] if isinstance(tools, dict) else tools
        return messages, tools, offset

    def render(self, record: Record) -> tuple[str, list[tuple[int, int]]]:
        """The conversation's text and the character spans of the answers learned."""
        messages, tools, offset = self._messages(record)
        full = self._render(messages, tools)
        spans = []
        for i in sorted(_learned_turns(record, self.learn_all)):
            k = offset + i
            before = self._render(messages[:k], tools, prompt=True)
            through = self._render(messages[: k + 1], tools)
            if not (through.startswith(before) and full.startswith(through)):
                raise ValueError(
                    "the chat template renders a conversation differently turn by turn; cannot find the answer to learn"
                )
            spans.append((len(before), len(through)))
        return full, spans

    def prompts(self, records: list[Record]) -> list[np.ndarray | str]:
        """The tokens an answer is generated from: the conversation before the last assistant
        turn, rendered with the generation prompt (a string says why a record has none)."""
        texts: dict[int, str] = {}
        problems: dict[int, str] = {}
        for i, r in enumerate(records):
            try:
                last = _last_answer(r)
            except ValueError as exc:
                problems[i] = str(exc)
                continue
            try:
                messages, tools, offset = self._messages(r)
                texts[i] = self._render(messages[: offset + last], tools, prompt=True)
            except Exception as exc:  # a template that raises on this record (a jinja error, say)
                problems[i] = f"chat template: {exc}"
        encoded = self.tokenizer(list(texts.values()), add_special_tokens=False)["input_ids"] if texts else []
        ids = dict(zip(texts, encoded, strict=True))
        return [problems[i] if i in problems else np.asarray(ids[i], dtype=np.int32) for i in range(len(records))]

    @property
    def end_of_turn(self) -> str | None:
        """The text the chat template closes an answer with (``<|im_end|>``), found by
        rendering a short conversation; None when there is none."""
        sentinel = "\u2063dqe-answer\u2063"
        messages = [{"role": "user", "content": "Hi."}]
        try:
            before = self._render(messages, None, prompt=True)
            through = self._render([*messages, {"role": "assistant", "content": sentinel}], None)
        except Exception:  # a template that cannot render this short conversation
            return None
        at = through.find(sentinel, len(before))
        if at < 0:
            return None
        return through[at + len(sentinel) :].strip() or None

    def encode(self, records: list[Record]) -> list[Encoded | str]:
        rendered: list[tuple[str, list[tuple[int, int]]] | str] = []
        for r in records:
            try:
                rendered.append(self.render(r))
            except Exception as exc:  # a template that raises on this record (a jinja error, say)
                rendered.append(f"chat template: {exc}")
        texts = [x[0] for x in rendered if not isinstance(x, str)]
        enc = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True) if texts else None
        out: list[Encoded | str] = []
        j = 0
        for item in rendered:
            if isinstance(item, str):
                out.append(item)
                continue
            ids = np.asarray(enc["input_ids"][j], dtype=np.int32)
            offsets = np.asarray(enc["offset_mapping"][j], dtype=np.int64).reshape(-1, 2)
            j += 1
            learn = np.zeros(ids.size, dtype=bool)
            for start, end in item[1]:
                learn |= (offsets[:, 0] >= start) & (offsets[:, 1] <= end) & (offsets[:, 1] > offsets[:, 0])
            out.append(Encoded(ids, np.where(learn, ids, IGNORE).astype(np.int32)))
        return out


def fit_length(
    encoded: Encoded, seq_len: int, overlong: Literal["truncate", "drop"]
) -> tuple[Encoded | None, bool, str | None]:
    """(what is trained on, whether it was cut, why it is dropped).

    The first token never has a label: in a packed sequence it would be predicted from the
    end of the record before it.
    """
    truncated = len(encoded) > seq_len
    if truncated and overlong == "drop":
        return None, True, "too-long"
    ids, labels = encoded.ids[:seq_len], encoded.labels[:seq_len].copy()
    if labels.size:
        labels[0] = IGNORE
    fitted = Encoded(ids, labels)
    if fitted.supervised == 0:
        return None, truncated, "answer-truncated-away" if truncated else "no-supervised-tokens"
    return fitted, truncated, None


def make_encoder(config: TrainConfig, tokenizer: Any, registry: Any, columns: Columns) -> Any:
    """The run's encoder: its template (or the model's chat template), system prompt, masking."""
    try:
        if config.template == MODEL_TEMPLATE:
            return ChatTemplateEncoder(tokenizer, system=config.system, learn_all_turns=config.learn_all_turns)
        return TemplateEncoder(
            tokenizer,
            registry.templates[config.template],
            system=config.system,
            learn_all_turns=config.learn_all_turns,
            columns=columns,
        )
    except ValueError as exc:
        raise ConfigError(f"'template': {exc}") from None


def encode_examples(
    encoder: TemplateEncoder | ChatTemplateEncoder,
    examples: Iterable[Any],
    seq_len: int,
    overlong: Literal["truncate", "drop"],
) -> tuple[dict[int, Encoded], list[LedgerRow]]:
    """Encode every example that has a split; the ledger has a row for every example."""
    examples = list(examples)
    usable = [e for e in examples if e.problem is None and e.split is not None]
    encoded: dict[int, Encoded] = {}
    rows: dict[int, LedgerRow] = {}
    for start in range(0, len(usable), _CHUNK):
        chunk = usable[start : start + _CHUNK]
        for e, enc in zip(chunk, encoder.encode([e.record for e in chunk]), strict=True):
            if isinstance(enc, str):
                rows[e.index] = LedgerRow(e.id, e.source, e.split, e.category, None, None, None, False, enc)
                continue
            fitted, truncated, dropped = fit_length(enc, seq_len, overlong)
            rows[e.index] = LedgerRow(
                e.id,
                e.source,
                e.split,
                e.category,
                len(enc),
                len(fitted) if fitted else 0,
                fitted.supervised if fitted else 0,
                truncated,
                dropped,
            )
            if fitted is not None:
                encoded[e.index] = fitted
    ledger = [
        rows.get(e.index) or LedgerRow(e.id, e.source, e.split, e.category, None, None, None, False, e.problem)
        for e in examples
    ]
    return encoded, ledger


def ledger_totals(ledger: list[LedgerRow]) -> dict[str, Any]:
    """The ledger's totals for the run manifest: records, tokens and drops per split."""
    out: dict[str, Any] = {
        "records": len(ledger),
        "dropped": dict(Counter(r.dropped.split(":")[0] for r in ledger if r.dropped)),
    }
    for split in ("train", "val", "test"):
        rows = [r for r in ledger if r.split == split and r.dropped is None]
        out[split] = {
            "records": len(rows),
            "tokens": sum(r.kept or 0 for r in rows),
            "supervised_tokens": sum(r.supervised or 0 for r in rows),
            "truncated": sum(r.truncated for r in rows),
        }
    out["truncated"] = sum(r.truncated for r in ledger)
    return out


def ledger_dicts(ledger: list[LedgerRow]) -> Iterable[dict[str, Any]]:
    return (asdict(r) for r in ledger)
