"""Console accounts: login with argon2 passwords, optional TOTP (required for
admins), throttling, roles, and the audit log."""
