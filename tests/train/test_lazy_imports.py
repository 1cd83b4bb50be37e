"""``dqe --help``, ``dqe check`` (reading a score file too), ``dqe train --help``, ``dqe eval --help``
and ``dqe score --help`` never import torch (or transformers)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import sys
from click.testing import CliRunner
from dqe.cli import main
reading_scores = ["check", sys.argv[1], "--scores", sys.argv[2], "--html", "report.html"]
for args in (["--help"], ["train", "--help"], ["eval", "--help"], ["score", "--help"], ["check", sys.argv[1]], reading_scores, ["rules"]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), (args, result.output)
heavy = sorted(m for m in ("torch", "transformers", "peft") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_check_and_help_do_not_import_torch(tmp_path):
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
    assert out.stdout.strip() == "none"


def test_a_check_with_a_model_loads_its_tokenizer_through_transformers(tmp_path, english_model):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"instruction": "Say hi.", "input": "", "output": "Hi."}) + "\n")
    script = (
        "import sys\nfrom click.testing import CliRunner\nfrom dqe.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', {str(data)!r}, '--model', {str(english_model)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print('transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "True"
