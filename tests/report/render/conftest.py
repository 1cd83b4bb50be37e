"""Fixtures: the generated data set of ``defects.py`` and its reports."""

from __future__ import annotations

import pytest
from defects import SECTION_METRICS, SECTIONS, defect_records

import dqe


@pytest.fixture
def defect_file(write_jsonl):
    return write_jsonl(defect_records())


@pytest.fixture
def report(defect_file):
    """The report of the generated data set (DQ000, DQ001 and DQ101 fail somewhere)."""
    return dqe.check(defect_file, select=["DQ001", "DQ101"])  # the spine's rules: the tests know what they fail


@pytest.fixture
def full_report(report):
    """The same report with every data-set section the dataset rules produce, as they will."""
    report.dataset.update(SECTIONS)
    report.gate.metrics.extend(SECTION_METRICS)
    return report
