"""The public JSON API: aggregates only, never personal data."""
