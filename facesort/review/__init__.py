"""Review a result directory in the browser: suggestions, corrections, and the local server that
offers them (face-classifier review)."""
