"""Inputs as users name them: pipes, standard input, FIFOs and folders are read once, whole."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.errors import InputError
from tests.support import ROOT

RECORDS = [
    {"instruction": "Name a primary colour.", "output": "Red is a primary colour."},
    {"instruction": "What is the capital of France?", "output": "The capital of France is Paris."},
]
DATA = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
DQE = [sys.executable, "-c", "from dqe.cli import main; main()"]
ENV = {**os.environ, "DQE_DISABLE_PLUGINS": "all", "PYTHONPATH": str(ROOT)}  # this checkout's dqe


def dqe_shell(command: str, cwd) -> subprocess.CompletedProcess:
    """``command`` run by bash, with ``dqe`` standing for this checkout's command."""
    script = f'dqe() {{ {shlex.join(DQE)} "$@"; }}\n{command}'
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, env=ENV, timeout=120)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_pipe_beside_a_file_is_read_whole(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(DATA)
    done = dqe_shell(
        "cat f.jsonl | dqe filter /dev/stdin f.jsonl --passed ok.jsonl --rejected bad.jsonl --select DQ001", tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "ok.jsonl") == RECORDS + RECORDS
    manifest = json.loads((tmp_path / "ok.jsonl.manifest.json").read_text())
    assert [(i["path"], i["records"]) for i in manifest["inputs"]] == [("/dev/stdin", 2), ("f.jsonl", 2)]
    assert {i["sha256"] for i in manifest["inputs"]} == {hashlib.sha256(DATA).hexdigest()}


def test_process_substitution_is_read_whole(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(DATA)
    done = dqe_shell("dqe check <(cat f.jsonl) --select DQ001 --format json", tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["records"] == 2


def test_dash_reads_standard_input_and_shows_its_records_again(tmp_path):
    bad = DATA + b'{"instruction": "Summarize it.", "output": ""}\n'
    done = subprocess.run(
        [*DQE, "check", "-", "--select", "DQ001", "--show", "DQ001"], input=bad, capture_output=True, env=ENV
    )
    assert done.returncode == 1  # the gate fails on the empty answer
    assert b"<stdin>:3" in done.stdout and b"Summarize it." in done.stdout  # read again, from the spool


def test_parquet_on_standard_input(tmp_path):
    import polars as pl

    path = tmp_path / "d.parquet"
    pl.DataFrame(RECORDS).write_parquet(path)
    result = CliRunner().invoke(main, ["check", "-", "--select", "DQ001", "--format", "json"], input=path.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"][0] == {
        "path": "<stdin>",
        "container": "parquet",
        "format": "alpaca",
        "records": 2,
        "invalid": 0,
        "note": None,
        "error": None,
    }


def test_standard_input_cannot_be_named_twice():
    result = CliRunner().invoke(main, ["check", "-", "-"], input=DATA)
    assert result.exit_code == 2
    assert "standard input ('-') is named twice" in result.output


def test_a_named_fifo_is_read_once(tmp_path):
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as f:
            f.write(DATA)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = subprocess.run(
        [*DQE, "check", str(fifo), "--select", "DQ001", "--format", "json"], capture_output=True, timeout=60, env=ENV
    )
    writer.join(5)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["records"] == 2


def test_spools_go_with_their_inputs(tmp_path):
    from dqe.io.inputs import resolve_inputs

    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(DATA), daemon=True)
    writer.start()
    inputs = resolve_inputs([fifo])
    writer.join(5)
    (spooled,) = inputs.files
    assert spooled.spooled and spooled.path.read_bytes() == DATA and spooled.label == str(fifo)
    inputs.close()
    assert not spooled.path.exists()


def test_an_unreadable_folder_inside_an_input_folder_stops_the_run(tmp_path, monkeypatch):
    (tmp_path / "data" / "locked").mkdir(parents=True)
    (tmp_path / "data" / "a.jsonl").write_bytes(DATA)
    (tmp_path / "data" / "locked" / "b.jsonl").write_bytes(DATA)
    locked = str(tmp_path / "data" / "locked")
    scandir = os.scandir

    def refuse(path="."):
        if str(path) == locked:  # as chmod 000 would, for any user but root
            raise PermissionError(13, "Permission denied", locked)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(InputError, match=f"{locked}: folder cannot be read \\(Permission denied\\)"):
        dqe.check(tmp_path / "data")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "data")])
    assert result.exit_code == 2 and "folder cannot be read" in result.output


def _gzipped(path, records):
    import gzip

    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    return path


def test_gzipped_json_lines_are_read_as_they_are_named_and_found_in_folders(tmp_path):
    records = [{"instruction": f"Say {i}.", "output": f"{i}."} for i in range(3)]
    _gzipped(tmp_path / "part-1.jsonl.gz", records)
    (tmp_path / "notes.txt.gz").write_bytes(b"not data")  # not .json or .jsonl inside: not an input
    report = dqe.check(tmp_path)
    assert [(f.path, f.records, f.container) for f in report.files] == [(str(tmp_path / "part-1.jsonl.gz"), 3, "jsonl")]
    assert report.records["source"].to_list() == [f"{tmp_path / 'part-1.jsonl.gz'}:{i}" for i in (1, 2, 3)]


