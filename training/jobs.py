"""Independent jobs run in a few worker processes, in order, with a progress bar."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from tqdm import tqdm

Job = TypeVar("Job")
Result = TypeVar("Result")


def _one_blas_thread() -> None:
    """Workers already fill the cores; BLAS threads on top of them only spin."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def map_jobs(function: Callable[[Job], Result], jobs: Sequence[Job], workers: int = 1,
             description: str = "", progress: bool = True) -> list[Result]:
    """``[function(job) for job in jobs]``, in ``workers`` processes when more than one.

    Parameters
    ----------
    function : callable
        A module-level function (workers are spawned, so it must be importable).
    jobs : sequence
        Picklable arguments, one call each.
    workers : int
        Processes; 1 runs everything here.
    description : str
        Label of the tqdm bar.
    progress : bool
        Show the bar.

    Returns
    -------
    list
        Results in the order of ``jobs``.
    """
    bar = tqdm(total=len(jobs), desc=description, disable=not progress, dynamic_ncols=True)
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(function(job))
            bar.update()
        bar.close()
        return results
    # Spawned, not forked: ONNX Runtime's thread pools do not survive a fork.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context,
                             initializer=_one_blas_thread) as pool:
        results = []
        for result in pool.map(function, jobs, chunksize=1):
            results.append(result)
            bar.update()
    bar.close()
    return results
