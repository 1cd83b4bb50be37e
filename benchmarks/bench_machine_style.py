"""DQ210 machine-style on real data: which sets read as machine-written, and by which phrases.

For every set of ../shared/data (and any file given) it prints the synthetic-share (records
whose answers hold `min-phrases` distinct stock phrases of the `machine-style` pack), the share
holding at least one, and the phrases found most often. GSM8K's answers were written by people,
the Alpaca and GPTeacher sets by OpenAI models, FastChat's dummy set by hand in a model's voice.

    python benchmarks/bench_machine_style.py
    python benchmarks/bench_machine_style.py other.json --columns response=response
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import dqe

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="more files to measure (default: ../shared/data)")
    parser.add_argument("--columns", default=None, help="a field mapping for the files given (response=response)")
    args = parser.parse_args()
    files = args.files or sorted(p for p in DATA.glob("*.json*") if p.is_file())
    print(f"{'set':44} {'records':>7} {'synthetic-share':>15} {'any phrase':>10}  most said")
    for path in files:
        options = {"columns": dict([args.columns.split("=")])} if args.columns else {}
        if path.name.startswith("gpteacher"):
            options = {"columns": {"response": "response"}}
        report = dqe.check(path, select=["DQ210"], complete=True, **options)
        section = report.dataset["machine_style"]
        phrases: Counter[str] = Counter()
        for evidence in report.findings_frame["evidence"]:
            phrases.update(evidence.split(': "', 1)[1].rstrip('"').split('", "'))
        top = ", ".join(f"{p} ({n})" for p, n in phrases.most_common(6))
        print(
            f"{path.name[:44]:44} {section['records']:7} {section['synthetic_share']:15.1%}"
            f" {section['with_phrases'] / section['records']:10.1%}  {top}"
        )


if __name__ == "__main__":
    main()
