"""Records every layer shares: face boxes and their geometry, faces and persons, sources."""
