"""Helpers for tests of code that runs on the ``ray`` engine: a small local cluster and warning filters.

Example:
    >>> RAY_WARNING_FILTER
    'ignore::DeprecationWarning:ray.data.context'
    >>> with local_ray_cluster(num_cpus=2):  # doctest: +SKIP
    ...     run_batches(items, Worker, engine="ray", out_dir="out")

A test module shares one cluster through a module-scoped fixture::

    @pytest.fixture(scope="module")
    def cluster():
        yield from ray_cluster_or_skip("mmdial-augment")
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Ray Data 2.60 sets its own deprecated fields while constructing ``DataContext`` (``use_push_based_shuffle``,
#: ``use_polars``, ...), warning from inside ``ray.data.context``; under ``filterwarnings = error`` that is a
#: failure that is not ours. This filter ignores DeprecationWarnings issued by that one module only.
RAY_WARNING_FILTER = "ignore::DeprecationWarning:ray.data.context"


@contextmanager
def local_ray_cluster(
    num_cpus: int = 2, *, object_store_mb: int = 200, pickle_by_value: tuple[str, ...] = ()
) -> Iterator[Any]:
    """Start a private local Ray cluster (no dashboard, small object store); shut it down afterwards.

    Args:
        num_cpus: CPUs the cluster may use.
        object_store_mb: Object store size in MiB.
        pickle_by_value: Modules (names) whose classes and functions workers should unpickle by value, such
            as test modules, which Ray workers cannot import by name.

    Yields:
        The ``ray`` module.
    """
    import ray

    # ray's cloudpickle is untyped in some installs and typed in others (the typecheck venv): ignore either way
    for name in pickle_by_value:
        ray.cloudpickle.register_pickle_by_value(sys.modules[name])  # type: ignore[no-untyped-call,unused-ignore]
    ray.init(
        num_cpus=num_cpus, include_dashboard=False, object_store_memory=object_store_mb * 1024**2, log_to_driver=False
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        for name in pickle_by_value:
            ray.cloudpickle.unregister_pickle_by_value(sys.modules[name])  # type: ignore[no-untyped-call,unused-ignore]


def ray_cluster_or_skip(dist: str, num_cpus: int = 2, **kwargs: Any) -> Iterator[Any]:
    """For a (module-scoped) pytest fixture: skip when Ray Data is missing, naming ``dist``'s ``ray`` extra; else
    run a :func:`local_ray_cluster` (``kwargs`` go to it) for as long as the fixture lives."""
    import pytest

    pytest.importorskip("ray.data", reason=f'the ray engine is optional: pip install "{dist}[ray]"')
    with local_ray_cluster(num_cpus, **kwargs) as ray:
        yield ray
