"""A campaign's reach: the source codes partners and the union's own channels
carry in their share links and embeds, and the figures per source that each
may see (``figures``)."""
