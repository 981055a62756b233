"""Retention: signers' personal data erased on schedule after a campaign closes."""
