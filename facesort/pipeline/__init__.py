"""Frames in, encoded faces out: detection at intervals, tracking in between."""
