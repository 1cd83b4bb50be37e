"""One encoding for the check and the trainer: the prompt template, masking and truncation.

``dqe train`` trains on what these encoders make, and ``dqe check --model`` counts with them,
so the lengths, the supervised tokens and the render failures the check reports are the ones
training will meet. With a dqe template each piece (a role's prefix, the content, the suffix)
is tokenized on its own. Labels are -100 on everything but the answers: the last assistant turn
(every assistant turn with ``learn-all-turns``), its closing markup and the end-of-text token.
With the model's own chat template the conversation is rendered whole and each answer's span is
found by rendering the conversation up to it. The tokenizer is any object with the Hugging Face
tokenizer's call interface; nothing here imports torch or transformers.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from dqe.engine.config import Config
from dqe.engine.templates import Template
from dqe.engine.tokenizers import count_unique
from dqe.engine.train_config import build_config, read_train_table
from dqe.errors import ConfigError
from dqe.io.formats.base import Columns
from dqe.records import Record, Turn

if TYPE_CHECKING:
    import polars as pl

IGNORE = -100
MODEL_TEMPLATE = "model"  # the template name that means: the tokenizer's own chat template

Piece = tuple[str | int, bool]  # text (or one token id) and whether it is learned


@dataclass
class Encoded:
    ids: np.ndarray  # int32
    labels: np.ndarray  # int32, aligned with ids: the token itself where learned, else -100
    # learned turns (1-based, in ``Record.turns``) whose reasoning trace the template did not render
    lost_traces: tuple[int, ...] = ()

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
        # ids of texts already tokenized, by text: the check's tokens feature fills it with the
        # turns of the batch it counted, so that they are not tokenized twice
        self.known: dict[str, list[int]] | None = None

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
        ids = self.known if self.known is not None else {}
        texts = sorted({p for pieces in all_pieces for p, _ in pieces if isinstance(p, str) and p} - ids.keys())
        if texts:
            ids.update(zip(texts, self.tokenizer(texts, add_special_tokens=False)["input_ids"], strict=True))
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

    def render(self, record: Record) -> tuple[str, list[tuple[int, int]], tuple[int, ...]]:
        """The conversation's text, the character spans of the answers learned, and the learned
        turns whose reasoning trace the template left out of their span."""
        messages, tools, offset = self._messages(record)
        full = self._render(messages, tools)
        spans = []
        learned = sorted(_learned_turns(record, self.learn_all))
        for i in learned:
            k = offset + i
            before = self._render(messages[:k], tools, prompt=True)
            through = self._render(messages[: k + 1], tools)
            if not full.startswith(through):
                raise ValueError(
                    "the chat template renders a conversation differently turn by turn; cannot find the answer to learn"
                )
            spans.append((self._answer_start(messages[: k + 1], tools, before, through), len(through)))
        lost = tuple(
            i + 1
            for i, (start, end) in zip(learned, spans, strict=True)
            if (opening := _trace_opening(record.turns[i].content)) and opening not in full[start:end]
        )
        return full, spans, lost

    def _answer_start(self, messages: list[dict[str, str]], tools: Any, before: str, through: str) -> int:
        """Where the last of ``messages``, an answer, starts in ``through``: after the generation
        prompt (``before``). A template whose generation prompt is not how it opens an answer
        (DeepSeek-R1's ends with "<think>\n" and renders answers without their trace) is read from
        where the answer, or its reply when the trace is not rendered, is found after the
        conversation before it (the part of the generation prompt they share, when neither is)."""
        if through.startswith(before):
            return len(before)
        context = self._render(messages[:-1], tools)
        if not through.startswith(context):
            raise ValueError(
                "the chat template renders a conversation differently turn by turn; cannot find the answer to learn"
            )
        shared = max(len(context), len(os.path.commonprefix([before, through])))
        content = messages[-1]["content"]
        for head in (content.strip()[:32], _TRACE.sub("", content).strip()[:32]):  # whole, else the reply
            found = through.find(head, shared) if head else -1
            if found >= 0:
                return found
        return shared

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
            out.append(Encoded(ids, np.where(learn, ids, IGNORE).astype(np.int32), item[2]))
        return out


# A closed reasoning trace in an answer (the readers write every shape of one as a ``<think>`` block)
_TRACE = re.compile(r"<think(?:ing)?>(.*?)</think(?:ing)?>", re.DOTALL)


def _trace_opening(content: str) -> str | None:
    """The first line of an answer's reasoning trace (up to 80 characters), the text to look for
    in what a template renders; None when the answer holds no trace with text in it. A chat
    template may reshape a trace's markup and blank lines, never the words of its first line."""
    match = _TRACE.search(content)
    lines = [line.strip() for line in match.group(1).splitlines() if line.strip()] if match else []
    return lines[0][:80] if lines else None


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


def make_encoder(
    tokenizer: Any,
    template: str,
    templates: Mapping[str, Template],
    *,
    system: str | None,
    learn_all_turns: bool,
    columns: Columns,
) -> TemplateEncoder | ChatTemplateEncoder:
    """The encoder of a run: a dqe template by name, or the model's chat template (``model``)."""
    try:
        if template == MODEL_TEMPLATE:
            return ChatTemplateEncoder(tokenizer, system=system, learn_all_turns=learn_all_turns)
        if template not in templates:
            known = ", ".join([*sorted(templates), MODEL_TEMPLATE])
            raise ValueError(f"no template '{template}'; known: {known}")
        return TemplateEncoder(
            tokenizer, templates[template], system=system, learn_all_turns=learn_all_turns, columns=columns
        )
    except ValueError as exc:
        raise ConfigError(f"'template': {exc}") from None


def load_model_tokenizer(model: str) -> Any:
    """The tokenizer of a model folder (or Hugging Face id), as ``dqe train`` loads it.

    This is the one place the check path imports transformers, and only when a model is named
    (``dqe check --model``): a check without one never loads it.
    """
    local = Path(model).expanduser()
    if not local.exists() and (local.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1):
        raise ConfigError(f"'model': {model}: no such folder (and not a Hugging Face id such as owner/name)")
    if local.is_dir() and not any((local / name).is_file() for name in _TOKENIZER_FILES):
        raise ConfigError(
            f"'model': {model} holds no tokenizer (none of {', '.join(_TOKENIZER_FILES)}); "
            "save it beside the model with tokenizer.save_pretrained(PATH)"
        )
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ConfigError(
            f"'model': reading the tokenizer of {model} needs transformers: pip install 'dqe[train]'"
        ) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local.exists())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"'model': cannot load a tokenizer from {model}: {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    return tokenizer


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


