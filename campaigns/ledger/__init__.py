"""The public ledger of counts: every change of a campaign's public count as
an entry of an append-only Merkle tree (RFC 9162), with signed tree heads,
inclusion and consistency proofs, and the signers' receipts."""
