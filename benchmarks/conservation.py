"""Nothing lost: every JSON or JSON Lines file given through ``dqe check`` and ``dqe filter``.

For each file it runs the two commands as a user would and compares ``dqe filter``'s passed and
rejected outputs with the input: every record of the input lands in exactly one of them, each as
it came (``_dqe``, the reasons dqe adds to rejected records, left out). A file dqe refuses (exit
2: no records, an unknown shape) is listed with the command's own message; a traceback is a bug::

    python benchmarks/conservation.py FILE_OR_FOLDER...    # folders: every .json / .jsonl below them
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path


def records(path: Path) -> list | None:
    """The input's records as Python reads them (one object over several lines is one record), or
    None when it is not a list of them."""
    text = path.read_text("utf-8-sig")
    if text.lstrip().startswith("["):
        try:
            found = json.loads(text)
        except json.JSONDecodeError:
            found = None  # JSON Lines whose lines are arrays (a conversation's bare messages)
        if found is not None:
            return found if isinstance(found, list) else None
    try:
        # lines end at "\n" alone: str.splitlines also splits at U+2028 and U+0085, which a JSON
        # string may hold unescaped (dqe's writers keep them so)
        return [json.loads(line) for line in text.split("\n") if line.strip()]
    except json.JSONDecodeError:
        pass
    try:  # one object over several lines: one record (or a config, which dqe refuses)
        found = json.loads(text)
    except json.JSONDecodeError:
        return None
    return [found] if isinstance(found, dict) else None


def canonical(values: list) -> list[str]:
    """Each record as sorted JSON, ``_dqe`` left out; an item that was no record (a list, a line
    that is not JSON) as the raw text dqe keeps for it, parsed where it parses."""
    out = []
    for value in values:
        if isinstance(value, dict) and value.keys() == {"_dqe"} and "raw" in value["_dqe"]:
            try:
                value = json.loads(value["_dqe"]["raw"])
            except json.JSONDecodeError:
                value = value["_dqe"]["raw"]
        elif isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "_dqe"}
        out.append(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return sorted(out)


def conserved(path: Path) -> str:
    given = records(path)
    if not given:
        return f"SKIP  {path} (not a list of records Python can parse)"
    suffix = ".json" if path.read_bytes()[:64].lstrip().startswith(b"[") else ".jsonl"
    with tempfile.TemporaryDirectory() as folder:
        passed, rejected = Path(folder) / f"passed{suffix}", Path(folder) / f"rejected{suffix}"
        check = subprocess.run(["dqe", "check", str(path), "--exit-zero"], capture_output=True, text=True)
        split = subprocess.run(
            ["dqe", "filter", str(path), "--passed", str(passed), "--rejected", str(rejected)],
            capture_output=True,
            text=True,
        )
        if "Traceback" in check.stderr + split.stderr:
            return f"TRACEBACK {path}\n{(check.stderr + split.stderr)[-2000:]}"
        if split.returncode not in (0, 1):
            return f"EXIT {split.returncode} {path}: {split.stderr.strip().splitlines()[-1]}"
        out = (records(passed) or []) + (records(rejected) or [])
        verdict = "OK  " if canonical(out) == canonical(given) else "LOST"
        return f"{verdict} {path}: {len(records(passed) or [])} passed + {len(records(rejected) or [])} rejected of {len(given)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    files = [f for p in args.paths for f in (sorted(p.rglob("*.json*")) if p.is_dir() else [p])]
    lines = []
    for f in files:
        if f.suffix in (".json", ".jsonl"):
            lines.append(conserved(f))
            print(lines[-1], flush=True)  # a long run shows each file as it ends
    kinds = [line.split(" ", 1)[0] for line in lines]
    print(f"{len(lines)} files: " + ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds))))


if __name__ == "__main__":
    main()
