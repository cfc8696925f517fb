"""Views of variables: a secret one's value is the mask unless it was revealed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class VariableView(BaseModel):
    """A variable as shown; ``job`` is None for a global one."""

    model_config = ConfigDict(frozen=True)

    name: str
    job: str | None
    job_id: str | None
    secret: bool
    value: str
    created_at: datetime
    updated_at: datetime

    @property
    def scope(self) -> str:
        return "global" if self.job is None else f"job {self.job}"


class KeyRotation(BaseModel):
    """``secrets rotate-key``: how many secret values were re-encrypted with the first key."""

    model_config = ConfigDict(frozen=True)

    reencrypted: int
