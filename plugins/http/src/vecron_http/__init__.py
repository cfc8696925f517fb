"""HTTP executor."""
