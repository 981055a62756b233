"""A signer's own signature, from a private link: ask for the link by email
on the campaign's manage page, then change what is public, correct the name,
or withdraw (docs/architecture.md, "Managing a signature")."""
