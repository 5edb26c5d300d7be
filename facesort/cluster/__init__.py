"""--cluster: the per-input work of a run (decode, detect, follow, encode, crop) on the workers
of a Dask cluster, the sorting and the result on this machine. ``jobs.py`` what the two sides
exchange, ``worker.py`` the workers' side, ``driver.py`` this machine's, ``connect.py`` the
cluster (a scheduler's address, or ``local:N`` worker processes here). Dask is imported only
when --cluster is used."""
