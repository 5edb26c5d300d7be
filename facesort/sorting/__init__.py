"""Deciding which person a face belongs to: rules on encodings only."""
