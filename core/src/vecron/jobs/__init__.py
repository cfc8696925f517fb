"""Job documents: reading, limits, and the masked view of a definition."""
