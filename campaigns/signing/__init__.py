"""Signing: the campaign page, the sign form, confirmation, and the checks
the workers run on each new signature."""
