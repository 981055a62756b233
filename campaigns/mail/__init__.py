"""Outgoing email: what we decided to send (the email log) and how it leaves."""