class EncodingSettings(BaseModel):
    """What the trainer encodes with, as ``dqe check --model`` / ``--train-config`` learns it.

    The defaults are ``TrainConfig``'s (a test holds them equal); a ``train.toml`` given with
    ``train-config`` sets every one of them as the run will.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    template: str = "alpaca"
    system: str | None = None
    learn_all_turns: bool = False
    seq_len: int = Field(2048, ge=8)
    overlong: Literal["truncate", "drop"] = "truncate"


def encoding_settings(config: Config, base: Path) -> EncodingSettings | None:
    """The encoding a check config asks for (``train-config``, else ``model`` with the config's
    template and the trainer's defaults), None when it names neither."""
    if config.train_config is not None:
        settings = settings_from_train_config(base / Path(config.train_config).expanduser())
        if config.model is not None and _local(config.model, base) != settings.model:
            raise ConfigError(
                f"'model' is {config.model} but 'train-config' {config.train_config} trains {settings.model}: give one"
            )
        return settings
    if config.model is None:
        return None
    return EncodingSettings(model=_local(config.model, base), template=config.template)


def _local(model: str, base: Path) -> str:
    """A model folder as an absolute path (relative to ``base``), a Hugging Face id as is."""
    path = base / Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def settings_from_train_config(path: Path) -> EncodingSettings:
    """The encoding a ``train.toml`` trains with, read as ``dqe train`` reads the file: a key the
    trainer would refuse (``seq-len`` outside ``[batch]``, a misspelt option) is refused here too,
    before a check counts tokens with settings the run will not have."""
    table = read_train_table(path)
    if "model" not in table:
        raise ConfigError(f"{path}: no 'model' key: the check needs the model whose tokenizer training uses")
    # data and out are the run's, not the encoding's: a command line may give them to dqe train
    config = build_config({"data": ".", "out": ".", **table}, where=str(path))
    return EncodingSettings(
        model=_local(config.model, path.resolve().parent),
        template=config.template,
        system=config.system,
        learn_all_turns=config.learn_all_turns,
        seq_len=config.batch.seq_len,
        overlong=config.batch.overlong,
    )


class ModelTokenizer:
    """A model's tokenizer counting texts as the ``tokens`` feature asks (no special tokens)."""

    def __init__(self, tokenizer: Any, name: str, lock: threading.Lock, known: dict[str, list[int]]):
        self._tokenizer = tokenizer
        self._lock = lock
        self._known = known  # shared with the encoder, which reuses the ids of this batch's turns
        self.name = name

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        with self._lock:  # a fast tokenizer called from two threads at once raises "Already borrowed"
            ids = self._tokenizer(texts, add_special_tokens=False)["input_ids"]
            self._known.update(zip(texts, ids, strict=True))
        return ids

    def count(self, texts: list[str]) -> np.ndarray:
        return count_unique(texts, lambda unique: [len(ids) for ids in self.encode(unique)])


@dataclass
class BatchEncoding:
    """A batch's records as the trainer encodes them, one entry per record."""

    tokens: np.ndarray  # formatted tokens before truncation (0 where it cannot render)
    supervised: np.ndarray  # tokens with a label before truncation
    kept_supervised: np.ndarray  # tokens with a label that survive seq-len (0 when dropped)
    dropped: list[str | None]  # fit_length's reason the trainer would drop the record
    problem: list[str | None]  # why the template cannot render the record
    poor: np.ndarray  # tokens that are unknown or a byte fallback (a piece of a character)
    lost_traces: list[list[int]]  # learned turns whose reasoning trace the template does not render


class TrainerEncoding:
    """The trainer's encoding for a check run: the model's tokenizer, the template, seq-len."""

    def __init__(self, settings: EncodingSettings, templates: Mapping[str, Template], columns: Columns):
        self.settings = settings
        self.columns = columns
        self.tokenizer = load_model_tokenizer(settings.model)
        self.encoder = make_encoder(
            self.tokenizer,
            settings.template,
            templates,
            system=settings.system,
            learn_all_turns=settings.learn_all_turns,
            columns=columns,
        )
        self._poor = np.full(len(self.tokenizer), -1, dtype=np.int8)  # per token id: 1 poor, 0 not, -1 not yet seen
        self._memo: tuple[tuple[int, ...], BatchEncoding] | None = None
        # Features run in threads on small batches, and a fast tokenizer is not to be called from
        # two at once; the lock also lets the second feature asking for a batch find it encoded.
        self._lock = threading.Lock()
        self._known: dict[str, list[int]] = {}
        if isinstance(self.encoder, TemplateEncoder):
            self.encoder.known = self._known

    @property
    def name(self) -> str:
        """The tokenizer as manifests and messages name it: ``model:PATH``."""
        return f"model:{self.settings.model}"

    @cached_property
    def counter(self) -> ModelTokenizer:
        """The model's tokenizer behind the ``Tokenizer`` protocol of the tokens feature."""
        return ModelTokenizer(self.tokenizer, self.name, self._lock, self._known)

    def records(self, batch: pl.DataFrame) -> list[Record]:
        """The batch's rows as the ``Record``s the trainer reads (Alpaca's input kept apart)."""
        prompt, query = self.columns.prompt, self.columns.query
        out = []
        for system, turns, tools, fmt, given in zip(
            batch["system"].to_list(),
            batch["turns"].to_list(),
            batch["tools"].to_list(),
            batch["_format"].to_list(),
            batch["input"].to_list(),
            strict=True,
        ):
            original: dict[str, Any] = {}
            if given:
                last_user = max(i for i, t in enumerate(turns) if t["role"] == "user")
                content = turns[last_user]["content"]
                original = {prompt: content[: len(content) - len(given) - 1], query: given}
            out.append(
                Record.model_construct(
                    system=system,
                    turns=[Turn.model_construct(**t) for t in turns],
                    tools=tools,
                    format=fmt,
                    original=original,
                )
            )
        return out

    def _poor_mask(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id is the unknown token or a byte fallback: a token that decodes to no
        whole character on its own (``<0xE4>``, or a byte-level BPE's piece of a character)."""
        unseen = np.unique(ids[self._poor[ids] < 0])
        if unseen.size:
            texts = self.tokenizer.batch_decode([[int(i)] for i in unseen])
            self._poor[unseen] = ["\ufffd" in t for t in texts]
            unk = self.tokenizer.unk_token_id
            if unk is not None and unk < self._poor.size:
                self._poor[unk] = 1
        return self._poor[ids] == 1

    def encode(self, batch: pl.DataFrame) -> BatchEncoding:
        """Every record of ``batch`` encoded and fitted to seq-len (kept for the batch: the
        tokens feature and the encoding feature both read it)."""
        key = (batch.height, *batch["_idx"].head(1).to_list(), *batch["_idx"].tail(1).to_list())
        with self._lock:
            if self._memo is None or self._memo[0] != key:
                self._memo = (key, self._encode(batch))
            return self._memo[1]

    def _encode(self, batch: pl.DataFrame) -> BatchEncoding:
        encoded = self.encoder.encode(self.records(batch))
        n = len(encoded)
        tokens, supervised, kept = (np.zeros(n, dtype=np.int64) for _ in range(3))
        dropped: list[str | None] = [None] * n
        problem: list[str | None] = [None] * n
        lost: list[list[int]] = [[] for _ in range(n)]
        ids: list[np.ndarray] = []
        for i, enc in enumerate(encoded):
            if isinstance(enc, str):
                problem[i] = enc
                ids.append(np.zeros(0, dtype=np.int32))
                continue
            lost[i] = list(enc.lost_traces)
            fitted, _, dropped[i] = fit_length(enc, self.settings.seq_len, self.settings.overlong)
            tokens[i], supervised[i] = len(enc), enc.supervised
            kept[i] = fitted.supervised if fitted is not None else 0
            ids.append(enc.ids)
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
        poor = np.zeros(n, dtype=np.int64)
        if flat.size:
            owner = np.repeat(np.arange(n), tokens)
            poor = np.bincount(owner, weights=self._poor_mask(flat), minlength=n).astype(np.int64)
        self._known.clear()  # the batch is encoded: its texts' ids are not needed again
        return BatchEncoding(tokens, supervised, kept, dropped, problem, poor, lost)
