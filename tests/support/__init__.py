"""Test-only plugins and helpers."""
