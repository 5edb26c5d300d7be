"""The cluster a run uses: a Dask scheduler's address (``tcp://host:8786``), or ``local:N``
worker processes started on this machine for the run. Dask is imported here, and only when
--cluster is used: the default install does not need it (``pip install '.[cluster]'``)."""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from facesort.app.flags import LOCAL

CONNECT_TIMEOUT_S = 20.0
# what the workers of a local cluster start with: one BLAS thread, as the local worker
# processes have (detection.workers.single_threaded_blas), so that encodings are the same
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                      "MKL_NUM_THREADS": "1"}
WORKER_SETUP = "facesort.cluster.worker"  # its dask_setup: Ctrl-C is the driver's to handle


class ClusterUnavailable(Exception):
    """--cluster without Dask installed: the command line cannot work (exit code 2)."""


class ClusterError(Exception):
    """The cluster failed the run: unreachable, every worker gone, a worker that cannot read
    an input; the message says what in one line."""


def require_dask() -> None:
    """Raise ClusterUnavailable, in one line, when dask.distributed cannot be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterUnavailable(
            "--cluster needs Dask, which is not installed: pip install 'face-classifier[cluster]' "
            "(or: pip install 'dask[distributed]')") from None


@dataclass
class Connection:
    """A Dask client, and the local cluster it started, if any."""

    address: str        # as given on the command line
    client: Any
    local: Any = None   # distributed.LocalCluster of local:N

    @property
    def workers(self) -> int:
        return len(self.client.nthreads())

    def close(self) -> None:
        """Disconnect; a local cluster's worker processes end."""
        try:
            self.client.close()
        finally:
            if self.local is not None:
                self.local.close()


def connect(address: str, verbose: bool = False) -> Connection:
    """Connect to the scheduler at ``address``, or start ``local:N`` workers here.

    Dask's own log lines (a worker restarted, data lost with it) are hidden unless
    ``verbose``: the driver says in its own words what happened to the run.
    """
    require_dask()
    from distributed import Client, LocalCluster

    quiet = logging.DEBUG if verbose else logging.CRITICAL
    logging.getLogger("distributed").setLevel(quiet)
    if not verbose:  # "desires key ... but key is unknown": a batch lost with its worker
        warnings.filterwarnings("ignore", module="distributed")
    local = LOCAL.fullmatch(address)
    if local:
        import os

        workers = int(local.group(1) or os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", scheduler_port=0, silence_logs=quiet,
                               env=WORKER_ENVIRONMENT, preload=[WORKER_SETUP])
        try:
            return Connection(address, Client(cluster), cluster)
        except BaseException:
            cluster.close()
            raise
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at '{address}' ({error}); start "
                           f"one with 'dask scheduler', and workers with 'dask worker "
                           f"{address}'") from None
    return Connection(address, client)
