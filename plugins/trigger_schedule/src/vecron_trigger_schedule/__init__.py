"""Schedule triggers."""
