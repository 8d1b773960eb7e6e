"""Helpers for tests of code that runs on the ``ray`` engine: a small local cluster and warning filters.

Example:
    >>> RAY_WARNING_FILTER
    'ignore::DeprecationWarning:ray.data.context'
    >>> with local_ray_cluster(num_cpus=2):  # doctest: +SKIP
    ...     run_batches(items, Worker, engine="ray", out_dir="out")
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

    for name in pickle_by_value:
        ray.cloudpickle.register_pickle_by_value(sys.modules[name])  # type: ignore[no-untyped-call]
    ray.init(
        num_cpus=num_cpus, include_dashboard=False, object_store_memory=object_store_mb * 1024**2, log_to_driver=False
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        for name in pickle_by_value:
            ray.cloudpickle.unregister_pickle_by_value(sys.modules[name])  # type: ignore[no-untyped-call]
