"""Tasks: exports (in progress)."""
