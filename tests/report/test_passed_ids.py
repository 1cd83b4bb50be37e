"""The manifest's passed ids come back sorted and unique, however many runs they were spilled in."""

from __future__ import annotations

from dqe.report.passed_ids import PassedIds


def test_ids_spilled_in_runs_come_back_sorted_and_once():
    ids = [f"{(i * 7919) % 61:016x}" for i in range(300)]  # 61 ids, each several times, in no order
    with PassedIds(run=16) as spilled, PassedIds() as held:
        for record in ids:
            spilled.add(record)
            held.add(record)
        assert list(spilled.sorted()) == sorted(set(ids)) == list(held.sorted())
        assert len(spilled._runs) == 18 and not held._runs  # 300 ids: 18 runs of 16 on disk, 12 held
