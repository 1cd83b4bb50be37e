"""What the user named as inputs, resolved once into files that can be read again.

A path names a file, a folder (every .json, .jsonl, .parquet and .arrow file under it, and .json
and .jsonl files compressed with gzip or zstd) or ``-`` for standard input. A regular file is
read where it lies; a compressed one is decompressed to a spool as it is read. Anything else
(standard input, a pipe such as ``/dev/stdin`` or ``<(...)``, a named FIFO, a device) can be
read only once, so it is copied to a temporary spool as it is read, and hashed on the way: every
later reading (record text for a report, ``dqe filter``'s outputs, the gate manifest's hash)
reads the spool, which lives as long as the ``Inputs`` that made it.

``refuse_overwriting`` holds the other half of "nothing lost": no output may be an input.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from dqe.errors import InputError
from dqe.io.files import file_sha256
from dqe.records import Record

STDIN = "-"
STDIN_LABEL = "<stdin>"
ANNOTATION = "_dqe"  # dqe's own field in the records it writes, unless the data has one
GENERATED = "generated"  # under ANNOTATION: the provenance `dqe augment` gives a record it generated
SUFFIXES = (".json", ".jsonl", ".parquet", ".arrow")
COMPRESSED = (".gz", ".zst")  # after .json or .jsonl: decompressed as they are read
_COPY_CHUNK = 1 << 20


def is_generated(obj: Any) -> bool:
    """Whether a record object carries ``dqe augment``'s provenance (``_dqe.generated``): the
    report counts such records, so that generated data never passes for collected data."""
    annotation = obj.get(ANNOTATION)
    return isinstance(annotation, dict) and GENERATED in annotation


@dataclass(frozen=True)
class InputFile:
    """One input file: ``label`` names it in findings, ``path`` is where its bytes are read."""

    label: str
    path: Path
    spooled_sha256: str | None = None  # the hash of a stream, taken as it was copied to ``path``
    origin: Path | None = None  # the file a spool was decompressed from (an output may not replace it)
    in_folder: bool = False  # found in a folder named as input: one that cannot be read does not stop the rest

    @property
    def spooled(self) -> bool:
        return self.spooled_sha256 is not None

    def sha256(self) -> str:
        return self.spooled_sha256 or file_sha256(self.path)


class Inputs:
    """Resolved inputs, in order: ``InputFile``s, or one in-memory source (a list of dicts or a
    polars frame) under a label. Owns the spools of streams; they go with it (or ``close``)."""

    def __init__(self) -> None:
        self.sources: list[tuple[str, Any]] = []  # (label, InputFile | list | polars frame)
        self.annotation_taken = False  # set by reading: some record has an ANNOTATION field of its own
        self._spool: Path | None = None
        self._cleanup: weakref.finalize | None = None

    @property
    def files(self) -> list[InputFile]:
        return [s for _, s in self.sources if isinstance(s, InputFile)]

    def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup()

    def _spool_dir(self) -> Path:
        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="dqe-spool-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._spool, ignore_errors=True)
        return self._spool

    def spool(self, label: str, stream: Any, suffix: str) -> InputFile:
        """Copy ``stream`` (a binary file object) to a spool file, hashing it on the way."""
        target = self._spool_dir() / f"{len(self.sources)}{suffix}"
        digest = hashlib.sha256()
        try:
            with open(target, "wb") as out:
                while True:
                    try:
                        chunk = stream.read(_COPY_CHUNK)
                    except OSError as exc:
                        raise InputError(f"{label}: cannot be read ({exc.strerror or exc})") from None
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            raise InputError(
                f"{label}: cannot be copied to a temporary file in {target.parent} ({exc.strerror or exc}); "
                "a stream is kept there while dqe reads it: set TMPDIR to a folder with room"
            ) from None
        return InputFile(label, target, digest.hexdigest())


def resolve_inputs(inputs: Any, exclude: Sequence[str] = ()) -> Inputs:
    """``inputs`` (paths, a list of dicts, a list of ``Record``s or a polars frame) resolved; an
    ``Inputs`` is kept. ``exclude``: glob patterns of files to leave out of folders."""
    if isinstance(inputs, Inputs):
        return inputs
    resolved = Inputs()
    try:
        import polars as pl

        if isinstance(inputs, pl.DataFrame):
            resolved.sources.append(("<dataframe>", inputs))
            return resolved
    except ImportError:  # pragma: no cover - polars is a dependency
        pass
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    if isinstance(inputs, Sequence) and inputs and isinstance(inputs[0], dict | Record):
        records = list(inputs)
        if isinstance(records[0], Record):  # read as they are: no format to detect or parse
            odd = next((i for i, x in enumerate(records) if not isinstance(x, Record)), None)
            if odd is not None:
                raise InputError(
                    f"<records>:{odd + 1}: a {type(records[odd]).__name__} among Records: give Records only"
                )
        resolved.sources.append(("<records>", records))
        return resolved
    stdin_seen = False
    for item in inputs:
        if not isinstance(item, str | Path):
            raise InputError(
                f"cannot read {type(item).__name__}: give paths, a list of dicts, a list of Records or a polars DataFrame"
            )
        if str(item) == STDIN:
            if stdin_seen:
                raise InputError("standard input ('-') is named twice; it can be read only once")
            stdin_seen = True
            if sys.stdin is None or sys.stdin.isatty():
                raise InputError("'-' reads standard input, which is a terminal here: pipe the data in")
            resolved.sources.append((STDIN_LABEL, resolved.spool(STDIN_LABEL, sys.stdin.buffer, "")))
            continue
        folder = Path(item).is_dir()
        for path in expand(Path(item), exclude):
            found = _file(resolved, path)
            resolved.sources.append((str(path), replace(found, in_folder=True) if folder else found))
    if not resolved.sources:
        raise InputError("no input given")
    return resolved


def _file(inputs: Inputs, path: Path) -> InputFile:
    """A regular file as it is; anything else that can be opened, spooled."""
    label = str(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISREG(mode) and _compressed(path):
        return _decompressed(inputs, path)
    if stat.S_ISREG(mode):
        return InputFile(label, path)
    try:
        with open(path, "rb") as stream:
            return inputs.spool(label, stream, path.suffix.lower())
    except OSError as exc:
        raise InputError(f"{label}: cannot be read ({exc.strerror or exc})") from None


def _compressed(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    return len(suffixes) == 2 and suffixes[0] in (".json", ".jsonl") and suffixes[1] in COMPRESSED


def _decompressed(inputs: Inputs, path: Path) -> InputFile:
    """A .json.gz, .jsonl.gz, .json.zst or .jsonl.zst file, decompressed to a spool as it is read."""
    label, inner = str(path), path.suffixes[-2].lower()
    try:
        with open(path, "rb") as raw:
            if path.suffix.lower() == ".gz":
                import gzip

                stream: Any = gzip.GzipFile(fileobj=raw)
            else:
                try:
                    import zstandard
                except ImportError:
                    raise InputError(
                        f"{label}: reading zstd needs the zstandard package: pip install zstandard"
                    ) from None
                stream = zstandard.ZstdDecompressor().stream_reader(raw)
            spooled = inputs.spool(label, stream, inner)
    except InputError:
        raise
    except Exception as exc:  # a damaged file: gzip, zlib and zstd each raise their own
        raise InputError(f"{label}: cannot be decompressed ({type(exc).__name__}: {exc})") from None
    return InputFile(label, spooled.path, spooled.spooled_sha256, origin=path)


def expand(path: Path, exclude: Sequence[str] = ()) -> list[Path]:
    """A folder's data files, sorted, but those whose path or name matches a pattern of
    ``exclude``; a folder that cannot be listed is an error, not skipped."""
    if not path.is_dir():
        return [path]

    def fail(exc: OSError) -> None:
        raise InputError(f"{exc.filename}: folder cannot be read ({exc.strerror or exc})")

    found = []
    for folder, _dirs, names in os.walk(path, onerror=fail):
        for name in names:
            candidate = Path(folder) / name
            if (candidate.suffix.lower() in SUFFIXES or _compressed(candidate)) and candidate.is_file():
                found.append(candidate)
    found = [f for f in found if not any(fnmatch(str(f), p) or fnmatch(f.name, p) for p in exclude)]
    if not found:
        raise InputError(
            f"{path}: folder holds no .json, .jsonl, .parquet or .arrow files (nor .json or .jsonl ones gzipped or zstd)"
        )
    return sorted(found)


# -- outputs never replace inputs ------------------------------------------------------------


def _identity(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """The resolved path and, when the file exists, its device and inode (a hard link's too)."""
    resolved = path.resolve()
    try:
        st = os.stat(path)
    except OSError:
        return resolved, None
    return resolved, (st.st_dev, st.st_ino)


def refuse_overwriting(outputs: dict[str, Path], inputs: Iterable[Path]) -> None:
    """An ``InputError`` (exit code 2) when an output is an input, or two outputs are one file.

    ``outputs`` maps what names each output (``--passed``) to its path. Paths are compared
    resolved (``./a.jsonl``, ``../x/a.jsonl``, symbolic links) and by device and inode (hard
    links), so no spelling of an input gets past.
    """
    known: list[tuple[str | None, Path, tuple[Path, tuple[int, int] | None]]] = [
        (None, p, _identity(p)) for p in inputs
    ]
    for name, path in outputs.items():
        resolved, inode = _identity(path)
        for other_name, other, (other_resolved, other_inode) in known:
            if resolved == other_resolved or (inode is not None and inode == other_inode):
                if other_name is not None:
                    raise InputError(f"{name} {path} and {other_name} {other} are the same file: give two files")
                spelt = "" if str(path) == str(other) else f" ({other})"
                raise InputError(
                    f"{name} {path} is an input{spelt}: refusing to overwrite it; write the output elsewhere"
                )
        known.append((name, path, (resolved, inode)))


def input_paths(inputs: Inputs) -> list[Path]:
    """The files of ``inputs`` that lie on disk: the compressed file a spool was read from, never
    a spool itself (dqe's own, never an output)."""
    return [f.origin or f.path for f in inputs.files if f.origin or not f.spooled]
