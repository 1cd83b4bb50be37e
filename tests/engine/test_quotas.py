"""Quota arithmetic of the selection rules, on numbers worked out by hand."""

from __future__ import annotations

import polars as pl

from dqe.engine.quotas import best_first, category_quotas, over_quota, shortfalls, vertical_quota


def test_exact_target_is_limited_by_the_rarest_category():
    # tolerance 1, uniform over three: the selection shrinks until 10 records of c are a third
    quotas = category_quotas({"a": 500, "b": 300, "c": 10}, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, tolerance=1.0)
    assert quotas == {"a": 10, "b": 10, "c": 10}


def test_tolerance_lets_a_category_hold_a_multiple_of_its_share():
    # 500 of 810 is 62%, under twice a third: nothing to cut
    counts = {"a": 500, "b": 300, "c": 10}
    assert category_quotas(counts, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, tolerance=2.0) == counts


def test_categories_missing_from_the_data_do_not_shrink_the_others():
    # a uniform target over 26 categories, two present: each may hold up to 2 x 1/2
    target = {f"c{i}": 1 / 26 for i in range(26)}
    quotas = category_quotas({"c0": 90, "c1": 10}, target, tolerance=2.0)
    assert quotas == {"c0": 90, "c1": 10}


def test_a_category_with_no_target_share_keeps_nothing():
    assert category_quotas({"math": 40, "poems": 60}, {"math": 1.0}, tolerance=1.5) == {"math": 40, "poems": 0}


def test_free_records_count_towards_the_size_without_a_quota():
    # 100 unclassified records: the size is 100 + what a and b may keep
    quotas = category_quotas({"a": 300, "b": 20}, {"a": 0.5, "b": 0.5}, tolerance=1.0, free=100)
    assert quotas == {"a": 120, "b": 20}  # a selection of 240, half of it a


def test_max_records_sizes_the_quotas_for_the_limit():
    quotas = category_quotas(
        {"a": 1000, "b": 1000, "c": 1000, "d": 1000}, {k: 0.25 for k in "abcd"}, tolerance=1.2, limit=100
    )
    assert quotas == {k: 30 for k in "abcd"}  # 1.2 x 0.25 x 100


def test_every_category_with_a_share_keeps_at_least_one_record():
    target = {f"c{i}": 1 / 26 for i in range(26)}
    counts = {f"c{i}": 3 for i in range(26)}
    assert category_quotas(counts, target, tolerance=1.0, limit=10) == {c: 1 for c in counts}


def test_vertical_quota_keeps_the_share_of_the_result_under_the_maximum():
    assert vertical_quota(450, 550, 0.3) == 235  # 235 / (550 + 235) = 0.299
    assert vertical_quota(100, 900, 0.3) == 100  # already under
    assert vertical_quota(50, 0, 0.3) == 0  # nothing general to be a minority of
    assert vertical_quota(50, 0, 1.0) == 50
    assert vertical_quota(400, 5000, 0.3, limit=1000) == 300  # max-records will cut to 1,000


def test_over_quota_keeps_the_best_of_each_group_and_ties_in_reading_order():
    table = pl.DataFrame(
        {
            "_idx": [0, 1, 2, 3, 4, 5],
            "group": ["a", "a", "a", "b", "b", "a"],
            "merit": [0.5, 0.9, 0.5, 0.1, 0.2, 0.7],
        }
    )
    over = over_quota(table, "group", {"a": 2, "b": 5})
    assert sorted(over["_idx"].to_list()) == [0, 2]  # a keeps 1 (0.9) and 5 (0.7)
    assert over["_kept"].to_list() == [2, 2] and over["_had"].to_list() == [4, 4]
    assert best_first(table)["_idx"].to_list() == [1, 5, 0, 2, 4, 3]


def test_shortfalls_are_what_each_category_lacks_of_its_share_biggest_first():
    # a balanced selection of 40 records, a quarter each wanted: 10 apiece
    counts = {"math": 25, "code": 7, "poems": 8}
    target = {"math": 0.25, "code": 0.25, "poems": 0.25, "translation": 0.25}
    assert shortfalls(counts, target, 40) == {"translation": 10, "code": 3, "poems": 2}


def test_a_category_with_no_target_share_lacks_nothing():
    assert shortfalls({"math": 3}, {"math": 1.0, "poems": 0.0}, 10) == {"math": 7}
