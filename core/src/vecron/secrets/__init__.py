"""Secret values: encrypted at rest, and masked wherever text leaves vecron."""
