"""The local engine and `dqe --help` never import Ray: only `--engine ray` does."""

from __future__ import annotations

import json
import subprocess
import sys

GOOD = {"instruction": "Name a primary colour.", "input": "", "output": "Red is a primary colour."}


def test_help_and_a_local_check_do_not_import_ray(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    code = (
        "import sys\n"
        "from dqe.cli import main\n"
        "for args in (['--help'], ['check', sys.argv[1], '--statistics']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")
