"""DQ108 training-misfit: the records a run's ledger singles out, found in the data checked
(dqe check --ledger RUN), without torch."""

from __future__ import annotations

import json
from dataclasses import asdict

from click.testing import CliRunner

from dqe.cli import main
from dqe.engine.ledger import LedgerRow
from dqe.io.reader import record_id
from dqe.testing import assert_findings, run_rule


def alpaca(n: int, answer: str = "A short answer of a few words.") -> dict:
    return {"instruction": f"Question {n}?", "input": "", "output": answer}


def write_run(folder, records: list[dict], losses: dict[int, tuple[float, float | None]]):
    """A run folder whose ledger lists ``records`` (as data.jsonl's lines) with their losses:
    position -> (final loss, first-epoch loss); records without one were held out."""
    folder.mkdir()
    rows = []
    for n, record in enumerate(records):
        loss, first = losses.get(n, (None, None))
        split = "train" if loss is not None else "test"
        rows.append(
            LedgerRow(record_id(record), f"data.jsonl:{n + 1}", split, None, 30, 30, 10, False, None, loss, first)
        )
    (folder / "ledger.jsonl").write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    return folder


def test_the_records_the_run_fits_worst_and_got_worse_on_are_info_findings(tmp_path):
    records = [alpaca(n) for n in range(60)]
    losses = {n: (2.0 + 0.01 * (n % 7), 2.5) for n in range(50)}
    losses[3] = (6.0, 6.5)  # fitted far worse than the records of its length
    losses[4] = (2.03, 1.9)  # got worse: its loss rose from the first epoch
    run_dir = write_run(tmp_path / "run", [*records[:55], alpaca(99)], losses)  # alpaca(99) is not in the data

    checked = [*records, alpaca(100)]
    run = run_rule("DQ108", checked, ledger=str(run_dir))

    assert_findings(
        run,
        {
            3: "the run fits this record worst for its length (1 of 1): loss 6.000 per answer token",
            4: "the run got worse on this record (1 of 1): loss 1.900 after the first epoch, 2.030 at the end",
        },
    )
    assert (
        f"ledger {run_dir / 'ledger.jsonl'}: record {record_id(records[3])} trained from data.jsonl:4"
        in run.evidence[3]
    )
    section = run.report.dataset["ledger"]
    assert section["in_run"] == 55 and section["not_in_run"] == 6  # records 55-59 and alpaca(100)
    assert section["records"] == 61 and section["run_records"] == 50
    assert run.report.summary.rejected == 0  # info: nothing is rejected


def test_listed_records_missing_from_the_data_are_named(tmp_path):
    records = [alpaca(n) for n in range(30)]
    losses = {n: (2.0, 2.5) for n in range(30)} | {7: (2.0, 1.0)}
    run_dir = write_run(tmp_path / "run", records, losses)
    run = run_rule("DQ108", records[:5], ledger=str(run_dir))
    assert_findings(run, [])
    assert run.report.dataset["ledger"]["listed_not_in_data"] == ["data.jsonl:8"]


def test_skipped_without_a_ledger_and_a_missing_run_is_a_usage_error(tmp_path):
    run = run_rule("DQ108", [alpaca(1)])
    assert_findings(run, [])
    assert next(r for r in run.report.rules if r.code == "DQ108").skipped == "no --ledger"

    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(alpaca(1)) + "\n")
    result = CliRunner().invoke(main, ["check", str(data), "--ledger", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such run folder" in result.output
