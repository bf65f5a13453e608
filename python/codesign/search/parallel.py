"""Accuracy evaluations of a batch in parallel, on a Dask cluster (the slow part of a search: proxy training).

:func:`accuracy_pool` gives ``None`` (evaluate serially, the default) or an :class:`AccuracyPool` on a
``LocalCluster`` of ``workers`` single-threaded worker processes, or on the scheduler at ``scheduler``
(``tcp://HOST:PORT``). The accuracy evaluator is sent to the workers once; each new network of a batch is one task;
results come back in the order asked, so a parallel search records exactly the trials of a serial one (each
evaluation being deterministic: the proxy trains on one thread with a fixed seed).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["AccuracyPool", "accuracy_pool"]


def _evaluate(evaluator: Any, arch: Any) -> tuple[bool, Any]:
    """(True, value) or (False, "Type: message"): a worker's failure becomes that trial's reason."""
    try:
        fn = evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator
        return True, fn(arch)
    except Exception as exc:  # noqa: BLE001 - reported per trial
        return False, f"{type(exc).__name__}: {exc}"


class AccuracyPool:
    """Runs ``evaluator.evaluate(arch)`` for many networks on a Dask ``Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._sent: tuple[Any, Any] | None = None

    def map(self, evaluator: Any, archs: Sequence[Any]) -> list[tuple[bool, Any]]:
        """[(ok, value or reason)] per network, in order."""
        if not archs:
            return []
        if self._sent is None or self._sent[0] is not evaluator:
            self._sent = (evaluator, self.client.scatter(evaluator, broadcast=True, hash=False))
        futures = [self.client.submit(_evaluate, self._sent[1], a, pure=False) for a in archs]
        return list(self.client.gather(futures))


@contextlib.contextmanager
def accuracy_pool(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[AccuracyPool | None]:
    """An :class:`AccuracyPool` for the duration of a search (None when neither argument is given).

    Raises ValueError for both arguments at once, a worker count below 1, a scheduler address without ``://``, an
    unreachable scheduler, or a missing ``dask.distributed``."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got workers={workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"scheduler must be an address such as tcp://HOST:8786, got scheduler={scheduler!r}")
    try:
        from dask.distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise ValueError("parallel search needs dask.distributed (pip install 'codesign[sweep]')") from None
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"scheduler {scheduler!r}: cannot connect: {exc}") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        yield AccuracyPool(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
