"""Keeping signatures honest: reviewing flagged and fraudulent signatures
(``services.py``), bulk invalidations run by a worker in batches
(``invalidation.py``), and detection of unusual bursts (``trending.py``)."""
