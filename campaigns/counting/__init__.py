"""Counts: validated signatures aggregated in batches into the count tables."""
