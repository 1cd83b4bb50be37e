"""One local Ray cluster for the session's Ray tests (two CPUs, as CI has), or a skip saying
why when the ``[ray]`` extra is not installed."""

from __future__ import annotations

import os
import tempfile

import pytest


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    pytest.importorskip("ray.data", reason="the [ray] extra is not installed: pip install -e '.[ray]'")
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token file in the user's home
    ray.init(
        num_cpus=2,
        object_store_memory=200_000_000,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _temp_dir=tempfile.mkdtemp(prefix="dqe-ray-"),  # short: Ray's socket paths have a length limit
        # the workers see what tests/conftest.py gives every test: built-in plugins only, a cache of their own
        runtime_env={
            "env_vars": {
                "DQE_DISABLE_PLUGINS": "all",
                "DQE_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "dqe-cache"),
            }
        },
    )
    yield
    ray.shutdown()


@pytest.fixture
def small_ranges(monkeypatch):
    """Read ranges of 2 KiB, so that a few dozen records are cut into several read tasks."""
    from dqe.ray.engine import RayEngine

    monkeypatch.setattr(RayEngine, "range_bytes", 2048)
