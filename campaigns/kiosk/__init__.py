"""Signing in person at a stand: a collector's kiosk, its form, and the
entries its device sends (one by one, or queued through a bad connection)."""
