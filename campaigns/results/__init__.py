"""Public results: figures, breakdowns, charts, sharing and the embed widget.
Everything here reads the count tables (and a handful of indexed rows), never
scans signatures, and is cached for a moment."""
