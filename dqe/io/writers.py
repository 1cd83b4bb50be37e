"""Output files, written so that a run leaves all of them or none.

Each output is written to a temporary file beside its target and hashed as it is written. An
``OutputSet`` moves its files into place together, once every one is complete; any failure
before that removes every temporary file and leaves the targets as they were. An I/O error (a
full disk, a folder that cannot be written) is an ``OutputError`` naming the file and the
system's reason: exit code 2, like any other error the user can fix, never a gate failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from dqe.errors import OutputError
from dqe.io.files import Container
from dqe.io.values import dumps


def _error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot be written ({exc.strerror or exc}); no output was written")


def container_for_output(path: Path) -> Container:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".json":
        return "json"
    return "jsonl"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class PendingFile:
    """One output, written to a temporary file beside ``path`` until it is committed."""

    def __init__(self, path: Path):
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise _error(path, exc) from None
        if mode is not None and not stat.S_ISREG(mode):
            raise OutputError(f"{path}: is not a regular file; give a file name to write to")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise _error(path, exc) from None
        self.tmp = Path(tmp)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def write(self, data: bytes) -> None:
        assert self._file is not None, f"{self.path} was already finished"
        try:
            self._file.write(data)
        except OSError as exc:
            raise _error(self.path, exc) from None
        self.digest.update(data)
        self.size += len(data)

    def finish(self) -> None:
        """Flush and close the temporary file (a full disk often shows only here)."""
        if self._file is None:
            return
        f, self._file = self._file, None
        try:
            f.close()
            os.chmod(self.tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs are ordinary files
        except OSError as exc:
            raise _error(self.path, exc) from None

    def commit(self) -> None:
        self.finish()
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise _error(self.path, exc) from None

    def discard(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            with contextlib.suppress(OSError):  # the write already failed; the file goes anyway
                f.close()
        self.tmp.unlink(missing_ok=True)


class OutputSet:
    """Outputs that are written all or none: ``commit`` moves them into place once all are
    complete; leaving the ``with`` block on an error discards them all."""

    def __init__(self) -> None:
        self.files: list[PendingFile] = []

    def open(self, path: Path) -> PendingFile:
        pending = PendingFile(path)
        self.files.append(pending)
        return pending

    def commit(self) -> None:
        for pending in self.files:
            pending.finish()
        for pending in self.files:
            pending.commit()

    def discard(self) -> None:
        for pending in self.files:
            pending.discard()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            try:
                self.commit()
            except BaseException:
                self.discard()
                raise
        else:
            self.discard()


@contextmanager
def atomic_output(path: Path) -> Iterator[PendingFile]:
    """One file, written whole or not at all."""
    with OutputSet() as outputs:
        yield outputs.open(path)


class ObjectWriter:
    """Writes JSON objects to a JSONL file, a JSON array or Parquet (by the target's suffix), on
    a ``PendingFile`` of an ``OutputSet``, which moves it into place with the set's other files."""

    def __init__(self, file: PendingFile):
        self.file = file
        self.path = file.path
        self.container = container_for_output(self.path)
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        if self.container == "json":
            self.file.write(b"[")

    def write(self, obj: dict[str, Any]) -> None:
        if self.container == "parquet":
            self._rows.append(obj)
        else:
            data = dumps(obj)
            if self.container == "json":
                self.file.write((b"\n  " if self.count == 0 else b",\n  ") + data)
            else:
                self.file.write(data + b"\n")
        self.count += 1

    def close(self) -> None:
        """Complete the file: the closing bracket of an array, or the whole Parquet file."""
        if self.container == "json":
            self.file.write(b"\n]\n" if self.count else b"]\n")
        elif self.container == "parquet":
            from dqe.io.parquet import encode

            self.file.write(encode(self._rows))
            self._rows = []
        self.file.finish()
