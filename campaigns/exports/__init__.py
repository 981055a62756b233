"""Exports and delivery: the signature CSV (admins), aggregates for partners,
and the delivery document (a PDF with a hash chain over the signer list)."""
