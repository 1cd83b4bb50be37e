"""Output files: every container round-trips its records; a run's outputs appear all or none."""

from __future__ import annotations

import errno
import os

import pytest

from dqe.errors import OutputError
from dqe.io.files import read_items, sniff
from dqe.io.writers import ObjectWriter, OutputSet, PendingFile


def items_of(path):
    return list(read_items(path, sniff(path)))


@pytest.mark.parametrize("name", ["out.jsonl", "out.json", "out.parquet"])
def test_writer_round_trips_every_field(tmp_path, name):
    objs = [
        {"instruction": "é", "output": "😀", "meta": {"n": 1, "tags": ["a"]}},
        {"instruction": "b", "output": "c", "meta": {"n": 2, "tags": []}},
    ]
    with OutputSet() as files:
        writer = ObjectWriter(files.open(tmp_path / name))
        for obj in objs:
            writer.write(obj)
        writer.close()
    assert [i.obj for i in items_of(tmp_path / name)] == objs


def test_an_interrupted_writer_leaves_no_file(tmp_path):
    with pytest.raises(KeyboardInterrupt), OutputSet() as files:
        ObjectWriter(files.open(tmp_path / "out.jsonl")).write({"a": 1})
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_an_output_set_is_written_all_or_none(tmp_path):
    (tmp_path / "old.jsonl").write_text("old\n")
    with pytest.raises(RuntimeError), OutputSet() as files:
        files.open(tmp_path / "new.jsonl").write(b"new\n")
        files.open(tmp_path / "old.jsonl").write(b"new\n")
        raise RuntimeError("the second output failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.jsonl"]
    assert (tmp_path / "old.jsonl").read_text() == "old\n"
    with OutputSet() as files:
        files.open(tmp_path / "new.jsonl").write(b"new\n")
        files.open(tmp_path / "old.jsonl").write(b"new\n")
    assert (tmp_path / "new.jsonl").read_text() == (tmp_path / "old.jsonl").read_text() == "new\n"


def test_an_io_error_names_the_file_and_leaves_nothing(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputError, match=r"a-file/out.jsonl: cannot be written \(.+\); no output was written"):
        PendingFile(tmp_path / "a-file" / "out.jsonl")
    with pytest.raises(OutputError, match="is not a regular file"):
        PendingFile(tmp_path)
    with (
        pytest.raises(OutputError, match=r"out.jsonl: cannot be written \(No space left on device\)"),
        OutputSet() as files,
    ):
        pending = files.open(tmp_path / "out.jsonl")
        pending._file.close()
        pending._file = DiskFull()
        pending.write(b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # no .tmp file left


class DiskFull:
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self):
        pass
