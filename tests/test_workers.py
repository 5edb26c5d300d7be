"""The worker pool's inline form (workers=0): the same submit/done/result/close as the
process pool, jobs run at once in the calling process (a pipeline inside a Dask worker)."""
import os

import numpy as np
import pytest

from facesort.detection.workers import InlinePool, WorkerError, WorkerPool, worker_pool


class CountingDetector:
    """A detector stand-in; counts how many were made."""

    made = 0

    def __init__(self):
        CountingDetector.made += 1


class Square:
    def __init__(self, number):
        self.number = number

    def run(self, detector):
        assert isinstance(detector, CountingDetector)
        return self.number * self.number, os.getpid()


class Broken:
    def run(self, detector):
        raise ValueError("no face here")


def test_an_inline_pool_runs_each_job_at_once_in_this_process_with_one_detector():
    CountingDetector.made = 0
    pool = worker_pool(0, CountingDetector)
    assert isinstance(pool, InlinePool)
    tickets = [pool.submit(Square(n), urgent=n % 2 == 0) for n in range(4)]
    assert all(pool.done(ticket) for ticket in tickets)
    assert [pool.result(ticket) for ticket in reversed(tickets)] == [
        (n * n, os.getpid()) for n in reversed(range(4))]
    assert CountingDetector.made == 1
    pool.close()


def test_a_failed_inline_job_raises_what_a_worker_process_would():
    pool = worker_pool(0, CountingDetector)
    broken, fine = pool.submit(Broken()), pool.submit(Square(3))
    assert pool.done(broken)
    with pytest.raises(WorkerError, match="a face worker failed: ValueError: no face here"):
        pool.result(broken)
    assert pool.result(fine)[0] == 9  # the pool goes on


@pytest.mark.slow
def test_a_process_pool_gives_the_same_results():
    pool = worker_pool(1, CountingDetector)
    assert isinstance(pool, WorkerPool)
    try:
        value, pid = pool.result(pool.submit(Square(5)))
        assert value == 25 and pid != os.getpid()
        with pytest.raises(WorkerError, match="a face worker failed: ValueError: no face here"):
            pool.result(pool.submit(Broken()))
    finally:
        pool.close()


@pytest.mark.slow
def test_a_pipeline_with_its_jobs_inline_finds_the_same_faces_and_tracks(demo_videos):
    from facesort.records.source import Sampling
    from tests.test_face_pipeline import faces_of, run_pipeline

    def run(workers):
        return faces_of(*run_pipeline(demo_videos[1], Sampling(every_s=0), workers=workers)[:2])

    def key(faces):
        return [(f.file_name, f.box, f.track_id, f.crop_png) for f in faces]

    inline, pooled = run(0), run(2)
    assert key(inline) == key(pooled)
    # the same numbers but for rounding: this process's OpenBLAS may use several threads,
    # whose sums round differently on some CPUs (the workers use one, as a cluster's do)
    np.testing.assert_allclose([f.encoding for f in inline], [f.encoding for f in pooled],
                               rtol=0, atol=1e-6)
