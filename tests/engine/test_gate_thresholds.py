"""Gate thresholds: each metric declares the values it can take, and a threshold outside them or
on the wrong side of its other level is a config error naming the key."""

from __future__ import annotations

import pytest

from dqe.engine.config import Threshold
from dqe.engine.gate import ENGINE_METRICS, resolve_metrics
from dqe.engine.rule import GateMetric
from dqe.errors import ConfigError

SHARE = GateMetric(name="share", key="s", description="a share", direction="min", fail=0.5, warn=0.8, bounds=(0, 1))
COUNT = GateMetric(name="count", key="c", description="a count", direction="max", fail=10, bounds=(0, None))


def resolved(**configured: dict) -> dict[str, GateMetric]:
    thresholds = {name.replace("_", "-"): Threshold(**t) for name, t in configured.items()}
    return {m.name: m for m in resolve_metrics([*ENGINE_METRICS, SHARE, COUNT], thresholds)}


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"pass_rate": {"fail": 1.5}}, "'gate.pass-rate.fail': 1.5 is outside the values pass-rate can take (0 to 1)"),
        ({"pass_rate": {"fail": -0.2}}, "'gate.pass-rate.fail': -0.2 is outside the values pass-rate can take"),
        ({"invalid_records": {"fail": -1}}, "'gate.invalid-records.fail': -1 is outside the values"),
        ({"count": {"warn": -3}}, "'gate.count.warn': -3 is outside the values count can take (0 or more)"),
        ({"pass_rate": {"fail": 0.9, "warn": 0.8}}, "'gate.pass-rate.warn': 0.8 is below the fail level 0.9"),
        ({"count": {"fail": 5, "warn": 7}}, "'gate.count.warn': 7 is above the fail level 5"),
        ({"share": {"warn": 0.3}}, "'gate.share.warn': 0.3 is below the fail level 0.5 (the default)"),
    ],
)
def test_a_threshold_that_can_never_pass_or_never_fail_is_refused(configured, message):
    with pytest.raises(ConfigError) as exc:
        resolved(**configured)
    assert message in str(exc.value)


def test_a_threshold_that_is_not_a_number_is_refused_when_the_config_is_read():
    from dqe.engine.config import load_config

    with pytest.raises(ConfigError, match="'gate.pass-rate.fail': Input should be a finite number"):
        load_config(None, {"gate": {"pass-rate": {"fail": float("nan")}}}, discover=False)


def test_thresholds_in_range_and_in_order_are_taken():
    metrics = resolved(pass_rate={"fail": 0.9, "warn": 0.99}, count={"fail": 0}, share={"fail": 0, "warn": 1})
    assert (metrics["pass-rate"].fail, metrics["pass-rate"].warn) == (0.9, 0.99)
    assert metrics["count"].fail == 0
    assert (metrics["share"].fail, metrics["share"].warn) == (0, 1)


def test_a_fail_level_past_the_default_warn_level_drops_that_warn_level():
    """``cot-share-reasoning = {fail = 0.8}`` with the default warn 0.5: the user asked for a
    stricter gate, not for a warn level that can never show; the equal levels warn and fail
    together."""
    metrics = resolved(pass_rate={"fail": 0.97})
    assert (metrics["pass-rate"].fail, metrics["pass-rate"].warn) == (0.97, None)


def test_every_shipped_metric_declares_its_bounds():
    from dqe.engine.plugins import load_plugins

    declared = [*ENGINE_METRICS, *(m for cls in load_plugins().rules.values() for m in cls.gate_metrics)]
    assert declared and all(m.bounds[0] == 0 for m in declared), [m.name for m in declared if m.bounds[0] != 0]


def test_a_plugin_metric_whose_own_defaults_are_out_of_order_is_a_plugin_error():
    from dqe.errors import PluginError

    broken = GateMetric(name="odd", key="o", description="", direction="max", fail=0.1, warn=0.5, bounds=(0, 1))
    with pytest.raises(PluginError, match="gate metric 'odd': its default warn level 0.5 is above its fail level 0.1"):
        resolve_metrics([broken], {})
