"""``dqe --help``, ``dqe check`` (reading a score file too, in every report format), ``dqe train
--help``, ``dqe eval --help`` and ``dqe score --help`` never import torch (or transformers), and
neither they nor a local check import Ray: only ``--engine ray`` does. One fresh interpreter
runs them all, through the command's own entry point."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import sys
from dqe.cli import main
reading_scores = ["check", sys.argv[1], "--scores", sys.argv[2], "--html", "report.html"]
checks = [["check", sys.argv[1]], ["check", sys.argv[1], "--format", "json"], ["check", sys.argv[1], "--statistics"]]
for args in (["--help"], ["train", "--help"], ["eval", "--help"], ["score", "--help"], *checks, reading_scores, ["rules"]):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, 1, None), (args, exc.code)
heavy = sorted(m for m in ("peft", "ray", "torch", "transformers") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_check_and_help_do_not_import_torch_or_ray(tmp_path):
    from tests.support import write_scores

    record = {"instruction": "Say hi.", "input": "", "output": "Hi."}
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(record) + "\n")
    scores = write_scores(tmp_path / "scores.jsonl", [record], [0.8])  # a check reading dqe score's file
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), str(scores)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip().splitlines()[-1] == "none"


def test_a_check_with_a_model_loads_its_tokenizer_through_transformers(tmp_path, english_model):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"instruction": "Say hi.", "input": "", "output": "Hi."}) + "\n")
    assert "transformers" in check_imports(tmp_path, [str(data), "--model", str(english_model)])


def test_a_check_with_a_ledger_reads_it_without_torch(tmp_path):
    record = {"instruction": "Say hi.", "input": "", "output": "Hi."}
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(record) + "\n")
    (tmp_path / "run").mkdir()
    row = {"id": "x", "source": "d.jsonl:1", "split": "train", "category": None, "tokens": 9, "kept": 9}
    row |= {"supervised": 2, "truncated": False, "dropped": None, "loss": 1.5, "loss_first_epoch": 2.0}
    (tmp_path / "run" / "ledger.jsonl").write_text(json.dumps(row) + "\n")
    assert check_imports(tmp_path, [str(data), "--ledger", str(tmp_path / "run")]) == "none"


def check_imports(folder, args: list[str]) -> str:
    """Which of torch, transformers and peft a `dqe check` with ``args`` imports ("none")."""
    script = (
        "import sys\nfrom click.testing import CliRunner\nfrom dqe.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', *{args!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(','.join(m for m in ('peft', 'torch', 'transformers') if m in sys.modules) or 'none')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=folder)
    return out.stdout.strip()
