"""The pieces of ``make bench``: the stack it starts, the load it sends, the
data it loads and the report it writes."""
