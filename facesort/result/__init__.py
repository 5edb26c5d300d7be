"""The result directory's own files: the journal of moves, the lock, montages."""