def test_a_damaged_gzip_file_is_named(tmp_path):
    whole = _gzipped(tmp_path / "whole.jsonl.gz", [{"instruction": "Hi.", "output": "Hello."}] * 50)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole.read_bytes()[:40])
    with pytest.raises(InputError, match=r"cut.jsonl.gz: cannot be decompressed \(EOFError"):
        dqe.check(cut)


def test_an_output_may_not_replace_a_compressed_input(tmp_path):
    data = _gzipped(tmp_path / "data.jsonl.gz", [{"instruction": "Hi.", "output": "Hello."}])
    with pytest.raises(InputError, match="is an input: refusing to overwrite it"):
        dqe.filter(data, passed=data, rejected=tmp_path / "bad.jsonl")


def test_zstd_needs_its_package_or_reads_like_gzip(tmp_path):
    path = tmp_path / "data.jsonl.zst"
    try:
        import zstandard
    except ImportError:
        path.write_bytes(b"(\xb5/\xfd")
        with pytest.raises(InputError, match="data.jsonl.zst: reading zstd needs the zstandard package"):
            dqe.check(path)
        return
    path.write_bytes(zstandard.ZstdCompressor().compress(b'{"instruction": "Hi.", "output": "Hello."}\n'))
    assert dqe.check(path).summary.records == 1


def test_exclude_leaves_files_out_of_folders_by_name_or_path(tmp_path):
    for name in ("train/a.jsonl", "train/b.jsonl", "eval/c.jsonl"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(json.dumps({"instruction": "Hi.", "output": "Hello."}) + "\n")
    names = lambda report: sorted(os.path.relpath(f.path, tmp_path) for f in report.files)  # noqa: E731
    assert names(dqe.check(tmp_path, exclude=["b.jsonl", "*/eval/*"])) == ["train/a.jsonl"]
    named = dqe.check([tmp_path / "eval" / "c.jsonl"], exclude=["*/eval/*"])  # a file named is always read
    assert names(named) == ["eval/c.jsonl"]
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--exclude", "*/train/*", "--format", "json"])
    assert [os.path.relpath(f["path"], tmp_path) for f in json.loads(result.output)["files"]] == ["eval/c.jsonl"]


def test_a_file_of_a_folder_that_cannot_be_read_is_reported_and_the_rest_checked(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"instruction": "Hi.", "output": "Hello."}) + "\n")
    (tmp_path / "notes.json").write_text("these are notes, not JSON\n")
    report = dqe.check(tmp_path)
    [bad] = [f for f in report.files if f.error]
    assert bad.path.endswith("notes.json") and bad.error.startswith("unknown format: expected JSON Lines")
    assert report.summary.records == 1 and report.exit_code == 2  # checked, but incomplete
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2 and "1 file could not be read (above) · 1 records" in result.output
    with pytest.raises(InputError, match=r"notes.json: unknown format.*no output was written"):
        dqe.filter(tmp_path, passed=tmp_path.parent / "ok.jsonl", rejected=tmp_path.parent / "bad.jsonl")
    assert not (tmp_path.parent / "ok.jsonl").exists()
    with pytest.raises(InputError, match="notes.json: unknown format"):  # a file named on its own stops the run
        dqe.check(tmp_path / "notes.json")


def test_a_hugging_face_datasets_folder_is_read_from_its_arrow_files(tmp_path):
    """What datasets' save_to_disk writes: Arrow files, with dataset_info.json and state.json
    beside them (and dataset_dict.json above, for several splits), which are left out, saying so."""
    import polars as pl

    split = tmp_path / "train"
    split.mkdir()
    rows = {"instruction": ["Name a colour.", "Say hi."], "input": ["", ""], "output": ["Red.", ""]}
    pl.DataFrame(rows).write_ipc_stream(split / "data-00000-of-00001.arrow")
    features = {name: {"dtype": "string", "_type": "Value"} for name in rows}
    (split / "dataset_info.json").write_text(json.dumps({"citation": "", "features": features}, indent=2))
    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "f00d", "_split": None}
    (split / "state.json").write_text(json.dumps(state, indent=2))
    (tmp_path / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}))
    report = dqe.check(tmp_path, select=["DQ001"])
    by_name = {os.path.basename(f.path): f for f in report.files}
    assert (by_name["data-00000-of-00001.arrow"].container, by_name["data-00000-of-00001.arrow"].records) == (
        "arrow",
        2,
    )
    for name in ("dataset_info.json", "state.json", "dataset_dict.json"):
        assert by_name[name].records == 0 and by_name[name].note.startswith("left out: one JSON object describing")
    assert report.records["status"].to_list() == ["passed", "rejected"] and report.exit_code in (0, 1)
