"""Organizers' news to signers (updates), the signers' way out of them
(unsubscribe), and notices to organizers (milestones, closing on schedule)."""
