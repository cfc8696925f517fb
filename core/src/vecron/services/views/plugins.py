"""View of an installed plugin (``vecron plugins list``, ``GET /api/v1/plugins``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PluginView(BaseModel):
    """One installed plugin: where it comes from and what it adds."""

    model_config = ConfigDict(frozen=True)

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]
    executors: list[str]
    triggers: list[str]
    auth_backends: list[str]
    notifiers: list[str] = []
