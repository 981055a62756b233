"""Pages that belong to no single campaign: the root redirect, the list of
open campaigns, and the error pages."""
